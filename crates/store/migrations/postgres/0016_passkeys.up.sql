-- WebAuthn passkeys (IDN-02).
--
-- A passkey is found by the SHA-256 of its credential id; the credential itself (public key,
-- signature counter, flags) and the name its person gave it are sealed with the account key,
-- and so crypto-shredded with the account.
CREATE TABLE passkeys (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_hash BYTEA NOT NULL UNIQUE,
    credential BYTEA NOT NULL,
    name BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_user ON passkeys(user_id);

-- A WebAuthn ceremony between its start and its finish, which another node may serve: the
-- server-side state (the challenge; for a registration also the person's name, so sealed with
-- their account key). `sign_in_challenge` ties a second-factor ceremony to its half-done
-- sign-in. A ceremony is used once and lives five minutes.
CREATE TABLE webauthn_ceremonies (
    id UUID PRIMARY KEY,
    user_id UUID REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    state BYTEA NOT NULL,
    sign_in_challenge BYTEA,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_user ON webauthn_ceremonies(user_id);
