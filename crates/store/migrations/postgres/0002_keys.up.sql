-- Key store (ENC-02, ENC-03). Keys are stored wrapped: a workspace's KEK versions under a master
-- key version, its data keys (DEKs) under a KEK version. Nothing here opens without the master
-- key, which is never in the database.

CREATE TABLE workspace_keys (
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    master_version BIGINT NOT NULL,
    wrapped BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, version)
);

CREATE TABLE data_keys (
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id UUID NOT NULL,
    subject_id UUID,
    kek_version BIGINT NOT NULL,
    wrapped BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    -- A KEK version cannot be retired while a data key is wrapped by it, and a data key cannot be
    -- wrapped by a retired version: the database enforces what rotation relies on.
    FOREIGN KEY (workspace_id, kek_version) REFERENCES workspace_keys(workspace_id, version)
);
CREATE UNIQUE INDEX data_keys_subject ON data_keys(workspace_id, subject_id) WHERE subject_id IS NOT NULL;
CREATE UNIQUE INDEX data_keys_workspace ON data_keys(workspace_id) WHERE subject_id IS NULL;

-- One key per account, for the account's own personal data (name, email address), wrapped
-- directly by a master key version. Erasing the account destroys it. No foreign key to users: the
-- key is created first, because the account's row is stored sealed with it.
CREATE TABLE account_keys (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL UNIQUE,
    master_version BIGINT NOT NULL,
    wrapped BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX account_keys_master ON account_keys(master_version);

-- Instance-wide keys (the email blind-index key), wrapped by a master key version.
CREATE TABLE instance_keys (
    name TEXT PRIMARY KEY,
    id UUID NOT NULL,
    master_version BIGINT NOT NULL,
    wrapped BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX workspace_keys_master ON workspace_keys(master_version);
CREATE INDEX data_keys_kek ON data_keys(workspace_id, kek_version);
