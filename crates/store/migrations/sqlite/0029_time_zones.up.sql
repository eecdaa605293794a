-- The time zone a person reads times in (issue 22, an IANA name such as Europe/Berlin); NULL:
-- their browser's zone, or the instance's default without one.
ALTER TABLE users ADD COLUMN time_zone TEXT;
