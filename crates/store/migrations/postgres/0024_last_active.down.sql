ALTER TABLE api_tokens DROP COLUMN last_used_on;
ALTER TABLE memberships DROP COLUMN last_active_on;
