ALTER TABLE sso_logins DROP COLUMN link_user;
ALTER TABLE sso_logins DROP COLUMN browser_hash;
