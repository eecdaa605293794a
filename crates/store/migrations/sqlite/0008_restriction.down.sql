-- Back to 0007: restrictions are forgotten (the previous release does not honour them), so lift
-- every restriction with its owner's knowledge before rolling back.
ALTER TABLE users DROP COLUMN restricted_at;
