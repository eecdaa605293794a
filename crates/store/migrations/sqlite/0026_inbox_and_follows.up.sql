-- In-app notifications and following (issue 22, COL-04).
--
-- inbox_items: what a member is told in the workspace itself, with or without a mail server.
-- `item` (who acted, why, a stage) is sealed with the acting person's data key, and
-- `actor_id` names them so that erasing either side deletes the rows. `read_at` is null until
-- the member reads it; the partial index serves the unread count on every page. `comment_id`
-- names the comment told of, whose current text the centre shows (and a deleted comment's
-- notification goes with it).
CREATE TABLE inbox_items (
    workspace_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    id BLOB NOT NULL,
    idea_id BLOB NOT NULL,
    comment_id BLOB,
    actor_id BLOB NOT NULL,
    item BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT,
    PRIMARY KEY (workspace_id, user_id, id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships(workspace_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, idea_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX inbox_items_unread ON inbox_items(workspace_id, user_id, id) WHERE read_at IS NULL;
CREATE INDEX inbox_items_actor ON inbox_items(workspace_id, actor_id);
CREATE INDEX inbox_items_comment ON inbox_items(workspace_id, comment_id) WHERE comment_id IS NOT NULL;

-- Who follows an idea (told of its comments and stage changes) or a discussion (told of its new
-- ideas). Gone with the membership, the idea or the discussion.
CREATE TABLE idea_follows (
    workspace_id BLOB NOT NULL,
    idea_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, idea_id, user_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships(workspace_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, idea_id) REFERENCES ideas(workspace_id, id) ON DELETE CASCADE
);
CREATE TABLE discussion_follows (
    workspace_id BLOB NOT NULL,
    discussion_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, discussion_id, user_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships(workspace_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, discussion_id) REFERENCES discussions(workspace_id, id) ON DELETE CASCADE
);
