//! Rectification of one's email address (DSR-02): pending changes, confirmed by a link sent to
//! the new address.

use ideaweave_domain::UserId;
use uuid::Uuid;

use crate::{StoreResult, Tx};

/// A pending change of address.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EmailChangeRow {
    pub id: Uuid,
    #[sqlx(try_from = "Uuid")]
    pub user_id: UserId,
    pub new_email: Vec<u8>,
    pub expires_at: i64,
}

impl Tx {
    /// Replaces `user`'s pending change with this one.
    pub async fn insert_email_change(
        &mut self,
        id: Uuid,
        user: UserId,
        new_email: &[u8],
        token_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_EMAIL_CHANGE)
                .bind(user.0)
                .execute(&mut *c)
                .await?;
            sqlx::query(sql::INSERT_EMAIL_CHANGE_2)
                .bind(id)
                .bind(user.0)
                .bind(new_email)
                .bind(token_hash)
                .bind(now)
                .bind(expires_at)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// The pending change with this secret hash.
    pub async fn email_change_by_hash(
        &mut self,
        hash: &[u8],
    ) -> StoreResult<Option<EmailChangeRow>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::EMAIL_CHANGE_BY_HASH)
                .bind(hash)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Uses up the pending change with this secret hash if it is still live at `now`: deleted
    /// and returned, so that two confirmations cannot both apply it.
    pub async fn take_email_change(
        &mut self,
        hash: &[u8],
        now: i64,
    ) -> StoreResult<Option<EmailChangeRow>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(
                "DELETE FROM email_changes WHERE token_hash = $1 AND expires_at > $2 RETURNING id, user_id, new_email, expires_at",
            ).bind(hash).bind(now).fetch_optional(c).await?
        }))
    }

    /// Deletes `user`'s pending changes; returns how many.
    pub async fn delete_email_changes_of(&mut self, user: UserId) -> StoreResult<u64> {
        Ok(on_conn!(self, |c| {
            sqlx::query(sql::INSERT_EMAIL_CHANGE)
                .bind(user.0)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// Stores an account's new address and its blind index.
    pub async fn set_user_email(
        &mut self,
        user: UserId,
        email_index: &[u8],
        sealed_email: &[u8],
    ) -> StoreResult<bool> {
        let n = on_conn!(self, |c| {
            sqlx::query(sql::SET_USER_EMAIL)
                .bind(user.0)
                .bind(email_index)
                .bind(sealed_email)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const INSERT_EMAIL_CHANGE: &str = "DELETE FROM email_changes WHERE user_id = $1";
    pub(crate) const INSERT_EMAIL_CHANGE_2: &str = "INSERT INTO email_changes (id, user_id, new_email, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";
    pub(crate) const EMAIL_CHANGE_BY_HASH: &str =
        "SELECT id, user_id, new_email, expires_at FROM email_changes WHERE token_hash = $1";
    pub(crate) const SET_USER_EMAIL: &str =
        "UPDATE users SET email_index = $2, email = $3 WHERE id = $1 AND former_member_of IS NULL";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("INSERT_EMAIL_CHANGE", INSERT_EMAIL_CHANGE),
        ("INSERT_EMAIL_CHANGE_2", INSERT_EMAIL_CHANGE_2),
        ("EMAIL_CHANGE_BY_HASH", EMAIL_CHANGE_BY_HASH),
        ("SET_USER_EMAIL", SET_USER_EMAIL),
    ];
}
