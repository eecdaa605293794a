DROP TABLE instance_keys;
DROP TABLE account_keys;
DROP TABLE data_keys;
DROP TABLE workspace_keys;
