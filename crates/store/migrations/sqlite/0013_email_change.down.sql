-- Back to 0012: pending address changes are dropped; their links stop working.
DROP TABLE email_changes;
