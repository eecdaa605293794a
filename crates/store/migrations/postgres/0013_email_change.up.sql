-- Rectifying one's email address (DSR-02): the new address is confirmed by a single-use link
-- sent to it before it replaces the old one. Only the SHA-256 of the link's secret is kept; the
-- new address is sealed with the account's key. A new request replaces the earlier one.
CREATE TABLE email_changes (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    new_email BYTEA NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX email_changes_user ON email_changes(user_id);
