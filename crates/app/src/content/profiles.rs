//! A member's page in a workspace (COL-02): their name, role and when they joined, with their
//! latest ideas and comments as far as the reader may see them (a private space's only for
//! those listed in it). Only for those who may see the member list; nobody's activity times,
//! address or anything beyond what the workspace's pages already show of them.

use ideaweave_domain::policy::Action;
use ideaweave_domain::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::content::ideas::summary;
use crate::platform::sealed::{NameMemo, at, column};
use crate::{App, AppError, AppResult, IdeaSummary, Member, parse_role, space_view};

/// How many of each a profile shows.
const SHOWN: usize = 20;
/// How many of each are read to find them (some may be in spaces the reader does not see).
const READ: u32 = 100;

/// A comment on a member's page.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileComment {
    pub id: CommentId,
    pub idea_id: IdeaId,
    /// The title of the idea it is on.
    pub idea_title: String,
    /// Its start, as plain text.
    pub excerpt: String,
    pub created_at: i64,
}

/// A member as their page shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    pub joined_at: i64,
    /// Their latest ideas the reader may see, newest first.
    pub ideas: Vec<IdeaSummary>,
    /// Their latest comments the reader may see, newest first.
    pub comments: Vec<ProfileComment>,
}

impl App {
    /// The page of `user` in the caller's workspace.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn profile(&self, m: &Member, user: UserId) -> AppResult<ProfileView> {
        m.allow(Action::ReadMembers)?;
        let ws = m.workspace;
        let mut tx = self.store.read().await?;
        let member = tx
            .workspace(ws)
            .member(user)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let mut names = NameMemo::default();
        let name = self
            .person_name(&mut tx, &mut names, user, &member.name)
            .await?;
        let reads = |private: bool, listed: bool| {
            m.allow(Action::ReadContent(space_view(private, listed)))
                .is_ok()
        };
        let found = tx.workspace(ws).ideas_of(m.actor.user, user, READ).await?;
        let ideas = self
            .readable_summaries(&mut tx, m, &mut names, found, SHOWN)
            .await?;
        let mut comments = Vec::new();
        for c in tx
            .workspace(ws)
            .comments_of(m.actor.user, user, READ)
            .await?
        {
            if comments.len() == SHOWN {
                break;
            }
            if !reads(c.space_private, c.space_listed) {
                continue;
            }
            let (excerpt, idea_title) = self
                .comment_line(
                    &mut tx,
                    ws,
                    &mut names,
                    c.id,
                    &c.body,
                    c.idea_id,
                    &c.idea_summary,
                )
                .await?;
            comments.push(ProfileComment {
                id: CommentId(c.id),
                idea_id: c.idea_id,
                idea_title,
                excerpt,
                created_at: c.created_at,
            });
        }
        Ok(ProfileView {
            id: user,
            name,
            role: parse_role(&member.role)?,
            joined_at: member.joined_at,
            ideas,
            comments,
        })
    }

    /// The summaries of the first `shown` of `found` ideas the member may read (a private
    /// space's only if listed in it), in order.
    pub(crate) async fn readable_summaries(
        &self,
        tx: &mut ideaweave_store::Tx,
        m: &Member,
        names: &mut NameMemo,
        found: Vec<ideaweave_store::AuthoredIdea>,
        shown: usize,
    ) -> AppResult<Vec<IdeaSummary>> {
        let mut ideas = Vec::new();
        for a in found {
            if ideas.len() == shown {
                break;
            }
            let space = space_view(a.space_private, a.space_listed);
            if m.allow(Action::ReadContent(space)).is_ok() {
                ideas.push(summary(self, tx, m.workspace, names, a.idea).await?);
            }
        }
        Ok(ideas)
    }

    /// A comment as a list shows it: the start of its text and the title of its idea.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn comment_line(
        &self,
        tx: &mut ideaweave_store::Tx,
        ws: WorkspaceId,
        names: &mut NameMemo,
        id: uuid::Uuid,
        body: &[u8],
        idea: IdeaId,
        idea_summary: &[u8],
    ) -> AppResult<(String, String)> {
        let body = self
            .open_text(tx, &at(ws, column::COMMENTS_BODY, id), body)
            .await?;
        let excerpt = self.excerpt_of(tx, ws, names, &body).await?;
        let title = self.open_summary(tx, ws, idea.0, idea_summary).await?.title;
        Ok((excerpt, title))
    }

    /// Whether the caller has yet to write anything here: the workspace's home then welcomes
    /// them with the next steps, until their first idea or comment.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn is_newcomer(&self, m: &Member) -> AppResult<bool> {
        m.allow(Action::ReadWorkspace)?;
        let mut tx = self.store.read().await?;
        Ok(!tx.workspace(m.workspace).has_written(m.actor.user).await?)
    }
}
