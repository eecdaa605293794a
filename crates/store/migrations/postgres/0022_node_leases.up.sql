-- Every serving node renews a lease here (BAK-05, issue 19 finding 13): a restore refuses to
-- run while another node serves the database, since its writes would be lost or mixed in.
CREATE TABLE node_leases (
    holder TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL
);
