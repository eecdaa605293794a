-- A member's page lists their latest ideas and comments (issue 22, COL-02); erasure finds a
-- person's contributions by the same keys.
CREATE INDEX ideas_author ON ideas(workspace_id, author_id, id);
CREATE INDEX comments_author ON comments(workspace_id, author_id, id);
