-- The audit log (AUD-01..AUD-04): one instance-wide Merkle tree. Entries are instance data
-- (the processor's record of access), kept whole when a workspace is sharded out or erased;
-- workspace_id leads the index the workspace views use.
CREATE TABLE audit_entries (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    workspace_id UUID,
    actor TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    details BYTEA NOT NULL,
    leaf_hash BYTEA NOT NULL,
    root_after BYTEA NOT NULL
);
CREATE INDEX audit_entries_workspace ON audit_entries(workspace_id, seq);

-- Hashes of perfect subtrees (level >= 1; level 0 is audit_entries.leaf_hash), so proofs are
-- lookups.
CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

-- The tree's size and right edge; its one row is locked by every append.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    frontier BYTEA NOT NULL
);
INSERT INTO audit_head (id, size, frontier) VALUES (1, 0, '\x0000000000000000'::bytea);

CREATE TABLE audit_checkpoints (
    size BIGINT PRIMARY KEY,
    root BYTEA NOT NULL,
    note TEXT NOT NULL,
    signed_at BIGINT NOT NULL
);

-- Pseudonym -> person, the person's id sealed with their own key: shredding the key ends the
-- mapping, so erasure never touches the log (AUD-03).
CREATE TABLE audit_actors (
    scope UUID NOT NULL,
    pseudonym TEXT NOT NULL,
    sealed_user BYTEA NOT NULL,
    PRIMARY KEY (scope, pseudonym)
);

-- Append-only, as far as the database can enforce it.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_nodes_append_only BEFORE UPDATE OR DELETE ON audit_nodes
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
