-- The audit log (AUD-01..AUD-04): one instance-wide Merkle tree. Entries are instance data
-- (the processor's record of access), kept whole when a workspace is sharded out or erased;
-- workspace_id leads the index the workspace views use.
CREATE TABLE audit_entries (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    workspace_id BLOB,
    actor TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    details BLOB NOT NULL,
    leaf_hash BLOB NOT NULL,
    root_after BLOB NOT NULL
);
CREATE INDEX audit_entries_workspace ON audit_entries(workspace_id, seq);

-- Hashes of perfect subtrees (level >= 1; level 0 is audit_entries.leaf_hash), so proofs are
-- lookups.
CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
);

-- The tree's size and right edge; its one row is locked by every append.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    frontier BLOB NOT NULL
);
INSERT INTO audit_head (id, size, frontier) VALUES (1, 0, X'0000000000000000');

CREATE TABLE audit_checkpoints (
    size BIGINT PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    signed_at BIGINT NOT NULL
);

-- Pseudonym -> person, the person's id sealed with their own key: shredding the key ends the
-- mapping, so erasure never touches the log (AUD-03).
CREATE TABLE audit_actors (
    scope BLOB NOT NULL,
    pseudonym TEXT NOT NULL,
    sealed_user BLOB NOT NULL,
    PRIMARY KEY (scope, pseudonym)
);

-- Append-only, as far as the database can enforce it.
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_nodes_no_update BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit nodes are append-only'); END;
CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit nodes are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
