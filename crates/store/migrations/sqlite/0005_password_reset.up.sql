-- Password reset by emailed single-use token (IDN-01, COL-04).
--
-- Account-level email: a message that belongs to an account, not to a workspace (a password
-- reset link), is queued in the same outbox with no workspace_id and sealed with an instance
-- key instead of a workspace data key. SQLite cannot drop NOT NULL in place, so the table is
-- rebuilt with its rows and indexes.
CREATE TABLE outbox_new (
    id BLOB PRIMARY KEY,
    workspace_id BLOB,
    message BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    failed_at BIGINT
);
INSERT INTO outbox_new (id, workspace_id, message, created_at, attempts, next_attempt_at, last_error, failed_at)
    SELECT id, workspace_id, message, created_at, attempts, next_attempt_at, last_error, failed_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE failed_at IS NULL;
CREATE INDEX outbox_workspace ON outbox(workspace_id, created_at);

-- Password reset tokens: account data, not workspace data. Only the SHA-256 of the secret in
-- the link is stored, so a copy of the database cannot reset anyone's password. A token works
-- once (used_at) and until expires_at; a new request deletes the account's earlier tokens.
CREATE TABLE password_resets (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_resets_user ON password_resets(user_id);
