ALTER TABLE sso_identities DROP COLUMN protocol;
DROP TABLE saml_assertions_seen;
ALTER TABLE sso_logins DROP COLUMN protocol;
DROP TABLE workspace_saml;
