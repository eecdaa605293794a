-- Outgoing email (invitations): written in the transaction that causes it, sent by a worker
-- with retries and back-off, so a mail server that is down loses nothing. The message
-- (recipient, subject, parts, and the link it carries) is sealed with the key of the
-- workspace it belongs to; a sent message is deleted.
CREATE TABLE outbox (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL,
    message BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    failed_at BIGINT
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE failed_at IS NULL;
CREATE INDEX outbox_workspace ON outbox(workspace_id, created_at);
