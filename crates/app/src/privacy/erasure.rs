//! Erasure (DSR-03, GDPR Art. 17): an admin erases a person from a workspace, or a person
//! deletes their account, which erases them from every workspace under each one's policy.
//!
//! Every place that holds personal data has one handler, listed in
//! [`ideaweave_store::PERSONAL_DATA`]; [`WORKSPACE_STEPS`] and [`ACCOUNT_STEPS`] run them in an
//! order that keeps foreign keys and counts right, and a test checks that every handler of the
//! registry is run. An anonymised person's contributions are re-sealed with the workspace's key
//! *before* their data key is crypto-shredded, and attributed to a fresh former member who
//! leads to nobody; a purge removes them. Either way, files they uploaded, their membership,
//! tokens, sessions, waiting notifications and queued mail go, and what remains of them is one
//! pseudonymous audit event whose pseudonym nobody can resolve once the key is gone.

use std::collections::BTreeSet;

use ideaweave_domain::policy::Action;
use ideaweave_domain::*;
use ideaweave_store::{DeletedComment, ErasureHandler as H, Tx};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::OrInternal;
use crate::platform::sealed::column;
use crate::platform::sealed::{account, at};
use crate::trust::audit::{AuditAction, AuditEvent, ClientInfo, Outcome, Target, Who};
use crate::{App, AppError, AppResult, Member, Principal, parse_role};

/// The handlers of an erasure from one workspace, in the order they run: rows that belong to
/// the person first, then files, contributions and references, then the membership; the audit
/// event before the data key its pseudonym is derived from is shredded.
pub(crate) const WORKSPACE_STEPS: [H; 25] = [
    H::Exports,
    H::SsoIdentities,
    H::WorkspaceDeletion,
    H::PrivacyRequests,
    H::PendingNotifications,
    H::Inbox,
    H::NotificationPreferences,
    H::SpaceMemberships,
    H::ApiTokens,
    H::Invitations,
    H::Outbox,
    H::Attachments,
    H::Ideas,
    H::Comments,
    H::Votes,
    H::Ratings,
    H::Links,
    H::Spaces,
    H::Discussions,
    H::Merges,
    H::SupportGrants,
    H::Memberships,
    H::SearchIndex,
    H::AuditPseudonyms,
    H::DataKey,
];

/// The handlers of deleting an account, after it was erased from every workspace.
pub(crate) const ACCOUNT_STEPS: [H; 11] = [
    H::CertificateRecipients,
    H::Sessions,
    H::SecondFactors,
    H::SignInThrottle,
    H::PasswordResets,
    H::EmailChanges,
    H::Outbox,
    H::AuditPseudonyms,
    H::AccountKey,
    H::Account,
    H::Memberships,
];

/// What to erase a person with.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureInput {
    /// Keep their contributions anonymised, or purge them.
    pub mode: ErasureMode,
}

/// What an erasure removed or kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ErasureReport {
    /// The mode it ran in.
    pub mode: ErasureMode,
    /// Ideas kept anonymised (anonymise) or removed (purge).
    pub ideas: u64,
    /// Comments kept anonymised or removed.
    pub comments: u64,
    /// Votes kept anonymised or withdrawn.
    pub votes: u64,
    /// Ratings kept anonymised or withdrawn.
    pub ratings: u64,
    /// Links kept anonymised or removed.
    pub links: u64,
    /// Files removed (theirs, and in a purge those on their ideas).
    pub files: u64,
    /// Invitations to or from them removed or attributed to the former member.
    pub invitations: u64,
    /// Queued messages to them removed.
    pub mail: u64,
    /// Sessions ended.
    pub sessions: u64,
    /// Whether their data key existed and was crypto-shredded.
    pub key_shredded: bool,
}

/// Where an account holds data, and what deleting it would do there.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeletionStatementEntry {
    /// The workspace.
    pub slug: String,
    /// Its name.
    pub name: String,
    /// The person's role there; `None` when they left but their contributions remain.
    pub role: Option<Role>,
    /// What the workspace does with contributions of a deleted account.
    pub mode: ErasureMode,
    /// Their ideas there (deleted ones included).
    pub ideas: u64,
    /// Their comments there.
    pub comments: u64,
    /// Their votes and ratings there.
    pub votes_and_ratings: u64,
    /// Files they uploaded there (always removed).
    pub files: u64,
    /// True when they are its only owner: the account cannot be deleted until someone else
    /// is made owner (or the workspace is deleted).
    pub sole_owner: bool,
}

/// What deleting an account would do, shown before the person confirms.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeletionStatement {
    /// Per workspace that holds their data.
    pub workspaces: Vec<DeletionStatementEntry>,
    /// False when something stops the deletion (see `blocked_by`).
    pub possible: bool,
    /// Why the account cannot be deleted now, if it cannot.
    pub blocked_by: Option<String>,
    /// What the person must type to confirm: their email address.
    pub confirm_with: String,
}

/// The confirmation of an account deletion.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountDeletionInput {
    /// The account's email address, typed again.
    pub confirm: String,
}

/// The workspace's erasure policy for deleted accounts.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasurePolicy {
    /// What happens to a deleted account's contributions.
    pub mode: ErasureMode,
}

/// Files to remove once the erasure committed.
type Files = Vec<AttachmentId>;

/// One erasure in progress.
struct Erasure<'a> {
    ws: WorkspaceId,
    person: UserId,
    email: Option<String>,
    mode: ErasureMode,
    former: UserId,
    who: Who,
    client: &'a ClientInfo,
    report: ErasureReport,
    files: Files,
    /// Stored export archives to remove once the erasure committed.
    exports: Vec<uuid::Uuid>,
}

impl App {
    /// The workspace's erasure policy (every member may read it: it says what happens to their
    /// contributions if they delete their account).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn erasure_policy(&self, m: &Member) -> AppResult<ErasurePolicy> {
        m.allow(Action::ReadWorkspace)?;
        let mut tx = self.store.read().await?;
        Ok(ErasurePolicy {
            mode: stored_mode(&mut tx, m.workspace).await?,
        })
    }

    /// Sets the workspace's erasure policy (admins), recorded as a settings change.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn set_erasure_policy(
        &self,
        m: &Member,
        p: ErasurePolicy,
    ) -> AppResult<ErasurePolicy> {
        m.allow(Action::ManageSettings)?;
        m.refuse_support()?;
        let mut tx = self.store.begin().await?;
        let before = stored_mode(&mut tx, m.workspace).await?;
        if before == p.mode {
            return Ok(p);
        }
        tx.workspace(m.workspace).set_erasure_mode(p.mode).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::SettingsChanged,
            Target::Scope,
            json!({"erasure_mode": {"from": before, "to": p.mode}}),
        )
        .await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Erases `person` from the admin's workspace in `input.mode` (DSR-03): a member, or a
    /// former member whose contributions remain. Admins cannot erase themselves (deleting their
    /// account does that) nor the last owner.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn erase_person(
        &self,
        m: &Member,
        person: UserId,
        input: ErasureInput,
    ) -> AppResult<ErasureReport> {
        m.allow(Action::ReadMembers)?;
        if person == m.actor.user {
            return Err(AppError::Conflict(
                "you cannot erase yourself here; delete your account on your account page".into(),
            ));
        }
        let mut tx = self.store.begin().await?;
        let mut repo = tx.workspace(m.workspace);
        repo.lock_owners().await?;
        let role = match repo.member(person).await? {
            Some(r) => Some(parse_role(&r.role)?),
            None => None,
        };
        if role.is_none() && !repo.holds_data_of(person).await? {
            return Err(AppError::NotFound("person"));
        }
        m.allow(Action::ErasePerson { target: role })?;
        self.require_recent_member(m)?;
        if role == Some(Role::Owner) && repo.owner_count().await? <= 1 {
            return Err(AppError::Conflict(
                "the last owner cannot be erased; make someone else owner first".into(),
            ));
        }
        let email = self.account_email(&mut tx, person).await?;
        let mut e = Erasure {
            ws: m.workspace,
            person,
            email,
            mode: input.mode,
            former: UserId::new(),
            who: Who::Person(m.actor.user),
            client: &m.client,
            report: ErasureReport {
                mode: input.mode,
                ..ErasureReport::default()
            },
            files: Vec::new(),
            exports: Vec::new(),
        };
        self.erase_in(&mut tx, &mut e).await?;
        tx.commit().await?;
        e.report.files += self.remove_files(e.ws, &e.files).await;
        self.remove_export_archives(e.ws, &e.exports).await;
        Ok(e.report)
    }

    /// What deleting the caller's account would do, workspace by workspace (session only).
    #[tracing::instrument(skip_all)]
    pub async fn deletion_statement(&self, principal: &Principal) -> AppResult<DeletionStatement> {
        session_only(principal)?;
        let user = principal.user;
        let mut tx = self.store.read().await?;
        let record = tx
            .user_by_id(user)
            .await?
            .ok_or(AppError::NotFound("account"))?;
        let mut workspaces = Vec::new();
        let mut blocked_by = None;
        for h in tx.workspaces_holding(user).await? {
            let role = h.role.as_deref().map(parse_role).transpose()?;
            let mut repo = tx.workspace(h.workspace_id);
            let sole_owner = role == Some(Role::Owner) && repo.owner_count().await? <= 1;
            let ideas = repo.ideas_by(user).await?.len() as u64;
            let comments = repo.comments_by(user).await?.len() as u64;
            let votes_and_ratings =
                (repo.votes_by(user).await?.len() + repo.ratings_by(user).await?.len()) as u64;
            let files = repo.attachments_by(user).await?.len() as u64;
            let mode = parse_mode(&repo.erasure_mode().await?)?;
            let name = self
                .workspace_name(&mut tx, h.workspace_id, &h.name)
                .await?;
            if sole_owner && blocked_by.is_none() {
                blocked_by = Some(format!(
                    "you are the only owner of \"{}\"; make someone else owner first, or ask for the workspace to be deleted",
                    h.slug
                ));
            }
            workspaces.push(DeletionStatementEntry {
                slug: h.slug,
                name,
                role,
                mode,
                ideas,
                comments,
                votes_and_ratings,
                files,
                sole_owner,
            });
        }
        if record.is_operator && blocked_by.is_none() {
            blocked_by = Some(
                "operator accounts are removed by the operator at the command line".to_owned(),
            );
        }
        let confirm_with = self
            .open_text(&mut tx, &account(column::USERS_EMAIL, user), &record.email)
            .await?;
        Ok(DeletionStatement {
            workspaces,
            possible: blocked_by.is_none(),
            blocked_by,
            confirm_with,
        })
    }

    /// Deletes the caller's account (DSR-03): erases them from every workspace that holds their
    /// data, each in the mode the workspace chose, then ends their sessions, deletes their reset
    /// links and queued mail, records one pseudonymous event, crypto-shreds their account key
    /// and deletes the account. `input.confirm` must be the account's email address.
    #[tracing::instrument(skip_all)]
    pub async fn delete_account(
        &self,
        principal: &Principal,
        input: AccountDeletionInput,
    ) -> AppResult<()> {
        self.require_recent_auth(principal)?;
        let statement = self.deletion_statement(principal).await?;
        let (user, client) = (principal.user, &principal.client);
        if !input
            .confirm
            .trim()
            .eq_ignore_ascii_case(&statement.confirm_with)
        {
            return Err(AppError::invalid(
                "confirm",
                "type your email address exactly to confirm that the account is to be deleted",
            ));
        }
        if let Some(why) = statement.blocked_by {
            return Err(AppError::Conflict(why));
        }
        let email = Some(statement.confirm_with);
        // One transaction for every workspace and the account: a refusal found on the way (the
        // person became a workspace's only owner meanwhile) leaves everything as it was.
        let mut tx = self.store.begin().await?;
        let held = tx.workspaces_holding(user).await?;
        let mut cleanup = Vec::with_capacity(held.len());
        for h in held {
            let mut repo = tx.workspace(h.workspace_id);
            repo.lock_owners().await?;
            if repo.member(user).await?.is_some_and(|r| r.role == "owner")
                && repo.owner_count().await? <= 1
            {
                return Err(AppError::Conflict(format!(
                    "you became the only owner of \"{}\" meanwhile; make someone else owner first",
                    h.slug
                )));
            }
            let mode = parse_mode(&repo.erasure_mode().await?)?;
            let mut e = Erasure {
                ws: h.workspace_id,
                person: user,
                email: email.clone(),
                mode,
                former: UserId::new(),
                who: Who::Person(user),
                client,
                report: ErasureReport {
                    mode,
                    ..ErasureReport::default()
                },
                files: Vec::new(),
                exports: Vec::new(),
            };
            self.erase_in(&mut tx, &mut e).await?;
            cleanup.push((e.ws, e.files, e.exports));
        }
        for step in ACCOUNT_STEPS {
            self.account_step(&mut tx, step, user, email.as_deref(), client)
                .await?;
        }
        tx.commit().await?;
        for (ws, files, exports) in cleanup {
            self.remove_files(ws, &files).await;
            self.remove_export_archives(ws, &exports).await;
        }
        Ok(())
    }

    /// The account's email address, if the account and its key still exist.
    pub(crate) async fn account_email(
        &self,
        tx: &mut Tx,
        user: UserId,
    ) -> AppResult<Option<String>> {
        let Some(u) = tx.user_by_id(user).await? else {
            return Ok(None);
        };
        self.keyring
            .open_text(tx, &account(column::USERS_EMAIL, user), &u.email)
            .await
    }

    /// Runs every workspace step of an erasure inside `tx`.
    async fn erase_in(&self, tx: &mut Tx, e: &mut Erasure<'_>) -> AppResult<()> {
        // Writes the person makes meanwhile hold their membership shared: wait for them, so
        // that what they wrote is erased too, and refuse any that come after.
        tx.workspace(e.ws).hold_membership(e.person, true).await?;
        // In both modes: a purge leaves references (who deleted, merged, invited…) pointing at
        // the former member too.
        let mut index = [0u8; 32];
        getrandom::fill(&mut index).or_internal("randomness")?;
        tx.insert_former_member(e.former, e.ws, &index, self.now())
            .await?;
        e.report.sessions = tx.delete_sessions_of(e.person).await?;
        for step in WORKSPACE_STEPS {
            self.workspace_step(tx, step, e).await?;
        }
        Ok(())
    }

    /// One handler of an erasure from a workspace.
    async fn workspace_step(&self, tx: &mut Tx, step: H, e: &mut Erasure<'_>) -> AppResult<()> {
        let now = self.now();
        let (ws, person, former) = (e.ws, e.person, e.former);
        let anonymise = e.mode == ErasureMode::Anonymise;
        match step {
            H::SsoIdentities => {
                let mut repo = tx.workspace(ws);
                repo.delete_rows_of("sso_identities", "user_id", person)
                    .await?;
                repo.delete_rows_of("sso_logins", "link_user", person)
                    .await?;
            }
            H::PendingNotifications => {
                tx.workspace(ws)
                    .delete_rows_of("pending_notifications", "user_id", person)
                    .await?;
            }
            H::Inbox => {
                let mut repo = tx.workspace(ws);
                for (table, column) in [
                    ("inbox_items", "user_id"),
                    ("inbox_items", "actor_id"),
                    ("idea_follows", "user_id"),
                    ("discussion_follows", "user_id"),
                ] {
                    repo.delete_rows_of(table, column, person).await?;
                }
            }
            H::NotificationPreferences => {
                tx.workspace(ws)
                    .delete_rows_of("notification_preferences", "user_id", person)
                    .await?;
            }
            H::SpaceMemberships => {
                tx.workspace(ws)
                    .delete_rows_of("space_members", "user_id", person)
                    .await?;
            }
            H::ApiTokens => {
                tx.workspace(ws)
                    .delete_rows_of("api_tokens", "user_id", person)
                    .await?;
            }
            H::Memberships => {
                tx.workspace(ws)
                    .delete_rows_of("memberships", "user_id", person)
                    .await?;
            }
            H::Invitations => {
                let mut repo = tx.workspace(ws);
                e.report.invitations += repo
                    .delete_rows_of("invitations", "accepted_by", person)
                    .await?;
                e.report.invitations += repo
                    .reattribute("invitations", "invited_by", person, former)
                    .await?;
                if let Some(email) = &e.email {
                    for inv in tx.workspace(ws).unaccepted_invitations().await? {
                        let to = self
                            .keyring
                            .open_text(tx, &at(ws, column::INVITATIONS_EMAIL, inv.id.0), &inv.email)
                            .await?;
                        if to.is_some_and(|t| t.eq_ignore_ascii_case(email))
                            && tx.workspace(ws).delete_invitation(inv.id).await?
                        {
                            e.report.invitations += 1;
                        }
                    }
                }
            }
            H::Outbox => {
                if let Some(email) = &e.email {
                    e.report.mail += self.delete_mail_to(tx, Some(ws), email).await?;
                }
            }
            H::PrivacyRequests => {
                self.redact_requests_about(tx, ws, person).await?;
                let mut repo = tx.workspace(ws);
                repo.reattribute("privacy_requests", "recorded_by", person, former)
                    .await?;
                repo.reattribute("privacy_requests", "resolved_by", person, former)
                    .await?;
            }
            H::WorkspaceDeletion => {
                tx.workspace(ws)
                    .reattribute_deletion_request(person, former)
                    .await?;
            }
            H::Exports => {
                let ids = tx.workspace(ws).delete_export_jobs(None).await?;
                e.exports.extend(ids);
            }
            H::Attachments => {
                let mut repo = tx.workspace(ws);
                for a in repo.attachments_by(person).await? {
                    repo.delete_attachment(a.id).await?;
                    e.files.push(a.id);
                }
            }
            H::Ideas => {
                let ideas = tx.workspace(ws).ideas_by(person).await?;
                e.report.ideas = ideas.len() as u64;
                if anonymise {
                    let key = self
                        .keyring
                        .data_key(&mut tx.workspace(ws), None, now)
                        .await?;
                    for (idea, body) in ideas {
                        let id = idea.id.0;
                        let summary = self
                            .resealed(tx, &key, &at(ws, column::IDEAS_SUMMARY, id), &idea.summary)
                            .await?;
                        let body = self
                            .resealed(tx, &key, &at(ws, column::IDEAS_BODY, id), &body)
                            .await?;
                        tx.workspace(ws)
                            .reseal_idea(idea.id, &summary, &body)
                            .await?;
                    }
                    tx.workspace(ws)
                        .reattribute("ideas", "author_id", person, former)
                        .await?;
                } else {
                    let mut repo = tx.workspace(ws);
                    for (idea, _) in ideas {
                        e.files
                            .extend(repo.attachments(idea.id).await?.into_iter().map(|a| a.id));
                        if idea.deleted_at.is_none() {
                            repo.set_idea_deleted(idea.id, Some(former), now).await?;
                        }
                        repo.purge_idea(idea.id, now).await?;
                    }
                }
                tx.workspace(ws)
                    .reattribute("ideas", "deleted_by", person, former)
                    .await?;
            }
            H::Comments => {
                let comments = tx.workspace(ws).comments_by(person).await?;
                e.report.comments = comments.len() as u64;
                tx.workspace(ws).delete_comment_revisions_by(person).await?;
                if anonymise {
                    let key = self
                        .keyring
                        .data_key(&mut tx.workspace(ws), None, now)
                        .await?;
                    for c in comments {
                        let body = self
                            .resealed(tx, &key, &at(ws, column::COMMENTS_BODY, c.id.0), &c.body)
                            .await?;
                        tx.workspace(ws).reseal_comment(c.id, &body).await?;
                    }
                    tx.workspace(ws)
                        .reattribute("comments", "author_id", person, former)
                        .await?;
                } else {
                    let mut repo = tx.workspace(ws);
                    let mut ideas = BTreeSet::new();
                    for c in comments {
                        // Read again: purging an earlier comment may have moved this one up.
                        let Some(now_at) = repo.comment(c.id).await? else {
                            continue;
                        };
                        e.files.extend(repo.attachment_ids_of_comment(c.id).await?);
                        repo.purge_comment(&DeletedComment {
                            id: c.id,
                            idea_id: c.idea_id,
                            parent_id: now_at.parent_id,
                        })
                        .await?;
                        ideas.insert(c.idea_id.0);
                    }
                    for idea in ideas {
                        repo.lock_idea(IdeaId(idea)).await?;
                        repo.recount_idea(IdeaId(idea)).await?;
                    }
                }
                tx.workspace(ws)
                    .reattribute("comments", "deleted_by", person, former)
                    .await?;
            }
            H::Votes => {
                let mut repo = tx.workspace(ws);
                if anonymise {
                    e.report.votes = repo.reattribute("votes", "user_id", person, former).await?;
                } else {
                    let ideas: BTreeSet<_> = repo
                        .delete_votes_of(person)
                        .await?
                        .into_iter()
                        .map(|i| i.0)
                        .collect();
                    e.report.votes = ideas.len() as u64;
                    for idea in ideas {
                        repo.lock_idea(IdeaId(idea)).await?;
                        repo.recount_idea(IdeaId(idea)).await?;
                    }
                }
            }
            H::Ratings => {
                let mut repo = tx.workspace(ws);
                e.report.ratings = if anonymise {
                    repo.reattribute("ratings", "user_id", person, former)
                        .await?
                } else {
                    repo.delete_ratings_of(person).await?
                };
            }
            H::Links => {
                let links = tx.workspace(ws).links_by(person).await?;
                e.report.links = links.len() as u64;
                if anonymise {
                    let key = self
                        .keyring
                        .data_key(&mut tx.workspace(ws), None, now)
                        .await?;
                    for l in links {
                        let url = self
                            .resealed(tx, &key, &at(ws, column::LINKS_URL, l.id.0), &l.url)
                            .await?;
                        let title = self
                            .resealed(tx, &key, &at(ws, column::LINKS_TITLE, l.id.0), &l.title)
                            .await?;
                        tx.workspace(ws).reseal_link(l.id, &url, &title).await?;
                    }
                    tx.workspace(ws)
                        .reattribute("links", "created_by", person, former)
                        .await?;
                } else {
                    tx.workspace(ws).delete_links_of(person).await?;
                }
            }
            H::Spaces => {
                tx.workspace(ws)
                    .reattribute("spaces", "created_by", person, former)
                    .await?;
            }
            H::Discussions => {
                tx.workspace(ws)
                    .reattribute("discussions", "created_by", person, former)
                    .await?;
            }
            H::Merges => {
                let mut repo = tx.workspace(ws);
                repo.reattribute("idea_merges", "merged_by", person, former)
                    .await?;
                repo.reattribute("idea_merges", "unmerged_by", person, former)
                    .await?;
            }
            H::SupportGrants => {
                let mut repo = tx.workspace(ws);
                repo.reattribute("support_grants", "created_by", person, former)
                    .await?;
                repo.reattribute("support_grants", "revoked_by", person, former)
                    .await?;
            }
            H::AuditPseudonyms => {
                // Recorded while the key its pseudonym comes from still exists; the facts are
                // counts and the mode, nothing of the person.
                self.audit(
                    tx,
                    AuditEvent {
                        workspace: Some(ws),
                        actor: e.who,
                        action: AuditAction::PersonErased,
                        target: Target::Person(person),
                        outcome: Outcome::Success,
                        client: e.client,
                        facts: json!({
                            "mode": e.mode,
                            "ideas": e.report.ideas,
                            "comments": e.report.comments,
                            "votes": e.report.votes,
                            "ratings": e.report.ratings,
                            "links": e.report.links,
                            "files": e.files.len(),
                            "account_deleted": e.who == Who::Person(person),
                        }),
                    },
                )
                .await?;
            }
            H::DataKey => {
                e.report.key_shredded = self.keyring.shred_subject(tx, ws, person, now).await?;
            }
            H::SearchIndex => {
                // The membership's trigger queued it too; this says so where erasure is read.
                tx.workspace(ws)
                    .queue_member_for_search(person.0, now / 1000)
                    .await?;
            }
            H::Account
            | H::Sessions
            | H::SecondFactors
            | H::SignInThrottle
            | H::PasswordResets
            | H::EmailChanges
            | H::AccountKey
            | H::CertificateRecipients => {
                return Err(AppError::internal_from(
                    "erasing in a workspace",
                    StepOutOfPlace(format!("{step:?} is an account step, not a workspace one")),
                ));
            }
        }
        Ok(())
    }

    /// One handler of deleting an account.
    async fn account_step(
        &self,
        tx: &mut Tx,
        step: H,
        user: UserId,
        email: Option<&str>,
        client: &ClientInfo,
    ) -> AppResult<()> {
        let now = self.now();
        match step {
            H::Sessions => {
                tx.delete_sessions_of(user).await?;
            }
            H::PasswordResets => {
                tx.delete_password_resets_of(user).await?;
            }
            H::SecondFactors => {
                tx.delete_second_factors_of(user).await?;
            }
            H::SignInThrottle => {
                if let Some(email) = email {
                    let bucket = self
                        .keyring
                        .keyed_index(&format!("throttle:account:{email}"))?;
                    tx.clear_throttle(&bucket).await?;
                    tx.forget_regular(&bucket).await?;
                }
            }
            H::EmailChanges => {
                tx.delete_email_changes_of(user).await?;
            }
            // Cleared when the certificate is mailed, within the hour of a deletion.
            H::CertificateRecipients => {}
            H::Outbox => {
                if let Some(email) = email {
                    self.delete_mail_to(tx, None, email).await?;
                }
            }
            H::AuditPseudonyms => {
                self.audit(
                    tx,
                    AuditEvent {
                        workspace: None,
                        actor: Who::Person(user),
                        action: AuditAction::AccountDeleted,
                        target: Target::Person(user),
                        outcome: Outcome::Success,
                        client,
                        facts: json!(null),
                    },
                )
                .await?;
            }
            H::AccountKey => {
                self.keyring.shred_account(tx, user, now).await?;
            }
            H::Account => {
                if !tx.delete_user(user).await? {
                    return Err(AppError::NotFound("account"));
                }
            }
            H::Memberships => {
                if !tx.memberships_of(user).await?.is_empty() {
                    return Err(AppError::internal(
                        "an erased account still has memberships: a workspace step was skipped",
                    ));
                }
            }
            other => {
                return Err(AppError::internal_from(
                    "erasing an account",
                    StepOutOfPlace(format!("{other:?} is a workspace step, not an account one")),
                ));
            }
        }
        Ok(())
    }

    /// A sealed value opened and sealed again with `key` at the same place; a value whose key
    /// is already gone stays as it is (it reads as erased either way).
    async fn resealed(
        &self,
        tx: &mut Tx,
        key: &crate::platform::keyring::SealingKey,
        place: &ideaweave_crypto::Place<'_>,
        sealed: &[u8],
    ) -> AppResult<Vec<u8>> {
        match self.keyring.open(tx, place, sealed).await? {
            Some(plain) => {
                let plain = zeroize::Zeroizing::new(plain);
                key.seal(place, &plain)
            }
            None => Ok(sealed.to_vec()),
        }
    }
}

/// Only the person, signed in, deletes their account: a workspace API token speaks for one
/// workspace.
fn session_only(principal: &Principal) -> AppResult<()> {
    if principal.is_api_token() {
        return Err(AppError::Forbidden(
            "sign in to delete your account; API tokens cannot".into(),
        ));
    }
    Ok(())
}

async fn stored_mode(tx: &mut Tx, ws: WorkspaceId) -> AppResult<ErasureMode> {
    parse_mode(&tx.workspace(ws).erasure_mode().await?)
}

fn parse_mode(s: &str) -> AppResult<ErasureMode> {
    s.parse()
        .map_err(|e: String| AppError::internal_from("stored erasure mode", e))
}

/// An erasure step was handed to the wrong phase (a programming error, kept as the cause).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct StepOutOfPlace(String);

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn dsr_03_every_handler_of_the_registry_runs() {
        let run: HashSet<H> = WORKSPACE_STEPS
            .iter()
            .chain(ACCOUNT_STEPS.iter())
            .copied()
            .collect();
        for t in ideaweave_store::PERSONAL_DATA {
            if let Some(h) = t.handler {
                assert!(run.contains(&h), "{h:?} ({}) is never run", t.table);
            }
        }
        let audit = WORKSPACE_STEPS
            .iter()
            .position(|s| *s == H::AuditPseudonyms);
        let shred = WORKSPACE_STEPS.iter().position(|s| *s == H::DataKey);
        assert!(
            audit < shred,
            "the event needs the key its pseudonym comes from"
        );
        let ideas = WORKSPACE_STEPS.iter().position(|s| *s == H::Ideas);
        assert!(
            ideas < shred,
            "contributions are re-sealed before the key goes"
        );
    }
}
