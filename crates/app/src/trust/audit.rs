//! The audit trail (AUD-01..AUD-04): what is recorded, how it is appended to the Merkle log,
//! checkpoints, proofs, verification and the admins' view.
//!
//! An event is appended in the same transaction as the action it records, so there is no action
//! without its entry and no entry for an action that was rolled back. Failed and refused
//! attempts are recorded in a transaction of their own. Actors (and people who are targets) are
//! named by pseudonyms derived from their own data key; the mapping back to the person is
//! sealed with that key too, so crypto-shredding the person ends the mapping without touching
//! the log (AUD-03).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ideaweave_audit::merkle::{consistency_parts, fold, inclusion_parts, perfect_parts};
use ideaweave_audit::proof_file::encode_hashes;
use ideaweave_audit::{Entry, Frontier, Hash, NodeId, PROOF_FORMAT, ProofFile, VerifierKey};
use ideaweave_domain::policy::Action;
use ideaweave_domain::{UserId, WorkspaceId};
use ideaweave_store::{AuditCheckpointRow, AuditFilter, AuditRow, Tx};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::OrInternal;
use crate::platform::keyring::SealingKey;
use crate::{App, AppError, AppResult, Member};

/// Where a request came from, as the web layer saw it: activity data. Stored only sealed, with
/// the key of the day's activity in the workspace (or the instance, for instance events),
/// destroyed after the activity period (LIF-03).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientInfo {
    /// The client's IP address.
    pub ip: Option<String>,
    /// The `User-Agent` header, cut to 256 characters.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// Client data of the command line (an operator at the console).
    pub fn console() -> Self {
        Self {
            ip: None,
            user_agent: Some(format!("ideaweave-cli/{}", env!("CARGO_PKG_VERSION"))),
        }
    }
}

macro_rules! audit_actions {
    ($($variant:ident => $name:literal: $doc:literal,)*) => {
        /// Every kind of event the trail records. The names are stable: auditors filter on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $(#[doc = $doc] $variant,)*
        }

        impl AuditAction {
            /// Every action, in documentation order.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            /// The stable name, e.g. `auth.sign_in`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name,)*
                }
            }

            /// The action with this name.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(AuditAction::$variant),)*
                    _ => None,
                }
            }

            /// What the action means, for the documentation.
            pub fn describe(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $doc,)*
                }
            }
        }
    };
}

audit_actions! {
    SignIn => "auth.sign_in": "A person signed in (facts: how: password, mfa or passkey).",
    Reauthenticated => "auth.reauthenticated": "A person proved again who they are in their session (password, and second factor when they have one) before a sensitive action; the session got a new cookie.",
    SessionRevoked => "session.revoked": "A person ended one of their sessions, or all but the current one (facts: how many).",
    PasswordChanged => "password.changed": "A person changed their password, giving the current one (facts: how many other sessions they ended).",
    MfaEnabled => "mfa.enabled": "A person turned on two-factor sign-in (facts: the method, totp).",
    MfaDisabled => "mfa.disabled": "A person removed a second factor, and with it their recovery codes (facts: the method).",
    RecoveryCodesRegenerated => "mfa.recovery_codes_regenerated": "A person replaced their recovery codes with new ones.",
    RecoveryCodeUsed => "mfa.recovery_code_used": "A person signed in with a recovery code instead of their authenticator (facts: codes left).",
    SignInFailed => "auth.sign_in_failed": "A sign-in attempt failed (wrong password or unknown address).",
    SignOut => "auth.sign_out": "A person signed out; their session ended.",
    AccountCreated => "account.created": "An account was created (by the operator or by accepting an invitation).",
    AccountEmailChanged => "account.email_changed": "A person changed their email address, confirmed by a link sent to the new one; the old one was told (neither address is in the log).",
    AccountRenamed => "account.renamed": "A person changed their display name.",
    PersonalDataExported => "account.data_exported": "A person downloaded all their personal data (access and portability).",
    AccountDeleted => "account.deleted": "A person deleted their account: they were erased from every workspace, their account key was crypto-shredded and the account removed.",
    AccountRestricted => "account.restricted": "A person restricted the processing of their data (Art. 18): their content is frozen and they are told nothing.",
    AccountRestrictionLifted => "account.restriction_lifted": "A person lifted the restriction on the processing of their data.",
    PasswordResetRequested => "password.reset_requested": "A password reset link was requested for an existing account and emailed to it (the requester is unknown).",
    PasswordReset => "password.reset": "A person set a new password with a reset link; every session of the account ended.",
    TokenCreated => "token.created": "An API token was created.",
    TokenRevoked => "token.revoked": "An API token was revoked.",
    InvitationCreated => "invitation.created": "Someone was invited to the workspace.",
    InvitationRevoked => "invitation.revoked": "A pending invitation was revoked.",
    InvitationAccepted => "invitation.accepted": "An invitation was accepted; the target joined.",
    MemberAdded => "member.added": "The operator added a member to a workspace.",
    MemberRoleChanged => "member.role_changed": "A member's role was changed.",
    MemberRemoved => "member.removed": "A member was removed from the workspace (or left).",
    NotificationsChanged => "member.notifications_changed": "A member changed their own email notification preference (instant, daily digest or off).",
    WorkspaceExported => "workspace.exported": "The whole workspace was exported as an archive (facts: its size and how many records of each kind).",
    WorkspaceImported => "workspace.imported": "The workspace was created on this instance from an export archive (facts: how many records of each kind, accounts created).",
    WorkspaceDeletionRequested => "workspace.deletion_requested": "An owner asked for the workspace's deletion; every member was told the date (facts: when it is due).",
    WorkspaceDeletionCancelled => "workspace.deletion_cancelled": "An owner cancelled the workspace's scheduled deletion.",
    WorkspaceDeleted => "workspace.deleted": "The workspace was destroyed at the end of its grace period: every row, file and key (facts: rows by kind, files); its certificate cites this event.",
    WorkspaceCreated => "workspace.created": "The operator created a workspace.",
    SsoChanged => "workspace.sso_changed": "An admin set, changed or removed the workspace's single sign-on provider (facts: protocol `oidc` or `saml`, the issuer or IdP entity ID, how many domains and groups may join).",
    AccessDenied => "access.denied": "A member (signed in or with an API token) was refused by a permission check in the workspace; the request was not carried out (facts: the request's method and route).",
    SupportGranted => "support.granted": "An admin invited the operator's support staff into the workspace (facts: the invitation, its scope read or manage, how many hours).",
    SupportRevoked => "support.revoked": "An admin ended a support invitation before it expired (facts: the invitation).",
    SupportAccessed => "support.accessed": "The operator's support staff made a request in the workspace under an invitation; one entry per request, whatever it did (facts: the invitation, its scope, the request's method and route).",
    CredentialPolicyChanged => "workspace.security_changed": "An admin changed the weakest sign-in the workspace accepts for members and for admins (facts: from, to).",
    SettingsChanged => "workspace.settings_changed": "Workspace settings changed: name, stages, rating criteria or the erasure policy.",
    SpaceChanged => "space.settings_changed": "A space's name, visibility or member list changed, or it was deleted.",
    DiscussionChanged => "discussion.changed": "A discussion's title, description, kind, deadline or criteria changed, it was closed or reopened, or it was deleted with its ideas (facts: what changed; for a deletion how many ideas and files).",
    ContentDeleted => "content.deleted": "An idea, comment, file or link was deleted.",
    IdeaMerged => "idea.merged": "An idea was merged into another.",
    AuditExported => "audit.exported": "The workspace's audit trail was exported.",
    KeysMasterRotated => "keys.master_rotated": "The operator rotated the master key.",
    KeysMasterRetired => "keys.master_retired": "The operator retired a master key version.",
    KeysWorkspaceRotated => "keys.workspace_rotated": "A workspace's key-encryption key was rotated.",
    PersonErased => "person.erased": "A person was erased from the workspace (facts: anonymise or purge, and how many contributions were kept anonymised or removed); their data key was crypto-shredded.",
    SubjectShredded => "keys.subject_shredded": "A person's data key in a workspace was destroyed (crypto-shredding).",
    RequestRecorded => "request.recorded": "An admin recorded a data-subject request, complaint or authority inquiry on the request desk (facts: kind, channel, when it arrived).",
    RequestForwarded => "request.forwarded": "The operator forwarded a request that reached them to the workspace, and its owners were emailed; the operator does not answer it (facts: kind, when it arrived).",
    RequestResolved => "request.resolved": "An admin answered a request (facts: kind, done or refused, whether on time, how many Art. 19 notices were sent).",
    RequestDataPrepared => "request.data_prepared": "An admin gathered a person's data in the workspace to answer an access or portability request.",
    RetentionChanged => "retention.changed": "An admin changed the workspace's retention periods (facts: from, to).",
    BackupCreated => "backup.created": "A backup of the instance was taken and verified by a trial restore (facts: its name, size, content digest).",
    BackupFailed => "backup.failed": "A backup failed or did not pass its verification, and was not counted as good (facts: its name and what failed).",
    BackupRestored => "backup.restored": "The operator restored the instance or one workspace from a backup (facts: the backup's name and time, rows and files restored, erased keys removed again).",
    RetentionApplied => "retention.applied": "The retention job removed what outlived the workspace's periods (facts: the policy and how many deleted ideas, comments, files, stale invitations and days of activity data).",
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It was done.
    Success,
    /// It failed (for example a wrong password).
    Failure,
    /// It was refused by a permission check.
    Denied,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// A person with an account.
    Person(UserId),
    /// The instance's operator, at the command line.
    Operator,
    /// Nobody could be identified (a sign-in for an unknown address).
    Nobody,
}

/// What was acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A person: written as their pseudonym in the event's scope.
    Person(UserId),
    /// A thing, written `kind:id` (ids are random and say nothing about content).
    Thing(&'static str, uuid::Uuid),
    /// The workspace (or, for instance events, the instance) itself.
    Scope,
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    /// The workspace it concerns; `None` for instance-level events.
    pub workspace: Option<WorkspaceId>,
    /// Who acted.
    pub actor: Who,
    /// What was done.
    pub action: AuditAction,
    /// To what.
    pub target: Target,
    /// How it ended.
    pub outcome: Outcome,
    /// Where the request came from.
    pub client: &'a ClientInfo,
    /// Further facts (a new role, a count), sealed with the client data.
    pub facts: serde_json::Value,
}

/// An event ready to append: everything but its position.
struct PreparedEvent {
    at: i64,
    workspace: Option<WorkspaceId>,
    actor: Option<String>,
    action: AuditAction,
    target: String,
    outcome: Outcome,
    key: SealingKey,
    client: ClientInfo,
    facts: serde_json::Value,
}

/// The sealed part of an entry.
///
/// The client data is sealed once more, with the key of the day's activity in the workspace or
/// the instance (`activity`, base64), so that it expires with the activity period while the
/// facts stay (LIF-03); `client` is then empty. Entries written before carry `client` directly.
#[derive(Debug, Serialize, Deserialize)]
struct Details {
    #[serde(default)]
    client: ClientInfo,
    #[serde(default)]
    facts: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    activity: Option<String>,
}

/// A person behind a pseudonym, when the mapping still exists.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPersonView {
    /// The pseudonym as recorded.
    pub pseudonym: String,
    /// The person, while they have not been erased; `None` afterwards.
    pub user_id: Option<UserId>,
}

/// One audit event, as an admin (or the operator) reads it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEventView {
    /// Position in the log.
    pub index: u64,
    /// When (Unix milliseconds).
    pub at: i64,
    /// The action's stable name.
    pub action: String,
    /// The target as recorded (`member:<pseudonym>`, `token:<id>`, `workspace`, …).
    pub target: String,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// Who acted: a pseudonym, `operator`, or nothing.
    pub actor: Option<AuditPersonView>,
    /// The person the target names, when it names one.
    pub target_person: Option<AuditPersonView>,
    /// The client data, unless the actor was erased or the workspace's activity period for the
    /// event's day has passed.
    pub client: Option<ClientInfo>,
    /// Further facts, unless the actor was erased (`null` then, and for events without any).
    #[schema(value_type = Option<Object>)]
    pub facts: Option<serde_json::Value>,
    /// The entry's canonical bytes (base64), which the Merkle tree commits to.
    pub entry: String,
}

/// A page of events, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPage {
    /// The events.
    pub items: Vec<AuditEventView>,
    /// Pass as `before` for the next page; absent on the last.
    pub next_before: Option<u64>,
}

/// Which events to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action (e.g. `member.role_changed`).
    pub action: Option<String>,
    /// Only events at or after this time (Unix milliseconds).
    pub since: Option<i64>,
    /// Only events before this time (Unix milliseconds).
    pub until: Option<i64>,
    /// Only events before this index (the previous page's `next_before`).
    pub before: Option<u64>,
    /// Only events by or about this member (workspace trails only).
    pub person: Option<UserId>,
    /// At most this many (1–500, default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// A workspace's whole trail, with what is needed to check it against the log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditExport {
    /// The log's name.
    pub origin: String,
    /// The key that signs checkpoints.
    pub verifier_key: String,
    /// The latest signed checkpoint, covering every exported event.
    pub checkpoint: String,
    /// The page's events, oldest first: the newest [`EXPORT_PAGE`] (or `limit`) before
    /// `before`, so the first page ends with the export's own event.
    pub events: Vec<AuditEventView>,
    /// Pass as `before` for the page of older events; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<u64>,
}

/// Events in one page of an audit export, at most (issue 19, finding 10: one response held
/// every event of the workspace).
pub const EXPORT_PAGE: u32 = 5_000;

/// What `ideaweave audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// How many entries were read.
    pub entries: u64,
    /// How many signed checkpoints were checked against the recomputed tree.
    pub checkpoints: usize,
    /// The first problem, if any.
    pub problem: Option<AuditProblem>,
    /// The database's append-only guards (triggers) that were dropped or disabled: someone
    /// changed the schema behind the application's back. Every start puts them back.
    pub missing_guards: Vec<String>,
}

/// Where the stored log first departs from what was committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditProblem {
    /// The first index affected.
    pub index: u64,
    /// What is wrong there.
    pub what: String,
}

const MAX_PAGE: u32 = 500;
const VERIFY_BATCH: i64 = 5_000;

/// Which page of an audit export.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportPage {
    /// The `next_before` of the previous page; absent for the first (newest) page.
    pub before: Option<u64>,
    /// Events per page, 1 to 5,000 (the default).
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<u32>,
}

/// Refused requests recorded one by one per person, workspace and minute (issue 19, finding
/// 10); the rest of that minute's are counted only.
pub const DENIALS_RECORDED_PER_MINUTE: i64 = 10;

fn row_place(
    scope: uuid::Uuid,
    table: &'static str,
    column: &'static str,
    row: uuid::Uuid,
) -> ideaweave_crypto::Place<'static> {
    ideaweave_crypto::Place {
        workspace: scope,
        table,
        column,
        row,
    }
}

fn entry_row(seq: u64) -> uuid::Uuid {
    uuid::Uuid::from_u64_pair(0, seq)
}

/// The row id of a pseudonym's mapping: its 16 bytes.
fn pseudonym_row(p: &str) -> Option<uuid::Uuid> {
    let bytes = hex::decode(p.strip_prefix("p-")?).ok()?;
    uuid::Uuid::from_slice(&bytes).ok()
}

fn to_hash(bytes: &[u8]) -> AppResult<Hash> {
    bytes
        .try_into()
        .map_err(|_| AppError::Integrity(format!("a stored audit hash is {} bytes", bytes.len())))
}

fn entry_of(r: &AuditRow) -> AppResult<Entry> {
    Ok(Entry {
        index: u64::try_from(r.seq)
            .map_err(|_| AppError::Integrity(format!("audit entry index {} is negative", r.seq)))?,
        at: r.at,
        workspace: r.workspace_id,
        actor: r.actor.clone(),
        action: r.action.clone(),
        target: r.target.clone(),
        outcome: r.outcome.clone(),
        details: r.details.clone(),
    })
}

fn audit_err(e: ideaweave_audit::AuditError) -> AppError {
    AppError::Integrity(format!("audit log: {e}"))
}

impl App {
    /// The log's name (its origin in checkpoints).
    pub fn audit_origin(&self) -> AppResult<String> {
        Ok(self.keyring.audit_signer()?.verifier().name().to_owned())
    }

    /// The key auditors check checkpoints with.
    pub fn audit_verifier_key(&self) -> AppResult<VerifierKey> {
        Ok(self.keyring.audit_signer()?.verifier())
    }

    /// The key that seals a person's data in `scope`, and their pseudonym there; remembers the
    /// pseudonym's owner, sealed with the same key.
    async fn person_key(
        &self,
        tx: &mut Tx,
        scope: Option<WorkspaceId>,
        user: UserId,
        now: i64,
    ) -> AppResult<(SealingKey, String)> {
        let key = match scope {
            Some(ws) => {
                self.keyring
                    .data_key(&mut tx.workspace(ws), Some(user), now)
                    .await?
            }
            None => self.keyring.account_key(tx, user, now).await?,
        };
        let scope_id = scope.map_or(uuid::Uuid::nil(), |w| w.0);
        let pseudonym = key.pseudonym(scope_id, user);
        let row = pseudonym_row(&pseudonym)
            .ok_or_else(|| AppError::internal("a pseudonym is not 16 bytes"))?;
        let sealed = key.seal(
            &row_place(scope_id, "audit_actors", "user", row),
            user.0.as_bytes(),
        )?;
        tx.insert_audit_actor(scope_id, &pseudonym, &sealed).await?;
        Ok((key, pseudonym))
    }

    /// Appends `ev` to the log inside `tx`; returns its index.
    pub(crate) async fn audit(&self, tx: &mut Tx, ev: AuditEvent<'_>) -> AppResult<u64> {
        let prepared = self.prepare_event(tx, ev).await?;
        self.append_prepared(tx, vec![prepared]).await
    }

    /// Records, inside `tx`, a successful act of a person on their own account (an
    /// instance-level event: sign-in factors, sessions, password).
    pub(crate) async fn audit_own(
        &self,
        tx: &mut Tx,
        user: UserId,
        client: &ClientInfo,
        action: AuditAction,
        target: Target,
        facts: serde_json::Value,
    ) -> AppResult<u64> {
        self.audit(
            tx,
            AuditEvent {
                workspace: None,
                actor: Who::Person(user),
                action,
                target,
                outcome: Outcome::Success,
                client,
                facts,
            },
        )
        .await
    }

    /// Appends several events inside `tx`, locking and moving the log's head once; returns the
    /// index of the first.
    pub(crate) async fn audit_batch(
        &self,
        tx: &mut Tx,
        events: Vec<AuditEvent<'_>>,
    ) -> AppResult<u64> {
        let mut prepared = Vec::with_capacity(events.len());
        for ev in events {
            prepared.push(self.prepare_event(tx, ev).await?);
        }
        self.append_prepared(tx, prepared).await
    }

    /// Works out an event's pseudonyms, target and sealing key.
    async fn prepare_event(&self, tx: &mut Tx, ev: AuditEvent<'_>) -> AppResult<PreparedEvent> {
        let now = self.now();
        let (key, actor) = match ev.actor {
            Who::Person(u) => {
                let (k, p) = self.person_key(tx, ev.workspace, u, now).await?;
                (k, Some(p))
            }
            Who::Operator | Who::Nobody => {
                let k = match ev.workspace {
                    Some(ws) => {
                        self.keyring
                            .data_key(&mut tx.workspace(ws), None, now)
                            .await?
                    }
                    None => self.keyring.audit_details_key()?,
                };
                (
                    k,
                    (ev.actor == Who::Operator).then(|| "operator".to_owned()),
                )
            }
        };
        let target = match ev.target {
            Target::Person(u) => {
                let (_, p) = self.person_key(tx, ev.workspace, u, now).await?;
                format!("member:{p}")
            }
            Target::Thing(kind, id) => format!("{kind}:{id}"),
            Target::Scope => if ev.workspace.is_some() {
                "workspace"
            } else {
                "instance"
            }
            .to_owned(),
        };
        Ok(PreparedEvent {
            at: now,
            workspace: ev.workspace,
            actor,
            action: ev.action,
            target,
            outcome: ev.outcome,
            key,
            client: ev.client.clone(),
            facts: ev.facts,
        })
    }

    async fn append_prepared(&self, tx: &mut Tx, events: Vec<PreparedEvent>) -> AppResult<u64> {
        let head = tx.audit_head_for_update().await?;
        let mut frontier = Frontier::from_bytes(&head.frontier).map_err(audit_err)?;
        let first = frontier.size();
        if i64::try_from(first).ok() != Some(head.size) {
            return Err(AppError::Integrity(format!(
                "the audit head says {} entries but its frontier {first}",
                head.size
            )));
        }
        for ev in events {
            let seq = frontier.size();
            let scope_id = ev.workspace.map_or(uuid::Uuid::nil(), |w| w.0);
            // The client data is sealed with the key of the day's activity, in the workspace or
            // the instance, so that it expires with the activity period (LIF-03).
            let day = ev.at.div_euclid(ideaweave_domain::retention::DAY_MS);
            let key = match ev.workspace {
                Some(ws) => {
                    self.keyring
                        .activity_key(&mut tx.workspace(ws), day, ev.at)
                        .await?
                }
                None => self.keyring.instance_activity_key(tx, day, ev.at).await?,
            };
            let client = serde_json::to_vec(&ev.client).or_internal("audit client data")?;
            let sealed = key.seal(
                &row_place(scope_id, "audit_entries", "activity", entry_row(seq)),
                &client,
            )?;
            let details = Details {
                client: ClientInfo::default(),
                facts: ev.facts,
                activity: Some(B64.encode(sealed)),
            };
            let details = serde_json::to_vec(&details).or_internal("audit details")?;
            let sealed = ev.key.seal(
                &row_place(scope_id, "audit_entries", "details", entry_row(seq)),
                &details,
            )?;
            let entry = Entry {
                index: seq,
                at: ev.at,
                workspace: ev.workspace.map(|w| w.0),
                actor: ev.actor,
                action: ev.action.as_str().to_owned(),
                target: ev.target,
                outcome: ev.outcome.as_str().to_owned(),
                details: sealed,
            };
            let leaf = entry.leaf_hash();
            let mac = self.seal_audit_entry(seq, &leaf)?;
            let completed = frontier.push(leaf);
            tx.insert_audit_entry(&AuditRow {
                seq: i64::try_from(seq).or_internal("audit log full")?,
                at: entry.at,
                workspace_id: entry.workspace,
                actor: entry.actor,
                action: entry.action,
                target: entry.target,
                outcome: entry.outcome,
                details: entry.details,
                leaf_hash: leaf.to_vec(),
                root_after: frontier.root().to_vec(),
                mac: Some(mac),
            })
            .await?;
            for (id, hash) in completed {
                tx.insert_audit_node(i32::from(id.level), node_index(id)?, &hash)
                    .await?;
            }
        }
        let size = i64::try_from(frontier.size()).or_internal("audit log full")?;
        tx.set_audit_head(size, &frontier.to_bytes()).await?;
        Ok(first)
    }

    /// Appends `ev` in a transaction of its own (for failed or refused attempts, whose own
    /// transaction did not commit).
    #[tracing::instrument(skip_all)]
    pub async fn audit_alone(&self, ev: AuditEvent<'_>) -> AppResult<u64> {
        let mut tx = self.store.begin().await?;
        let seq = self.audit(&mut tx, ev).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Records that the holder of `credential` was refused by a permission check in the
    /// workspace `slug` (AUD-01: denied attempts are access-relevant too). Only members and the
    /// workspace's own tokens are recorded here: the operator's support staff are recorded by
    /// their invitation (`support.accessed`), and strangers see a 404, not a refusal.
    #[tracing::instrument(skip_all)]
    pub async fn record_denied(
        &self,
        credential: &crate::identity::auth::Credential,
        slug: &str,
        request: &str,
        client: &ClientInfo,
    ) -> AppResult<()> {
        let Ok(principal) = self.authenticate(credential).await else {
            return Ok(());
        };
        // Where the caller is a member: the workspace of their token, or of their membership
        // (not `enter`, which would record support's requests a second time).
        let mut tx = self.store.begin().await?;
        let ws = match principal.token_workspace() {
            Some((ws, token_slug)) => (token_slug == slug).then_some(ws),
            None => tx
                .membership_by_slug(principal.user, slug)
                .await?
                .map(|(w, _)| w.id),
        };
        let Some(ws) = ws else {
            return Ok(());
        };
        // A member who sends refused requests in a loop must not grow the permanent log
        // without bound: the first few each minute are recorded one by one, the last of them
        // saying so, and the rest are only counted.
        let now = self.now();
        let minute = now.div_euclid(60_000);
        let bucket = self
            .keyring
            .keyed_index(&format!("denied:{}:{}:{minute}", ws.0, principal.user.0))?;
        let n = tx
            .reserve_attempt(&bucket, now, i64::MIN)
            .await?
            .unwrap_or(i64::MAX);
        if n > DENIALS_RECORDED_PER_MINUTE {
            tx.commit().await?;
            return Ok(());
        }
        let facts = if n == DENIALS_RECORDED_PER_MINUTE {
            serde_json::json!({
                "request": request,
                "further_denials_this_minute": "counted, not recorded one by one",
            })
        } else {
            serde_json::json!({ "request": request })
        };
        self.audit(
            &mut tx,
            AuditEvent {
                workspace: Some(ws),
                actor: Who::Person(principal.user),
                action: AuditAction::AccessDenied,
                target: Target::Scope,
                outcome: Outcome::Denied,
                client,
                facts,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records an operator's action at the command line.
    #[tracing::instrument(skip_all)]
    pub async fn audit_operator(
        &self,
        workspace: Option<WorkspaceId>,
        action: AuditAction,
        target: Target,
        facts: serde_json::Value,
    ) -> AppResult<u64> {
        self.audit_alone(AuditEvent {
            workspace,
            actor: Who::Operator,
            action,
            target,
            outcome: Outcome::Success,
            client: &ClientInfo::console(),
            facts,
        })
        .await
    }

    /// The hash of leaves `[0, size)` from the stored perfect subtrees.
    async fn stored_root(&self, tx: &mut Tx, size: u64) -> AppResult<Hash> {
        let parts = perfect_parts(0, size);
        let hashes = self.stored_nodes(tx, &parts).await?;
        Ok(fold(&hashes).unwrap_or_else(ideaweave_audit::merkle::empty_root))
    }

    async fn stored_nodes(&self, tx: &mut Tx, ids: &[NodeId]) -> AppResult<Vec<Hash>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let h = tx
                .audit_node(i32::from(id.level), node_index(*id)?)
                .await?
                .ok_or_else(|| {
                    AppError::Integrity(format!(
                        "the audit log lacks the subtree at level {} index {}",
                        id.level, id.index
                    ))
                })?;
            out.push(to_hash(&h)?);
        }
        Ok(out)
    }

    async fn proof_hashes(
        &self,
        tx: &mut Tx,
        parts: &[ideaweave_audit::ProofPart],
    ) -> AppResult<Vec<Hash>> {
        let mut out = Vec::with_capacity(parts.len());
        for p in parts {
            let hashes = self.stored_nodes(tx, &p.nodes).await?;
            out.push(fold(&hashes).ok_or_else(|| AppError::internal("an empty proof part"))?);
        }
        Ok(out)
    }

    /// Signs a checkpoint of the log as it is now, unless the latest one already covers it.
    /// Refuses (integrity error) when the stored tree no longer extends the last signed
    /// checkpoint, or an entry since then no longer hashes to its leaf: the log never signs a
    /// history inconsistent with one it signed before.
    #[tracing::instrument(skip_all)]
    pub async fn sign_audit_checkpoint(&self) -> AppResult<String> {
        let anchor = self.read_audit_anchor()?;
        let mac_key = self.audit_mac_checker().await?;
        let mut tx = self.store.begin().await?;
        let head = tx.audit_head_for_update().await?;
        let frontier = Frontier::from_bytes(&head.frontier).map_err(audit_err)?;
        let mac_from = self
            .audit_mac_from(&mut tx, &mac_key, anchor.as_ref())
            .await?;
        // The tree must extend the checkpoint kept outside the database, whatever the
        // database's own checkpoints say (they may have been deleted).
        if let Some(a) = &anchor {
            if a.size > frontier.size() {
                return Err(AppError::Integrity(format!(
                    "the audit log holds {} entries but a checkpoint of {} was signed (the anchor outside the database): \
                     the log was rolled back or truncated; refusing to sign",
                    frontier.size(),
                    a.size
                )));
            }
            if self.stored_root(&mut tx, a.size).await? != a.root_hash()? {
                return Err(AppError::Integrity(format!(
                    "the stored audit tree no longer matches the checkpoint of {} entries kept outside the database: refusing to sign",
                    a.size
                )));
            }
        }
        let latest = tx.latest_audit_checkpoint().await?;
        // A checkpoint row is trusted only with its signature: a database writer can insert a
        // row, not sign one (it would otherwise move the start of the checks past a forgery).
        if let Some(l) = &latest {
            let signed = self
                .keyring
                .audit_signer()?
                .verifier()
                .verify(&l.note)
                .ok()
                .filter(|cp| {
                    i64::try_from(cp.size).ok() == Some(l.size)
                        && cp.root.as_slice() == l.root.as_slice()
                });
            if signed.is_none() {
                return Err(AppError::Integrity(format!(
                    "the latest checkpoint row (size {}) does not carry this log's signature: refusing to sign",
                    l.size
                )));
            }
        }
        let from = match &latest {
            Some(l) if l.size == head.size => {
                let note = l.note.clone();
                tx.commit().await?;
                return Ok(note);
            }
            Some(l) => {
                let old = u64::try_from(l.size)
                    .map_err(|_| AppError::Integrity("negative checkpoint size".into()))?;
                if old > frontier.size() {
                    return Err(AppError::Integrity(format!(
                        "the audit log holds {} entries but a checkpoint of {old} was signed: refusing to sign",
                        frontier.size()
                    )));
                }
                if self.stored_root(&mut tx, old).await?.as_slice() != l.root.as_slice() {
                    return Err(AppError::Integrity(format!(
                        "the stored audit tree no longer matches the checkpoint signed at size {old}: refusing to sign"
                    )));
                }
                old
            }
            None => 0,
        };
        let mut at = from;
        while at < frontier.size() {
            let rows = tx.audit_entries_from(at as i64, VERIFY_BATCH).await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let e = entry_of(r)?;
                let leaf = e.leaf_hash();
                if e.index != at || leaf.as_slice() != r.leaf_hash.as_slice() {
                    return Err(AppError::Integrity(format!(
                        "audit entry {at} does not hash to its leaf: refusing to sign"
                    )));
                }
                if let Some(problem) = Self::audit_entry_seal_problem(&mac_key, r, &leaf, mac_from)
                {
                    return Err(AppError::Integrity(format!("{problem}: refusing to sign")));
                }
                at += 1;
            }
        }
        if at != frontier.size() || self.stored_root(&mut tx, at).await? != frontier.root() {
            return Err(AppError::Integrity(
                "the audit entries do not add up to the stored tree: refusing to sign".into(),
            ));
        }
        let signer = self.keyring.audit_signer()?;
        let cp = ideaweave_audit::Checkpoint {
            origin: signer.verifier().name().to_owned(),
            size: frontier.size(),
            root: frontier.root(),
        };
        let note = signer.sign(&cp);
        tx.insert_audit_checkpoint(&AuditCheckpointRow {
            size: head.size,
            root: cp.root.to_vec(),
            note: note.clone(),
            signed_at: self.now(),
        })
        .await?;
        tx.commit().await?;
        self.write_audit_anchor(cp.size, &cp.root, mac_from)?;
        Ok(note)
    }

    /// The latest signed checkpoint, if any was signed.
    #[tracing::instrument(skip_all)]
    pub async fn audit_checkpoint(&self) -> AppResult<Option<String>> {
        let mut tx = self.store.read().await?;
        Ok(tx.latest_audit_checkpoint().await?.map(|c| c.note))
    }

    /// A checkpoint covering entry `index`: the latest one, signing a new one when needed.
    async fn checkpoint_covering(&self, index: u64) -> AppResult<(u64, String)> {
        let note = match self.audit_checkpoint().await? {
            Some(n) => n,
            None => self.sign_audit_checkpoint().await?,
        };
        let cp = self
            .audit_verifier_key()?
            .verify(&note)
            .map_err(audit_err)?;
        if cp.size > index {
            return Ok((cp.size, note));
        }
        let note = self.sign_audit_checkpoint().await?;
        let cp = self
            .audit_verifier_key()?
            .verify(&note)
            .map_err(audit_err)?;
        if cp.size <= index {
            return Err(AppError::NotFound("audit entry"));
        }
        Ok((cp.size, note))
    }

    /// A proof file showing that entry `index` is in the log (the operator's view; admins use
    /// [`App::workspace_audit_proof`]).
    #[tracing::instrument(skip_all)]
    pub async fn audit_inclusion_proof(&self, index: u64) -> AppResult<ProofFile> {
        let (size, note) = self.checkpoint_covering(index).await?;
        let mut tx = self.store.read().await?;
        let row = tx
            .audit_entry(i64::try_from(index).map_err(|_| AppError::NotFound("audit entry"))?)
            .await?
            .ok_or(AppError::NotFound("audit entry"))?;
        let parts = inclusion_parts(index, size).map_err(audit_err)?;
        let proof = self.proof_hashes(&mut tx, &parts).await?;
        Ok(ProofFile::Inclusion {
            format: PROOF_FORMAT.to_owned(),
            verifier_key: self.audit_verifier_key()?.to_string(),
            checkpoint: note,
            index,
            entry: B64.encode(entry_of(&row)?.encode()),
            proof: encode_hashes(&proof),
        })
    }

    /// A proof file showing that the log at the checkpoint of size `old` is a prefix of the log
    /// at the checkpoint of size `new` (the latest when `None`). Both must be signed checkpoints.
    #[tracing::instrument(skip_all)]
    pub async fn audit_consistency_proof(
        &self,
        old: u64,
        new: Option<u64>,
    ) -> AppResult<ProofFile> {
        let mut tx = self.store.read().await?;
        let to_i64 = |v: u64| i64::try_from(v).map_err(|_| AppError::NotFound("checkpoint"));
        let new_cp = match new {
            Some(n) => tx.audit_checkpoint(to_i64(n)?).await?,
            None => tx.latest_audit_checkpoint().await?,
        }
        .ok_or(AppError::NotFound("checkpoint"))?;
        let old_cp = tx
            .audit_checkpoint(to_i64(old)?)
            .await?
            .ok_or(AppError::NotFound("checkpoint"))?;
        if old_cp.size > new_cp.size {
            return Err(AppError::invalid(
                "from",
                "the older checkpoint must not be larger than the newer",
            ));
        }
        let parts = consistency_parts(old_cp.size as u64, new_cp.size as u64).map_err(audit_err)?;
        let proof = self.proof_hashes(&mut tx, &parts).await?;
        Ok(ProofFile::Consistency {
            format: PROOF_FORMAT.to_owned(),
            verifier_key: self.audit_verifier_key()?.to_string(),
            old_checkpoint: old_cp.note,
            checkpoint: new_cp.note,
            proof: encode_hashes(&proof),
        })
    }

    /// Who a pseudonym stands for in `scope`, while the mapping can still be opened.
    async fn resolve(
        &self,
        tx: &mut Tx,
        scope: uuid::Uuid,
        pseudonym: &str,
    ) -> AppResult<Option<UserId>> {
        let Some(row) = pseudonym_row(pseudonym) else {
            return Ok(None);
        };
        let Some(sealed) = tx.audit_actor(scope, pseudonym).await? else {
            return Ok(None);
        };
        let opened = self
            .keyring
            .open(tx, &row_place(scope, "audit_actors", "user", row), &sealed)
            .await?;
        Ok(opened
            .and_then(|b| uuid::Uuid::from_slice(&b).ok())
            .map(UserId))
    }

    pub(crate) async fn event_view(&self, tx: &mut Tx, r: &AuditRow) -> AppResult<AuditEventView> {
        let entry = entry_of(r)?;
        let scope = r.workspace_id.unwrap_or(uuid::Uuid::nil());
        let actor = match &r.actor {
            Some(p) if p.starts_with("p-") => Some(AuditPersonView {
                pseudonym: p.clone(),
                user_id: self.resolve(tx, scope, p).await?,
            }),
            Some(other) => Some(AuditPersonView {
                pseudonym: other.clone(),
                user_id: None,
            }),
            None => None,
        };
        let target_person = match r.target.strip_prefix("member:") {
            Some(p) => Some(AuditPersonView {
                pseudonym: p.to_owned(),
                user_id: self.resolve(tx, scope, p).await?,
            }),
            None => None,
        };
        let details = self
            .keyring
            .open(
                tx,
                &row_place(scope, "audit_entries", "details", entry_row(entry.index)),
                &r.details,
            )
            .await?
            .map(|b| serde_json::from_slice::<Details>(&b))
            .transpose()
            .map_err(|e| AppError::Integrity(format!("audit details of {}: {e}", entry.index)))?;
        let (client, facts) = match details {
            Some(Details {
                activity: Some(sealed),
                facts,
                ..
            }) => {
                let sealed = B64.decode(sealed).map_err(|e| {
                    AppError::Integrity(format!("audit activity of {}: {e}", entry.index))
                })?;
                let client = self
                    .keyring
                    .open(
                        tx,
                        &row_place(scope, "audit_entries", "activity", entry_row(entry.index)),
                        &sealed,
                    )
                    .await?
                    .map(|b| serde_json::from_slice::<ClientInfo>(&b))
                    .transpose()
                    .map_err(|e| {
                        AppError::Integrity(format!("audit activity of {}: {e}", entry.index))
                    })?;
                (client, Some(facts))
            }
            Some(d) => (Some(d.client), Some(d.facts)),
            None => (None, None),
        };
        Ok(AuditEventView {
            index: entry.index,
            at: r.at,
            action: r.action.clone(),
            target: r.target.clone(),
            outcome: r.outcome.clone(),
            actor,
            target_person,
            client,
            facts,
            entry: B64.encode(entry.encode()),
        })
    }

    /// Events of one workspace (`Some`) or of the instance (`None`), newest first.
    async fn audit_page(
        &self,
        workspace: Option<WorkspaceId>,
        q: &AuditQuery,
    ) -> AppResult<AuditPage> {
        if let Some(a) = &q.action
            && AuditAction::parse(a).is_none()
        {
            return Err(AppError::invalid(
                "action",
                format!("unknown action {a:?}; see docs/security/audit.md for the list"),
            ));
        }
        let limit = q.limit.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let mut tx = self.store.read().await?;
        // A person is found by their pseudonym in the workspace; someone without a key there
        // (never active, or erased: the key is shredded) has no events to find.
        let person = match (q.person, workspace) {
            (None, _) => None,
            (Some(user), Some(ws)) => match self
                .keyring
                .existing_subject_key(&mut tx.workspace(ws), user)
                .await?
            {
                Some(key) => Some(key.pseudonym(ws.0, user)),
                None => {
                    return Ok(AuditPage {
                        items: Vec::new(),
                        next_before: None,
                    });
                }
            },
            (Some(_), None) => {
                return Err(AppError::invalid(
                    "person",
                    "only a workspace's trail is filtered by person",
                ));
            }
        };
        let rows = tx
            .audit_entries(&AuditFilter {
                workspace: workspace.map(|w| w.0),
                action: q.action.clone(),
                since: q.since,
                until: q.until,
                before: q.before.map(|b| i64::try_from(b).unwrap_or(i64::MAX)),
                person,
                limit: i64::from(limit) + 1,
            })
            .await?;
        let more = rows.len() > limit as usize;
        let mut items = Vec::with_capacity(rows.len().min(limit as usize));
        for r in rows.iter().take(limit as usize) {
            items.push(self.event_view(&mut tx, r).await?);
        }
        let next_before = if more {
            items.last().map(|i| i.index)
        } else {
            None
        };
        Ok(AuditPage { items, next_before })
    }

    /// The workspace's audit events (admins, AUD-04).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn workspace_audit(&self, m: &Member, q: AuditQuery) -> AppResult<AuditPage> {
        m.allow(Action::ReadAudit)?;
        self.audit_page(Some(m.workspace), &q).await
    }

    /// Instance-level events, or one workspace's (the operator, at the command line).
    #[tracing::instrument(skip_all)]
    pub async fn instance_audit(
        &self,
        workspace: Option<WorkspaceId>,
        q: AuditQuery,
    ) -> AppResult<AuditPage> {
        self.audit_page(workspace, &q).await
    }

    /// A proof that one of the workspace's events is in the log (admins).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn workspace_audit_proof(&self, m: &Member, index: u64) -> AppResult<ProofFile> {
        m.allow(Action::ReadAudit)?;
        let mut tx = self.store.read().await?;
        let row = tx
            .audit_entry(i64::try_from(index).map_err(|_| AppError::NotFound("audit entry"))?)
            .await?;
        drop(tx);
        match row {
            Some(r) if r.workspace_id == Some(m.workspace.0) => {
                self.audit_inclusion_proof(index).await
            }
            _ => Err(AppError::NotFound("audit entry")),
        }
    }

    /// The workspace's whole trail with the checkpoint that covers it (admins, AUD-04). The
    /// export itself is recorded.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn export_workspace_audit(
        &self,
        m: &Member,
        client: &ClientInfo,
        page: ExportPage,
    ) -> AppResult<AuditExport> {
        m.allow(Action::ReadAudit)?;
        // Support reads the trail; taking it out is the admins' to do.
        m.refuse_support()?;
        let limit = page.limit.unwrap_or(EXPORT_PAGE);
        if !(1..=EXPORT_PAGE).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("must be between 1 and {EXPORT_PAGE}"),
            ));
        }
        // Every page is recorded: a page asked for directly is an export too.
        let index = self
            .audit_alone(AuditEvent {
                workspace: Some(m.workspace),
                actor: Who::Person(m.actor.user),
                action: AuditAction::AuditExported,
                target: Target::Scope,
                outcome: Outcome::Success,
                client,
                facts: match page.before {
                    None => serde_json::Value::Null,
                    Some(b) => serde_json::json!({ "page_before": b }),
                },
            })
            .await?;
        let (_, checkpoint) = self.checkpoint_covering(index).await?;
        let mut events: Vec<AuditEventView> = Vec::new();
        let mut before = page.before;
        let mut more = false;
        loop {
            let want = (limit as usize - events.len()).min(MAX_PAGE as usize) as u32;
            let got = self
                .audit_page(
                    Some(m.workspace),
                    &AuditQuery {
                        before,
                        limit: Some(want),
                        ..AuditQuery::default()
                    },
                )
                .await?;
            events.extend(got.items);
            match got.next_before {
                Some(b) if events.len() < limit as usize => before = Some(b),
                Some(_) => {
                    more = true;
                    break;
                }
                None => break,
            }
        }
        let next_before = more.then(|| events.last().map(|e| e.index)).flatten();
        events.reverse();
        Ok(AuditExport {
            origin: self.audit_origin()?,
            verifier_key: self.audit_verifier_key()?.to_string(),
            checkpoint,
            events,
            next_before,
        })
    }

    /// Recomputes the whole tree from the stored entries and checks it against every stored
    /// signed checkpoint and `external` (a checkpoint kept outside the operator's reach).
    /// Reports the first index where anything was edited, removed, inserted, reordered or
    /// truncated.
    #[tracing::instrument(skip_all)]
    pub async fn verify_audit(
        &self,
        external: Option<&str>,
        key: Option<&VerifierKey>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> AppResult<AuditReport> {
        let own = self.audit_verifier_key()?;
        let key = key.unwrap_or(&own);
        let missing_guards = self.store.missing_audit_guards().await?;
        let anchor = self.read_audit_anchor()?;
        let mac_key = self.audit_mac_checker().await?;
        let mut tx = self.store.read().await?;
        let head = tx.audit_head().await?;
        let head_size = u64::try_from(head.size).unwrap_or(0);
        let mac_from = self
            .audit_mac_from(&mut tx, &mac_key, anchor.as_ref())
            .await?;
        let mut checkpoints: Vec<(u64, Hash, String)> = Vec::new();
        let mut bad_checkpoint: Option<AuditProblem> = None;
        for c in tx.audit_checkpoints().await? {
            let size = u64::try_from(c.size).unwrap_or(0);
            let cp = match key.verify(&c.note) {
                Ok(cp) => cp,
                Err(e) => {
                    bad_checkpoint.get_or_insert(AuditProblem {
                        index: size.saturating_sub(1),
                        what: format!(
                            "the checkpoint signed at size {size} (covering entries up to index {}) does not verify: {e}; \
                             its signature or text was altered",
                            size.saturating_sub(1)
                        ),
                    });
                    continue;
                }
            };
            if cp.size != size || cp.root.as_slice() != c.root.as_slice() {
                bad_checkpoint.get_or_insert(AuditProblem {
                    index: size.saturating_sub(1),
                    what: format!(
                        "the stored checkpoint at size {size} was altered: its row no longer matches its signed note"
                    ),
                });
                continue;
            }
            checkpoints.push((cp.size, cp.root, "a stored checkpoint".into()));
        }
        if let Some(a) = &anchor {
            checkpoints.push((
                a.size,
                a.root_hash()?,
                "the checkpoint kept outside the database (the anchor)".into(),
            ));
        }
        if let Some(note) = external {
            let cp = key
                .verify(note)
                .map_err(|e| AppError::invalid("checkpoint", e.to_string()))?;
            checkpoints.push((cp.size, cp.root, "the given checkpoint".into()));
        }
        checkpoints.sort_by_key(|c| c.0);
        let mut report = AuditReport {
            entries: 0,
            checkpoints: 0,
            problem: None,
            missing_guards,
        };
        let problem = |index: u64, what: String| Some(AuditProblem { index, what });
        let mut frontier = Frontier::new();
        let mut next_cp = 0;
        let mut check_checkpoints = |size: u64, root: Hash, report: &mut AuditReport| {
            while next_cp < checkpoints.len() && checkpoints[next_cp].0 <= size {
                let (cs, croot, what) = &checkpoints[next_cp];
                if *cs == size {
                    report.checkpoints += 1;
                    if *croot != root && report.problem.is_none() {
                        report.problem = problem(
                            size.saturating_sub(1),
                            format!(
                                "the log's first {size} entries do not match {what} signed at that size: an entry before index {size} was rewritten together with its hashes"
                            ),
                        );
                    }
                }
                next_cp += 1;
            }
        };
        check_checkpoints(0, ideaweave_audit::merkle::empty_root(), &mut report);
        let mut expected = 0u64;
        'walk: loop {
            let rows = tx.audit_entries_from(expected as i64, VERIFY_BATCH).await?;
            if rows.is_empty() {
                break;
            }
            let batch_start = expected;
            let mut made: Vec<(NodeId, Hash)> = Vec::new();
            for r in &rows {
                let seq = u64::try_from(r.seq).unwrap_or(u64::MAX);
                if seq != expected {
                    report.problem = problem(
                        expected,
                        format!(
                            "entry {expected} is missing (the next stored entry is {seq}): it was deleted, or entries were renumbered"
                        ),
                    );
                    break 'walk;
                }
                let e = entry_of(r)?;
                let leaf = e.leaf_hash();
                if leaf.as_slice() != r.leaf_hash.as_slice() {
                    report.problem = problem(
                        expected,
                        format!(
                            "entry {expected} was edited, moved or inserted: its content no longer hashes to the recorded leaf"
                        ),
                    );
                    break 'walk;
                }
                made.extend(frontier.push(leaf));
                let root = frontier.root();
                if root.as_slice() != r.root_after.as_slice() {
                    report.problem = problem(
                        expected,
                        format!(
                            "the tree after entry {expected} differs from the one recorded when it was appended: an entry at or before {expected} was edited, inserted, removed or reordered"
                        ),
                    );
                    break 'walk;
                }
                if let Some(what) = Self::audit_entry_seal_problem(&mac_key, r, &leaf, mac_from) {
                    report.problem = problem(expected, what);
                    break 'walk;
                }
                expected += 1;
                report.entries = expected;
                check_checkpoints(expected, root, &mut report);
                if report.problem.is_some() {
                    break 'walk;
                }
            }
            // The stored perfect subtrees must be the ones the entries make.
            let mut levels: Vec<u8> = made.iter().map(|(id, _)| id.level).collect();
            levels.sort_unstable();
            levels.dedup();
            for level in levels {
                let lo = batch_start >> level;
                let hi = (expected >> level) + 1;
                let stored = tx
                    .audit_nodes_between(i32::from(level), lo as i64, hi as i64)
                    .await?;
                for (id, hash) in made.iter().filter(|(id, _)| id.level == level) {
                    let found = stored.iter().find(|(i, _)| *i as u64 == id.index);
                    if found.map(|(_, h)| h.as_slice()) != Some(hash.as_slice()) {
                        report.problem = problem(
                            id.index << id.level,
                            format!(
                                "the stored hash of entries {}..{} is wrong: proofs over them would not verify",
                                id.index << id.level,
                                (id.index + 1) << id.level
                            ),
                        );
                        break 'walk;
                    }
                }
            }
            progress(expected, head_size);
        }
        if report.problem.is_none() {
            report.problem = bad_checkpoint;
        }
        if report.problem.is_none() {
            let signed = checkpoints.iter().map(|c| c.0).max().unwrap_or(0);
            if expected < head_size.max(signed) {
                report.problem = problem(
                    expected,
                    format!(
                        "the log was truncated: it ends at {expected} entries, but {} were recorded",
                        head_size.max(signed)
                    ),
                );
            } else if expected > head_size {
                report.problem = problem(
                    head_size,
                    format!("entries from {head_size} on were added behind the log's back"),
                );
            } else if Frontier::from_bytes(&head.frontier).map_err(audit_err)? != frontier {
                report.problem = problem(
                    expected,
                    "the stored head of the tree differs from the recomputed one".into(),
                );
            }
        }
        Ok(report)
    }
}

fn node_index(id: NodeId) -> AppResult<i64> {
    i64::try_from(id.index).or_internal("audit node index out of range")
}

impl App {
    /// Records a member's successful action inside `tx`.
    pub(crate) async fn audit_by(
        &self,
        tx: &mut Tx,
        m: &Member,
        action: AuditAction,
        target: Target,
        facts: serde_json::Value,
    ) -> AppResult<u64> {
        self.audit(
            tx,
            AuditEvent {
                workspace: Some(m.workspace),
                actor: Who::Person(m.actor.user),
                action,
                target,
                outcome: Outcome::Success,
                client: &m.client,
                facts,
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aud_01_every_action_is_documented_and_names_round_trip() {
        let doc = include_str!("../../../../docs/security/audit.md");
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(*a));
            assert!(
                doc.contains(&format!("`{}`", a.as_str())),
                "{} is missing from docs/security/audit.md",
                a.as_str()
            );
        }
        assert_eq!(AuditAction::parse("nonsense"), None);
    }

    #[test]
    fn pseudonym_rows_are_the_pseudonyms_bytes() {
        let p = format!("p-{}", "ab".repeat(16));
        assert_eq!(pseudonym_row(&p).map(|u| u.as_bytes()[0]), Some(0xab));
        assert_eq!(pseudonym_row("operator"), None);
        assert_eq!(pseudonym_row("p-zz"), None);
    }
}
