-- AUD-01/AUD-03 (issue 19, finding 4): every new audit entry carries a MAC of its index and leaf
-- hash under a key derived from the master key, which is never in the database. Someone who can
-- write to the database but has no master key can no longer append or rewrite entries that
-- verify. Entries appended before this migration have none; the anchor kept outside the
-- database (audit-anchor.json) records from which index on every entry must have one.
ALTER TABLE audit_entries ADD COLUMN mac TEXT;

-- TRUNCATE skips row triggers: every audit table refuses it (audit_entries already did).
CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE ON audit_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_actors_no_truncate BEFORE TRUNCATE ON audit_actors
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- From which index on every entry must carry a MAC, itself under the same key's MAC. Written
-- once, when the key is made; a key without this row means someone deleted it (then every
-- entry must carry a MAC).
CREATE TABLE audit_seal (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    mac_from BIGINT NOT NULL,
    mac TEXT NOT NULL
);
