-- Back to 0006: workspaces fall back to keeping everything (the previous release purges
-- nothing). The keys of days of activity go, so the client data of the audit events sealed
-- with them no longer opens; the events themselves and their facts stay.
DROP INDEX data_keys_activity;
DELETE FROM data_keys WHERE activity_day IS NOT NULL;
DROP INDEX data_keys_workspace;
CREATE UNIQUE INDEX data_keys_workspace ON data_keys(workspace_id) WHERE subject_id IS NULL;
ALTER TABLE data_keys DROP COLUMN activity_day;
DROP INDEX comments_deleted;
DROP INDEX ideas_deleted;
DROP TABLE retention_policies;
