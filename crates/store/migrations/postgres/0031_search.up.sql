-- Search (issue 23, COL-05): every change that affects what search finds is queued in the
-- transaction that makes it, by the triggers below, so no code path (a use case, an erasure,
-- retention, an import, a restore) can change content without the index learning of it. The
-- indexer drains the queue in batches; a row is deleted only in the transaction that records
-- the index commit that contains it, so a node that dies mid-batch loses nothing. A change to
-- an item already queued bumps `changes`, so the indexer deletes only the version it read.

CREATE TABLE search_queue (
    workspace_id UUID NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('idea', 'comment', 'discussion', 'space', 'link', 'file', 'member')),
    item_id UUID NOT NULL,
    queued_at BIGINT NOT NULL,
    changes BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (workspace_id, kind, item_id)
);
CREATE INDEX search_queue_age ON search_queue(workspace_id, queued_at);

-- One row per workspace index: the sealed manifest of its stored files (the commit point), who
-- writes it (a lease, so that one node at a time does), and figures for `search status`.
CREATE TABLE search_indexes (
    workspace_id UUID PRIMARY KEY,
    generation BIGINT NOT NULL DEFAULT 0,
    manifest BYTEA,
    documents BIGINT NOT NULL DEFAULT 0,
    sealed_bytes BIGINT NOT NULL DEFAULT 0,
    committed_at BIGINT,
    rebuild BOOLEAN NOT NULL DEFAULT TRUE,
    -- Rebuilds asked for so far: a rebuild clears `rebuild` only if none was asked for while
    -- it ran.
    rebuild_asks BIGINT NOT NULL DEFAULT 0,
    -- The sealed manifest a restore or a replayed erasure set aside: its files are deleted by
    -- the next rebuild.
    forgotten BYTEA,
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

-- Queues the row's own item: TG_ARGV[0] is the kind.
CREATE FUNCTION search_enqueue_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (r.workspace_id, TG_ARGV[0], r.id, EXTRACT(EPOCH FROM now())::BIGINT)
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
    RETURN NULL;
END;
$$;

-- Queues a membership's member.
CREATE FUNCTION search_enqueue_member() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    VALUES (r.workspace_id, 'member', r.user_id, EXTRACT(EPOCH FROM now())::BIGINT)
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
    RETURN NULL;
END;
$$;

-- Queues an account's memberships when its name changes.
CREATE FUNCTION search_enqueue_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    SELECT workspace_id, 'member', user_id, EXTRACT(EPOCH FROM now())::BIGINT
    FROM memberships WHERE user_id = NEW.id
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
    RETURN NULL;
END;
$$;

-- An idea deleted or restored hides or shows what hangs off it.
CREATE FUNCTION search_enqueue_idea_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN

    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    SELECT workspace_id, 'comment', id, EXTRACT(EPOCH FROM now())::BIGINT
    FROM comments WHERE workspace_id = NEW.workspace_id AND idea_id = NEW.id
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    SELECT workspace_id, 'link', id, EXTRACT(EPOCH FROM now())::BIGINT
    FROM links WHERE workspace_id = NEW.workspace_id AND idea_id = NEW.id
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    SELECT workspace_id, 'file', id, EXTRACT(EPOCH FROM now())::BIGINT
    FROM attachments WHERE workspace_id = NEW.workspace_id AND idea_id = NEW.id
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER search_ideas_insert AFTER INSERT ON ideas FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('idea');
CREATE TRIGGER search_ideas_update AFTER UPDATE OF summary, body, stage_id, score, deleted_at, author_id, merged_into ON ideas FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('idea');
CREATE TRIGGER search_ideas_delete AFTER DELETE ON ideas FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('idea');
CREATE TRIGGER search_comments_insert AFTER INSERT ON comments FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('comment');
CREATE TRIGGER search_comments_update AFTER UPDATE OF body, deleted_at, idea_id, author_id ON comments FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('comment');
CREATE TRIGGER search_comments_delete AFTER DELETE ON comments FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('comment');
CREATE TRIGGER search_discussions_insert AFTER INSERT ON discussions FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('discussion');
CREATE TRIGGER search_discussions_update AFTER UPDATE OF title, description, kind, created_by ON discussions FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('discussion');
CREATE TRIGGER search_discussions_delete AFTER DELETE ON discussions FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('discussion');
CREATE TRIGGER search_spaces_insert AFTER INSERT ON spaces FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('space');
CREATE TRIGGER search_spaces_update AFTER UPDATE OF name, description, created_by ON spaces FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('space');
CREATE TRIGGER search_spaces_delete AFTER DELETE ON spaces FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('space');
CREATE TRIGGER search_links_insert AFTER INSERT ON links FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('link');
CREATE TRIGGER search_links_update AFTER UPDATE OF url, title, idea_id, created_by ON links FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('link');
CREATE TRIGGER search_links_delete AFTER DELETE ON links FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('link');
CREATE TRIGGER search_attachments_insert AFTER INSERT ON attachments FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('file');
CREATE TRIGGER search_attachments_update AFTER UPDATE OF idea_id, filename ON attachments FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('file');
CREATE TRIGGER search_attachments_delete AFTER DELETE ON attachments FOR EACH ROW EXECUTE FUNCTION search_enqueue_row('file');
-- A comment deleted or restored hides or shows its links and files.
CREATE FUNCTION search_enqueue_comment_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    SELECT workspace_id, 'link', id, EXTRACT(EPOCH FROM now())::BIGINT
    FROM links WHERE workspace_id = NEW.workspace_id AND comment_id = NEW.id
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
    INSERT INTO search_queue (workspace_id, kind, item_id, queued_at)
    SELECT workspace_id, 'file', id, EXTRACT(EPOCH FROM now())::BIGINT
    FROM attachments WHERE workspace_id = NEW.workspace_id AND comment_id = NEW.id
    ON CONFLICT (workspace_id, kind, item_id) DO UPDATE SET changes = search_queue.changes + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER search_comments_children AFTER UPDATE OF deleted_at ON comments FOR EACH ROW
    WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at) EXECUTE FUNCTION search_enqueue_comment_children();
CREATE TRIGGER search_ideas_children AFTER UPDATE OF deleted_at ON ideas FOR EACH ROW
    WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at) EXECUTE FUNCTION search_enqueue_idea_children();
CREATE TRIGGER search_memberships_insert AFTER INSERT ON memberships FOR EACH ROW EXECUTE FUNCTION search_enqueue_member();
CREATE TRIGGER search_memberships_delete AFTER DELETE ON memberships FOR EACH ROW EXECUTE FUNCTION search_enqueue_member();
CREATE TRIGGER search_users_name AFTER UPDATE OF name ON users FOR EACH ROW EXECUTE FUNCTION search_enqueue_user();
