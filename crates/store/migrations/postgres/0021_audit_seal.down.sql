DROP TABLE audit_seal;
DROP TRIGGER audit_actors_no_truncate ON audit_actors;
DROP TRIGGER audit_head_no_truncate ON audit_head;
DROP TRIGGER audit_checkpoints_no_truncate ON audit_checkpoints;
DROP TRIGGER audit_nodes_no_truncate ON audit_nodes;
ALTER TABLE audit_entries DROP COLUMN mac;
