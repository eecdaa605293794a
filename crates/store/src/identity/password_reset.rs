//! Password reset tokens (IDN-01): account data, looked up by the SHA-256 of the secret in the
//! emailed link. A token is used once; a new request replaces the account's earlier tokens.

use ideaweave_domain::UserId;
use uuid::Uuid;

use crate::platform::records::PasswordResetRecord;
use crate::{StoreResult, Tx};

impl Tx {
    /// Deletes every reset token of `user` (used or not), before a new one is issued or once the
    /// password was reset: at most one link of an account works at a time. Returns how many.
    pub async fn delete_password_resets_of(&mut self, user: UserId) -> StoreResult<u64> {
        Ok(on_conn!(self, |c| {
            sqlx::query(sql::DELETE_PASSWORD_RESETS_OF)
                .bind(user.0)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// Stores a reset token under the hash of its secret.
    pub async fn insert_password_reset(
        &mut self,
        id: Uuid,
        user: UserId,
        token_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_PASSWORD_RESET)
                .bind(id)
                .bind(user.0)
                .bind(token_hash)
                .bind(now)
                .bind(expires_at)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// The reset token with this secret hash, whatever its state.
    pub async fn password_reset_by_hash(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<PasswordResetRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::PASSWORD_RESET_BY_HASH)
                .bind(token_hash)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Marks a reset token used, only if it is still unused and unexpired at `now`. Returns false
    /// when another request used it first: reset links are single-use.
    pub async fn consume_password_reset(&mut self, id: Uuid, now: i64) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(sql::CONSUME_PASSWORD_RESET)
                .bind(id)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Ends every session of `user` (a password reset signs the account out everywhere).
    /// Returns how many were live or expired.
    pub async fn delete_sessions_of(&mut self, user: UserId) -> StoreResult<u64> {
        Ok(on_conn!(self, |c| {
            sqlx::query(sql::DELETE_SESSIONS_OF)
                .bind(user.0)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const DELETE_PASSWORD_RESETS_OF: &str =
        "DELETE FROM password_resets WHERE user_id = $1";
    pub(crate) const INSERT_PASSWORD_RESET: &str = "INSERT INTO password_resets (id, user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
    pub(crate) const PASSWORD_RESET_BY_HASH: &str = "SELECT id, user_id, created_at, expires_at, used_at FROM password_resets WHERE token_hash = $1";
    pub(crate) const CONSUME_PASSWORD_RESET: &str = "UPDATE password_resets SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2";
    pub(crate) const DELETE_SESSIONS_OF: &str = "DELETE FROM sessions WHERE user_id = $1";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("DELETE_PASSWORD_RESETS_OF", DELETE_PASSWORD_RESETS_OF),
        ("INSERT_PASSWORD_RESET", INSERT_PASSWORD_RESET),
        ("PASSWORD_RESET_BY_HASH", PASSWORD_RESET_BY_HASH),
        ("CONSUME_PASSWORD_RESET", CONSUME_PASSWORD_RESET),
        ("DELETE_SESSIONS_OF", DELETE_SESSIONS_OF),
    ];
}
