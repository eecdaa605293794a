-- Back to 0011: scheduled deletions are forgotten (cancel them, or let them run, before rolling
-- back) and issued certificates are dropped (keep copies).
DROP TABLE deletion_certificates;
DROP INDEX workspaces_deletion_due;
ALTER TABLE workspaces DROP COLUMN deletion_reminders;
ALTER TABLE workspaces DROP COLUMN deletion_requested_by;
ALTER TABLE workspaces DROP COLUMN deletion_due_at;
ALTER TABLE workspaces DROP COLUMN deletion_requested_at;
