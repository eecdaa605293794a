DROP TABLE workspace_security;
DROP TABLE sign_in_throttle;
DROP TABLE recovery_codes;
DROP TABLE totp_credentials;
DROP TABLE sign_in_challenges;
ALTER TABLE sessions DROP COLUMN id, DROP COLUMN last_seen_at, DROP COLUMN auth_level, DROP COLUMN reauth_at, DROP COLUMN client;
