-- Backups (BAK-01, BAK-04): one row per attempt, so every node sees whether a backup is running,
-- when the last verified one finished, and what failed. Instance-level, no personal data. A
-- restore keeps the live rows of these tables: they describe the backups, not the content.
CREATE TABLE backup_runs (
    id TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL,
    -- host:pid of the process taking it, so that one killed on this host is noticed at once.
    holder TEXT NOT NULL,
    finished_at BIGINT,
    state TEXT NOT NULL CHECK (state IN ('running', 'verified', 'failed')),
    object TEXT,
    bytes BIGINT,
    sha256 TEXT,
    content_digest TEXT,
    detail TEXT
);
CREATE INDEX backup_runs_started ON backup_runs(started_at);

-- When each kind of backup alert was last sent, so a standing problem is told once a day.
CREATE TABLE backup_alerts (
    kind TEXT PRIMARY KEY,
    sent_at BIGINT NOT NULL
);

-- How many keys the shred ledger should list (ENC-04): counted in the same transaction as each
-- erasure, so that a restore can tell a missing or older ledger file, which would bring erased
-- people back, from a complete one. A restore keeps the live count.
CREATE TABLE shred_count (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    entries BIGINT NOT NULL
);
