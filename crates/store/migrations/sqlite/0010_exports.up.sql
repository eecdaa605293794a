-- Workspace exports requested on the web (LIF-01): a background job writes the archive, sealed
-- with the workspace's key, to the file store under <workspace id>/<export id>, and the admin
-- downloads it once ready. Any node may run a job: the one that claims it holds a lease it
-- renews while it works; a node that dies leaves a lease that runs out and another takes over.
CREATE TABLE workspace_exports (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id BLOB NOT NULL,
    requested_by BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'ready', 'failed')),
    created_at BIGINT NOT NULL,
    lease_until BIGINT,
    finished_at BIGINT,
    done BIGINT NOT NULL DEFAULT 0,
    total BIGINT NOT NULL DEFAULT 0,
    bytes BIGINT,
    error TEXT,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX workspace_exports_due ON workspace_exports(state, created_at);
