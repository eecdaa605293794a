ALTER TABLE sessions DROP COLUMN sso_logout;
DROP TABLE sso_identities;
DROP TABLE sso_logins;
DROP TABLE workspace_oidc;
