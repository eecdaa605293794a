-- Collaboration core (COL-01, COL-02, ACC-01). Every table of workspace data carries
-- workspace_id and leads its primary key and indexes with it, so the schema can be sharded by
-- workspace. Times are Unix milliseconds.
--
-- Customer content and personal data are stored sealed (ENC-01): every column typed as bytes
-- below, other than hashes, holds a value sealed by the crypto crate and bound to its place.
-- Email addresses are found through a keyed blind index, tags through a per-workspace one.

CREATE TABLE users (
    id UUID PRIMARY KEY,
    email_index BYTEA NOT NULL UNIQUE,
    email BYTEA NOT NULL,
    name BYTEA NOT NULL,
    password_hash TEXT,
    is_operator BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE workspaces (
    id UUID PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'moderator', 'member', 'guest')),
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);

CREATE TABLE api_tokens (
    workspace_id UUID NOT NULL,
    id UUID NOT NULL,
    user_id UUID NOT NULL,
    name BYTEA NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    token_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships(workspace_id, user_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens(workspace_id, token_hash);

CREATE TABLE invitations (
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id UUID NOT NULL,
    email BYTEA NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'moderator', 'member', 'guest')),
    token_hash BYTEA NOT NULL,
    invited_by UUID NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by UUID,
    revoked_at BIGINT,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX invitations_hash ON invitations(workspace_id, token_hash);

CREATE TABLE stages (
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id UUID NOT NULL,
    name BYTEA NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE rating_criteria (
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id UUID NOT NULL,
    name BYTEA NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE spaces (
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id UUID NOT NULL,
    name BYTEA NOT NULL,
    description BYTEA NOT NULL,
    private BOOLEAN NOT NULL,
    created_by UUID NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE space_members (
    workspace_id UUID NOT NULL,
    space_id UUID NOT NULL,
    user_id UUID NOT NULL,
    PRIMARY KEY (workspace_id, space_id, user_id),
    FOREIGN KEY (workspace_id, space_id) REFERENCES spaces(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships(workspace_id, user_id) ON DELETE CASCADE
);

CREATE TABLE discussions (
    workspace_id UUID NOT NULL,
    id UUID NOT NULL,
    space_id UUID NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('challenge', 'topic')),
    title BYTEA NOT NULL,
    description BYTEA NOT NULL,
    open BOOLEAN NOT NULL,
    deadline BIGINT,
    idea_count BIGINT NOT NULL DEFAULT 0,
    created_by UUID NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, space_id) REFERENCES spaces(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX discussions_space ON discussions(workspace_id, space_id, id);

CREATE TABLE discussion_criteria (
    workspace_id UUID NOT NULL,
    discussion_id UUID NOT NULL,
    criterion_id UUID NOT NULL,
    PRIMARY KEY (workspace_id, discussion_id, criterion_id),
    FOREIGN KEY (workspace_id, discussion_id) REFERENCES discussions(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, criterion_id) REFERENCES rating_criteria(workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE ideas (
    workspace_id UUID NOT NULL,
    id UUID NOT NULL,
    discussion_id UUID NOT NULL,
    author_id UUID NOT NULL REFERENCES users(id),
    summary BYTEA NOT NULL,
    body BYTEA NOT NULL,
    stage_id UUID NOT NULL,
    upvotes BIGINT NOT NULL DEFAULT 0,
    downvotes BIGINT NOT NULL DEFAULT 0,
    score BIGINT NOT NULL DEFAULT 0,
    hot DOUBLE PRECISION NOT NULL,
    comment_count BIGINT NOT NULL DEFAULT 0,
    merged_into UUID,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT,
    deleted_by UUID,
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
    workspace_id UUID NOT NULL,
    idea_id UUID NOT NULL,
    tag_index BYTEA NOT NULL,
    PRIMARY KEY (workspace_id, idea_id, tag_index),
    FOREIGN KEY (workspace_id, idea_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX idea_tags_tag ON idea_tags(workspace_id, tag_index, idea_id);

CREATE TABLE comments (
    workspace_id UUID NOT NULL,
    id UUID NOT NULL,
    idea_id UUID NOT NULL,
    parent_id UUID,
    author_id UUID NOT NULL REFERENCES users(id),
    body BYTEA NOT NULL,
    moved_from UUID,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT,
    deleted_by UUID,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, idea_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX comments_idea ON comments(workspace_id, idea_id, id);

CREATE TABLE votes (
    workspace_id UUID NOT NULL,
    idea_id UUID NOT NULL,
    user_id UUID NOT NULL REFERENCES users(id),
    value BIGINT NOT NULL CHECK (value IN (-1, 1)),
    moved_from UUID,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, idea_id, user_id),
    FOREIGN KEY (workspace_id, idea_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE ratings (
    workspace_id UUID NOT NULL,
    idea_id UUID NOT NULL,
    criterion_id UUID NOT NULL,
    user_id UUID NOT NULL REFERENCES users(id),
    value BIGINT NOT NULL CHECK (value BETWEEN 1 AND 5),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, idea_id, criterion_id, user_id),
    FOREIGN KEY (workspace_id, idea_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, criterion_id) REFERENCES rating_criteria(workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE attachments (
    workspace_id UUID NOT NULL,
    id UUID NOT NULL,
    idea_id UUID NOT NULL,
    comment_id UUID,
    uploader_id UUID NOT NULL REFERENCES users(id),
    filename BYTEA NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, idea_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX attachments_idea ON attachments(workspace_id, idea_id, id);

CREATE TABLE links (
    workspace_id UUID NOT NULL,
    id UUID NOT NULL,
    idea_id UUID NOT NULL,
    comment_id UUID,
    url BYTEA NOT NULL,
    title BYTEA NOT NULL,
    created_by UUID NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, idea_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX links_idea ON links(workspace_id, idea_id, id);

CREATE TABLE idea_merges (
    workspace_id UUID NOT NULL,
    id UUID NOT NULL,
    source_id UUID NOT NULL,
    target_id UUID NOT NULL,
    merged_by UUID NOT NULL,
    merged_at BIGINT NOT NULL,
    unmerged_by UUID,
    unmerged_at BIGINT,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, source_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, target_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX idea_merges_target ON idea_merges(workspace_id, target_id, id);
CREATE INDEX idea_merges_source ON idea_merges(workspace_id, source_id, id);
