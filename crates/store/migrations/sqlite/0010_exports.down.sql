-- Back to 0009: export jobs are forgotten; their archives stay in the file store, sealed with
-- their workspace's key, until removed by hand.
DROP TABLE workspace_exports;
