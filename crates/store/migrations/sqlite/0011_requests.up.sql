-- The request desk (DSR-05, DSR-06): data-subject requests, complaints and authority inquiries
-- that reached the workspace by other channels, or through the operator, who forwards and never
-- answers them. Who asked, the details and the answer are sealed with the workspace's key; the
-- person concerned, when a member, is named by id. An answer is due one month after receipt.
CREATE TABLE privacy_requests (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'rectification', 'erasure', 'restriction', 'portability', 'objection', 'complaint', 'authority')),
    channel TEXT NOT NULL CHECK (channel IN ('email', 'letter', 'phone', 'in_person', 'operator', 'other')),
    requester BLOB NOT NULL,
    subject_id BLOB,
    details BLOB NOT NULL,
    received_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'done', 'refused')),
    resolution BLOB,
    resolved_at BIGINT,
    resolved_by BLOB,
    recorded_by BLOB,
    reminders INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX privacy_requests_open ON privacy_requests(workspace_id, state, due_at);

-- Art. 19: who was told that a rectification, erasure or restriction was carried out. The
-- recipient (an organisation's address) is sealed with the workspace's key.
CREATE TABLE privacy_notices (
    workspace_id BLOB NOT NULL,
    request_id BLOB NOT NULL,
    id BLOB NOT NULL,
    recipient BLOB NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, request_id, id),
    FOREIGN KEY (workspace_id, request_id) REFERENCES privacy_requests(workspace_id, id) ON DELETE CASCADE
);
