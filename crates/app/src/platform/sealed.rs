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

/// The place of a sealed column of a workspace table.
pub(crate) fn at(
    ws: WorkspaceId,
    table: &'static str,
    column: &'static str,
    row: uuid::Uuid,
) -> Place<'static> {
    Place {
        workspace: ws.0,
        table,
        column,
        row,
    }
}

/// The place of a sealed column of an account's own row in another table (a session's
/// client, an authenticator secret): sealed with the account key, bound to that row.
pub(crate) fn account_row(
    table: &'static str,
    column: &'static str,
    row: uuid::Uuid,
) -> Place<'static> {
    Place {
        workspace: ACCOUNT_SCOPE,
        table,
        column,
        row,
    }
}

/// The place of a sealed column of an account.
pub(crate) fn account(column: &'static str, user: UserId) -> Place<'static> {
    Place {
        workspace: ACCOUNT_SCOPE,
        table: "users",
        column,
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
        let place = at(ws, "ideas", "summary", idea);
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
        key.seal(&at(ws, "ideas", "summary", idea), &json)
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
            self.open_text(tx, &account("name", user), sealed).await?
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
                .open_text(tx, &account("email", u.id), &u.email)
                .await?,
            name: self.open_text(tx, &account("name", u.id), &u.name).await?,
        })
    }

    /// A workspace's name.
    pub(crate) async fn workspace_name(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        sealed: &[u8],
    ) -> AppResult<String> {
        self.open_text(tx, &at(ws, "workspaces", "name", ws.0), sealed)
            .await
    }
}
