DROP TABLE shred_count;
DROP TABLE backup_alerts;
DROP TABLE backup_runs;
