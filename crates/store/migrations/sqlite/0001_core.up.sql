-- Collaboration core (COL-01, COL-02, ACC-01). Every table of workspace data carries
-- workspace_id and leads its primary key and indexes with it, so the schema can be sharded by
-- workspace. Times are Unix milliseconds.
--
-- Customer content and personal data are stored sealed (ENC-01): every column typed as bytes
-- below, other than hashes, holds a value sealed by the crypto crate and bound to its place.
-- Email addresses are found through a keyed blind index, tags through a per-workspace one.

CREATE TABLE users (
    id BLOB PRIMARY KEY,
    email_index BLOB NOT NULL UNIQUE,
    email BLOB NOT NULL,
    name BLOB NOT NULL,
    password_hash TEXT,
    is_operator BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE workspaces (
    id BLOB PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'moderator', 'member', 'guest')),
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);

CREATE TABLE api_tokens (
    workspace_id BLOB NOT NULL,
    id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    name BLOB NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    token_hash BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships(workspace_id, user_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens(workspace_id, token_hash);

CREATE TABLE invitations (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id BLOB NOT NULL,
    email BLOB NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'moderator', 'member', 'guest')),
    token_hash BLOB NOT NULL,
    invited_by BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by BLOB,
    revoked_at BIGINT,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX invitations_hash ON invitations(workspace_id, token_hash);

CREATE TABLE stages (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id BLOB NOT NULL,
    name BLOB NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE rating_criteria (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id BLOB NOT NULL,
    name BLOB NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE spaces (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id BLOB NOT NULL,
    name BLOB NOT NULL,
    description BLOB NOT NULL,
    private BOOLEAN NOT NULL,
    created_by BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE space_members (
    workspace_id BLOB NOT NULL,
    space_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    PRIMARY KEY (workspace_id, space_id, user_id),
    FOREIGN KEY (workspace_id, space_id) REFERENCES spaces(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships(workspace_id, user_id) ON DELETE CASCADE
);

CREATE TABLE discussions (
    workspace_id BLOB NOT NULL,
    id BLOB NOT NULL,
    space_id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('challenge', 'topic')),
    title BLOB NOT NULL,
    description BLOB NOT NULL,
    open BOOLEAN NOT NULL,
    deadline BIGINT,
    idea_count BIGINT NOT NULL DEFAULT 0,
    created_by BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, space_id) REFERENCES spaces(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX discussions_space ON discussions(workspace_id, space_id, id);

CREATE TABLE discussion_criteria (
    workspace_id BLOB NOT NULL,
    discussion_id BLOB NOT NULL,
    criterion_id BLOB NOT NULL,
    PRIMARY KEY (workspace_id, discussion_id, criterion_id),
    FOREIGN KEY (workspace_id, discussion_id) REFERENCES discussions(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, criterion_id) REFERENCES rating_criteria(workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE ideas (
    workspace_id BLOB NOT NULL,
    id BLOB NOT NULL,
    discussion_id BLOB NOT NULL,
    author_id BLOB NOT NULL REFERENCES users(id),
    summary BLOB NOT NULL,
    body BLOB NOT NULL,
    stage_id BLOB NOT NULL,
    upvotes BIGINT NOT NULL DEFAULT 0,
    downvotes BIGINT NOT NULL DEFAULT 0,
    score BIGINT NOT NULL DEFAULT 0,
    hot DOUBLE PRECISION NOT NULL,
    comment_count BIGINT NOT NULL DEFAULT 0,
    merged_into BLOB,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT,
    deleted_by BLOB,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, discussion_id) REFERENCES discussions(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, stage_id) REFERENCES stages(workspace_id, id)
);
CREATE INDEX ideas_top ON ideas(workspace_id, discussion_id, score DESC, id DESC)
    WHERE deleted_at IS NULL AND merged_into IS NULL;
CREATE INDEX ideas_newest ON ideas(workspace_id, discussion_id, id DESC)
    WHERE deleted_at IS NULL AND merged_into IS NULL;
CREATE INDEX ideas_trending ON ideas(workspace_id, discussion_id, hot DESC, id DESC)
    WHERE deleted_at IS NULL AND merged_into IS NULL;
CREATE INDEX ideas_stage ON ideas(workspace_id, stage_id);
CREATE INDEX ideas_merged ON ideas(workspace_id, merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE idea_tags (
    workspace_id BLOB NOT NULL,
    idea_id BLOB NOT NULL,
    tag_index BLOB NOT NULL,
    PRIMARY KEY (workspace_id, idea_id, tag_index),
    FOREIGN KEY (workspace_id, idea_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX idea_tags_tag ON idea_tags(workspace_id, tag_index, idea_id);

CREATE TABLE comments (
    workspace_id BLOB NOT NULL,
    id BLOB NOT NULL,
    idea_id BLOB NOT NULL,
    parent_id BLOB,
    author_id BLOB NOT NULL REFERENCES users(id),
    body BLOB NOT NULL,
    moved_from BLOB,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT,
    deleted_by BLOB,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, idea_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX comments_idea ON comments(workspace_id, idea_id, id);

CREATE TABLE votes (
    workspace_id BLOB NOT NULL,
    idea_id BLOB NOT NULL,
    user_id BLOB NOT NULL REFERENCES users(id),
    value BIGINT NOT NULL CHECK (value IN (-1, 1)),
    moved_from BLOB,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, idea_id, user_id),
    FOREIGN KEY (workspace_id, idea_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE ratings (
    workspace_id BLOB NOT NULL,
    idea_id BLOB NOT NULL,
    criterion_id BLOB NOT NULL,
    user_id BLOB NOT NULL REFERENCES users(id),
    value BIGINT NOT NULL CHECK (value BETWEEN 1 AND 5),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, idea_id, criterion_id, user_id),
    FOREIGN KEY (workspace_id, idea_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, criterion_id) REFERENCES rating_criteria(workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE attachments (
    workspace_id BLOB NOT NULL,
    id BLOB NOT NULL,
    idea_id BLOB NOT NULL,
    comment_id BLOB,
    uploader_id BLOB NOT NULL REFERENCES users(id),
    filename BLOB NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, idea_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX attachments_idea ON attachments(workspace_id, idea_id, id);

CREATE TABLE links (
    workspace_id BLOB NOT NULL,
    id BLOB NOT NULL,
    idea_id BLOB NOT NULL,
    comment_id BLOB,
    url BLOB NOT NULL,
    title BLOB NOT NULL,
    created_by BLOB NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, idea_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX links_idea ON links(workspace_id, idea_id, id);

CREATE TABLE idea_merges (
    workspace_id BLOB NOT NULL,
    id BLOB NOT NULL,
    source_id BLOB NOT NULL,
    target_id BLOB NOT NULL,
    merged_by BLOB NOT NULL,
    merged_at BIGINT NOT NULL,
    unmerged_by BLOB,
    unmerged_at BIGINT,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, source_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, target_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX idea_merges_target ON idea_merges(workspace_id, target_id, id);
CREATE INDEX idea_merges_source ON idea_merges(workspace_id, source_id, id);
