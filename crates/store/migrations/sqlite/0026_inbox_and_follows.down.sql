DROP TABLE discussion_follows;
DROP TABLE idea_follows;
DROP INDEX inbox_items_comment;
DROP INDEX inbox_items_actor;
DROP INDEX inbox_items_unread;
DROP TABLE inbox_items;
