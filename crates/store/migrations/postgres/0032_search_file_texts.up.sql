-- What became of reading each uploaded file's text for search (issue 23, COL-05): read, or
-- not and why (a code such as 'archive_too_large'; nothing of the file's content). A file
-- recorded as unreadable is searched by its name only and not read again, so a hostile file
-- costs its bounded attempt once, not at every rebuild. Bookkeeping like the search tables:
-- not in backups (a restored instance reads its files again).
CREATE TABLE search_file_texts (
    workspace_id UUID NOT NULL,
    attachment_id UUID NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('read', 'unreadable')),
    reason TEXT,
    text_bytes BIGINT NOT NULL DEFAULT 0,
    checked_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, attachment_id),
    FOREIGN KEY (workspace_id, attachment_id) REFERENCES attachments(workspace_id, id) ON DELETE CASCADE
);
