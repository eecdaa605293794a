-- The day a member last used the workspace (pages or API tokens) and the day each API token was
-- last used, for admins tidying up members and tokens (issue 21). Days, not times: the start of
-- the UTC day in Unix milliseconds, written at most once a day per member and per token, so
-- nobody's working hours can be read from it and a request costs no extra write.
ALTER TABLE memberships ADD COLUMN last_active_on BIGINT;
ALTER TABLE api_tokens ADD COLUMN last_used_on BIGINT;
