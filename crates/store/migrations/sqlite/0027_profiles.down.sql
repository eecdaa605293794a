DROP INDEX comments_author;
DROP INDEX ideas_author;
