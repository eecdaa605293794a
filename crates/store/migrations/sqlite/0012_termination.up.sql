-- Termination of a workspace (LIF-02): an owner asks for its deletion; after a grace period in
-- which any owner may cancel (and owners are reminded), every row, file and key of it is
-- destroyed and the owners receive a deletion certificate signed by the instance's key.
ALTER TABLE workspaces ADD COLUMN deletion_requested_at BIGINT;
ALTER TABLE workspaces ADD COLUMN deletion_due_at BIGINT;
ALTER TABLE workspaces ADD COLUMN deletion_requested_by BLOB;
ALTER TABLE workspaces ADD COLUMN deletion_reminders INTEGER NOT NULL DEFAULT 0;
CREATE INDEX workspaces_deletion_due ON workspaces(deletion_due_at) WHERE deletion_due_at IS NOT NULL;

-- Certificates of deleted workspaces: instance data, kept so the operator can hand one out
-- again. A row is written with the deletion (certificate NULL) and completed once the audit
-- checkpoint covering the deletion is signed, so a crash in between loses no certificate.
-- notify holds the owners' addresses, sealed with the instance's account-mail key, until the
-- certificate is mailed to them (then NULL): whichever node issues it sends it.
CREATE TABLE deletion_certificates (
    workspace_id BLOB PRIMARY KEY,
    slug TEXT NOT NULL,
    facts TEXT NOT NULL,
    issued_at BIGINT,
    certificate TEXT,
    notify BLOB
);
