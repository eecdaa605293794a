//! Identity data (IDN-01..04): sessions, half-done sign-ins, second factors, failed-sign-in
//! counters and a workspace's credential policy. Storage keeps and finds these rows; what they
//! allow is decided by the application.

pub(crate) mod email_change;
pub(crate) mod instance;
pub(crate) mod password_reset;
pub(crate) mod sso;
use ideaweave_domain::{UserId, WorkspaceId};
use uuid::Uuid;

use crate::platform::records::{SessionRecord, WorkspaceRecord};
use crate::{StoreResult, Tx};

/// A session to record.
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    pub id: Uuid,
    pub token_hash: &'a [u8],
    pub user: UserId,
    pub csrf_token: &'a str,
    pub expires_at: i64,
    /// `password`, `mfa` or `passkey`.
    pub auth_level: &'a str,
    /// The client (user agent, address), sealed with the account key.
    pub client: Option<&'a [u8]>,
}

/// A session as its person sees it in their list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionListing {
    pub id: Uuid,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub auth_level: String,
    pub client: Option<Vec<u8>>,
}

/// A workspace entered through a session: the workspace, the person's role in it and the
/// weakest sign-in it accepts for members and for admins.
#[derive(Debug, Clone)]
pub struct SessionEntry {
    pub workspace: WorkspaceRecord,
    pub role: String,
    /// The day the member last used the workspace, if ever recorded.
    pub last_active_on: Option<i64>,
    pub member_minimum: String,
    pub admin_minimum: String,
    /// The member's unread notifications, counted up to [`UNREAD_COUNTED`].
    pub unread: i64,
}

/// The most unread notifications the count on every page goes up to: beyond it the bell says
/// "99+", and a long backlog costs no more than this.
pub const UNREAD_COUNTED: i64 = 100;

/// An authenticator app's secret and state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TotpRecord {
    pub secret: Vec<u8>,
    pub confirmed_at: Option<i64>,
    pub last_step: i64,
}

/// Failed sign-ins counted under one bucket (an address or a client).
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct ThrottleRecord {
    pub failures: i64,
    pub first_failure_at: i64,
    pub last_failure_at: i64,
    pub blocked_until: i64,
    pub warned_at: Option<i64>,
}

/// The columns of a session row as [`SessionRecord`] reads them (the person's operator flag
/// included: operator sessions need two factors).
macro_rules! session_columns {
    () => {
        "id, user_id, csrf_token, expires_at, auth_level, reauth_at, last_seen_at, \
         (SELECT u.is_operator FROM users u WHERE u.id = sessions.user_id) AS is_operator, \
         (SELECT u.time_zone FROM users u WHERE u.id = sessions.user_id) AS time_zone"
    };
}

impl Tx {
    /// Records a session under the hash of its cookie value; it starts freshly authenticated.
    pub async fn insert_session(&mut self, s: NewSession<'_>, now: i64) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_SESSION)
                .bind(s.token_hash)
                .bind(s.id)
                .bind(s.user.0)
                .bind(s.csrf_token)
                .bind(now)
                .bind(s.expires_at)
                .bind(s.auth_level)
                .bind(s.client)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// The session with this cookie hash, unless it passed its absolute expiry (`now`) or was
    /// idle since before `idle_cutoff`.
    pub async fn session(
        &mut self,
        token_hash: &[u8],
        now: i64,
        idle_cutoff: i64,
    ) -> StoreResult<Option<SessionRecord>> {
        const SQL: &str = concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at > $3"
        );
        Ok(on_conn!(self, |c| {
            sqlx::query_as(SQL)
                .bind(token_hash)
                .bind(now)
                .bind(idle_cutoff)
                .fetch_optional(c)
                .await?
        }))
    }

    /// A live session and, in the same statement, its person's membership of the workspace
    /// `slug` with the workspace's credential policy: a page's way in. `None` when the session
    /// is unknown, expired or idle too long; the inner `None` when the person is not a member
    /// (or there is no such workspace).
    pub async fn session_in_workspace(
        &mut self,
        token_hash: &[u8],
        now: i64,
        idle_cutoff: i64,
        slug: &str,
    ) -> StoreResult<Option<(SessionRecord, Option<SessionEntry>)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            session: SessionRecord,
            ws_id: Option<Uuid>,
            slug: Option<String>,
            name: Option<Vec<u8>>,
            ws_created_at: Option<i64>,
            role: Option<String>,
            last_active_on: Option<i64>,
            member_minimum: Option<String>,
            admin_minimum: Option<String>,
            unread: Option<i64>,
        }
        // The session is found by its key first, whatever the planner's statistics say (a
        // LIMIT keeps the subquery from being flattened into a scan). The unread count rides
        // along in the same statement, stopping at UNREAD_COUNTED (the inner LIMIT), so the bell
        // on every page costs no extra round trip.
        const SQL: &str = concat!(
            "SELECT s.id, s.user_id, s.csrf_token, s.expires_at, s.auth_level, s.reauth_at, s.last_seen_at, s.is_operator, s.time_zone, \
                    w.id AS ws_id, w.slug, w.name, w.created_at AS ws_created_at, m.role, m.last_active_on, \
                    p.member_minimum, p.admin_minimum, \
                    (SELECT COUNT(*) FROM (SELECT 1 FROM inbox_items n \
                      JOIN ideas i ON i.workspace_id = n.workspace_id AND i.id = n.idea_id \
                      WHERE n.workspace_id = m.workspace_id AND n.user_id = m.user_id AND n.read_at IS NULL \
                      AND i.deleted_at IS NULL LIMIT 100) u) AS unread \
             FROM (SELECT ",
            session_columns!(),
            " FROM sessions WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at > $3 LIMIT 1) s \
             LEFT JOIN workspaces w ON w.slug = $4 \
             LEFT JOIN memberships m ON m.workspace_id = w.id AND m.user_id = s.user_id \
             LEFT JOIN workspace_security p ON p.workspace_id = w.id"
        );
        let row: Option<Row> = on_conn!(self, |c| {
            sqlx::query_as(SQL)
                .bind(token_hash)
                .bind(now)
                .bind(idle_cutoff)
                .bind(slug)
                .fetch_optional(c)
                .await?
        });
        Ok(row.map(|r| {
            let entry = match (r.ws_id, r.slug, r.name, r.ws_created_at, r.role) {
                (Some(id), Some(slug), Some(name), Some(created_at), Some(role)) => {
                    Some(SessionEntry {
                        workspace: WorkspaceRecord {
                            id: WorkspaceId(id),
                            slug,
                            name,
                            created_at,
                        },
                        role,
                        last_active_on: r.last_active_on,
                        member_minimum: r.member_minimum.unwrap_or_else(|| "password".into()),
                        admin_minimum: r.admin_minimum.unwrap_or_else(|| "password".into()),
                        unread: r.unread.unwrap_or(0),
                    })
                }
                _ => None,
            };
            (r.session, entry)
        }))
    }

    /// Marks a session used at `now` (the idle timeout counts from here).
    pub async fn touch_session(&mut self, token_hash: &[u8], now: i64) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::TOUCH_SESSION)
                .bind(token_hash)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Gives a session a new cookie (and anti-CSRF token), keeping its id: done whenever the
    /// session's privileges change, so a cookie seen before the change is worth nothing after
    /// it. `reauthenticated` also marks the person as having just proved who they are.
    pub async fn rotate_session(
        &mut self,
        old_hash: &[u8],
        new_hash: &[u8],
        csrf_token: &str,
        auth_level: &str,
        reauthenticated_at: Option<i64>,
    ) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(sql::ROTATE_SESSION)
                .bind(old_hash)
                .bind(new_hash)
                .bind(csrf_token)
                .bind(auth_level)
                .bind(reauthenticated_at)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Ends a session.
    pub async fn delete_session(&mut self, token_hash: &[u8]) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::DELETE_SESSION)
                .bind(token_hash)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Ends `user`'s session `id`; false when they have none by that id.
    pub async fn delete_session_by_id(&mut self, user: UserId, id: Uuid) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(sql::DELETE_SESSION_BY_ID)
                .bind(user.0)
                .bind(id)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Ends every session of `user` but the one with `keep` as its cookie hash.
    pub async fn delete_other_sessions(&mut self, user: UserId, keep: &[u8]) -> StoreResult<u64> {
        Ok(on_conn!(self, |c| {
            sqlx::query(sql::DELETE_OTHER_SESSIONS)
                .bind(user.0)
                .bind(keep)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// `user`'s live sessions, most recently used first.
    pub async fn session_listing(
        &mut self,
        user: UserId,
        now: i64,
        idle_cutoff: i64,
    ) -> StoreResult<Vec<SessionListing>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::SESSION_LISTING)
                .bind(user.0)
                .bind(now)
                .bind(idle_cutoff)
                .fetch_all(c)
                .await?
        }))
    }

    /// Deletes sessions past their absolute expiry or idle since before `idle_cutoff`.
    pub async fn purge_sessions(&mut self, now: i64, idle_cutoff: i64) -> StoreResult<u64> {
        Ok(on_conn!(self, |c| {
            sqlx::query(sql::PURGE_SESSIONS)
                .bind(now)
                .bind(idle_cutoff)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// Records a half-done sign-in under the hash of its secret.
    pub async fn insert_sign_in_challenge(
        &mut self,
        token_hash: &[u8],
        user: UserId,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_SIGN_IN_CHALLENGE)
                .bind(token_hash)
                .bind(user.0)
                .bind(now)
                .bind(expires_at)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Counts an attempt at a live half-done sign-in and returns its person and the attempts
    /// made so far, this one included; `None` when there is no such live challenge.
    pub async fn attempt_sign_in_challenge(
        &mut self,
        token_hash: &[u8],
        now: i64,
    ) -> StoreResult<Option<(UserId, i64)>> {
        let row: Option<(Uuid, i64)> = on_conn!(self, |c| {
            sqlx::query_as(sql::ATTEMPT_SIGN_IN_CHALLENGE)
                .bind(token_hash)
                .bind(now)
                .fetch_optional(c)
                .await?
        });
        Ok(row.map(|(u, a)| (UserId(u), a)))
    }

    /// Deletes half-done sign-ins that expired.
    pub async fn purge_sign_in_challenges(&mut self, now: i64) -> StoreResult<u64> {
        Ok(on_conn!(self, |c| {
            sqlx::query(sql::PURGE_SIGN_IN_CHALLENGES)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// Ends a half-done sign-in (done, or given up on).
    pub async fn delete_sign_in_challenge(&mut self, token_hash: &[u8]) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::DELETE_SIGN_IN_CHALLENGE)
                .bind(token_hash)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Stores a new, unconfirmed authenticator secret for `user`, replacing an unconfirmed one.
    /// False when a confirmed one is in place (it must be removed first).
    pub async fn put_pending_totp(
        &mut self,
        user: UserId,
        sealed_secret: &[u8],
        now: i64,
    ) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(sql::PUT_PENDING_TOTP)
                .bind(user.0)
                .bind(sealed_secret)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// `user`'s authenticator secret, confirmed or not.
    pub async fn totp_of(&mut self, user: UserId) -> StoreResult<Option<TotpRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::TOTP_OF)
                .bind(user.0)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Accepts the code of time step `step`: only if no code of that step or a later one was
    /// accepted before, so each code works once even when two requests race. Confirms an
    /// unconfirmed secret at `now`.
    pub async fn accept_totp_step(
        &mut self,
        user: UserId,
        step: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(sql::ACCEPT_TOTP_STEP)
                .bind(user.0)
                .bind(step)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Removes `user`'s authenticator secret; false when there was none.
    pub async fn delete_totp(&mut self, user: UserId) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(sql::DELETE_TOTP)
                .bind(user.0)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Replaces `user`'s recovery codes with these hashes.
    pub async fn replace_recovery_codes(
        &mut self,
        user: UserId,
        hashes: &[Vec<u8>],
        now: i64,
    ) -> StoreResult<()> {
        self.delete_recovery_codes(user).await?;
        for h in hashes {
            on_conn!(self, |c| {
                sqlx::query(sql::REPLACE_RECOVERY_CODES)
                    .bind(user.0)
                    .bind(h)
                    .bind(now)
                    .execute(c)
                    .await?;
            });
        }
        Ok(())
    }

    /// Uses up the unused recovery code with this hash; false when there is none.
    pub async fn use_recovery_code(
        &mut self,
        user: UserId,
        hash: &[u8],
        now: i64,
    ) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(sql::USE_RECOVERY_CODE)
                .bind(user.0)
                .bind(hash)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// How many of `user`'s recovery codes are unused.
    pub async fn recovery_codes_left(&mut self, user: UserId) -> StoreResult<i64> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar(sql::RECOVERY_CODES_LEFT)
                .bind(user.0)
                .fetch_one(c)
                .await?
        }))
    }

    /// Deletes `user`'s recovery codes.
    pub async fn delete_recovery_codes(&mut self, user: UserId) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::DELETE_RECOVERY_CODES)
                .bind(user.0)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Deletes `user`'s second factors and half-done sign-ins (their account is being deleted).
    pub async fn delete_second_factors_of(&mut self, user: UserId) -> StoreResult<()> {
        self.delete_totp(user).await?;
        self.delete_recovery_codes(user).await?;
        on_conn!(self, |c| {
            sqlx::query(sql::DELETE_SECOND_FACTORS_OF)
                .bind(user.0)
                .execute(c)
                .await?;
        });
        on_conn!(self, |c| {
            sqlx::query(sql::DELETE_SECOND_FACTORS_OF_2)
                .bind(user.0)
                .execute(c)
                .await?;
        });
        on_conn!(self, |c| {
            sqlx::query(sql::DELETE_SECOND_FACTORS_OF_3)
                .bind(user.0)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// The failed-sign-in counter of `bucket`.
    pub async fn throttle(&mut self, bucket: &[u8]) -> StoreResult<Option<ThrottleRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::THROTTLE)
                .bind(bucket)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Stores the failed-sign-in counter of `bucket`.
    pub async fn put_throttle(&mut self, bucket: &[u8], t: ThrottleRecord) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::PUT_THROTTLE)
                .bind(bucket)
                .bind(t.failures)
                .bind(t.first_failure_at)
                .bind(t.last_failure_at)
                .bind(t.blocked_until)
                .bind(t.warned_at)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Counts an attempt in `bucket` before it is checked, atomically: the new count, or `None`
    /// when the bucket is blocked at `now` (nothing is counted then). A count whose last
    /// attempt is older than `forget_before` starts again at one.
    pub async fn reserve_attempt(
        &mut self,
        bucket: &[u8],
        now: i64,
        forget_before: i64,
    ) -> StoreResult<Option<i64>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar(sql::RESERVE_ATTEMPT)
                .bind(bucket)
                .bind(now)
                .bind(forget_before)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Blocks `bucket` until `until` (never shortening a longer block).
    pub async fn block_bucket(&mut self, bucket: &[u8], until: i64) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::BLOCK_BUCKET)
                .bind(bucket)
                .bind(until)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Lifts the block of `bucket` if it is still exactly `until` (the one an attempt set for
    /// itself before it turned out right); a block anyone else set stays.
    pub async fn lift_own_block(&mut self, bucket: &[u8], until: i64) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::LIFT_OWN_BLOCK)
                .bind(bucket)
                .bind(until)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Takes back one counted attempt of `bucket` (it succeeded); a block stays.
    pub async fn release_attempt(&mut self, bucket: &[u8]) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::RELEASE_ATTEMPT)
                .bind(bucket)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Marks `bucket`'s owner warned at `now`, unless they were warned since `since`; true when
    /// this call marked it (so exactly one request sends the warning).
    pub async fn mark_warned(&mut self, bucket: &[u8], now: i64, since: i64) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(sql::MARK_WARNED)
                .bind(bucket)
                .bind(now)
                .bind(since)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Forgets the failed sign-ins of `bucket`.
    pub async fn clear_throttle(&mut self, bucket: &[u8]) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::CLEAR_THROTTLE)
                .bind(bucket)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Remembers that the account of `account` signed in from the client of `client` at `now`.
    pub async fn remember_regular(
        &mut self,
        client: &[u8],
        account: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::REMEMBER_REGULAR)
                .bind(client)
                .bind(account)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// How many accounts signed in from the client of `client` since `since`.
    pub async fn regulars_of(&mut self, client: &[u8], since: i64) -> StoreResult<i64> {
        Ok(on_conn!(self, |c| {
            sqlx::query_scalar(sql::REGULARS_OF)
                .bind(client)
                .bind(since)
                .fetch_one(c)
                .await?
        }))
    }

    /// Forgets where the account of `account` signed in from (its erasure).
    pub async fn forget_regular(&mut self, account: &[u8]) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::FORGET_REGULAR)
                .bind(account)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Forgets sign-ins older than `before`.
    pub async fn purge_regulars(&mut self, before: i64) -> StoreResult<u64> {
        Ok(on_conn!(self, |c| {
            sqlx::query(sql::PURGE_REGULARS)
                .bind(before)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// Forgets counters whose last failure is older than `before` and that block nothing.
    pub async fn purge_throttles(&mut self, before: i64, now: i64) -> StoreResult<u64> {
        Ok(on_conn!(self, |c| {
            sqlx::query(sql::PURGE_THROTTLES)
                .bind(before)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// A workspace's credential policy (member minimum, admin minimum); `None` when never set.
    pub async fn credential_policy(
        &mut self,
        ws: WorkspaceId,
    ) -> StoreResult<Option<(String, String)>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::CREDENTIAL_POLICY)
                .bind(ws.0)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Sets a workspace's credential policy.
    pub async fn set_credential_policy(
        &mut self,
        ws: WorkspaceId,
        member_minimum: &str,
        admin_minimum: &str,
        now: i64,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::SET_CREDENTIAL_POLICY)
                .bind(ws.0)
                .bind(member_minimum)
                .bind(admin_minimum)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }
}

/// A stored passkey (its credential and name sealed with the account key).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PasskeyRecord {
    pub id: Uuid,
    #[sqlx(try_from = "Uuid")]
    pub user_id: UserId,
    pub credential: Vec<u8>,
    pub name: Vec<u8>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A WebAuthn ceremony's server-side state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CeremonyRecord {
    pub user_id: Option<Uuid>,
    pub kind: String,
    pub state: Vec<u8>,
    pub sign_in_challenge: Option<Vec<u8>>,
}

/// A passkey to store.
#[derive(Debug, Clone, Copy)]
pub struct NewPasskey<'a> {
    pub id: Uuid,
    pub user: UserId,
    pub credential_hash: &'a [u8],
    pub credential: &'a [u8],
    pub name: &'a [u8],
}

impl Tx {
    /// Stores a passkey; false when its credential is registered already (to anyone).
    pub async fn insert_passkey(&mut self, p: NewPasskey<'_>, now: i64) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(sql::INSERT_PASSKEY)
                .bind(p.id)
                .bind(p.user.0)
                .bind(p.credential_hash)
                .bind(p.credential)
                .bind(p.name)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// `user`'s passkeys, oldest first.
    pub async fn passkeys_of(&mut self, user: UserId) -> StoreResult<Vec<PasskeyRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::PASSKEYS_OF)
                .bind(user.0)
                .fetch_all(c)
                .await?
        }))
    }

    /// The passkey with this credential-id hash.
    pub async fn passkey_by_credential(
        &mut self,
        hash: &[u8],
    ) -> StoreResult<Option<PasskeyRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::PASSKEY_BY_CREDENTIAL)
                .bind(hash)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Stores a passkey's updated credential (its signature counter) after a use.
    pub async fn passkey_used(&mut self, id: Uuid, credential: &[u8], now: i64) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::PASSKEY_USED)
                .bind(id)
                .bind(credential)
                .bind(now)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Deletes `user`'s passkey `id`; false when they have none by that id.
    pub async fn delete_passkey(&mut self, user: UserId, id: Uuid) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(sql::DELETE_PASSKEY)
                .bind(user.0)
                .bind(id)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Records a ceremony's state until `expires_at`.
    pub async fn insert_ceremony(
        &mut self,
        id: Uuid,
        user: Option<UserId>,
        kind: &str,
        state: &[u8],
        sign_in_challenge: Option<&[u8]>,
        expires_at: i64,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_CEREMONY)
                .bind(id)
                .bind(user.map(|u| u.0))
                .bind(kind)
                .bind(state)
                .bind(sign_in_challenge)
                .bind(expires_at)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Takes a live ceremony out (it is used once, whatever comes of it).
    pub async fn take_ceremony(
        &mut self,
        id: Uuid,
        now: i64,
    ) -> StoreResult<Option<CeremonyRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::TAKE_CEREMONY)
                .bind(id)
                .bind(now)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Deletes ceremonies that expired.
    pub async fn purge_ceremonies(&mut self, now: i64) -> StoreResult<u64> {
        Ok(on_conn!(self, |c| {
            sqlx::query(sql::PURGE_CEREMONIES)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const INSERT_SESSION: &str = "INSERT INTO sessions (token_hash, id, user_id, csrf_token, created_at, expires_at, last_seen_at, auth_level, reauth_at, client) \
                         VALUES ($1, $2, $3, $4, $5, $6, $5, $7, $5, $8)";
    pub(crate) const TOUCH_SESSION: &str =
        "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2";
    pub(crate) const ROTATE_SESSION: &str = "UPDATE sessions SET token_hash = $2, csrf_token = $3, auth_level = $4, \
                         reauth_at = COALESCE($5, reauth_at) WHERE token_hash = $1";
    pub(crate) const DELETE_SESSION: &str = "DELETE FROM sessions WHERE token_hash = $1";
    pub(crate) const DELETE_SESSION_BY_ID: &str =
        "DELETE FROM sessions WHERE user_id = $1 AND id = $2";
    pub(crate) const DELETE_OTHER_SESSIONS: &str =
        "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2";
    pub(crate) const SESSION_LISTING: &str = "SELECT id, created_at, last_seen_at, expires_at, auth_level, client FROM sessions \
                            WHERE user_id = $1 AND expires_at > $2 AND last_seen_at > $3 ORDER BY last_seen_at DESC, created_at DESC";
    pub(crate) const PURGE_SESSIONS: &str =
        "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2";
    pub(crate) const INSERT_SIGN_IN_CHALLENGE: &str = "INSERT INTO sign_in_challenges (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
    pub(crate) const ATTEMPT_SIGN_IN_CHALLENGE: &str = "UPDATE sign_in_challenges SET attempts = attempts + 1 \
                            WHERE token_hash = $1 AND expires_at > $2 RETURNING user_id, attempts";
    pub(crate) const PURGE_SIGN_IN_CHALLENGES: &str =
        "DELETE FROM sign_in_challenges WHERE expires_at <= $1";
    pub(crate) const DELETE_SIGN_IN_CHALLENGE: &str =
        "DELETE FROM sign_in_challenges WHERE token_hash = $1";
    pub(crate) const PUT_PENDING_TOTP: &str = "INSERT INTO totp_credentials (user_id, secret, created_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0 \
                         WHERE totp_credentials.confirmed_at IS NULL";
    pub(crate) const TOTP_OF: &str =
        "SELECT secret, confirmed_at, last_step FROM totp_credentials WHERE user_id = $1";
    pub(crate) const ACCEPT_TOTP_STEP: &str = "UPDATE totp_credentials SET last_step = $2, confirmed_at = COALESCE(confirmed_at, $3) \
                         WHERE user_id = $1 AND last_step < $2";
    pub(crate) const DELETE_TOTP: &str = "DELETE FROM totp_credentials WHERE user_id = $1";
    pub(crate) const REPLACE_RECOVERY_CODES: &str =
        "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)";
    pub(crate) const USE_RECOVERY_CODE: &str = "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL";
    pub(crate) const RECOVERY_CODES_LEFT: &str =
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL";
    pub(crate) const DELETE_RECOVERY_CODES: &str = "DELETE FROM recovery_codes WHERE user_id = $1";
    pub(crate) const DELETE_SECOND_FACTORS_OF: &str =
        "DELETE FROM sign_in_challenges WHERE user_id = $1";
    pub(crate) const DELETE_SECOND_FACTORS_OF_2: &str = "DELETE FROM passkeys WHERE user_id = $1";
    pub(crate) const DELETE_SECOND_FACTORS_OF_3: &str =
        "DELETE FROM webauthn_ceremonies WHERE user_id = $1";
    pub(crate) const THROTTLE: &str = "SELECT failures, first_failure_at, last_failure_at, blocked_until, warned_at FROM sign_in_throttle WHERE bucket = $1";
    pub(crate) const PUT_THROTTLE: &str = "INSERT INTO sign_in_throttle (bucket, failures, first_failure_at, last_failure_at, blocked_until, warned_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (bucket) DO UPDATE SET failures = excluded.failures, \
                         first_failure_at = excluded.first_failure_at, last_failure_at = excluded.last_failure_at, \
                         blocked_until = excluded.blocked_until, warned_at = excluded.warned_at";
    pub(crate) const RESERVE_ATTEMPT: &str = "INSERT INTO sign_in_throttle (bucket, failures, first_failure_at, last_failure_at, blocked_until) \
                                VALUES ($1, 1, $2, $2, 0) ON CONFLICT (bucket) DO UPDATE SET \
                                failures = CASE WHEN sign_in_throttle.last_failure_at <= $3 THEN 1 ELSE sign_in_throttle.failures + 1 END, \
                                first_failure_at = CASE WHEN sign_in_throttle.last_failure_at <= $3 THEN $2 ELSE sign_in_throttle.first_failure_at END, \
                                last_failure_at = $2 \
                                WHERE sign_in_throttle.blocked_until <= $2 RETURNING failures";
    pub(crate) const BLOCK_BUCKET: &str = "UPDATE sign_in_throttle SET blocked_until = CASE WHEN blocked_until < $2 THEN $2 ELSE blocked_until END WHERE bucket = $1";
    pub(crate) const LIFT_OWN_BLOCK: &str =
        "UPDATE sign_in_throttle SET blocked_until = 0 WHERE bucket = $1 AND blocked_until = $2";
    pub(crate) const RELEASE_ATTEMPT: &str = "UPDATE sign_in_throttle SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END WHERE bucket = $1";
    pub(crate) const MARK_WARNED: &str = "UPDATE sign_in_throttle SET warned_at = $2 WHERE bucket = $1 AND (warned_at IS NULL OR warned_at <= $3)";
    pub(crate) const CLEAR_THROTTLE: &str = "DELETE FROM sign_in_throttle WHERE bucket = $1";
    pub(crate) const REMEMBER_REGULAR: &str = "INSERT INTO sign_in_regulars (client_bucket, account_bucket, last_seen) VALUES ($1, $2, $3) \
                         ON CONFLICT (client_bucket, account_bucket) DO UPDATE SET last_seen = excluded.last_seen";
    pub(crate) const REGULARS_OF: &str =
        "SELECT COUNT(*) FROM sign_in_regulars WHERE client_bucket = $1 AND last_seen >= $2";
    pub(crate) const FORGET_REGULAR: &str =
        "DELETE FROM sign_in_regulars WHERE account_bucket = $1";
    pub(crate) const PURGE_REGULARS: &str = "DELETE FROM sign_in_regulars WHERE last_seen < $1";
    pub(crate) const PURGE_THROTTLES: &str =
        "DELETE FROM sign_in_throttle WHERE last_failure_at < $1 AND blocked_until <= $2";
    pub(crate) const CREDENTIAL_POLICY: &str =
        "SELECT member_minimum, admin_minimum FROM workspace_security WHERE workspace_id = $1";
    pub(crate) const SET_CREDENTIAL_POLICY: &str = "INSERT INTO workspace_security (workspace_id, member_minimum, admin_minimum, updated_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (workspace_id) DO UPDATE SET member_minimum = excluded.member_minimum, \
                         admin_minimum = excluded.admin_minimum, updated_at = excluded.updated_at";
    pub(crate) const INSERT_PASSKEY: &str = "INSERT INTO passkeys (id, user_id, credential_hash, credential, name, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (credential_hash) DO NOTHING";
    pub(crate) const PASSKEYS_OF: &str = "SELECT id, user_id, credential, name, created_at, last_used_at FROM passkeys WHERE user_id = $1 ORDER BY created_at, id";
    pub(crate) const PASSKEY_BY_CREDENTIAL: &str = "SELECT id, user_id, credential, name, created_at, last_used_at FROM passkeys WHERE credential_hash = $1";
    pub(crate) const PASSKEY_USED: &str =
        "UPDATE passkeys SET credential = $2, last_used_at = $3 WHERE id = $1";
    pub(crate) const DELETE_PASSKEY: &str = "DELETE FROM passkeys WHERE user_id = $1 AND id = $2";
    pub(crate) const INSERT_CEREMONY: &str = "INSERT INTO webauthn_ceremonies (id, user_id, kind, state, sign_in_challenge, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";
    pub(crate) const TAKE_CEREMONY: &str = "DELETE FROM webauthn_ceremonies WHERE id = $1 AND expires_at > $2 RETURNING user_id, kind, state, sign_in_challenge";
    pub(crate) const PURGE_CEREMONIES: &str =
        "DELETE FROM webauthn_ceremonies WHERE expires_at <= $1";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("INSERT_SESSION", INSERT_SESSION),
        ("TOUCH_SESSION", TOUCH_SESSION),
        ("ROTATE_SESSION", ROTATE_SESSION),
        ("DELETE_SESSION", DELETE_SESSION),
        ("DELETE_SESSION_BY_ID", DELETE_SESSION_BY_ID),
        ("DELETE_OTHER_SESSIONS", DELETE_OTHER_SESSIONS),
        ("SESSION_LISTING", SESSION_LISTING),
        ("PURGE_SESSIONS", PURGE_SESSIONS),
        ("INSERT_SIGN_IN_CHALLENGE", INSERT_SIGN_IN_CHALLENGE),
        ("ATTEMPT_SIGN_IN_CHALLENGE", ATTEMPT_SIGN_IN_CHALLENGE),
        ("PURGE_SIGN_IN_CHALLENGES", PURGE_SIGN_IN_CHALLENGES),
        ("DELETE_SIGN_IN_CHALLENGE", DELETE_SIGN_IN_CHALLENGE),
        ("PUT_PENDING_TOTP", PUT_PENDING_TOTP),
        ("TOTP_OF", TOTP_OF),
        ("ACCEPT_TOTP_STEP", ACCEPT_TOTP_STEP),
        ("DELETE_TOTP", DELETE_TOTP),
        ("REPLACE_RECOVERY_CODES", REPLACE_RECOVERY_CODES),
        ("USE_RECOVERY_CODE", USE_RECOVERY_CODE),
        ("RECOVERY_CODES_LEFT", RECOVERY_CODES_LEFT),
        ("DELETE_RECOVERY_CODES", DELETE_RECOVERY_CODES),
        ("DELETE_SECOND_FACTORS_OF", DELETE_SECOND_FACTORS_OF),
        ("DELETE_SECOND_FACTORS_OF_2", DELETE_SECOND_FACTORS_OF_2),
        ("DELETE_SECOND_FACTORS_OF_3", DELETE_SECOND_FACTORS_OF_3),
        ("THROTTLE", THROTTLE),
        ("PUT_THROTTLE", PUT_THROTTLE),
        ("RESERVE_ATTEMPT", RESERVE_ATTEMPT),
        ("BLOCK_BUCKET", BLOCK_BUCKET),
        ("LIFT_OWN_BLOCK", LIFT_OWN_BLOCK),
        ("RELEASE_ATTEMPT", RELEASE_ATTEMPT),
        ("MARK_WARNED", MARK_WARNED),
        ("CLEAR_THROTTLE", CLEAR_THROTTLE),
        ("REMEMBER_REGULAR", REMEMBER_REGULAR),
        ("REGULARS_OF", REGULARS_OF),
        ("FORGET_REGULAR", FORGET_REGULAR),
        ("PURGE_REGULARS", PURGE_REGULARS),
        ("PURGE_THROTTLES", PURGE_THROTTLES),
        ("CREDENTIAL_POLICY", CREDENTIAL_POLICY),
        ("SET_CREDENTIAL_POLICY", SET_CREDENTIAL_POLICY),
        ("INSERT_PASSKEY", INSERT_PASSKEY),
        ("PASSKEYS_OF", PASSKEYS_OF),
        ("PASSKEY_BY_CREDENTIAL", PASSKEY_BY_CREDENTIAL),
        ("PASSKEY_USED", PASSKEY_USED),
        ("DELETE_PASSKEY", DELETE_PASSKEY),
        ("INSERT_CEREMONY", INSERT_CEREMONY),
        ("TAKE_CEREMONY", TAKE_CEREMONY),
        ("PURGE_CEREMONIES", PURGE_CEREMONIES),
    ];
}
