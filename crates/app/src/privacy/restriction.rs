//! Restriction of processing (DSR-04, GDPR Art. 18): a person may have their data kept but no
//! longer used, for example while they contest its accuracy.
//!
//! While a person's processing is restricted:
//! - their content is frozen: nobody edits, deletes, restores, moves, merges, votes or rates on
//!   their ideas, comments on them, or changes their comments, files or links;
//! - they act on nothing themselves (no new ideas, comments, votes, ratings, files or links);
//! - they are told nothing (no notification emails; what waited for a digest is dropped).
//!
//! They still sign in, read, download their data (DSR-01) and lift the restriction. Ideaweave
//! has no analytics, so there is no analytics processing to restrict or object to.

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::trust::audit::{AuditAction, AuditEvent, Outcome, Target, Who};
use crate::{App, AppError, AppResult, Principal};
use ideaweave_domain::UserId;
use ideaweave_store::Tx;

/// Whether the caller's processing is restricted, and since when.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct RestrictionView {
    pub restricted: bool,
    /// When it was restricted (Unix milliseconds); absent when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
}

/// A change of the restriction.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestrictionInput {
    /// `true` to restrict the processing of your data, `false` to lift the restriction.
    pub restricted: bool,
}

impl App {
    /// Whether the caller restricted the processing of their data.
    #[tracing::instrument(skip_all)]
    pub async fn restriction(&self, principal: &Principal) -> AppResult<RestrictionView> {
        let mut tx = self.store.read().await?;
        let since = tx.restricted_since(principal.user).await?;
        Ok(RestrictionView {
            restricted: since.is_some(),
            since,
        })
    }

    /// Restricts (`true`) or lifts the restriction on (`false`) the processing of the caller's
    /// data, recorded as `account.restricted` or `account.restriction_lifted`. Only the person,
    /// in a signed-in session, decides. Asking for the state it is already in changes nothing.
    #[tracing::instrument(skip_all)]
    pub async fn set_restriction(
        &self,
        principal: &Principal,
        restricted: bool,
    ) -> AppResult<RestrictionView> {
        if principal.is_api_token() {
            return Err(AppError::Forbidden(
                "sign in to restrict or lift the processing of your data; API tokens cannot".into(),
            ));
        }
        let user = principal.user;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let changed = tx.set_restricted(user, restricted.then_some(now)).await?;
        if changed {
            let dropped = if restricted {
                tx.delete_all_pending_notifications_of(user).await?
            } else {
                0
            };
            self.audit(
                &mut tx,
                AuditEvent {
                    workspace: None,
                    actor: Who::Person(user),
                    action: if restricted {
                        AuditAction::AccountRestricted
                    } else {
                        AuditAction::AccountRestrictionLifted
                    },
                    target: Target::Person(user),
                    outcome: Outcome::Success,
                    client: &principal.client,
                    facts: json!({"pending_notifications_dropped": dropped}),
                },
            )
            .await?;
        }
        let since = tx.restricted_since(user).await?;
        tx.commit().await?;
        Ok(RestrictionView {
            restricted: since.is_some(),
            since,
        })
    }

    /// Refuses a change when `actor` or `owner` (the person whose content it touches)
    /// restricted processing. Every change to content passes here.
    pub(crate) async fn ensure_unrestricted(
        &self,
        tx: &mut Tx,
        m: &crate::Member,
        owner: UserId,
    ) -> AppResult<()> {
        let actor = m.actor.user;
        // The actor's membership is held until this write commits. An erasure of the actor
        // takes it exclusively and deletes it: either it finished first, and this write finds
        // no membership and is refused, or it waits for this write and then erases what it
        // wrote too (DSR-03).
        if !tx
            .workspace(m.workspace)
            .hold_membership(actor, false)
            .await?
        {
            return Err(AppError::NotFound("workspace"));
        }
        if !tx.any_restricted(actor, owner).await? {
            return Ok(());
        }
        if tx.restricted_since(actor).await?.is_some() {
            return Err(AppError::Forbidden(
                "you restricted the processing of your data; lift the restriction on your account page to act again"
                    .into(),
            ));
        }
        Err(AppError::Conflict(
            "its author restricted the processing of their data (GDPR Art. 18); it is frozen until they lift it"
                .into(),
        ))
    }
}
