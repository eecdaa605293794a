-- Retention policies (LIF-03). A workspace's periods, in days; no row means the defaults
-- (activity data 90, deleted content 30, stale invitations 7). The row goes with the workspace.
CREATE TABLE retention_policies (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    activity_days BIGINT NOT NULL CHECK (activity_days BETWEEN 1 AND 3650),
    deleted_days BIGINT NOT NULL CHECK (deleted_days BETWEEN 1 AND 3650),
    invitation_days BIGINT NOT NULL CHECK (invitation_days BETWEEN 1 AND 3650),
    updated_at BIGINT NOT NULL
);

-- The retention job finds deleted content by when it was deleted.
CREATE INDEX ideas_deleted ON ideas(workspace_id, deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX comments_deleted ON comments(workspace_id, deleted_at) WHERE deleted_at IS NOT NULL;

-- Activity data (where requests came from) expires by key: each day's activity in a workspace
-- is sealed with a data key of that day, destroyed when the day falls out of the workspace's
-- activity period. The audit trail stays append-only and verifiable; only the sealed client
-- data inside its entries stops opening.
ALTER TABLE data_keys ADD COLUMN activity_day BIGINT;
DROP INDEX data_keys_workspace;
CREATE UNIQUE INDEX data_keys_workspace ON data_keys(workspace_id)
    WHERE subject_id IS NULL AND activity_day IS NULL;
CREATE UNIQUE INDEX data_keys_activity ON data_keys(workspace_id, activity_day)
    WHERE activity_day IS NOT NULL;
