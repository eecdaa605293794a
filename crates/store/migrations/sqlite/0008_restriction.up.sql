-- Restriction of processing (DSR-04, GDPR Art. 18). When set, the person's content is frozen
-- (nobody edits, deletes, moves or adds to it), they act on nothing, and they are told nothing,
-- until they lift it.
ALTER TABLE users ADD COLUMN restricted_at BIGINT;
