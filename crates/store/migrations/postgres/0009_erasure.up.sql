-- Erasure (DSR-03, GDPR Art. 17).
--
-- A former member: what an anonymised person's contributions are attributed to. One row per
-- erasure, with a fresh random id, no name, no address (the email index is random bytes, so no
-- sign-in finds it) and no key, so the contributions stay together as they were written yet
-- lead to nobody. former_member_of names the workspace the row belongs to, which removes it
-- when the workspace is deleted.
ALTER TABLE users ADD COLUMN former_member_of UUID;
CREATE INDEX users_former_member_of ON users(former_member_of) WHERE former_member_of IS NOT NULL;

-- What the workspace does with a person's contributions when they delete their account:
-- keep them anonymised (default) or purge them. An admin erasing someone chooses per erasure.
ALTER TABLE workspaces ADD COLUMN erasure_mode TEXT NOT NULL DEFAULT 'anonymise'
    CHECK (erasure_mode IN ('anonymise', 'purge'));
