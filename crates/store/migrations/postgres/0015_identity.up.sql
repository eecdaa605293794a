-- Identity (IDN-01..04).
--
-- Sessions gain a public id (to list and revoke them by, never the cookie's hash), when they
-- were last used (idle timeout), how strongly their person signed in (a workspace's credential
-- policy: password < mfa < passkey), when the person last proved who they are (recent
-- re-authentication for sensitive actions), and the client (user agent and address), sealed
-- with the account key.
ALTER TABLE sessions ADD COLUMN id UUID NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE sessions ALTER COLUMN id DROP DEFAULT;
ALTER TABLE sessions ADD CONSTRAINT sessions_id_key UNIQUE (id);
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT;
ALTER TABLE sessions ADD COLUMN auth_level TEXT NOT NULL DEFAULT 'password';
ALTER TABLE sessions ADD COLUMN reauth_at BIGINT;
ALTER TABLE sessions ADD COLUMN client BYTEA;
UPDATE sessions SET last_seen_at = created_at, reauth_at = created_at;
ALTER TABLE sessions ALTER COLUMN last_seen_at SET NOT NULL;
ALTER TABLE sessions ALTER COLUMN reauth_at SET NOT NULL;

-- A sign-in half done: the password (or nothing yet, for a passkey) was right and the second
-- factor is awaited. Only the SHA-256 of the challenge secret is kept; it lives minutes and
-- allows a handful of attempts.
CREATE TABLE sign_in_challenges (
    token_hash BYTEA PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sign_in_challenges_user ON sign_in_challenges(user_id);

-- An authenticator app's shared secret, sealed with the account key. `confirmed_at` is NULL
-- until the person proves the app works by entering a code; `last_step` is the last time
-- step accepted, so that a code works once (RFC 6238 §5.2).
CREATE TABLE totp_credentials (
    user_id UUID PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0
);

-- Ten single-use recovery codes per person, stored as SHA-256 of the code (each code carries
-- 50 random bits, which a fast hash protects well enough behind the sign-in rate limits).
CREATE TABLE recovery_codes (
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- Failed sign-ins per account address and per client address, for exponential back-off
-- (IDN-04). `bucket` is a keyed hash (the instance's blind-index key) of "account:<address>" or
-- "ip:<address>", the same whether or not an account has the address, so the table neither
-- names anybody nor tells who has an account.
CREATE TABLE sign_in_throttle (
    bucket BYTEA PRIMARY KEY,
    failures BIGINT NOT NULL,
    first_failure_at BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL,
    warned_at BIGINT
);

-- A workspace's credential policy: the weakest sign-in its members and its admins may enter
-- with (password < mfa < passkey).
CREATE TABLE workspace_security (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    member_minimum TEXT NOT NULL DEFAULT 'password',
    admin_minimum TEXT NOT NULL DEFAULT 'password',
    updated_at BIGINT NOT NULL
);
