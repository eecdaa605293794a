//! Erasure (DSR-03): where personal data lives, and the statements that remove it.
//!
//! [`PERSONAL_DATA`] is the one list of every table, every column in it that refers to a person
//! or holds what they wrote, and the [`ErasureHandler`] responsible for it. A test enumerates the
//! live schema of both databases and fails when a table or column is not in the list, so a new
//! column cannot hold personal data without someone deciding how it is erased. The application
//! runs the handlers (it re-seals, decides modes and removes files); storage only finds, moves
//! and deletes rows.

use ideaweave_domain::*;
use uuid::Uuid;

use crate::workspace::WorkspaceRepo;
use crate::{StoreResult, Tx};

/// The step of an erasure that deals with one place holding personal data. The application
/// matches on every variant, so adding one without implementing it does not compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErasureHandler {
    /// The account row: deleted when the account is; its name and address are sealed with the
    /// account key, which is crypto-shredded.
    Account,
    /// Sessions: all of the person's end.
    Sessions,
    /// Password reset links: deleted.
    PasswordResets,
    /// Second factors (authenticator secret and passkeys, sealed with the account key;
    /// recovery-code hashes) and half-done sign-ins and WebAuthn ceremonies: deleted.
    SecondFactors,
    /// Which account a workspace's identity provider's subject is: deleted with the person's
    /// membership, so a later single sign-on cannot bring the erased account back.
    SsoIdentities,
    /// Failed-sign-in counters: keyed hashes of an address, forgotten a day after the last
    /// failure; the account's own counter, and where it signed in from, are deleted with the
    /// account.
    SignInThrottle,
    /// Pending changes of address (the new address, sealed with the account key): deleted.
    EmailChanges,
    /// The account key: crypto-shredded (shred ledger first).
    AccountKey,
    /// Memberships: deleted.
    Memberships,
    /// API tokens (and their names, sealed with the person's key): deleted.
    ApiTokens,
    /// Listings in private spaces: deleted.
    SpaceMemberships,
    /// Notification preferences: deleted.
    NotificationPreferences,
    /// Notifications waiting for the person's digest: deleted. Items waiting for others that
    /// tell of the person's acts are sealed with the person's key, and shredded with it.
    PendingNotifications,
    /// In-app notifications: those to the person and those telling of what they did
    /// (`actor_id`), and the ideas and discussions they follow: deleted.
    Inbox,
    /// Invitations the person accepted or that are addressed to them: deleted; invitations
    /// they sent: attributed to the former member.
    Invitations,
    /// Spaces the person created: attributed to the former member (a space is the workspace's,
    /// sealed with its key).
    Spaces,
    /// Discussions the person opened: attributed to the former member (sealed with the
    /// workspace's key).
    Discussions,
    /// Ideas: anonymised (re-sealed with the workspace's key, attributed to the former member)
    /// or purged with their threads; deletions the person made are attributed to the former
    /// member.
    Ideas,
    /// Comments: anonymised or purged (replies move up). Their earlier versions go in both
    /// modes: an anonymised comment keeps only its last text.
    Comments,
    /// Votes: attributed to the former member, or withdrawn.
    Votes,
    /// Ratings: attributed to the former member, or withdrawn.
    Ratings,
    /// Files the person uploaded: deleted in both modes, with their bytes.
    Attachments,
    /// Links: anonymised or purged.
    Links,
    /// Merges the person made or undid: attributed to the former member.
    Merges,
    /// Support invitations the person gave or ended: attributed to the former member.
    SupportGrants,
    /// Queued email to the person: deleted (found by opening each queued message).
    Outbox,
    /// Requests on the request desk about the person: what they say of the person is replaced
    /// by `[erased]` and the link to them dropped, so that the record of a request received and
    /// answered in time remains; requests they recorded or answered are attributed to the
    /// former member.
    PrivacyRequests,
    /// Who asked for the workspace's deletion: attributed to the former member.
    WorkspaceDeletion,
    /// The owners' addresses a deletion certificate waits to be mailed to: sealed with an
    /// instance key and cleared when it is mailed, within the hour of the deletion; nothing to
    /// erase beyond that.
    CertificateRecipients,
    /// The workspace's stored export archives: deleted with their files, since they hold the
    /// person's data as it was (exports taken afterwards do not).
    Exports,
    /// The person's data key in the workspace: crypto-shredded (shred ledger first), which
    /// makes everything still sealed with it unreadable everywhere, backups included.
    DataKey,
    /// Audit entries and pseudonyms: kept (the log is append-only) but pseudonymous; the
    /// pseudonym is derived from, and its mapping sealed with, keys that are shredded.
    AuditPseudonyms,
    /// The search index: the person's member entry is queued for removal (and, under purge,
    /// their contributions' entries, through the triggers of the rows the other steps delete);
    /// the indexer removes them and rewrites the index's segments without them (COL-05).
    SearchIndex,
}

/// One table of the schema as erasure sees it.
#[derive(Debug)]
pub struct TableErasure {
    /// The table.
    pub table: &'static str,
    /// Columns that refer to a person or hold what they wrote.
    pub personal: &'static [&'static str],
    /// Every other column.
    pub other: &'static [&'static str],
    /// What erases the personal columns; `None` when there are none.
    pub handler: Option<ErasureHandler>,
}

const fn table(
    table: &'static str,
    handler: Option<ErasureHandler>,
    personal: &'static [&'static str],
    other: &'static [&'static str],
) -> TableErasure {
    TableErasure {
        table,
        personal,
        other,
        handler,
    }
}

use ErasureHandler as H;

/// Every table and column, and who erases what in them. See the module documentation.
pub const PERSONAL_DATA: &[TableErasure] = &[
    table(
        "users",
        Some(H::Account),
        &[
            "id",
            "email_index",
            "email",
            "name",
            "password_hash",
            "restricted_at",
            "time_zone",
        ],
        &["is_operator", "created_at", "former_member_of"],
    ),
    table(
        "sessions",
        Some(H::Sessions),
        &["user_id", "client", "sso_logout"],
        &[
            "token_hash",
            "id",
            "csrf_token",
            "created_at",
            "expires_at",
            "last_seen_at",
            "auth_level",
            "reauth_at",
        ],
    ),
    table(
        "sign_in_challenges",
        Some(H::SecondFactors),
        &["user_id"],
        &["token_hash", "created_at", "expires_at", "attempts"],
    ),
    table(
        "totp_credentials",
        Some(H::SecondFactors),
        &["user_id", "secret"],
        &["created_at", "confirmed_at", "last_step"],
    ),
    table(
        "recovery_codes",
        Some(H::SecondFactors),
        &["user_id", "code_hash"],
        &["created_at", "used_at"],
    ),
    table(
        "passkeys",
        Some(H::SecondFactors),
        &["user_id", "credential_hash", "credential", "name"],
        &["id", "created_at", "last_used_at"],
    ),
    table(
        "webauthn_ceremonies",
        Some(H::SecondFactors),
        &["user_id", "state"],
        &["id", "kind", "sign_in_challenge", "expires_at"],
    ),
    table(
        "workspace_oidc",
        None,
        &[],
        &[
            "workspace_id",
            "issuer",
            "client_id",
            "client_secret",
            "allowed_domains",
            "group_claim",
            "allowed_groups",
            "default_role",
            "updated_at",
        ],
    ),
    table(
        "sso_logins",
        Some(H::SsoIdentities),
        &["link_user"],
        &[
            "workspace_id",
            "state_hash",
            "secrets",
            "next",
            "expires_at",
            "browser_hash",
            "protocol",
        ],
    ),
    table(
        "support_grants",
        Some(H::SupportGrants),
        &["created_by", "revoked_by"],
        &[
            "workspace_id",
            "id",
            "scope",
            "reason",
            "created_at",
            "expires_at",
            "revoked_at",
        ],
    ),
    table(
        "workspace_saml",
        None,
        &[],
        &[
            "workspace_id",
            "idp_entity_id",
            "idp_metadata",
            "sp_key",
            "sp_certificate",
            "allowed_domains",
            "group_attribute",
            "trust_email_attribute",
            "allowed_groups",
            "default_role",
            "updated_at",
        ],
    ),
    table(
        "saml_assertions_seen",
        None,
        &[],
        &["workspace_id", "assertion_hash", "expires_at"],
    ),
    table(
        "sso_identities",
        Some(H::SsoIdentities),
        &["subject_hash", "user_id"],
        &["workspace_id", "created_at", "protocol"],
    ),
    table(
        "sign_in_regulars",
        Some(H::SignInThrottle),
        &["account_bucket"],
        &["client_bucket", "last_seen"],
    ),
    table(
        "sign_in_throttle",
        Some(H::SignInThrottle),
        &["bucket"],
        &[
            "failures",
            "first_failure_at",
            "last_failure_at",
            "blocked_until",
            "warned_at",
        ],
    ),
    table(
        "workspace_security",
        None,
        &[],
        &[
            "workspace_id",
            "member_minimum",
            "admin_minimum",
            "updated_at",
        ],
    ),
    table(
        "password_resets",
        Some(H::PasswordResets),
        &["user_id"],
        &["id", "token_hash", "created_at", "expires_at", "used_at"],
    ),
    table(
        "email_changes",
        Some(H::EmailChanges),
        &["user_id", "new_email"],
        &["id", "token_hash", "created_at", "expires_at"],
    ),
    table(
        "account_keys",
        Some(H::AccountKey),
        &["user_id", "wrapped"],
        &["id", "master_version", "created_at"],
    ),
    table(
        "memberships",
        Some(H::Memberships),
        &["user_id", "activity_seen_at"],
        &["workspace_id", "role", "joined_at", "last_active_on"],
    ),
    table(
        "api_tokens",
        Some(H::ApiTokens),
        &["user_id", "name"],
        &[
            "workspace_id",
            "id",
            "scope",
            "token_hash",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_on",
        ],
    ),
    table(
        "space_members",
        Some(H::SpaceMemberships),
        &["user_id"],
        &["workspace_id", "space_id"],
    ),
    table(
        "notification_preferences",
        Some(H::NotificationPreferences),
        &["user_id"],
        &["workspace_id", "preference", "updated_at"],
    ),
    table(
        "pending_notifications",
        Some(H::PendingNotifications),
        &["user_id", "item"],
        &["workspace_id", "id", "idea_id", "created_at"],
    ),
    table(
        "inbox_items",
        Some(H::Inbox),
        &["user_id", "actor_id", "item"],
        &[
            "workspace_id",
            "id",
            "idea_id",
            "comment_id",
            "created_at",
            "read_at",
        ],
    ),
    table(
        "idea_follows",
        Some(H::Inbox),
        &["user_id"],
        &["workspace_id", "idea_id", "created_at"],
    ),
    table(
        "discussion_follows",
        Some(H::Inbox),
        &["user_id"],
        &["workspace_id", "discussion_id", "created_at"],
    ),
    table(
        "invitations",
        Some(H::Invitations),
        &["email", "invited_by", "accepted_by"],
        &[
            "workspace_id",
            "id",
            "role",
            "token_hash",
            "created_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
        ],
    ),
    table(
        "spaces",
        Some(H::Spaces),
        &["created_by"],
        &[
            "workspace_id",
            "id",
            "name",
            "description",
            "private",
            "created_at",
        ],
    ),
    table(
        "discussions",
        Some(H::Discussions),
        &["created_by"],
        &[
            "workspace_id",
            "id",
            "space_id",
            "kind",
            "title",
            "description",
            "open",
            "deadline",
            "idea_count",
            "created_at",
            "updated_at",
        ],
    ),
    table(
        "ideas",
        Some(H::Ideas),
        &["author_id", "summary", "body", "deleted_by"],
        &[
            "workspace_id",
            "id",
            "discussion_id",
            "stage_id",
            "upvotes",
            "downvotes",
            "score",
            "hot",
            "comment_count",
            "merged_into",
            "created_at",
            "updated_at",
            "deleted_at",
        ],
    ),
    table(
        "idea_tags",
        Some(H::Ideas),
        &["tag_index"],
        &["workspace_id", "idea_id"],
    ),
    table(
        "comments",
        Some(H::Comments),
        &["author_id", "body", "deleted_by"],
        &[
            "workspace_id",
            "id",
            "idea_id",
            "parent_id",
            "moved_from",
            "created_at",
            "updated_at",
            "deleted_at",
        ],
    ),
    table(
        "comment_revisions",
        Some(H::Comments),
        &["body"],
        &[
            "workspace_id",
            "comment_id",
            "id",
            "written_at",
            "replaced_at",
        ],
    ),
    table(
        "votes",
        Some(H::Votes),
        &["user_id"],
        &[
            "workspace_id",
            "idea_id",
            "value",
            "moved_from",
            "updated_at",
        ],
    ),
    table(
        "ratings",
        Some(H::Ratings),
        &["user_id"],
        &[
            "workspace_id",
            "idea_id",
            "criterion_id",
            "value",
            "updated_at",
        ],
    ),
    table(
        "attachments",
        Some(H::Attachments),
        &["uploader_id", "filename", "sha256"],
        &[
            "workspace_id",
            "id",
            "idea_id",
            "comment_id",
            "content_type",
            "size_bytes",
            "created_at",
            "preview_width",
            "preview_height",
        ],
    ),
    table(
        "links",
        Some(H::Links),
        &["created_by", "url", "title"],
        &["workspace_id", "id", "idea_id", "comment_id", "created_at"],
    ),
    table(
        "idea_merges",
        Some(H::Merges),
        &["merged_by", "unmerged_by"],
        &[
            "workspace_id",
            "id",
            "source_id",
            "target_id",
            "merged_at",
            "unmerged_at",
        ],
    ),
    table(
        "outbox",
        Some(H::Outbox),
        &["message"],
        &[
            "id",
            "workspace_id",
            "created_at",
            "attempts",
            "next_attempt_at",
            "last_error",
            "failed_at",
        ],
    ),
    table(
        "data_keys",
        Some(H::DataKey),
        &["subject_id", "wrapped"],
        &[
            "workspace_id",
            "id",
            "kek_version",
            "created_at",
            "activity_day",
        ],
    ),
    table(
        "audit_actors",
        Some(H::AuditPseudonyms),
        &["pseudonym", "sealed_user"],
        &["scope"],
    ),
    table(
        "audit_entries",
        Some(H::AuditPseudonyms),
        &["actor", "target", "details"],
        &[
            "seq",
            "at",
            "workspace_id",
            "action",
            "outcome",
            "leaf_hash",
            "root_after",
            "mac",
        ],
    ),
    table(
        "workspace_exports",
        Some(H::Exports),
        &["requested_by"],
        &[
            "workspace_id",
            "id",
            "state",
            "created_at",
            "lease_until",
            "finished_at",
            "done",
            "total",
            "bytes",
            "error",
        ],
    ),
    table(
        "privacy_requests",
        Some(H::PrivacyRequests),
        &[
            "requester",
            "subject_id",
            "details",
            "resolution",
            "resolved_by",
            "recorded_by",
        ],
        &[
            "workspace_id",
            "id",
            "kind",
            "channel",
            "received_at",
            "due_at",
            "state",
            "resolved_at",
            "reminders",
            "created_at",
        ],
    ),
    // An Art. 19 recipient is an organisation the workspace shared data with, not a member.
    table(
        "privacy_notices",
        None,
        &[],
        &["workspace_id", "request_id", "id", "recipient", "sent_at"],
    ),
    table("audit_nodes", None, &[], &["level", "idx", "hash"]),
    table("audit_head", None, &[], &["id", "size", "frontier"]),
    table("audit_seal", None, &[], &["id", "mac_from", "mac"]),
    table(
        "audit_checkpoints",
        None,
        &[],
        &["size", "root", "note", "signed_at"],
    ),
    table(
        "workspaces",
        Some(H::WorkspaceDeletion),
        &["deletion_requested_by"],
        &[
            "id",
            "slug",
            "name",
            "created_at",
            "erasure_mode",
            "deletion_requested_at",
            "deletion_due_at",
            "deletion_reminders",
            "search_language",
        ],
    ),
    // A queued member entry names the person until the indexer removes their entry from the
    // search index, within seconds; the index's files are rewritten without it.
    table(
        "search_queue",
        Some(H::SearchIndex),
        &["item_id"],
        &["workspace_id", "kind", "queued_at", "changes"],
    ),
    // Whether a file's text could be read, and why not: nothing of the file or its uploader.
    table(
        "search_file_texts",
        None,
        &[],
        &[
            "workspace_id",
            "attachment_id",
            "outcome",
            "reason",
            "text_bytes",
            "checked_at",
        ],
    ),
    table(
        "search_indexes",
        None,
        &[],
        &[
            "workspace_id",
            "generation",
            "manifest",
            "documents",
            "sealed_bytes",
            "committed_at",
            "rebuild",
            "rebuild_asks",
            "forgotten",
            "garbage",
            "writer",
            "lease_until",
            "last_error",
            "failures",
            "retry_at",
        ],
    ),
    table(
        "deletion_certificates",
        Some(H::CertificateRecipients),
        &["notify"],
        &["workspace_id", "slug", "facts", "issued_at", "certificate"],
    ),
    table(
        "backup_runs",
        None,
        &[],
        &[
            "id",
            "started_at",
            "lease_until",
            "holder",
            "finished_at",
            "state",
            "object",
            "bytes",
            "sha256",
            "content_digest",
            "detail",
        ],
    ),
    table("backup_alerts", None, &[], &["kind", "sent_at"]),
    table("shred_count", None, &[], &["id", "entries"]),
    table(
        "node_leases",
        None,
        &[],
        &["holder", "started_at", "lease_until"],
    ),
    table(
        "workspace_keys",
        None,
        &[],
        &[
            "workspace_id",
            "version",
            "master_version",
            "wrapped",
            "created_at",
        ],
    ),
    table(
        "instance_keys",
        None,
        &[],
        &["name", "id", "master_version", "wrapped", "created_at"],
    ),
    table(
        "stages",
        None,
        &[],
        &["workspace_id", "id", "name", "position"],
    ),
    table(
        "rating_criteria",
        None,
        &[],
        &["workspace_id", "id", "name", "position"],
    ),
    table(
        "discussion_criteria",
        None,
        &[],
        &["workspace_id", "discussion_id", "criterion_id"],
    ),
    table(
        "retention_policies",
        None,
        &[],
        &[
            "workspace_id",
            "activity_days",
            "deleted_days",
            "invitation_days",
            "updated_at",
        ],
    ),
];

/// Columns of workspace tables that name a person and keep no other personal data, which an
/// erasure points at the former member instead (both modes; a purge has already removed the
/// rows it removes). Fixed names, never input.
const REATTRIBUTED: &[(&str, &str)] = &[
    ("ideas", "author_id"),
    ("ideas", "deleted_by"),
    ("comments", "author_id"),
    ("comments", "deleted_by"),
    ("votes", "user_id"),
    ("ratings", "user_id"),
    ("links", "created_by"),
    ("spaces", "created_by"),
    ("discussions", "created_by"),
    ("idea_merges", "merged_by"),
    ("idea_merges", "unmerged_by"),
    ("invitations", "invited_by"),
    ("privacy_requests", "recorded_by"),
    ("privacy_requests", "resolved_by"),
    ("support_grants", "created_by"),
    ("support_grants", "revoked_by"),
];

/// Rows of workspace tables that belong to a person and go with them. Fixed names.
const DELETED_WITH_PERSON: &[(&str, &str)] = &[
    ("pending_notifications", "user_id"),
    ("inbox_items", "user_id"),
    ("inbox_items", "actor_id"),
    ("idea_follows", "user_id"),
    ("discussion_follows", "user_id"),
    ("notification_preferences", "user_id"),
    ("space_members", "user_id"),
    ("api_tokens", "user_id"),
    ("invitations", "accepted_by"),
    ("sso_identities", "user_id"),
    ("sso_logins", "link_user"),
    ("memberships", "user_id"),
];

/// A queued message of a workspace, to be opened to see whom it is for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueuedMail {
    pub id: Uuid,
    pub message: Vec<u8>,
}

/// An invitation nobody accepted, to be opened to see whom it is for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UnacceptedInvitation {
    #[sqlx(try_from = "Uuid")]
    pub id: InvitationId,
    pub email: Vec<u8>,
}

impl WorkspaceRepo<'_> {
    /// Points the column `column` of `table` from `from` to `to`; one of [`REATTRIBUTED`].
    pub async fn reattribute(
        &mut self,
        table: &str,
        column: &str,
        from: UserId,
        to: UserId,
    ) -> StoreResult<u64> {
        let (table, column) = REATTRIBUTED
            .iter()
            .find(|(t, c)| *t == table && *c == column)
            .copied()
            .ok_or_else(|| {
                crate::StoreError::Misuse(format!("{table}.{column} is not reattributable"))
            })?;
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET {column} = $3 WHERE workspace_id = $1 AND {column} = $2"
        ));
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(sql)
                .bind(ws)
                .bind(from.0)
                .bind(to.0)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// In a restored copy, takes `person` out of the workspace the way an erasure did after the
    /// copy was made: what they did points at `former` (a former member, created here), what
    /// was theirs (membership, tokens, notifications, files) goes, and so do the stored
    /// exports, which may hold their data. Their sealed content stays sealed with their
    /// destroyed key. Returns how many rows changed.
    pub async fn detach_person(
        &mut self,
        person: UserId,
        former: UserId,
        email_index: &[u8],
        now: i64,
    ) -> StoreResult<u64> {
        let ws = self.ws;
        self.tx
            .insert_former_member(former, ideaweave_domain::WorkspaceId(ws), email_index, now)
            .await?;
        let mut n = 0;
        for (table, column) in REATTRIBUTED {
            n += self.reattribute(table, column, person, former).await?;
        }
        self.reattribute_deletion_request(person, former).await?;
        on_conn!(self.tx, |c| {
            n += sqlx::query(sql::DETACH_PERSON)
                .bind(ws)
                .bind(person.0)
                .execute(&mut *c)
                .await?
                .rows_affected();
            n += sqlx::query(sql::DETACH_PERSON_2)
                .bind(ws)
                .execute(&mut *c)
                .await?
                .rows_affected();
        });
        for (table, column) in DELETED_WITH_PERSON {
            n += self.delete_rows_of(table, column, person).await?;
        }
        Ok(n)
    }

    /// Deletes the rows of `table` whose `column` is `person`; one of [`DELETED_WITH_PERSON`].
    pub async fn delete_rows_of(
        &mut self,
        table: &str,
        column: &str,
        person: UserId,
    ) -> StoreResult<u64> {
        let (table, column) = DELETED_WITH_PERSON
            .iter()
            .find(|(t, c)| *t == table && *c == column)
            .copied()
            .ok_or_else(|| {
                crate::StoreError::Misuse(format!("{table}.{column} is not deleted with a person"))
            })?;
        let ws = self.ws;
        let sql = sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE workspace_id = $1 AND {column} = $2"
        ));
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(sql)
                .bind(ws)
                .bind(person.0)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// Stores an idea's summary and body sealed anew (with another key).
    pub async fn reseal_idea(
        &mut self,
        id: IdeaId,
        summary: &[u8],
        body: &[u8],
    ) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::RESEAL_IDEA)
                .bind(ws)
                .bind(id.0)
                .bind(summary)
                .bind(body)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Stores a comment's body sealed anew.
    pub async fn reseal_comment(&mut self, id: CommentId, body: &[u8]) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::RESEAL_COMMENT)
                .bind(ws)
                .bind(id.0)
                .bind(body)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Stores a link's address and title sealed anew.
    pub async fn reseal_link(&mut self, id: LinkId, url: &[u8], title: &[u8]) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::RESEAL_LINK)
                .bind(ws)
                .bind(id.0)
                .bind(url)
                .bind(title)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Withdraws every vote of `person`; returns the ideas whose counts must be redone.
    pub async fn delete_votes_of(&mut self, person: UserId) -> StoreResult<Vec<IdeaId>> {
        let ws = self.ws;
        let ideas: Vec<Uuid> = on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::DELETE_VOTES_OF)
                .bind(ws)
                .bind(person.0)
                .fetch_all(c)
                .await?
        });
        Ok(ideas.into_iter().map(IdeaId).collect())
    }

    /// Withdraws every rating of `person`.
    pub async fn delete_ratings_of(&mut self, person: UserId) -> StoreResult<u64> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_RATINGS_OF)
                .bind(ws)
                .bind(person.0)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// Deletes one link row.
    pub async fn delete_links_of(&mut self, person: UserId) -> StoreResult<u64> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_LINKS_OF)
                .bind(ws)
                .bind(person.0)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// Invitations not accepted (pending, expired or revoked), to find those addressed to a
    /// person.
    pub async fn unaccepted_invitations(&mut self) -> StoreResult<Vec<UnacceptedInvitation>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::UNACCEPTED_INVITATIONS)
                .bind(ws)
                .fetch_all(c)
                .await?
        }))
    }

    /// Deletes one invitation.
    pub async fn delete_invitation(&mut self, id: InvitationId) -> StoreResult<bool> {
        let ws = self.ws;
        let n = on_conn!(self.tx, |c| {
            sqlx::query(sql::DELETE_INVITATION)
                .bind(ws)
                .bind(id.0)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// The workspace's queued messages.
    pub async fn queued_mail(&mut self) -> StoreResult<Vec<QueuedMail>> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_as(sql::QUEUED_MAIL)
                .bind(ws)
                .fetch_all(c)
                .await?
        }))
    }

    /// The workspace's erasure mode for account deletions.
    pub async fn erasure_mode(&mut self) -> StoreResult<String> {
        let ws = self.ws;
        Ok(on_conn!(self.tx, |c| {
            sqlx::query_scalar(sql::ERASURE_MODE)
                .bind(ws)
                .fetch_one(c)
                .await?
        }))
    }

    /// Sets the workspace's erasure mode for account deletions.
    pub async fn set_erasure_mode(&mut self, mode: ErasureMode) -> StoreResult<()> {
        let ws = self.ws;
        on_conn!(self.tx, |c| {
            sqlx::query(sql::SET_ERASURE_MODE)
                .bind(ws)
                .bind(mode.as_str())
                .execute(c)
                .await?;
        });
        Ok(())
    }
}

impl Tx {
    /// The workspaces of a restored copy in which `person` did or holds anything.
    pub async fn workspaces_of(&mut self, person: UserId) -> StoreResult<Vec<Uuid>> {
        let mut out: Vec<Uuid> = Vec::new();
        for (table, column) in REATTRIBUTED
            .iter()
            .chain(DELETED_WITH_PERSON)
            .chain(&[("attachments", "uploader_id")])
        {
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT DISTINCT workspace_id FROM {table} WHERE {column} = $1"
            ));
            let ws: Vec<Uuid> = on_conn!(self, |c| sqlx::query_scalar(sql)
                .bind(person.0)
                .fetch_all(c)
                .await?);
            for w in ws {
                if !out.contains(&w) {
                    out.push(w);
                }
            }
        }
        Ok(out)
    }

    /// Creates a former member of `workspace`: a row contributions can point at that leads to
    /// nobody (no name, no address, no password, no key; `email_index` must be random).
    pub async fn insert_former_member(
        &mut self,
        id: UserId,
        workspace: WorkspaceId,
        email_index: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(
                "INSERT INTO users (id, email_index, email, name, password_hash, is_operator, created_at, former_member_of) \
                 VALUES ($1, $2, $3, $3, NULL, FALSE, $4, $5)",
            ).bind(id.0).bind(email_index).bind(Vec::<u8>::new()).bind(now).bind(workspace.0).execute(c).await?;
        });
        Ok(())
    }

    /// Deletes an account row (after everything pointing at it went).
    pub async fn delete_user(&mut self, user: UserId) -> StoreResult<bool> {
        let n = on_conn!(self, |c| {
            sqlx::query(sql::DELETE_USER)
                .bind(user.0)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Queued account mail (no workspace), to be opened to see whom it is for.
    pub async fn queued_account_mail(&mut self) -> StoreResult<Vec<QueuedMail>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::QUEUED_ACCOUNT_MAIL)
                .fetch_all(c)
                .await?
        }))
    }

    /// Every table and column of the live schema (migration bookkeeping aside), sorted: what
    /// [`PERSONAL_DATA`] must account for.
    pub async fn schema_columns(&mut self) -> StoreResult<Vec<(String, String)>> {
        let mut cols: Vec<(String, String)> = match &mut self.handle {
            crate::Handle::Sqlite(h) => {
                sqlx::query_as(
                    "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
                )
                .fetch_all(h.conn())
                .await?
            }
            crate::Handle::Postgres(h) => {
                sqlx::query_as(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
                )
                .fetch_all(h.conn())
                .await?
            }
        };
        cols.sort();
        Ok(cols)
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const DETACH_PERSON: &str =
        "DELETE FROM attachments WHERE workspace_id = $1 AND uploader_id = $2";
    pub(crate) const DETACH_PERSON_2: &str =
        "DELETE FROM workspace_exports WHERE workspace_id = $1";
    pub(crate) const RESEAL_IDEA: &str =
        "UPDATE ideas SET summary = $3, body = $4 WHERE workspace_id = $1 AND id = $2";
    pub(crate) const RESEAL_COMMENT: &str =
        "UPDATE comments SET body = $3 WHERE workspace_id = $1 AND id = $2";
    pub(crate) const RESEAL_LINK: &str =
        "UPDATE links SET url = $3, title = $4 WHERE workspace_id = $1 AND id = $2";
    pub(crate) const DELETE_VOTES_OF: &str =
        "DELETE FROM votes WHERE workspace_id = $1 AND user_id = $2 RETURNING idea_id";
    pub(crate) const DELETE_RATINGS_OF: &str =
        "DELETE FROM ratings WHERE workspace_id = $1 AND user_id = $2";
    pub(crate) const DELETE_LINKS_OF: &str =
        "DELETE FROM links WHERE workspace_id = $1 AND created_by = $2";
    pub(crate) const UNACCEPTED_INVITATIONS: &str = "SELECT id, email FROM invitations WHERE workspace_id = $1 AND accepted_at IS NULL ORDER BY id";
    pub(crate) const DELETE_INVITATION: &str =
        "DELETE FROM invitations WHERE workspace_id = $1 AND id = $2";
    pub(crate) const QUEUED_MAIL: &str =
        "SELECT id, message FROM outbox WHERE workspace_id = $1 ORDER BY created_at, id";
    pub(crate) const ERASURE_MODE: &str = "SELECT erasure_mode FROM workspaces WHERE id = $1";
    pub(crate) const SET_ERASURE_MODE: &str =
        "UPDATE workspaces SET erasure_mode = $2 WHERE id = $1";
    pub(crate) const DELETE_USER: &str =
        "DELETE FROM users WHERE id = $1 AND former_member_of IS NULL";
    pub(crate) const QUEUED_ACCOUNT_MAIL: &str =
        "SELECT id, message FROM outbox WHERE workspace_id IS NULL ORDER BY created_at, id";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("DETACH_PERSON", DETACH_PERSON),
        ("DETACH_PERSON_2", DETACH_PERSON_2),
        ("RESEAL_IDEA", RESEAL_IDEA),
        ("RESEAL_COMMENT", RESEAL_COMMENT),
        ("RESEAL_LINK", RESEAL_LINK),
        ("DELETE_VOTES_OF", DELETE_VOTES_OF),
        ("DELETE_RATINGS_OF", DELETE_RATINGS_OF),
        ("DELETE_LINKS_OF", DELETE_LINKS_OF),
        ("UNACCEPTED_INVITATIONS", UNACCEPTED_INVITATIONS),
        ("DELETE_INVITATION", DELETE_INVITATION),
        ("QUEUED_MAIL", QUEUED_MAIL),
        ("ERASURE_MODE", ERASURE_MODE),
        ("SET_ERASURE_MODE", SET_ERASURE_MODE),
        ("DELETE_USER", DELETE_USER),
        ("QUEUED_ACCOUNT_MAIL", QUEUED_ACCOUNT_MAIL),
    ];
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn dsr_03_the_registry_names_each_column_once_and_every_handler() {
        let mut seen = HashSet::new();
        for t in PERSONAL_DATA {
            for c in t.personal.iter().chain(t.other) {
                assert!(
                    seen.insert((t.table, *c)),
                    "{}.{c} is listed twice",
                    t.table
                );
            }
            assert_eq!(
                t.personal.is_empty(),
                t.handler.is_none(),
                "{}: a table with personal columns needs a handler, and only such a table has one",
                t.table
            );
        }
        for (t, c) in REATTRIBUTED.iter().chain(DELETED_WITH_PERSON) {
            let entry = PERSONAL_DATA.iter().find(|e| e.table == *t);
            assert!(
                entry.is_some_and(|e| e.personal.contains(c)),
                "{t}.{c} is acted on but not listed as personal"
            );
        }
    }
}
