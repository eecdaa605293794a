//! Where each sealed value lives, and opening values into what views show (ENC-01).
//!
//! Every sealed column has one place constructor here, so the table and column names bound into
//! the associated data are written once. A value whose key was shredded opens as [`ERASED`].

use std::collections::HashMap;

use ideaweave_crypto::Place;
use ideaweave_domain::{UserId, WorkspaceId};
use ideaweave_store::Tx;
use serde::{Deserialize, Serialize};

use crate::platform::keyring::ACCOUNT_SCOPE;
use crate::{App, AppError, AppResult};

/// What a value reads as once its key was shredded (erasure).
pub const ERASED: &str = "[erased]";

/// A sealed column: the table and column names bound into the associated data of each of its
/// values. Only the constants in [`column`] exist, so every place a value is sealed or opened
/// names its column the same way, and a typo is a compile error instead of a value that no
/// longer opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Column {
    table: &'static str,
    column: &'static str,
}

impl Column {
    const fn new(table: &'static str, column: &'static str) -> Self {
        Self { table, column }
    }

    /// The table.
    pub(crate) fn table(self) -> &'static str {
        self.table
    }
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.table, self.column)
    }
}

/// Every sealed column, named `TABLE_COLUMN`.
pub(crate) mod column {
    use super::Column;

    pub(crate) const API_TOKENS_NAME: Column = Column::new("api_tokens", "name");
    pub(crate) const ATTACHMENTS_FILE: Column = Column::new("attachments", "file");
    pub(crate) const ATTACHMENTS_FILENAME: Column = Column::new("attachments", "filename");
    pub(crate) const ATTACHMENTS_PREVIEW: Column = Column::new("attachments", "preview");
    pub(crate) const ATTACHMENTS_SHA256: Column = Column::new("attachments", "sha256");
    pub(crate) const COMMENTS_BODY: Column = Column::new("comments", "body");
    pub(crate) const COMMENT_REVISIONS_BODY: Column = Column::new("comment_revisions", "body");
    pub(crate) const DISCUSSIONS_DESCRIPTION: Column = Column::new("discussions", "description");
    pub(crate) const DISCUSSIONS_TITLE: Column = Column::new("discussions", "title");
    pub(crate) const IDEAS_BODY: Column = Column::new("ideas", "body");
    pub(crate) const IDEAS_SUMMARY: Column = Column::new("ideas", "summary");
    pub(crate) const INBOX_ITEMS_ITEM: Column = Column::new("inbox_items", "item");
    pub(crate) const INVITATIONS_EMAIL: Column = Column::new("invitations", "email");
    pub(crate) const LINKS_TITLE: Column = Column::new("links", "title");
    pub(crate) const LINKS_URL: Column = Column::new("links", "url");
    pub(crate) const OUTBOX_MESSAGE: Column = Column::new("outbox", "message");
    pub(crate) const PASSKEYS_CREDENTIAL: Column = Column::new("passkeys", "credential");
    pub(crate) const PASSKEYS_NAME: Column = Column::new("passkeys", "name");
    pub(crate) const PENDING_NOTIFICATIONS_ITEM: Column =
        Column::new("pending_notifications", "item");
    pub(crate) const PRIVACY_NOTICES_RECIPIENT: Column =
        Column::new("privacy_notices", "recipient");
    pub(crate) const PRIVACY_REQUESTS_DETAILS: Column = Column::new("privacy_requests", "details");
    pub(crate) const PRIVACY_REQUESTS_REQUESTER: Column =
        Column::new("privacy_requests", "requester");
    pub(crate) const PRIVACY_REQUESTS_RESOLUTION: Column =
        Column::new("privacy_requests", "resolution");
    pub(crate) const RATING_CRITERIA_NAME: Column = Column::new("rating_criteria", "name");
    /// A search index file (stored in the file store, not in the table).
    pub(crate) const SEARCH_INDEXES_FILE: Column = Column::new("search_indexes", "file");
    pub(crate) const SEARCH_INDEXES_MANIFEST: Column = Column::new("search_indexes", "manifest");
    pub(crate) const SESSIONS_CLIENT: Column = Column::new("sessions", "client");
    pub(crate) const SESSIONS_SSO_LOGOUT: Column = Column::new("sessions", "sso_logout");
    pub(crate) const SPACES_DESCRIPTION: Column = Column::new("spaces", "description");
    pub(crate) const SPACES_NAME: Column = Column::new("spaces", "name");
    pub(crate) const SSO_LOGINS_SECRETS: Column = Column::new("sso_logins", "secrets");
    pub(crate) const STAGES_NAME: Column = Column::new("stages", "name");
    pub(crate) const SUPPORT_GRANTS_REASON: Column = Column::new("support_grants", "reason");
    pub(crate) const TOTP_CREDENTIALS_SECRET: Column = Column::new("totp_credentials", "secret");
    pub(crate) const USERS_EMAIL: Column = Column::new("users", "email");
    pub(crate) const USERS_EMAIL_CHANGE: Column = Column::new("users", "email_change");
    pub(crate) const USERS_NAME: Column = Column::new("users", "name");
    pub(crate) const WEBAUTHN_CEREMONIES_STATE: Column =
        Column::new("webauthn_ceremonies", "state");
    pub(crate) const WORKSPACE_EXPORTS_ARCHIVE: Column =
        Column::new("workspace_exports", "archive");
    pub(crate) const WORKSPACE_OIDC_CLIENT_SECRET: Column =
        Column::new("workspace_oidc", "client_secret");
    pub(crate) const WORKSPACE_SAML_SP_KEY: Column = Column::new("workspace_saml", "sp_key");
    pub(crate) const WORKSPACES_NAME: Column = Column::new("workspaces", "name");
}

/// The place of a sealed column of a workspace table.
pub(crate) fn at(ws: WorkspaceId, column: Column, row: uuid::Uuid) -> Place<'static> {
    Place {
        workspace: ws.0,
        table: column.table,
        column: column.column,
        row,
    }
}

/// The place of a sealed column of an account's own row in another table (a session's
/// client, an authenticator secret): sealed with the account key, bound to that row.
pub(crate) fn account_row(column: Column, row: uuid::Uuid) -> Place<'static> {
    Place {
        workspace: ACCOUNT_SCOPE,
        table: column.table,
        column: column.column,
        row,
    }
}

/// The place of a sealed column of an account (`column::USERS_…`).
pub(crate) fn account(column: Column, user: UserId) -> Place<'static> {
    Place {
        workspace: ACCOUNT_SCOPE,
        table: column.table,
        column: column.column,
        row: user.0,
    }
}

/// An idea's title, excerpt and tags, sealed as one value so that a list opens one value per
/// idea.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdeaSummaryText {
    #[serde(rename = "t")]
    pub title: String,
    #[serde(rename = "e")]
    pub excerpt: String,
    #[serde(rename = "g")]
    pub tags: Vec<String>,
}

impl IdeaSummaryText {
    fn erased() -> Self {
        Self {
            title: ERASED.to_owned(),
            excerpt: String::new(),
            tags: Vec::new(),
        }
    }
}

/// Account names opened during one request, so a page with many ideas by the same people opens
/// each name once.
#[derive(Default)]
pub(crate) struct NameMemo(HashMap<UserId, String>);

impl App {
    /// Opens a sealed text; a shredded key gives [`ERASED`].
    pub(crate) async fn open_text(
        &self,
        tx: &mut Tx,
        place: &Place<'_>,
        sealed: &[u8],
    ) -> AppResult<String> {
        Ok(self
            .keyring
            .open_text(tx, place, sealed)
            .await?
            .unwrap_or_else(|| ERASED.to_owned()))
    }

    /// Opens an idea's sealed summary.
    pub(crate) async fn open_summary(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        idea: uuid::Uuid,
        sealed: &[u8],
    ) -> AppResult<IdeaSummaryText> {
        let place = at(ws, column::IDEAS_SUMMARY, idea);
        match self.keyring.open(tx, &place, sealed).await? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| AppError::Integrity(format!("summary of idea {idea}: {e}"))),
            None => Ok(IdeaSummaryText::erased()),
        }
    }

    /// Seals an idea's summary.
    pub(crate) fn seal_summary(
        key: &crate::platform::keyring::SealingKey,
        ws: WorkspaceId,
        idea: uuid::Uuid,
        text: &IdeaSummaryText,
    ) -> AppResult<Vec<u8>> {
        let json = serde_json::to_vec(text).map_err(|e| AppError::internal(e.to_string()))?;
        key.seal(&at(ws, column::IDEAS_SUMMARY, idea), &json)
    }

    /// An account's name, opened once per request.
    pub(crate) async fn person_name(
        &self,
        tx: &mut Tx,
        memo: &mut NameMemo,
        user: UserId,
        sealed: &[u8],
    ) -> AppResult<String> {
        if let Some(n) = memo.0.get(&user) {
            return Ok(n.clone());
        }
        // A former member (DSR-03) has no name and no key: the row only keeps contributions
        // together.
        let name = if sealed.is_empty() {
            ideaweave_domain::FORMER_MEMBER.to_owned()
        } else {
            self.open_text(tx, &account(column::USERS_NAME, user), sealed)
                .await?
        };
        memo.0.insert(user, name.clone());
        Ok(name)
    }
}

impl App {
    /// An account as its owner (or an admin) sees it.
    pub(crate) async fn user_view(
        &self,
        tx: &mut Tx,
        u: &ideaweave_store::records::UserRecord,
    ) -> AppResult<crate::UserView> {
        Ok(crate::UserView {
            id: u.id,
            email: self
                .open_text(tx, &account(column::USERS_EMAIL, u.id), &u.email)
                .await?,
            name: self
                .open_text(tx, &account(column::USERS_NAME, u.id), &u.name)
                .await?,
        })
    }

    /// A workspace's name.
    pub(crate) async fn workspace_name(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        sealed: &[u8],
    ) -> AppResult<String> {
        self.open_text(tx, &at(ws, column::WORKSPACES_NAME, ws.0), sealed)
            .await
    }
}
