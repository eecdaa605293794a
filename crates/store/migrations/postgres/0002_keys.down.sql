DROP TABLE data_keys;
DROP TABLE workspace_keys;
