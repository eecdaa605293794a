//! Notifications (COL-04): in the workspace's notifications centre always, and by email per
//! member preference.
//!
//! **What notifies whom** (the rule itself is [`ideaweave_domain::notify::recipients`]):
//!
//! - naming a member with `@` in an idea or a comment notifies them (an edit, those it names
//!   anew);
//! - a comment on an idea notifies the idea's author and the idea's followers;
//! - a reply also notifies the author of the comment it answers (unless that comment is deleted);
//! - moving an idea to another stage notifies the idea's author and its followers;
//! - a new idea notifies the followers of its discussion.
//!
//! Nothing else notifies. A person is never told of their own action, and is told only while
//! they are a member of the workspace, may see the idea's space (the policy's
//! `can_see_space`, the same rule as reading it: a member unlisted from a private space hears
//! nothing more of it), have not restricted processing (DSR-04), and have not been erased
//! (their data key in the workspace exists).
//!
//! **In the workspace**: everyone told gets an item in their inbox (`inbox_items`, see
//! [`crate::content::inbox`]), with or without a mail server and whatever their email
//! preference.
//!
//! **By email**, per member and workspace ([`NotificationPreference`], default instant):
//!
//! - *instant*: an email is queued in the outbox in the transaction of the event itself, sealed
//!   with the workspace's key like all workspace mail;
//! - *daily*: an item is recorded in `pending_notifications`, sealed with the acting person's
//!   data key (so erasing them erases it), and [`App::send_due_digests`] queues one email
//!   listing every waiting item once the oldest has waited [`DIGEST_AFTER`]; the items are
//!   deleted as the digest is queued. Items whose idea the member can no longer see, or whose
//!   idea was deleted, or whose actor was erased, are left out then;
//! - *off*: no email, and choosing it drops the items waiting (choosing instant instead lets
//!   them go out in the digest they were waiting for).
//!
//! Without a mail server no email is queued or waits. A member who leaves or is removed loses
//! their preference and waiting items with the membership; erasing a member
//! ([`App::shred_member_data`]) deletes their waiting items.
//!
//! **What a message says**: who acted, why the recipient is told, the idea's title, for a
//! comment an excerpt of its first [`EXCERPT_CHARS`] characters (as plain text), for a stage
//! change the new stage, and the link `{public_url}/w/{slug}/ideas/{id}`. Nothing else of the
//! comment or the idea. Both parts carry the same text; the HTML part escapes all of it.

use std::time::Duration;

use ideaweave_domain::notify::{Activity, Reason, may_be_told, recipients};
use ideaweave_domain::policy::Action;
use ideaweave_domain::*;
use ideaweave_store::records::MemberRecord;
use ideaweave_store::{Followed, NewInboxItem, NotifiedIdea, Tx};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::OrInternal;
use crate::platform::mail::{OutgoingMail, html_escape};
use crate::platform::sealed::column;
use crate::platform::sealed::{account, at};
use crate::trust::audit::{AuditAction, Target};
use crate::{App, AppError, AppResult, Member, parse_role, space_view};

pub use ideaweave_domain::NotificationPreference;

/// Longest excerpt of a comment that a notification carries.
pub const EXCERPT_CHARS: usize = 200;

/// How long a member's oldest waiting item waits before their digest goes out: at most one
/// digest a day per member and workspace.
pub const DIGEST_AFTER: Duration = Duration::from_secs(24 * 3600);

/// A member's notification setting in a workspace, as the API reads and writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettings {
    /// `instant` (an email per event), `daily` (one digest a day) or `off`.
    pub preference: NotificationPreference,
}

/// What one round of [`App::send_due_digests`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigestRound {
    /// Digests queued in the outbox.
    pub digests: usize,
    /// Items listed in them.
    pub items: usize,
    /// Items left out (the member can no longer see the idea, or its actor was erased).
    pub dropped: usize,
}

/// What happened, as the use case that caused it knows it.
pub(crate) enum Happened<'a> {
    /// A comment was posted on `idea`, answering `parent` if set.
    Comment {
        idea: IdeaId,
        id: CommentId,
        parent: Option<CommentId>,
        body: &'a str,
        mentioned: Vec<UserId>,
    },
    /// `idea` is about to move to the stage `to`.
    Stage { idea: IdeaId, to: StageId },
    /// `idea` was just posted in `discussion`.
    Idea {
        idea: IdeaId,
        discussion: DiscussionId,
        mentioned: Vec<UserId>,
    },
    /// An edit of `idea`, or of its comment `comment`, newly mentions people (`body` being
    /// the comment as typed).
    Mentioned {
        idea: IdeaId,
        comment: Option<CommentId>,
        body: Option<&'a str>,
        mentioned: Vec<UserId>,
    },
}

impl Happened<'_> {
    fn idea(&self) -> IdeaId {
        match self {
            Happened::Comment { idea, .. }
            | Happened::Stage { idea, .. }
            | Happened::Idea { idea, .. }
            | Happened::Mentioned { idea, .. } => *idea,
        }
    }
}

/// What a notification says, as sealed in an inbox or waiting for a digest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Item {
    #[serde(rename = "r")]
    pub(crate) reason: Reason,
    /// Who acted.
    #[serde(rename = "a")]
    pub(crate) actor: String,
    #[serde(rename = "x", default, skip_serializing_if = "Option::is_none")]
    pub(crate) excerpt: Option<String>,
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub(crate) stage: Option<String>,
}

/// One thing to tell, with the idea it is about.
#[derive(Debug, Clone)]
struct Notice {
    item: Item,
    title: String,
    url: String,
}

/// Someone who may be told, with their preference.
struct Recipient {
    member: MemberRecord,
    role: Role,
    preference: NotificationPreference,
}

const TEXT_FOOTER: &str = "You get this email because of your notification setting in this workspace \
     (instant, daily digest or off); change it there at any time.";

impl Notice {
    /// The headline in text: Ann commented on your idea "Title".
    fn headline(&self) -> String {
        let (a, t) = (&self.item.actor, &self.title);
        match self.item.reason {
            Reason::Comment => format!("{a} commented on your idea \"{t}\""),
            Reason::Reply => format!("{a} replied to your comment on \"{t}\""),
            Reason::Stage => format!(
                "{a} moved your idea \"{t}\" to the stage \"{}\"",
                self.item.stage.as_deref().unwrap_or_default()
            ),
            Reason::FollowedComment => format!("{a} commented on \"{t}\", which you follow"),
            Reason::FollowedStage => format!(
                "{a} moved \"{t}\", which you follow, to the stage \"{}\"",
                self.item.stage.as_deref().unwrap_or_default()
            ),
            Reason::NewIdea => {
                format!("{a} posted the idea \"{t}\" in a discussion you follow")
            }
            Reason::Mention => format!("{a} mentioned you on \"{t}\""),
        }
    }

    /// The same headline in HTML, every piece escaped, the title linking to the idea.
    fn headline_html(&self) -> String {
        let e = html_escape;
        let a = e(&self.item.actor);
        let t = format!("<a href=\"{}\">{}</a>", e(&self.url), e(&self.title));
        match self.item.reason {
            Reason::Comment => format!("<strong>{a}</strong> commented on your idea \"{t}\""),
            Reason::Reply => format!("<strong>{a}</strong> replied to your comment on \"{t}\""),
            Reason::Stage => format!(
                "<strong>{a}</strong> moved your idea \"{t}\" to the stage \"{}\"",
                e(self.item.stage.as_deref().unwrap_or_default())
            ),
            Reason::FollowedComment => {
                format!("<strong>{a}</strong> commented on \"{t}\", which you follow")
            }
            Reason::FollowedStage => format!(
                "<strong>{a}</strong> moved \"{t}\", which you follow, to the stage \"{}\"",
                e(self.item.stage.as_deref().unwrap_or_default())
            ),
            Reason::NewIdea => {
                format!("<strong>{a}</strong> posted the idea \"{t}\" in a discussion you follow")
            }
            Reason::Mention => format!("<strong>{a}</strong> mentioned you on \"{t}\""),
        }
    }

    fn text_block(&self) -> String {
        let mut s = self.headline();
        s.push_str(":\n");
        if let Some(x) = &self.item.excerpt {
            s.push_str(&format!("\n  \"{x}\"\n"));
        }
        s.push_str(&format!("\n  {}\n", self.url));
        s
    }

    fn html_block(&self) -> String {
        let mut s = format!("<p>{}</p>", self.headline_html());
        if let Some(x) = &self.item.excerpt {
            s.push_str(&format!(
                "<blockquote style=\"margin: 0 0 1em 1em; color: #333\">{}</blockquote>",
                html_escape(x)
            ));
        }
        s.push_str(&format!(
            "<p><a href=\"{0}\">Open the idea</a></p>",
            html_escape(&self.url)
        ));
        s
    }
}

/// The email that tells of one event at once.
fn instant_mail(to: &str, workspace: &str, n: &Notice) -> OutgoingMail {
    let t = &n.title;
    let subject = match n.item.reason {
        Reason::Comment => format!("New comment on \"{t}\""),
        Reason::Reply => format!("New reply to your comment on \"{t}\""),
        Reason::Stage | Reason::FollowedStage => format!(
            "\"{t}\" moved to {}",
            n.item.stage.as_deref().unwrap_or_default()
        ),
        Reason::FollowedComment => format!("New comment on \"{t}\", which you follow"),
        Reason::NewIdea => format!("New idea: \"{t}\""),
        Reason::Mention => format!("You were mentioned on \"{t}\""),
    };
    let text = format!(
        "In the workspace \"{workspace}\" on Ideaweave, {}\n\n{TEXT_FOOTER}\n",
        n.text_block()
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif; line-height: 1.5\">\
         <p style=\"color: #555\">In the workspace <strong>{}</strong> on Ideaweave:</p>{}\
         <p style=\"color: #555\">{}</p></body></html>",
        html_escape(workspace),
        n.html_block(),
        html_escape(TEXT_FOOTER),
    );
    OutgoingMail {
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

/// The email that lists a day's events.
fn digest_mail(to: &str, workspace: &str, notices: &[Notice]) -> OutgoingMail {
    let n = notices.len();
    let updates = if n == 1 { "update" } else { "updates" };
    let subject = format!("Your daily Ideaweave digest: {n} {updates} in {workspace}");
    let mut text = format!(
        "What happened in the workspace \"{workspace}\" on Ideaweave since your last digest:\n\n"
    );
    let mut list = String::new();
    for notice in notices {
        text.push_str(&format!("- {}\n", notice.text_block()));
        list.push_str(&format!("<li>{}</li>", notice.html_block()));
    }
    text.push_str(&format!("{TEXT_FOOTER}\n"));
    let html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif; line-height: 1.5\">\
         <p>What happened in the workspace <strong>{}</strong> on Ideaweave since your last digest:</p>\
         <ul>{list}</ul><p style=\"color: #555\">{}</p></body></html>",
        html_escape(workspace),
        html_escape(TEXT_FOOTER),
    );
    OutgoingMail {
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

fn pending_place(ws: WorkspaceId, id: uuid::Uuid) -> ideaweave_crypto::Place<'static> {
    at(ws, column::PENDING_NOTIFICATIONS_ITEM, id)
}

pub(crate) fn inbox_place(ws: WorkspaceId, id: uuid::Uuid) -> ideaweave_crypto::Place<'static> {
    at(ws, column::INBOX_ITEMS_ITEM, id)
}

impl App {
    /// The caller's notification preference in this workspace (instant unless they chose).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn notification_preference(&self, m: &Member) -> AppResult<NotificationPreference> {
        m.allow(Action::ReadWorkspace)?;
        let mut tx = self.store.read().await?;
        stored_preference(&mut tx, m.workspace, m.actor.user).await
    }

    /// Sets the caller's own notification preference in this workspace, and records the change
    /// (`member.notifications_changed`). Choosing `off` drops the items waiting for a digest.
    /// Choosing what is already set changes and records nothing.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn set_notification_preference(
        &self,
        m: &Member,
        p: NotificationPreference,
    ) -> AppResult<()> {
        m.allow(Action::ManageOwnNotifications)?;
        let user = m.actor.user;
        let mut tx = self.store.begin().await?;
        if tx.workspace(m.workspace).role_of(user).await?.is_none() {
            return Err(AppError::NotFound("member"));
        }
        let before = stored_preference(&mut tx, m.workspace, user).await?;
        if before == p {
            return Ok(());
        }
        let mut repo = tx.workspace(m.workspace);
        repo.set_notification_preference(user, p, self.now())
            .await?;
        let dropped = match p {
            NotificationPreference::Off => repo.delete_pending_notifications_of(user).await?,
            _ => 0,
        };
        self.audit_by(
            &mut tx,
            m,
            AuditAction::NotificationsChanged,
            Target::Person(user),
            json!({"from": before.as_str(), "to": p.as_str(), "pending_dropped": dropped}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Tells the people concerned of what `m` did, inside the transaction that does it: puts a
    /// notification in each one's inbox (with or without a mail server), and, by their email
    /// preference, queues an email at once or records an item for their digest. Call it before
    /// the change itself for a stage change (the idea's stage is still the old one), after it
    /// for a comment or a new idea.
    pub(crate) async fn notify(
        &self,
        tx: &mut Tx,
        m: &Member,
        what: Happened<'_>,
    ) -> AppResult<()> {
        let ws = m.workspace;
        let idea_id = what.idea();
        if let Happened::Mentioned { mentioned, .. } = &what
            && mentioned.is_empty()
        {
            return Ok(());
        }
        let Some(idea) = tx
            .workspace(ws)
            .notified_idea(idea_id, m.actor.user)
            .await?
        else {
            return Ok(());
        };
        let no_one: &[UserId] = &[];
        let (activity, followers, mentioned) = match &what {
            Happened::Comment {
                parent, mentioned, ..
            } => {
                let parent_author = match parent {
                    Some(p) => tx
                        .workspace(ws)
                        .comment(*p)
                        .await?
                        .filter(|c| c.deleted_at.is_none())
                        .map(|c| c.author_id),
                    None => None,
                };
                (
                    Activity::Commented {
                        idea_author: idea.author_id,
                        parent_author,
                    },
                    tx.workspace(ws).followers(Followed::Idea(idea_id)).await?,
                    mentioned.as_slice(),
                )
            }
            Happened::Stage { to, .. } => {
                if idea.stage_id == *to {
                    return Ok(());
                }
                (
                    Activity::StageChanged {
                        idea_author: idea.author_id,
                    },
                    tx.workspace(ws).followers(Followed::Idea(idea_id)).await?,
                    no_one,
                )
            }
            Happened::Idea {
                discussion,
                mentioned,
                ..
            } => (
                Activity::IdeaPosted,
                tx.workspace(ws)
                    .followers(Followed::Discussion(*discussion))
                    .await?,
                mentioned.as_slice(),
            ),
            Happened::Mentioned { mentioned, .. } => {
                (Activity::Mentioned, Vec::new(), mentioned.as_slice())
            }
        };
        let mut told = Vec::new();
        for (user, reason) in recipients(activity, m.actor.user, mentioned, &followers) {
            let Some(r) = self.recipient(tx, ws, user).await? else {
                continue;
            };
            if self.visible_to(tx, ws, idea_id, &r).await?.is_none() {
                continue;
            }
            told.push((r, reason));
        }
        if told.is_empty() {
            return Ok(());
        }

        // What every notification says, worked out once.
        let actor = match tx.workspace(ws).member(m.actor.user).await? {
            Some(a) => {
                self.open_text(tx, &account(column::USERS_NAME, a.user_id), &a.name)
                    .await?
            }
            None => return Ok(()),
        };
        let excerpt = match &what {
            Happened::Comment { body, .. }
            | Happened::Mentioned {
                body: Some(body), ..
            } => Some(markdown::excerpt(body, EXCERPT_CHARS)),
            Happened::Stage { .. } | Happened::Idea { .. } | Happened::Mentioned { .. } => None,
        };
        let stage = match &what {
            Happened::Stage { to, .. } => self
                .stage_views(tx, ws)
                .await?
                .into_iter()
                .find(|s| s.id == *to)
                .map(|s| s.name),
            Happened::Comment { .. } | Happened::Idea { .. } | Happened::Mentioned { .. } => None,
        };
        let now = self.now();
        // Every item holds the actor's words (the excerpt) and name: sealed with their key,
        // erasing them erases it.
        let key = self
            .keyring
            .data_key(&mut tx.workspace(ws), Some(m.actor.user), now)
            .await?;
        // The workspace's name and the idea's title, opened for the first instant email.
        let mut opened: Option<(String, String)> = None;
        for (r, reason) in told {
            let item = Item {
                reason,
                actor: actor.clone(),
                excerpt: excerpt.clone(),
                stage: stage.clone(),
            };
            // The centre shows the comment as it reads when opened (edited, or gone when
            // deleted), so its item holds no excerpt.
            let in_app = Item {
                excerpt: None,
                ..item.clone()
            };
            let sealed_in_app = serde_json::to_vec(&in_app).or_internal("notification item")?;
            let id = uuid::Uuid::now_v7();
            tx.workspace(ws)
                .insert_inbox_item(
                    &NewInboxItem {
                        id,
                        user: r.member.user_id,
                        idea: idea_id,
                        comment: match &what {
                            Happened::Comment { id, .. } => Some(*id),
                            Happened::Mentioned { comment, .. } => *comment,
                            Happened::Stage { .. } | Happened::Idea { .. } => None,
                        },
                        actor: m.actor.user,
                        item: &key.seal(&inbox_place(ws, id), &sealed_in_app)?,
                    },
                    now,
                )
                .await?;
            if !self.settings.mail_enabled {
                continue;
            }
            match r.preference {
                NotificationPreference::Instant => {
                    let Some(to) = self.address_of(tx, &r.member).await? else {
                        continue;
                    };
                    let (workspace, title) = match opened.take() {
                        Some(o) => o,
                        None => (
                            self.workspace_display_name(tx, ws).await?,
                            self.open_summary(tx, ws, idea_id.0, &idea.summary)
                                .await?
                                .title,
                        ),
                    };
                    let notice = Notice {
                        item,
                        title,
                        url: self.idea_url(&m.slug, idea_id),
                    };
                    self.queue_mail(tx, ws, &instant_mail(&to, &workspace, &notice))
                        .await?;
                    opened = Some((workspace, notice.title));
                }
                NotificationPreference::Daily => {
                    let bytes = serde_json::to_vec(&item).or_internal("notification item")?;
                    let id = uuid::Uuid::now_v7();
                    let sealed = key.seal(&pending_place(ws, id), &bytes)?;
                    tx.workspace(ws)
                        .insert_pending_notification(id, r.member.user_id, idea_id, &sealed, now)
                        .await?;
                }
                NotificationPreference::Off => {}
            }
        }
        Ok(())
    }

    /// Queues a digest for every member (up to `limit`) whose oldest waiting item has waited
    /// [`DIGEST_AFTER`], listing all their waiting items, and deletes the items. Each member's
    /// digest is one transaction; deleting the items claims them, so two nodes never send the
    /// same digest. A member whose digest fails keeps their items for the next round (the error
    /// is logged) and holds up nobody else. Run by the server every few minutes while a mail
    /// server is configured.
    #[tracing::instrument(skip_all)]
    pub async fn send_due_digests(&self, limit: i64) -> AppResult<DigestRound> {
        let now = self.now();
        let after = i64::try_from(DIGEST_AFTER.as_millis()).unwrap_or(i64::MAX);
        let cutoff = now.saturating_sub(after);
        let due = self.store.read().await?.due_digests(cutoff, limit).await?;
        let mut round = DigestRound::default();
        for d in due {
            match self.send_digest(d.workspace_id, d.user_id, cutoff).await {
                Ok(r) => {
                    round.digests += r.digests;
                    round.items += r.items;
                    round.dropped += r.dropped;
                }
                Err(e) => {
                    tracing::error!(workspace = %d.workspace_id, error = %e, "a notification digest could not be queued; its items wait for the next round");
                }
            }
        }
        Ok(round)
    }

    /// Queues one member's digest, if it is still due.
    async fn send_digest(
        &self,
        ws: WorkspaceId,
        user: UserId,
        cutoff: i64,
    ) -> AppResult<DigestRound> {
        let mut round = DigestRound::default();
        let mut tx = self.store.begin().await?;
        let items = tx.workspace(ws).take_pending_notifications(user).await?;
        // Another node sent this digest meanwhile (and newer items may wait): not due. Dropping
        // the transaction puts the items back.
        if items.first().is_none_or(|i| i.created_at > cutoff) {
            return Ok(round);
        }
        let recipient = match self.recipient(&mut tx, ws, user).await? {
            Some(r) => self.address_of(&mut tx, &r.member).await?.map(|to| (r, to)),
            None => None,
        };
        let (Some((r, to)), Some(w)) = (recipient, tx.workspace_by_id(ws).await?) else {
            round.dropped = items.len();
            tx.commit().await?;
            return Ok(round);
        };
        let mut notices = Vec::with_capacity(items.len());
        for it in items {
            let Some(idea) = self.visible_to(&mut tx, ws, it.idea_id, &r).await? else {
                round.dropped += 1;
                continue;
            };
            let Some(bytes) = self
                .keyring
                .open(&mut tx, &pending_place(ws, it.id), &it.item)
                .await?
            else {
                // The actor was erased.
                round.dropped += 1;
                continue;
            };
            let item: Item = serde_json::from_slice(&bytes).map_err(|e| {
                AppError::Integrity(format!("notification item {} is garbled: {e}", it.id))
            })?;
            let title = self
                .open_summary(&mut tx, ws, it.idea_id.0, &idea.summary)
                .await?
                .title;
            notices.push(Notice {
                item,
                title,
                url: self.idea_url(&w.slug, it.idea_id),
            });
        }
        if !notices.is_empty() {
            let workspace = self.workspace_name(&mut tx, ws, &w.name).await?;
            self.queue_mail(&mut tx, ws, &digest_mail(&to, &workspace, &notices))
                .await?;
            round.digests = 1;
            round.items = notices.len();
        }
        tx.commit().await?;
        Ok(round)
    }

    /// How many items wait for digests, in every workspace (for the operator and the tests).
    #[tracing::instrument(skip_all)]
    pub async fn pending_notifications(&self) -> AppResult<i64> {
        Ok(self
            .store
            .read()
            .await?
            .pending_notification_count()
            .await?)
    }

    /// `user` if they may be told anything in `ws`: a member who has not been erased and has
    /// not restricted processing, with their role and preference.
    async fn recipient(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        user: UserId,
    ) -> AppResult<Option<Recipient>> {
        // A person who restricted the processing of their data is told nothing (DSR-04).
        if tx.restricted_since(user).await?.is_some() {
            return Ok(None);
        }
        let mut repo = tx.workspace(ws);
        let Some(member) = repo.member(user).await? else {
            return Ok(None);
        };
        // Everyone told of something wrote something here, sealed with their data key; no key
        // means they were erased (crypto-shredded).
        if repo.dek_of(Some(user)).await?.is_none() {
            return Ok(None);
        }
        let role = parse_role(&member.role)?;
        let preference = stored_preference(tx, ws, user).await?;
        Ok(Some(Recipient {
            member,
            role,
            preference,
        }))
    }

    /// The idea, if it is not deleted and `r` may see its space.
    async fn visible_to(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        idea: IdeaId,
        r: &Recipient,
    ) -> AppResult<Option<NotifiedIdea>> {
        let Some(i) = tx
            .workspace(ws)
            .notified_idea(idea, r.member.user_id)
            .await?
        else {
            return Ok(None);
        };
        let seen = i.deleted_at.is_none()
            && may_be_told(Some(r.role), space_view(i.space_private, i.space_listed));
        Ok(seen.then_some(i))
    }

    /// A member's address, opened; `None` once their account was erased.
    async fn address_of(&self, tx: &mut Tx, member: &MemberRecord) -> AppResult<Option<String>> {
        let opened = self
            .keyring
            .open_text(
                tx,
                &account(column::USERS_EMAIL, member.user_id),
                &member.email,
            )
            .await?;
        Ok(opened
            .and_then(|e| Email::parse(&e).ok())
            .map(|e| e.to_string()))
    }

    pub(crate) async fn workspace_display_name(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
    ) -> AppResult<String> {
        match tx.workspace_by_id(ws).await? {
            Some(w) => self.workspace_name(tx, ws, &w.name).await,
            None => Err(AppError::NotFound("workspace")),
        }
    }

    /// The idea's page: `{public_url}/w/{slug}/ideas/{id}`.
    fn idea_url(&self, slug: &str, idea: IdeaId) -> String {
        format!(
            "{}/w/{slug}/ideas/{idea}",
            self.settings.public_url.trim_end_matches('/')
        )
    }
}

/// A member's preference as stored, or the default.
pub(crate) async fn stored_preference(
    tx: &mut Tx,
    ws: WorkspaceId,
    user: UserId,
) -> AppResult<NotificationPreference> {
    match tx.workspace(ws).notification_preference(user).await? {
        Some(p) => p
            .parse()
            .map_err(|e: String| AppError::internal_from("stored preference", e)),
        None => Ok(NotificationPreference::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(reason: Reason) -> Notice {
        Notice {
            item: Item {
                reason,
                actor: "Bob <b>".into(),
                excerpt: Some("x < y & \"z\"".into()),
                stage: Some("Under <review>".into()),
            },
            title: "A <script>alert(1)</script> idea".into(),
            url: "https://iw.test/w/acme/ideas/1?a=1&b=2".into(),
        }
    }

    #[test]
    fn col_04_notification_mails_escape_everything_in_html_and_carry_the_link() {
        for reason in [Reason::Comment, Reason::Reply, Reason::Stage] {
            let n = notice(reason);
            for m in [
                instant_mail("ann@example.org", "Acme & Co", &n),
                digest_mail("ann@example.org", "Acme & Co", &[n.clone(), n.clone()]),
            ] {
                assert_eq!(m.to, "ann@example.org");
                assert!(m.text.contains("https://iw.test/w/acme/ideas/1?a=1&b=2"));
                assert!(m.text.contains("Bob <b>"), "the text part is plain text");
                assert!(
                    m.html
                        .contains("href=\"https://iw.test/w/acme/ideas/1?a=1&amp;b=2\"")
                );
                for raw in ["<script>", "<b>", "<review>", "x < y", "Acme & Co", "\"z\""] {
                    assert!(!m.html.contains(raw), "{raw} unescaped in {}", m.html);
                }
                assert!(m.html.contains("&lt;script&gt;"));
            }
        }
        let stage = instant_mail("a@b.c", "W", &notice(Reason::Stage));
        assert!(stage.text.contains("Under <review>"));
        assert!(stage.subject.contains("Under <review>"));
        let digest = digest_mail("a@b.c", "W", &[notice(Reason::Comment)]);
        assert!(
            digest.subject.contains("1 update in W"),
            "{}",
            digest.subject
        );
    }

    #[test]
    fn col_04_items_are_small_when_sealed() {
        let item = Item {
            reason: Reason::Stage,
            actor: "Bob".into(),
            excerpt: None,
            stage: Some("Selected".into()),
        };
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            r#"{"r":"stage","a":"Bob","s":"Selected"}"#
        );
    }
}
