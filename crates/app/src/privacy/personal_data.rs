//! Access and portability (DSR-01): everything Ideaweave holds about the person asking, as one
//! documented JSON document (`docs/privacy/personal-data.schema.json`).
//!
//! The document is assembled from what the person did, not from what they can see: their
//! account, sessions and instance-level audit events; and per workspace they belong to, or
//! belonged to and still have contributions in, their membership,
//! notification preference, ideas and comments (deleted ones too, while they are kept), votes,
//! ratings, files (metadata; the files themselves download from their links), links, API tokens
//! (never the secrets) and the workspace's audit events in which they acted or were the target,
//! with the client data still kept (LIF-03).

use ideaweave_domain::*;
use serde::Serialize;
use serde_json::json;

use crate::content::notifications::stored_preference;
use crate::platform::sealed::at;
use crate::platform::sealed::column;
use crate::trust::audit::{AuditAction, AuditEvent, AuditEventView, Outcome, Target, Who};
use crate::{App, AppError, AppResult, Principal};
use crate::{AttachmentView, LinkView, TokenView, UserView};

/// The format name and version written into every document; bumped when fields change meaning.
pub const PERSONAL_DATA_FORMAT: &str = "ideaweave.personal-data/1";

/// Everything held about one person.
#[derive(Debug, Serialize)]
pub struct PersonalData {
    pub format: &'static str,
    /// When the document was made (Unix milliseconds).
    pub generated_at: i64,
    pub account: AccountData,
    pub workspaces: Vec<WorkspaceData>,
}

/// The account itself.
#[derive(Debug, Serialize)]
pub struct AccountData {
    #[serde(flatten)]
    pub profile: UserView,
    pub created_at: i64,
    pub has_password: bool,
    /// Since when the person restricted the processing of their data (DSR-04), if they did.
    pub restricted_at: Option<i64>,
    /// The time zone the person chose to read times in, if they chose one.
    pub time_zone: Option<String>,
    /// Live sign-in sessions (when created, when they expire).
    pub sessions: Vec<SessionData>,
    /// Instance-level audit events about the person (sign-ins, password resets…).
    pub audit_events: Vec<AuditEventView>,
}

/// A sign-in session, without its secret.
#[derive(Debug, Serialize)]
pub struct SessionData {
    pub created_at: i64,
    pub expires_at: i64,
}

/// What the person holds in one workspace.
#[derive(Debug, Serialize)]
pub struct WorkspaceData {
    pub slug: String,
    pub name: String,
    /// Your role; `None` once you are no longer a member (the workspace still keeps what you
    /// contributed).
    pub role: Option<Role>,
    pub joined_at: Option<i64>,
    /// The day you last used the workspace, while the workspace keeps activity data.
    pub last_active_on: Option<i64>,
    /// When you last marked the workspace's activity seen, while it keeps activity data.
    pub activity_seen_at: Option<i64>,
    pub notification_preference: Option<NotificationPreference>,
    pub ideas: Vec<IdeaData>,
    pub comments: Vec<CommentData>,
    /// The earlier texts of the person's edited comments.
    pub comment_versions: Vec<CommentVersionData>,
    /// The ideas and discussions the person follows.
    pub follows: FollowsData,
    /// What the workspace told the person (why, about which idea, when, whether read); who
    /// acted is someone else's data and is not repeated here.
    pub notifications: Vec<NotificationData>,
    pub votes: Vec<VoteData>,
    pub ratings: Vec<RatingData>,
    pub attachments: Vec<AttachmentView>,
    pub links: Vec<LinkView>,
    pub api_tokens: Vec<TokenView>,
    pub audit_events: Vec<AuditEventView>,
}

/// An idea the person wrote.
#[derive(Debug, Serialize)]
pub struct IdeaData {
    pub id: IdeaId,
    pub discussion_id: DiscussionId,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
}

/// A comment the person wrote.
#[derive(Debug, Serialize)]
pub struct CommentData {
    pub id: CommentId,
    pub idea_id: IdeaId,
    pub parent_id: Option<uuid::Uuid>,
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
}

/// An earlier text of one of the person's comments.
#[derive(Debug, Serialize)]
pub struct CommentVersionData {
    pub comment_id: CommentId,
    pub body: String,
    pub written_at: i64,
    pub replaced_at: i64,
}

/// What the person follows.
#[derive(Debug, Serialize)]
pub struct FollowsData {
    pub ideas: Vec<uuid::Uuid>,
    pub discussions: Vec<uuid::Uuid>,
}

/// A notification the person was given.
#[derive(Debug, Serialize)]
pub struct NotificationData {
    pub idea_id: IdeaId,
    pub reason: Option<ideaweave_domain::notify::Reason>,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// A vote the person cast.
#[derive(Debug, Serialize)]
pub struct VoteData {
    pub idea_id: uuid::Uuid,
    pub direction: &'static str,
    pub at: i64,
}

/// A rating the person gave.
#[derive(Debug, Serialize)]
pub struct RatingData {
    pub idea_id: uuid::Uuid,
    pub criterion_id: uuid::Uuid,
    pub value: i64,
    pub at: i64,
}

impl App {
    /// Everything held about the signed-in person (DSR-01), recorded as `account.data_exported`.
    /// Only a browser session may ask: a workspace API token speaks for one workspace, and this
    /// document spans them all.
    #[tracing::instrument(skip_all)]
    pub async fn personal_data(&self, principal: &Principal) -> AppResult<PersonalData> {
        if principal.is_api_token() {
            return Err(AppError::Forbidden(
                "sign in to download your personal data; API tokens cannot".into(),
            ));
        }
        let user = principal.user;
        let now = self.now();
        let mut tx = self.store.read().await?;
        let record = tx
            .user_by_id(user)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let profile = self.user_view(&mut tx, &record).await?;
        let sessions = tx
            .sessions_of(user, now)
            .await?
            .into_iter()
            .map(|(created_at, expires_at)| SessionData {
                created_at,
                expires_at,
            })
            .collect();
        let account_key = self.keyring.account_key(&mut tx, user, now).await?;
        let pseudonym = account_key.pseudonym(uuid::Uuid::nil(), user);
        let mut audit_events = Vec::new();
        for r in tx.audit_entries_about(None, &pseudonym).await? {
            audit_events.push(self.event_view(&mut tx, &r).await?);
        }
        let account = AccountData {
            profile,
            created_at: record.created_at,
            has_password: record.password_hash.is_some(),
            restricted_at: tx.restricted_since(user).await?,
            time_zone: tx.user_time_zone(user).await?,
            sessions,
            audit_events,
        };
        let mut workspaces = Vec::new();
        for m in tx.workspaces_holding(user).await? {
            workspaces.push(self.workspace_data(&mut tx, user, m).await?);
        }
        drop(tx);
        let mut tx = self.store.begin().await?;
        self.audit(
            &mut tx,
            AuditEvent {
                workspace: None,
                actor: Who::Person(user),
                action: AuditAction::PersonalDataExported,
                target: Target::Person(user),
                outcome: Outcome::Success,
                client: &principal.client,
                facts: json!({"workspaces": workspaces.len()}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(PersonalData {
            format: PERSONAL_DATA_FORMAT,
            generated_at: now,
            account,
            workspaces,
        })
    }

    pub(crate) async fn workspace_data(
        &self,
        tx: &mut ideaweave_store::Tx,
        user: UserId,
        m: ideaweave_store::HeldIn,
    ) -> AppResult<WorkspaceData> {
        let ws = m.workspace_id;
        let name = self.workspace_name(tx, ws, &m.name).await?;
        let role = m.role.as_deref().map(crate::parse_role).transpose()?;
        let membership = tx.workspace(ws).member(user).await?;
        let joined_at = membership.as_ref().map(|m| m.joined_at);
        let last_active_on = membership.as_ref().and_then(|m| m.last_active_on);
        let activity_seen_at = membership.and_then(|m| m.activity_seen_at);
        let notification_preference = match role {
            Some(_) => Some(stored_preference(tx, ws, user).await?),
            None => None,
        };
        let mut ideas = Vec::new();
        for (idea, body) in tx.workspace(ws).ideas_by(user).await? {
            let summary = self.open_summary(tx, ws, idea.id.0, &idea.summary).await?;
            ideas.push(IdeaData {
                id: idea.id,
                discussion_id: idea.discussion_id,
                title: summary.title,
                body: self
                    .open_text(tx, &at(ws, column::IDEAS_BODY, idea.id.0), &body)
                    .await?,
                tags: summary.tags,
                created_at: idea.created_at,
                updated_at: idea.updated_at,
                deleted_at: idea.deleted_at,
            });
        }
        let mut comments = Vec::new();
        let mut comment_versions = Vec::new();
        for c in tx.workspace(ws).comments_by(user).await? {
            for r in tx.workspace(ws).comment_revisions(c.id).await? {
                comment_versions.push(CommentVersionData {
                    comment_id: c.id,
                    body: self
                        .open_text(tx, &at(ws, column::COMMENT_REVISIONS_BODY, r.id), &r.body)
                        .await?,
                    written_at: r.written_at,
                    replaced_at: r.replaced_at,
                });
            }
            comments.push(CommentData {
                body: self
                    .open_text(tx, &at(ws, column::COMMENTS_BODY, c.id.0), &c.body)
                    .await?,
                id: c.id,
                idea_id: c.idea_id,
                parent_id: c.parent_id,
                created_at: c.created_at,
                updated_at: c.updated_at,
                deleted_at: c.deleted_at,
            });
        }
        let votes = tx
            .workspace(ws)
            .votes_by(user)
            .await?
            .into_iter()
            .map(|(idea_id, value, at)| VoteData {
                idea_id,
                direction: if value > 0 { "up" } else { "down" },
                at,
            })
            .collect();
        let ratings = tx
            .workspace(ws)
            .ratings_by(user)
            .await?
            .into_iter()
            .map(|(idea_id, criterion_id, value, at)| RatingData {
                idea_id,
                criterion_id,
                value,
                at,
            })
            .collect();
        let mut attachments = Vec::new();
        for a in tx.workspace(ws).attachments_by(user).await? {
            attachments.push(self.attachment_out(tx, ws, a).await?);
        }
        let mut links = Vec::new();
        for l in tx.workspace(ws).links_by(user).await? {
            links.push(self.link_out(tx, ws, l).await?);
        }
        let mut api_tokens = Vec::new();
        for t in tx.workspace(ws).tokens_of(user).await? {
            api_tokens.push(self.token_view(tx, ws, t).await?);
        }
        let mut audit_events = Vec::new();
        if let Some(key) = self
            .keyring
            .existing_subject_key(&mut tx.workspace(ws), user)
            .await?
        {
            let pseudonym = key.pseudonym(ws.0, user);
            for r in tx.audit_entries_about(Some(ws.0), &pseudonym).await? {
                audit_events.push(self.event_view(tx, &r).await?);
            }
        }
        let (followed_ideas, followed_discussions) = tx.workspace(ws).follows_of(user).await?;
        let mut notifications = Vec::new();
        for n in tx.workspace(ws).inbox_of(user).await? {
            // Why they were told is in the sealed item; an item whose key was shredded (its
            // actor erased) says only when and about what.
            let reason = match self
                .keyring
                .open(
                    tx,
                    &crate::content::notifications::inbox_place(ws, n.id),
                    &n.item,
                )
                .await?
            {
                Some(bytes) => {
                    serde_json::from_slice::<crate::content::notifications::Item>(&bytes)
                        .ok()
                        .map(|i| i.reason)
                }
                None => None,
            };
            notifications.push(NotificationData {
                idea_id: n.idea_id,
                reason,
                created_at: n.created_at,
                read_at: n.read_at,
            });
        }
        Ok(WorkspaceData {
            comment_versions,
            follows: FollowsData {
                ideas: followed_ideas,
                discussions: followed_discussions,
            },
            notifications,
            slug: m.slug,
            name,
            role,
            joined_at,
            last_active_on,
            activity_seen_at,
            notification_preference,
            ideas,
            comments,
            votes,
            ratings,
            attachments,
            links,
            api_tokens,
            audit_events,
        })
    }
}
