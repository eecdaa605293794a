-- Back to 0004: the outbox holds workspace mail only. Queued account mail is dropped with the
-- reset tokens its links name (those links would no longer work).
DROP TABLE password_resets;
DELETE FROM outbox WHERE workspace_id IS NULL;
ALTER TABLE outbox ALTER COLUMN workspace_id SET NOT NULL;
