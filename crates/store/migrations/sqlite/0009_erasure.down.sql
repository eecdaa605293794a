-- Back to 0008: the workspace's erasure mode is forgotten (the previous release anonymises
-- nothing). Former-member rows stay: contributions still point at them.
ALTER TABLE workspaces DROP COLUMN erasure_mode;
DROP INDEX users_former_member_of;
ALTER TABLE users DROP COLUMN former_member_of;
