DROP TABLE audit_seal;
ALTER TABLE audit_entries DROP COLUMN mac;
