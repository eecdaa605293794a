-- Support access (SUP-01): a workspace's admins invite the operator's support staff for a
-- scope ('read' or 'manage') and a time; the invitation ends when it expires or is revoked.
-- The reason the admin gives is sealed with the workspace key.
CREATE TABLE support_grants (
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id UUID NOT NULL,
    scope TEXT NOT NULL,
    reason BYTEA,
    created_by UUID NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_by UUID,
    revoked_at BIGINT,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX support_grants_live ON support_grants(workspace_id, expires_at);
