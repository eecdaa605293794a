//! @mentions in ideas and comments (COL-04). Names typed as `@Name` are stored as member ids
//! ([`ideaweave_domain::mention`]) and shown with the name each person has now; someone no
//! longer in the workspace (erased, or gone) is shown as a former member. A person mentioned is
//! told in their notifications, and by email per their preference, when they may see the idea.

use std::collections::HashMap;

use ideaweave_domain::mention::{self, Mentionable};
use ideaweave_domain::policy::Action;
use ideaweave_domain::*;
use ideaweave_store::Tx;
use serde::Serialize;
use utoipa::ToSchema;

use crate::content::notifications::EXCERPT_CHARS;
use crate::platform::sealed::{NameMemo, account, column};
use crate::{App, AppResult, Member};

/// Members listed per page while collecting who can be mentioned.
const MEMBER_PAGE: u32 = 500;

/// Most suggestions one lookup answers.
const MAX_SUGGESTIONS: usize = 8;

/// Someone who can be mentioned, as the writing form suggests them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MentionSuggestion {
    pub id: UserId,
    pub name: String,
}

impl App {
    /// Every member of the workspace with their name now.
    async fn mentionable(&self, tx: &mut Tx, ws: WorkspaceId) -> AppResult<Vec<(UserId, String)>> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = tx.workspace(ws).members(after, MEMBER_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.user_id.0);
            let full = page.len() == MEMBER_PAGE as usize;
            for m in page {
                let name = self
                    .open_text(tx, &account(column::USERS_NAME, m.user_id), &m.name)
                    .await?;
                out.push((m.user_id, name));
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// Text as `m` typed it, as stored: each `@Name` of a member becomes their id. Answers whom
    /// it mentions. Only someone who may see the member list mentions anyone: otherwise a
    /// guest could find out who is a member by trying names. Text without an `@` costs
    /// nothing.
    pub(crate) async fn store_mentions(
        &self,
        tx: &mut Tx,
        m: &Member,
        text: &str,
    ) -> AppResult<(String, Vec<UserId>)> {
        if !text.contains('@') || m.allow(Action::ReadMembers).is_err() {
            return Ok((text.to_owned(), Vec::new()));
        }
        let people = self.mentionable(tx, m.workspace).await?;
        let list: Vec<Mentionable<'_>> = people
            .iter()
            .map(|(id, name)| Mentionable { id: *id, name })
            .collect();
        Ok(mention::resolve(text, &list))
    }

    /// Stored text as a reader sees it: written out with `@Name` (for editing and plain
    /// text), and rendered to HTML with each mention marked, names as they are now.
    pub(crate) async fn read_mentions(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        names: &mut NameMemo,
        stored: &str,
    ) -> AppResult<(String, String)> {
        let ids = mention::mentioned(stored);
        if ids.is_empty() {
            return Ok((stored.to_owned(), markdown::render(stored)));
        }
        let mut found: HashMap<UserId, String> = HashMap::with_capacity(ids.len());
        for id in ids {
            if let Some(m) = tx.workspace(ws).member(id).await? {
                found.insert(id, self.person_name(tx, names, id, &m.name).await?);
            }
        }
        let written = mention::display(stored, |id| {
            found
                .get(&id)
                .cloned()
                .unwrap_or_else(|| FORMER_MEMBER.to_owned())
        });
        let html = mention::mark(&markdown::render(stored), FORMER_MEMBER, |id| {
            found.get(&id).cloned()
        });
        Ok((written, html))
    }

    /// The start of a stored text as plain text, for lists: mentions by the name they show.
    pub(crate) async fn excerpt_of(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        names: &mut NameMemo,
        stored: &str,
    ) -> AppResult<String> {
        let (written, _) = self.read_mentions(tx, ws, names, stored).await?;
        Ok(markdown::excerpt(&written, EXCERPT_CHARS))
    }

    /// Who `stored` mentions that `before` did not: an edit tells only them.
    pub(crate) fn newly_mentioned(before: &str, now: Vec<UserId>) -> Vec<UserId> {
        let had = mention::mentioned(before);
        now.into_iter().filter(|u| !had.contains(u)).collect()
    }

    /// Members whose name has a word starting with `prefix` (case-insensitive), for the
    /// writing form's suggestions; only for those who may see the member list.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn mention_suggestions(
        &self,
        m: &Member,
        prefix: &str,
    ) -> AppResult<Vec<MentionSuggestion>> {
        m.allow(Action::ReadMembers)?;
        let prefix = prefix.trim().to_lowercase();
        if prefix.is_empty() || prefix.chars().count() > 64 {
            return Ok(Vec::new());
        }
        let mut tx = self.store.read().await?;
        let mut out: Vec<MentionSuggestion> = self
            .mentionable(&mut tx, m.workspace)
            .await?
            .into_iter()
            .filter(|(id, name)| {
                *id != m.actor.user
                    && (name.to_lowercase().starts_with(&prefix)
                        || name
                            .split_whitespace()
                            .any(|w| w.to_lowercase().starts_with(&prefix)))
            })
            .map(|(id, name)| MentionSuggestion { id, name })
            .collect();
        out.sort_by_key(|s| s.name.to_lowercase());
        out.truncate(MAX_SUGGESTIONS);
        Ok(out)
    }
}
