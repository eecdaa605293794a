-- Key store (ENC-02, ENC-03). Keys are stored wrapped: a workspace's KEK versions under a master
-- key version, its data keys (DEKs) under a KEK version. Nothing here opens without the master
-- key, which is never in the database.

CREATE TABLE workspace_keys (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    master_version BIGINT NOT NULL,
    wrapped BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, version)
);

CREATE TABLE data_keys (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id BLOB NOT NULL,
    subject_id BLOB,
    kek_version BIGINT NOT NULL,
    wrapped BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX data_keys_subject ON data_keys(workspace_id, subject_id) WHERE subject_id IS NOT NULL;
CREATE UNIQUE INDEX data_keys_workspace ON data_keys(workspace_id) WHERE subject_id IS NULL;
