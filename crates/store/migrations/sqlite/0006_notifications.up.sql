-- Email notifications per member preference (COL-04).
--
-- A member's preference in a workspace. No row means the default, instant. The row goes with
-- the membership (cascade), so a member who leaves and is invited again starts from the
-- default.
CREATE TABLE notification_preferences (
    workspace_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    preference TEXT NOT NULL CHECK (preference IN ('instant', 'daily', 'off')),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships(workspace_id, user_id) ON DELETE CASCADE
);

-- What a member with the daily preference will be told in their next digest. The item (why,
-- who acted, a short excerpt, the stage) is sealed with the acting person's data key (ENC-01),
-- so erasing them erases it; the idea it concerns is kept by id so that the digest can check
-- the member may still see it. Items go with the membership and with the idea (cascade), are
-- deleted when the member is erased, and are deleted when the digest is queued.
CREATE TABLE pending_notifications (
    workspace_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    id BLOB NOT NULL,
    idea_id BLOB NOT NULL,
    item BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id, id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships(workspace_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, idea_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX pending_notifications_due ON pending_notifications(workspace_id, created_at);
