-- Password reset by emailed single-use token (IDN-01, COL-04).
--
-- Account-level email: a message that belongs to an account, not to a workspace (a password
-- reset link), is queued in the same outbox with no workspace_id and sealed with an instance
-- key instead of a workspace data key.
ALTER TABLE outbox ALTER COLUMN workspace_id DROP NOT NULL;

-- Password reset tokens: account data, not workspace data. Only the SHA-256 of the secret in
-- the link is stored, so a copy of the database cannot reset anyone's password. A token works
-- once (used_at) and until expires_at; a new request deletes the account's earlier tokens.
CREATE TABLE password_resets (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_resets_user ON password_resets(user_id);
