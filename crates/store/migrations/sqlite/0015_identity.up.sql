-- Identity (IDN-01..04).
--
-- Sessions gain a public id (to list and revoke them by, never the cookie's hash), when they
-- were last used (idle timeout), how strongly their person signed in (a workspace's credential
-- policy: password < mfa < passkey), when the person last proved who they are (recent
-- re-authentication for sensitive actions), and the client (user agent and address), sealed
-- with the account key.
CREATE TABLE sessions_new (
    token_hash BLOB PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    auth_level TEXT NOT NULL DEFAULT 'password',
    reauth_at BIGINT NOT NULL,
    client BLOB
);
INSERT INTO sessions_new (token_hash, id, user_id, csrf_token, created_at, expires_at, last_seen_at, reauth_at)
    SELECT token_hash, randomblob(16), user_id, csrf_token, created_at, expires_at, created_at, created_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_user ON sessions(user_id);

-- A sign-in half done: the password (or nothing yet, for a passkey) was right and the second
-- factor is awaited. Only the SHA-256 of the challenge secret is kept; it lives minutes and
-- allows a handful of attempts.
CREATE TABLE sign_in_challenges (
    token_hash BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sign_in_challenges_user ON sign_in_challenges(user_id);

-- An authenticator app's shared secret, sealed with the account key. `confirmed_at` is NULL
-- until the person proves the app works by entering a code; `last_step` is the last time
-- step accepted, so that a code works once (RFC 6238 §5.2).
CREATE TABLE totp_credentials (
    user_id BLOB PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0
);

-- Ten single-use recovery codes per person, stored as SHA-256 of the code (each code carries
-- 50 random bits, which a fast hash protects well enough behind the sign-in rate limits).
CREATE TABLE recovery_codes (
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- Failed sign-ins per account address and per client address, for exponential back-off
-- (IDN-04). `bucket` is a keyed hash (the instance's blind-index key) of "account:<address>" or
-- "ip:<address>", the same whether or not an account has the address, so the table neither
-- names anybody nor tells who has an account.
CREATE TABLE sign_in_throttle (
    bucket BLOB PRIMARY KEY,
    failures BIGINT NOT NULL,
    first_failure_at BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL,
    warned_at BIGINT
);

-- A workspace's credential policy: the weakest sign-in its members and its admins may enter
-- with (password < mfa < passkey).
CREATE TABLE workspace_security (
    workspace_id BLOB PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    member_minimum TEXT NOT NULL DEFAULT 'password',
    admin_minimum TEXT NOT NULL DEFAULT 'password',
    updated_at BIGINT NOT NULL
);
