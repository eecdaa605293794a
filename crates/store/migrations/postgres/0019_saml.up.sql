-- SAML 2.0 single sign-on per workspace (IDN-03).
--
-- A workspace's identity provider, from the metadata its admins imported (the entity ID read
-- from it, the document kept whole: its signing certificates are what responses are checked
-- against), this workspace's own service-provider key pair (the private key sealed with the
-- workspace key; the certificate is published in the SP metadata), and who may join on first
-- sign-in: addresses at these domains (comma-separated), or members of these groups in the
-- assertion's `group_attribute`. A person's address is the NameID in email format; an `email`
-- or `mail` attribute is taken instead only when the admins say their IdP's users cannot
-- change it (`trust_email_attribute`).
CREATE TABLE workspace_saml (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    idp_entity_id TEXT NOT NULL,
    idp_metadata TEXT NOT NULL,
    sp_key BYTEA NOT NULL,
    sp_certificate TEXT NOT NULL,
    allowed_domains TEXT NOT NULL DEFAULT '',
    group_attribute TEXT,
    trust_email_attribute BOOLEAN NOT NULL DEFAULT FALSE,
    allowed_groups TEXT NOT NULL DEFAULT '',
    default_role TEXT NOT NULL DEFAULT 'member',
    updated_at BIGINT NOT NULL
);

-- Which step of which protocol a waiting sign-in is at: 'oidc' (at the provider), 'saml' (at
-- the IdP; the request ID sealed) or 'saml-finish' (the response verified; the identity sealed,
-- waiting for the browser that started it, whose cookies a cross-site POST does not carry).
ALTER TABLE sso_logins ADD COLUMN protocol TEXT NOT NULL DEFAULT 'oidc';

-- Assertions already accepted (the SHA-256 of issuer and assertion ID), kept until they expire,
-- so a captured response is never accepted twice.
CREATE TABLE saml_assertions_seen (
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    assertion_hash BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, assertion_hash)
);

-- Which protocol linked a provider subject to an account, so that a change of a workspace's
-- SAML provider (its entity ID or keys) forgets exactly the SAML links.
ALTER TABLE sso_identities ADD COLUMN protocol TEXT NOT NULL DEFAULT 'oidc';
