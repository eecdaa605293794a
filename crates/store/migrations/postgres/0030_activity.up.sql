-- "What happened since my last visit" (issue 22): when the member last marked the activity
-- view seen, and indexes that find a workspace's newest ideas and comments by time.
ALTER TABLE memberships ADD COLUMN activity_seen_at BIGINT;
CREATE INDEX ideas_created ON ideas(workspace_id, created_at);
CREATE INDEX comments_created ON comments(workspace_id, created_at);
