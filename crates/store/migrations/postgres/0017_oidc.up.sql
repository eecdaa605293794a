-- OpenID Connect single sign-on per workspace (IDN-03).
--
-- A workspace's identity provider: its issuer (discovery document at
-- <issuer>/.well-known/openid-configuration), the client registered there (the secret sealed
-- with the workspace key), and who may join on first sign-in: addresses at these domains
-- (comma-separated), or members of these groups in the ID token's `group_claim`.
CREATE TABLE workspace_oidc (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret BYTEA NOT NULL,
    allowed_domains TEXT NOT NULL DEFAULT '',
    group_claim TEXT,
    allowed_groups TEXT NOT NULL DEFAULT '',
    default_role TEXT NOT NULL DEFAULT 'member',
    updated_at BIGINT NOT NULL
);

-- A sign-in waiting for the identity provider's answer, found by the SHA-256 of its `state`;
-- the nonce and PKCE verifier are sealed with the workspace key. Lives ten minutes, used once.
CREATE TABLE sso_logins (
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    state_hash BYTEA NOT NULL,
    secrets BYTEA NOT NULL,
    next TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, state_hash)
);

-- Which account an identity provider's subject is: (issuer, sub) hashed, per workspace. Only
-- identities recorded here sign in; an address alone never takes over an existing account.
CREATE TABLE sso_identities (
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    subject_hash BYTEA NOT NULL,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, subject_hash)
);
CREATE INDEX sso_identities_user ON sso_identities(user_id);

-- How a single-sign-on session ends at its provider too (RP-initiated logout): the end-session
-- endpoint and the ID token, sealed with the account key.
ALTER TABLE sessions ADD COLUMN sso_logout BYTEA;
