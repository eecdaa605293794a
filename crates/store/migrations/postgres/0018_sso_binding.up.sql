-- A single sign-on is finished only by the browser that started it (a cookie's hash), and
-- links an existing account only when that account's person asked for it from their security
-- page (IDN-03).
ALTER TABLE sso_logins ADD COLUMN browser_hash BYTEA;
ALTER TABLE sso_logins ADD COLUMN link_user UUID;
