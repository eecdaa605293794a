//! Single sign-on data (IDN-03): a workspace's identity provider, sign-ins waiting for its
//! answer, and which account each of its subjects is. Every row leads with the workspace.

use ideaweave_domain::{UserId, WorkspaceId};
use uuid::Uuid;

use crate::{StoreResult, Tx};

/// A workspace's OpenID Connect provider (the client secret sealed with the workspace key).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OidcConfigRecord {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Vec<u8>,
    pub allowed_domains: String,
    pub group_claim: Option<String>,
    pub allowed_groups: String,
    pub default_role: String,
    pub updated_at: i64,
}

/// A workspace's SAML identity provider and its own service-provider key pair (the private key
/// sealed with the workspace key).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SamlConfigRecord {
    pub idp_entity_id: String,
    pub idp_metadata: String,
    pub sp_key: Vec<u8>,
    pub sp_certificate: String,
    pub allowed_domains: String,
    pub group_attribute: Option<String>,
    pub trust_email_attribute: bool,
    pub allowed_groups: String,
    pub default_role: String,
    pub updated_at: i64,
}

/// A sign-in to record while the person is at the provider.
#[derive(Debug, Clone, Copy)]
pub struct NewSsoLogin<'a> {
    pub workspace: WorkspaceId,
    pub state_hash: &'a [u8],
    pub secrets: &'a [u8],
    pub next: &'a str,
    pub expires_at: i64,
    pub browser_hash: &'a [u8],
    pub link_user: Option<UserId>,
    /// The protocol step it waits at (`oidc`, `saml`, `saml-finish`): a state from one step is
    /// never taken by another.
    pub protocol: &'a str,
}

/// A sign-in that came back from the provider.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SsoLoginRecord {
    pub secrets: Vec<u8>,
    pub next: String,
    pub browser_hash: Option<Vec<u8>>,
    pub link_user: Option<Uuid>,
}

impl Tx {
    /// The workspace's OpenID Connect provider, if it has one.
    pub async fn oidc_config(&mut self, ws: WorkspaceId) -> StoreResult<Option<OidcConfigRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::OIDC_CONFIG)
                .bind(ws.0)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Sets the workspace's OpenID Connect provider.
    pub async fn put_oidc_config(
        &mut self,
        ws: WorkspaceId,
        r: &OidcConfigRecord,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::PUT_OIDC_CONFIG)
                .bind(ws.0)
                .bind(&r.issuer)
                .bind(&r.client_id)
                .bind(&r.client_secret)
                .bind(&r.allowed_domains)
                .bind(&r.group_claim)
                .bind(&r.allowed_groups)
                .bind(&r.default_role)
                .bind(r.updated_at)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Removes the workspace's OpenID Connect provider; false when it had none.
    pub async fn delete_oidc_config(&mut self, ws: WorkspaceId) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(sql::DELETE_OIDC_CONFIG)
                .bind(ws.0)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Records a sign-in waiting for the provider's answer: bound to the browser whose cookie
    /// hashes to `browser_hash`, and linking `link_user`'s account when they asked for that.
    pub async fn insert_sso_login(&mut self, l: NewSsoLogin<'_>) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_SSO_LOGIN)
                .bind(l.workspace.0)
                .bind(l.state_hash)
                .bind(l.secrets)
                .bind(l.next)
                .bind(l.expires_at)
                .bind(l.browser_hash)
                .bind(l.link_user.map(|u| u.0))
                .bind(l.protocol)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Takes out the live sign-in with this state at this protocol step (used once).
    pub async fn take_sso_login(
        &mut self,
        ws: WorkspaceId,
        state_hash: &[u8],
        protocol: &str,
        now: i64,
    ) -> StoreResult<Option<SsoLoginRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::TAKE_SSO_LOGIN)
                .bind(ws.0)
                .bind(state_hash)
                .bind(protocol)
                .bind(now)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Forgets every provider identity linked to `user` (their password was reset: whoever
    /// linked a provider before must not keep a way in).
    pub async fn delete_sso_identities_of(&mut self, user: UserId) -> StoreResult<u64> {
        Ok(on_conn!(self, |c| {
            sqlx::query(sql::DELETE_SSO_IDENTITIES_OF)
                .bind(user.0)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// Forgets which account each of the workspace's subjects of `protocol` is (its provider's
    /// identity or keys changed: links made under the old ones must not carry over).
    pub async fn delete_sso_identities_in(
        &mut self,
        ws: WorkspaceId,
        protocol: &str,
    ) -> StoreResult<u64> {
        Ok(on_conn!(self, |c| {
            sqlx::query(sql::DELETE_SSO_IDENTITIES_IN)
                .bind(ws.0)
                .bind(protocol)
                .execute(c)
                .await?
                .rows_affected()
        }))
    }

    /// Deletes sign-ins that were never answered, and remembered SAML assertions that have
    /// expired (they would be refused as expired anyway).
    pub async fn purge_sso_logins(&mut self, now: i64) -> StoreResult<u64> {
        Ok(on_conn!(self, |c| {
            let logins = sqlx::query(sql::PURGE_SSO_LOGINS)
                .bind(now)
                .execute(&mut *c)
                .await?
                .rows_affected();
            let seen = sqlx::query(sql::PURGE_SSO_LOGINS_2)
                .bind(now)
                .execute(&mut *c)
                .await?
                .rows_affected();
            logins + seen
        }))
    }

    /// The workspace's SAML identity provider, if it has one.
    pub async fn saml_config(&mut self, ws: WorkspaceId) -> StoreResult<Option<SamlConfigRecord>> {
        Ok(on_conn!(self, |c| {
            sqlx::query_as(sql::SAML_CONFIG)
                .bind(ws.0)
                .fetch_optional(c)
                .await?
        }))
    }

    /// Sets the workspace's SAML identity provider.
    pub async fn put_saml_config(
        &mut self,
        ws: WorkspaceId,
        r: &SamlConfigRecord,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::PUT_SAML_CONFIG)
                .bind(ws.0)
                .bind(&r.idp_entity_id)
                .bind(&r.idp_metadata)
                .bind(&r.sp_key)
                .bind(&r.sp_certificate)
                .bind(&r.allowed_domains)
                .bind(&r.group_attribute)
                .bind(&r.allowed_groups)
                .bind(&r.default_role)
                .bind(r.updated_at)
                .bind(r.trust_email_attribute)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Removes the workspace's SAML identity provider; false when it had none.
    pub async fn delete_saml_config(&mut self, ws: WorkspaceId) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(sql::DELETE_SAML_CONFIG)
                .bind(ws.0)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Remembers an accepted assertion until it expires; false when it was accepted before
    /// (a replay).
    pub async fn remember_saml_assertion(
        &mut self,
        ws: WorkspaceId,
        assertion_hash: &[u8],
        expires_at: i64,
    ) -> StoreResult<bool> {
        let done = on_conn!(self, |c| {
            sqlx::query(sql::REMEMBER_SAML_ASSERTION)
                .bind(ws.0)
                .bind(assertion_hash)
                .bind(expires_at)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// The account a provider's subject is in this workspace.
    pub async fn sso_identity(
        &mut self,
        ws: WorkspaceId,
        subject_hash: &[u8],
    ) -> StoreResult<Option<UserId>> {
        let id: Option<Uuid> = on_conn!(self, |c| {
            sqlx::query_scalar(sql::SSO_IDENTITY)
                .bind(ws.0)
                .bind(subject_hash)
                .fetch_optional(c)
                .await?
        });
        Ok(id.map(UserId))
    }

    /// Records which account a provider's subject is (linked through `protocol`).
    pub async fn insert_sso_identity(
        &mut self,
        ws: WorkspaceId,
        subject_hash: &[u8],
        user: UserId,
        protocol: &str,
        now: i64,
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::INSERT_SSO_IDENTITY)
                .bind(ws.0)
                .bind(subject_hash)
                .bind(user.0)
                .bind(now)
                .bind(protocol)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Remembers how a single-sign-on session ends at its provider (sealed).
    pub async fn set_session_sso_logout(
        &mut self,
        token_hash: &[u8],
        sealed: &[u8],
    ) -> StoreResult<()> {
        on_conn!(self, |c| {
            sqlx::query(sql::SET_SESSION_SSO_LOGOUT)
                .bind(token_hash)
                .bind(sealed)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// The session's person, public id and sealed provider logout, if it has one.
    pub async fn session_sso_logout(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<(UserId, Uuid, Vec<u8>)>> {
        let row: Option<(Uuid, Uuid, Option<Vec<u8>>)> = on_conn!(self, |c| {
            sqlx::query_as(sql::SESSION_SSO_LOGOUT)
                .bind(token_hash)
                .fetch_optional(c)
                .await?
        });
        Ok(row.and_then(|(u, id, s)| s.map(|s| (UserId(u), id, s))))
    }
}

/// The statements of this module, named after the operation that runs them. Written once for
/// both databases; `statements()` lists them for the test that prepares each on both.
pub(crate) mod sql {
    pub(crate) const OIDC_CONFIG: &str = "SELECT issuer, client_id, client_secret, allowed_domains, group_claim, allowed_groups, default_role, updated_at \
                            FROM workspace_oidc WHERE workspace_id = $1";
    pub(crate) const PUT_OIDC_CONFIG: &str = "INSERT INTO workspace_oidc (workspace_id, issuer, client_id, client_secret, allowed_domains, group_claim, allowed_groups, default_role, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (workspace_id) DO UPDATE SET issuer = excluded.issuer, \
                         client_id = excluded.client_id, client_secret = excluded.client_secret, allowed_domains = excluded.allowed_domains, \
                         group_claim = excluded.group_claim, allowed_groups = excluded.allowed_groups, default_role = excluded.default_role, \
                         updated_at = excluded.updated_at";
    pub(crate) const DELETE_OIDC_CONFIG: &str =
        "DELETE FROM workspace_oidc WHERE workspace_id = $1";
    pub(crate) const INSERT_SSO_LOGIN: &str = "INSERT INTO sso_logins (workspace_id, state_hash, secrets, next, expires_at, browser_hash, link_user, protocol) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    pub(crate) const TAKE_SSO_LOGIN: &str = "DELETE FROM sso_logins WHERE workspace_id = $1 AND state_hash = $2 AND protocol = $3 AND expires_at > $4 \
                            RETURNING secrets, next, browser_hash, link_user";
    pub(crate) const DELETE_SSO_IDENTITIES_OF: &str =
        "DELETE FROM sso_identities WHERE user_id = $1";
    pub(crate) const DELETE_SSO_IDENTITIES_IN: &str =
        "DELETE FROM sso_identities WHERE workspace_id = $1 AND protocol = $2";
    pub(crate) const PURGE_SSO_LOGINS: &str = "DELETE FROM sso_logins WHERE expires_at <= $1";
    pub(crate) const PURGE_SSO_LOGINS_2: &str =
        "DELETE FROM saml_assertions_seen WHERE expires_at <= $1";
    pub(crate) const SAML_CONFIG: &str = "SELECT idp_entity_id, idp_metadata, sp_key, sp_certificate, allowed_domains, group_attribute, trust_email_attribute, allowed_groups, default_role, updated_at \
                            FROM workspace_saml WHERE workspace_id = $1";
    pub(crate) const PUT_SAML_CONFIG: &str = "INSERT INTO workspace_saml (workspace_id, idp_entity_id, idp_metadata, sp_key, sp_certificate, allowed_domains, group_attribute, allowed_groups, default_role, updated_at, trust_email_attribute) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (workspace_id) DO UPDATE SET idp_entity_id = excluded.idp_entity_id, \
                         idp_metadata = excluded.idp_metadata, sp_key = excluded.sp_key, sp_certificate = excluded.sp_certificate, \
                         allowed_domains = excluded.allowed_domains, group_attribute = excluded.group_attribute, allowed_groups = excluded.allowed_groups, \
                         default_role = excluded.default_role, updated_at = excluded.updated_at, trust_email_attribute = excluded.trust_email_attribute";
    pub(crate) const DELETE_SAML_CONFIG: &str =
        "DELETE FROM workspace_saml WHERE workspace_id = $1";
    pub(crate) const REMEMBER_SAML_ASSERTION: &str = "INSERT INTO saml_assertions_seen (workspace_id, assertion_hash, expires_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (workspace_id, assertion_hash) DO NOTHING";
    pub(crate) const SSO_IDENTITY: &str =
        "SELECT user_id FROM sso_identities WHERE workspace_id = $1 AND subject_hash = $2";
    pub(crate) const INSERT_SSO_IDENTITY: &str = "INSERT INTO sso_identities (workspace_id, subject_hash, user_id, created_at, protocol) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (workspace_id, subject_hash) DO NOTHING";
    pub(crate) const SET_SESSION_SSO_LOGOUT: &str =
        "UPDATE sessions SET sso_logout = $2 WHERE token_hash = $1";
    pub(crate) const SESSION_SSO_LOGOUT: &str =
        "SELECT user_id, id, sso_logout FROM sessions WHERE token_hash = $1";

    /// Every statement above, by name.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("OIDC_CONFIG", OIDC_CONFIG),
        ("PUT_OIDC_CONFIG", PUT_OIDC_CONFIG),
        ("DELETE_OIDC_CONFIG", DELETE_OIDC_CONFIG),
        ("INSERT_SSO_LOGIN", INSERT_SSO_LOGIN),
        ("TAKE_SSO_LOGIN", TAKE_SSO_LOGIN),
        ("DELETE_SSO_IDENTITIES_OF", DELETE_SSO_IDENTITIES_OF),
        ("DELETE_SSO_IDENTITIES_IN", DELETE_SSO_IDENTITIES_IN),
        ("PURGE_SSO_LOGINS", PURGE_SSO_LOGINS),
        ("PURGE_SSO_LOGINS_2", PURGE_SSO_LOGINS_2),
        ("SAML_CONFIG", SAML_CONFIG),
        ("PUT_SAML_CONFIG", PUT_SAML_CONFIG),
        ("DELETE_SAML_CONFIG", DELETE_SAML_CONFIG),
        ("REMEMBER_SAML_ASSERTION", REMEMBER_SAML_ASSERTION),
        ("SSO_IDENTITY", SSO_IDENTITY),
        ("INSERT_SSO_IDENTITY", INSERT_SSO_IDENTITY),
        ("SET_SESSION_SSO_LOGOUT", SET_SESSION_SSO_LOGOUT),
        ("SESSION_SSO_LOGOUT", SESSION_SSO_LOGOUT),
    ];
}
