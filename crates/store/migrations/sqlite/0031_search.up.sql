-- Search (issue 23, COL-05): every change that affects what search finds is queued in the
-- transaction that makes it, by the triggers below, so no code path (a use case, an erasure,
-- retention, an import, a restore) can change content without the index learning of it. The
-- indexer drains the queue in batches; a row is deleted only in the transaction that records
-- the index commit that contains it, so a node that dies mid-batch loses nothing. A change to
-- an item already queued bumps `changes`, so the indexer deletes only the version it read.

CREATE TABLE search_queue (
    workspace_id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('idea', 'comment', 'discussion', 'space', 'link', 'file', 'member')),
    item_id BLOB NOT NULL,
    queued_at BIGINT NOT NULL,
    changes BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (workspace_id, kind, item_id)
);
CREATE INDEX search_queue_age ON search_queue(workspace_id, queued_at);

-- One row per workspace index: the sealed manifest of its stored files (the commit point), who
-- writes it (a lease, so that one node at a time does), and figures for `search status`.
CREATE TABLE search_indexes (
    workspace_id BLOB PRIMARY KEY,
    generation BIGINT NOT NULL DEFAULT 0,
    manifest BLOB,
    documents BIGINT NOT NULL DEFAULT 0,
    sealed_bytes BIGINT NOT NULL DEFAULT 0,
    committed_at BIGINT,
    rebuild BOOLEAN NOT NULL DEFAULT TRUE,
    -- Rebuilds asked for so far: a rebuild clears `rebuild` only if none was asked for while
    -- it ran.
    rebuild_asks BIGINT NOT NULL DEFAULT 0,
    -- The sealed manifest a restore or a replayed erasure set aside: its files are deleted by
    -- the next rebuild.
    forgotten BLOB,
    -- Stored objects no manifest needs (JSON: [[key, Unix ms listed], …]): files superseded by
    -- a commit, and files a writer was about to store when it stopped. Deleted after a grace
    -- period, so that a node still opening the previous generation finds its files.
    garbage TEXT NOT NULL DEFAULT '[]',
    writer TEXT,
    lease_until BIGINT,
    last_error TEXT,
    -- Failed attempts in a row, and when the next may start (back-off).
    failures BIGINT NOT NULL DEFAULT 0,
    retry_at BIGINT
);

-- The language whose word forms the workspace's search understands.
ALTER TABLE workspaces ADD COLUMN search_language TEXT NOT NULL DEFAULT 'en'
    CHECK (search_language IN ('en', 'de'));

CREATE TRIGGER search_ideas_insert AFTER INSERT ON ideas BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (NEW.workspace_id, 'idea', NEW.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_ideas_update AFTER UPDATE OF summary, body, stage_id, score, deleted_at, author_id, merged_into ON ideas BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (NEW.workspace_id, 'idea', NEW.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_ideas_delete AFTER DELETE ON ideas BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (OLD.workspace_id, 'idea', OLD.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_comments_insert AFTER INSERT ON comments BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (NEW.workspace_id, 'comment', NEW.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_comments_update AFTER UPDATE OF body, deleted_at, idea_id, author_id ON comments BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (NEW.workspace_id, 'comment', NEW.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_comments_delete AFTER DELETE ON comments BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (OLD.workspace_id, 'comment', OLD.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_discussions_insert AFTER INSERT ON discussions BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (NEW.workspace_id, 'discussion', NEW.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_discussions_update AFTER UPDATE OF title, description, kind, created_by ON discussions BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (NEW.workspace_id, 'discussion', NEW.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_discussions_delete AFTER DELETE ON discussions BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (OLD.workspace_id, 'discussion', OLD.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_spaces_insert AFTER INSERT ON spaces BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (NEW.workspace_id, 'space', NEW.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_spaces_update AFTER UPDATE OF name, description, created_by ON spaces BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (NEW.workspace_id, 'space', NEW.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_spaces_delete AFTER DELETE ON spaces BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (OLD.workspace_id, 'space', OLD.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_links_insert AFTER INSERT ON links BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (NEW.workspace_id, 'link', NEW.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_links_update AFTER UPDATE OF url, title, idea_id, created_by ON links BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (NEW.workspace_id, 'link', NEW.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_links_delete AFTER DELETE ON links BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (OLD.workspace_id, 'link', OLD.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_attachments_insert AFTER INSERT ON attachments BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (NEW.workspace_id, 'file', NEW.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_attachments_update AFTER UPDATE OF idea_id, filename ON attachments BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (NEW.workspace_id, 'file', NEW.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_attachments_delete AFTER DELETE ON attachments BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (OLD.workspace_id, 'file', OLD.id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
-- An idea deleted or restored hides or shows what hangs off it.
CREATE TRIGGER search_ideas_children AFTER UPDATE OF deleted_at ON ideas
    WHEN OLD.deleted_at IS NOT NEW.deleted_at BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    SELECT workspace_id, 'comment', id, CAST(strftime('%s', 'now') AS INTEGER) FROM comments WHERE workspace_id = NEW.workspace_id AND idea_id = NEW.id
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    SELECT workspace_id, 'link', id, CAST(strftime('%s', 'now') AS INTEGER) FROM links WHERE workspace_id = NEW.workspace_id AND idea_id = NEW.id
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    SELECT workspace_id, 'file', id, CAST(strftime('%s', 'now') AS INTEGER) FROM attachments WHERE workspace_id = NEW.workspace_id AND idea_id = NEW.id
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
-- A comment deleted or restored hides or shows its links and files.
CREATE TRIGGER search_comments_children AFTER UPDATE OF deleted_at ON comments
    WHEN OLD.deleted_at IS NOT NEW.deleted_at BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    SELECT workspace_id, 'link', id, CAST(strftime('%s', 'now') AS INTEGER) FROM links WHERE workspace_id = NEW.workspace_id AND comment_id = NEW.id
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    SELECT workspace_id, 'file', id, CAST(strftime('%s', 'now') AS INTEGER) FROM attachments WHERE workspace_id = NEW.workspace_id AND comment_id = NEW.id
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
-- Members are found by name.
CREATE TRIGGER search_memberships_insert AFTER INSERT ON memberships BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (NEW.workspace_id, 'member', NEW.user_id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_memberships_delete AFTER DELETE ON memberships BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (OLD.workspace_id, 'member', OLD.user_id, CAST(strftime('%s', 'now') AS INTEGER))
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
CREATE TRIGGER search_users_name AFTER UPDATE OF name ON users BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    SELECT workspace_id, 'member', user_id, CAST(strftime('%s', 'now') AS INTEGER) FROM memberships WHERE user_id = NEW.id
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
END;
