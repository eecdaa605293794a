DROP INDEX comment_revisions_in_order;
DROP TABLE comment_revisions;
