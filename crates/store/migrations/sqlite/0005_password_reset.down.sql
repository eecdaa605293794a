-- Back to 0004: the outbox holds workspace mail only. Queued account mail is dropped with the
-- reset tokens its links name (those links would no longer work).
DROP TABLE password_resets;
DELETE FROM outbox WHERE workspace_id IS NULL;
CREATE TABLE outbox_old (
    id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL,
    message BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    failed_at BIGINT
);
INSERT INTO outbox_old (id, workspace_id, message, created_at, attempts, next_attempt_at, last_error, failed_at)
    SELECT id, workspace_id, message, created_at, attempts, next_attempt_at, last_error, failed_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_old RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE failed_at IS NULL;
CREATE INDEX outbox_workspace ON outbox(workspace_id, created_at);
