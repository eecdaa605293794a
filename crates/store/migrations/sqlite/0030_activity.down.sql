DROP INDEX comments_created;
DROP INDEX ideas_created;
ALTER TABLE memberships DROP COLUMN activity_seen_at;
