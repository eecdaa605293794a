-- Earlier versions of edited comments, for moderators (issue 22, COL-03). Each row is the text a
-- comment had before one edit, sealed with its author's data key like the comment itself, so
-- erasing the author shreds the history with the comment. `id` is a UUIDv7: the versions of a
-- comment sort by it in the order they were replaced.
CREATE TABLE comment_revisions (
    workspace_id UUID NOT NULL,
    comment_id UUID NOT NULL,
    id UUID NOT NULL,
    body BYTEA NOT NULL,
    written_at BIGINT NOT NULL,
    replaced_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, comment_id, id),
    FOREIGN KEY (workspace_id, comment_id) REFERENCES comments(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX comment_revisions_in_order ON comment_revisions(workspace_id, id);
