DROP TABLE workspace_security;
DROP TABLE sign_in_throttle;
DROP TABLE recovery_codes;
DROP TABLE totp_credentials;
DROP TABLE sign_in_challenges;
CREATE TABLE sessions_old (
    token_hash BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
INSERT INTO sessions_old SELECT token_hash, user_id, csrf_token, created_at, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_old RENAME TO sessions;
CREATE INDEX sessions_user ON sessions(user_id);
