//! Ideaweave's use cases.
//!
//! Every operation a person or the operator can perform is a method of [`App`]. Each one
//! authenticates its caller (or receives an already authenticated [`Member`]), asks the domain
//! policy whether the action is allowed, and runs its reads and writes in one store transaction.
//! The web layer and the CLI only translate between their world and these methods.

mod content;
pub mod demo;
mod error;
mod identity;
mod platform;
mod privacy;
mod transfer;
mod trust;
mod workspace;

use std::sync::Arc;
use std::time::Duration;

use ideaweave_domain::policy::{Action, Actor, authorize};
use ideaweave_domain::{Role, WorkspaceId};
use ideaweave_store::{FileStore, Store};

pub use content::activity::{ActivityComment, ActivityView};
pub use content::files::Download;
pub use content::image_previews::attachment_objects;
pub use content::inbox::{FollowState, Inbox, InboxQuery, NotificationView};
pub use content::mentions::MentionSuggestion;
pub use content::notifications::{
    DIGEST_AFTER, DigestRound, EXCERPT_CHARS, NotificationPreference, NotificationSettings,
};
pub use content::profiles::{ProfileComment, ProfileView};
pub use content::search::api::{
    SearchHitView, SearchLanguage, SearchOrder, SearchPage, SearchQuery, SearchSettings, TextPiece,
    pieces,
};
pub use content::search::file_texts::{FileTextOutcome, READER_UNAVAILABLE};
pub use content::search::indexer::{IndexingRound, SEARCH_BATCH, SearchStatus};
pub use content::search::similar::{MAX_SIMILAR, SimilarIdea, SimilarIdeas, SimilarQuery};
pub use content::search::{
    DEFAULT_SEARCH_LIMIT, Highlighted, MAX_SEARCH_LIMIT, SearchHit, SearchInput, SearchKind,
    SearchResults, SearchSort, parse_query,
};
pub use content::views::*;
pub use error::{AppError, AppResult, Cause, Internal, OrInternal, WaitUnit, rounded_wait};
pub use ideaweave_audit::{ProofFile, Verified, VerifierKey};
pub use identity::auth::{Credential, Entered, LoginOutcome, Principal, SessionFacts, SignInStep};
pub use identity::email_change::{EmailChangeInfo, EmailChangeInput};
pub use identity::mfa::{
    CHALLENGE_ATTEMPTS, RECOVERY_CODES, ReauthMethods, RecoveryCodes, RotatedSession,
    SecondFactorChallenge, SecondFactorInput, SecondFactorsView, TotpEnrolment,
};
pub use identity::passkeys::{
    PasskeyAssertionInput, PasskeyOptions, PasskeyRegistrationInput, PasskeyView,
};
pub use identity::password_reset::{NewPasswordInput, PasswordResetInfo, PasswordResetRequest};
pub use identity::saml::{SamlProbe, SamlSettingsInput, SamlSettingsView, SingleLogout};
pub use identity::sessions::{
    ActiveSession, CredentialPolicyView, PasswordChangeInput, PasswordChanged, describe_device,
};
pub use identity::sso::{
    DISCOVERY_TTL_MS, OidcProbe, OidcSettingsInput, OidcSettingsView, SsoStart,
};
pub use identity::throttle::{
    ACCOUNT_FREE_FAILURES, CLIENT_FREE_FAILURES, FIRST_BLOCK_MS, FORGET_AFTER_MS, LONGEST_BLOCK_MS,
    block_for_ms,
};
pub use identity::time_zone::{TimeZoneInput, TimeZoneView};
pub use identity::views::*;
pub use platform::clock::{Clock, SystemClock};
pub use platform::geoip::GeoIpDatabase;
pub use platform::keyring::{KeyStatus, Keyring};
pub use platform::mail::{MAX_ATTEMPTS, MailRound, Mailer, OutgoingMail, backoff_ms};
pub use platform::paging::*;
pub use platform::sealed::ERASED;
pub use privacy::erasure::{
    AccountDeletionInput, DeletionStatement, DeletionStatementEntry, ErasureInput, ErasurePolicy,
    ErasureReport,
};
pub use privacy::erasure_replay::{ErasuresReapplied, reapply_erasures};
pub use privacy::personal_data::{PERSONAL_DATA_FORMAT, PersonalData};
pub use privacy::requests::{
    ForwardedRequest, NoticeView, RequestInput, RequestView, ResolveInput, WorkspacePersonalData,
};
pub use privacy::restriction::{RestrictionInput, RestrictionView};
pub use privacy::retention::RetentionRound;
pub use privacy::termination::{
    CERTIFICATE_FORMAT, Certificate, CertificateFacts, TerminationInput, TerminationRound,
    TerminationView, VerifiedCertificate, verify_certificate,
};
pub use transfer::backup_support::BackupHealth;
pub use transfer::export::{ExportJobView, ExportSummary, ImportSummary, TransferProgress};
pub use trust::audit::{
    AuditAction, AuditEvent, AuditEventView, AuditExport, AuditPage, AuditPersonView, AuditProblem,
    AuditQuery, AuditReport, ClientInfo, DENIALS_RECORDED_PER_MINUTE, EXPORT_PAGE, ExportPage,
    Outcome, Target, Who,
};
pub use trust::audit_seal::{AUDIT_ANCHOR_FILE, AuditAnchor};
pub use trust::rotation::{MasterRotation, WorkspaceRotation};
pub use trust::support::{
    SupportAccess, SupportGrantInput, SupportGrantView, SupportInvitationView,
};
pub use workspace::admin::CreatedWorkspace;
pub use workspace::views::*;

/// Tunables of the use cases. They have no defaults here: the server makes them from its
/// validated configuration (`Config::app_settings`), where each option and its default is
/// declared once.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// How long a sign-in lasts at most (the absolute timeout).
    pub session_ttl: Duration,
    /// How long a session lasts unused (the idle timeout).
    pub session_idle: Duration,
    /// How long after proving who they are a person may do sensitive things (export, erasure,
    /// keys, security settings) without proving it again.
    pub reauth_window: Duration,
    /// What a new password must be (IDN-01).
    pub password_policy: ideaweave_domain::PasswordPolicy,
    /// Whether workspaces may name identity providers at plain `http://` (loopback tests);
    /// otherwise only `https://`.
    pub sso_allow_http: bool,
    /// How long an invitation can be accepted.
    pub invitation_ttl: Duration,
    /// Days that instance-level activity data (where sign-ins came from) is kept (LIF-03).
    pub instance_activity_days: u32,
    /// Days between an owner asking for a workspace's deletion and its destruction (LIF-02).
    pub termination_grace_days: u32,
    /// Largest accepted upload.
    pub max_upload_bytes: usize,
    /// The URL people reach this instance at, for links in invitations.
    pub public_url: String,
    /// Whether an SMTP server is configured: invitations are then also emailed.
    pub mail_enabled: bool,
    /// Where session addresses are approximately (IDN-04), when the operator configured a
    /// GeoIP database; otherwise no place is shown.
    pub geoip: Option<Arc<GeoIpDatabase>>,
    /// Where the audit log's anchor is kept, outside the database (AUD-01): the latest signed
    /// checkpoint and from which index on entries carry a MAC. `None` (unit tests) keeps none.
    pub audit_anchor_file: Option<std::path::PathBuf>,
    /// The most bytes of search indexes a node keeps open in memory (`search.cache_mb`).
    pub search_cache_bytes: usize,
    /// How the text inside uploaded files is read for search: a child process with limits.
    /// `None` (tools that index nothing) finds files by their names only.
    pub text_extractor: Option<ideaweave_extract::Extractor>,
}

/// The application: the store, the file store, the clock and the settings.
#[derive(Clone)]
pub struct App {
    store: Store,
    files: Arc<dyn FileStore>,
    clock: Arc<dyn Clock>,
    settings: Arc<AppSettings>,
    keyring: Arc<Keyring>,
    /// The WebAuthn relying party, built from `public_url` on first use (or why it cannot be).
    webauthn: Arc<std::sync::OnceLock<Result<webauthn_rs::Webauthn, String>>>,
    /// OpenID providers' discovery documents read in the last minutes.
    discovery: Arc<identity::sso::DiscoveryCache>,
    /// The search indexes this node holds open (COL-05).
    search: Arc<content::search::sealed_index::SearchIndexes>,
}

impl App {
    /// Assembles the application.
    pub fn new(
        store: Store,
        files: Arc<dyn FileStore>,
        clock: Arc<dyn Clock>,
        settings: AppSettings,
        keyring: Arc<Keyring>,
    ) -> Self {
        Self {
            store,
            files,
            clock,
            keyring,
            webauthn: Arc::default(),
            discovery: Arc::default(),
            search: Arc::new(content::search::sealed_index::SearchIndexes::new(
                settings.search_cache_bytes,
            )),
            settings: Arc::new(settings),
        }
    }

    /// The keyring that seals and opens workspace data.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The store (for readiness checks and the CLI's migrations).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings in force.
    pub fn settings(&self) -> &AppSettings {
        &self.settings
    }

    /// The current time by the application's clock (Unix milliseconds): the injectable clock
    /// that tests move.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// An authenticated member acting inside one workspace: the result of [`App::enter`].
#[derive(Debug, Clone)]
pub struct Member {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// Its slug.
    pub slug: String,
    /// Who acts, with which role and token scope.
    pub actor: Actor,
    /// Where the request came from, for the audit trail.
    pub client: ClientInfo,
    /// When the member's session last proved who they are (sign-in or re-authentication);
    /// `None` for API tokens and the application's own jobs, which cannot do sensitive things.
    pub reauth_at: Option<i64>,
    /// The support invitation the operator's staff act under (SUP-01); `None` for members.
    pub support: Option<SupportAccess>,
}

impl Member {
    /// Asks the policy; a refusal becomes the matching error. The operator's support staff
    /// are held to their invitation's scope as well.
    fn allow(&self, action: Action) -> AppResult<()> {
        if let Some(s) = self.support
            && !ideaweave_domain::support::support_may(s.scope, &action)
        {
            return Err(AppError::Forbidden(format!(
                "support access with the {} scope does not allow this",
                s.scope.as_str()
            )));
        }
        authorize(&self.actor, action).map_err(AppError::from)
    }

    /// The member's role.
    pub fn role(&self) -> Role {
        self.actor.role
    }
}

fn space_view(private: bool, listed: bool) -> ideaweave_domain::policy::SpaceView {
    ideaweave_domain::policy::SpaceView { private, listed }
}

fn parse_role(s: &str) -> AppResult<Role> {
    s.parse()
        .map_err(|e: String| AppError::internal_from("stored role", e))
}
