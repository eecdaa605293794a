//! Erasure (DSR-03): a workspace's policy for deleted accounts, an admin erasing a person, and
//! a person deleting their own account.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ideaweave_app::*;
use ideaweave_domain::UserId;

use crate::AppState;
use crate::api::identity::session::session_cookie_header;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Caller, Ws};

/// What this workspace does with the contributions of a person who deletes their account:
/// `anonymise` (the default: they stay, attributed to a former member; personal fields and
/// files go) or `purge` (they go too). Every member may read it.
#[utoipa::path(get, path = "/workspaces/{slug}/erasure-policy", tag = "privacy", params(("slug" = String, Path)),
    responses((status = 200, body = ErasurePolicy), (status = "4XX", body = ErrorBody)))]
pub async fn get_erasure_policy(
    State(s): State<AppState>,
    Ws(m): Ws,
) -> ApiResult<Json<ErasurePolicy>> {
    Ok(Json(s.app.erasure_policy(&m).await?))
}

/// Set the workspace's erasure policy for deleted accounts (admins); recorded as a settings
/// change.
#[utoipa::path(put, path = "/workspaces/{slug}/erasure-policy", tag = "privacy", params(("slug" = String, Path)),
    request_body = ErasurePolicy,
    responses((status = 200, body = ErasurePolicy), (status = "4XX", body = ErrorBody)))]
pub async fn set_erasure_policy(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiJson(p): ApiJson<ErasurePolicy>,
) -> ApiResult<Json<ErasurePolicy>> {
    Ok(Json(s.app.set_erasure_policy(&m, p).await?))
}

/// Erase a person from this workspace (admins, signed-in sessions only; not yourself, not the
/// last owner, nobody above your role). `anonymise` keeps their ideas, comments, votes,
/// ratings and links attributed to a former member; `purge` removes them (ideas with the
/// threads under them; replies to their comments move up). Either way their files, membership,
/// tokens, sessions, waiting notifications and queued mail go, their data key is
/// crypto-shredded, and one pseudonymous `person.erased` event remains. This cannot be undone.
#[utoipa::path(post, path = "/workspaces/{slug}/people/{user_id}/erasure", tag = "privacy",
    params(("slug" = String, Path), ("user_id" = UserId, Path)), request_body = ErasureInput,
    responses((status = 200, body = ErasureReport), (status = "4XX", body = ErrorBody)))]
pub async fn erase_person(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiPath((_, user)): ApiPath<(String, UserId)>,
    ApiJson(i): ApiJson<ErasureInput>,
) -> ApiResult<Json<ErasureReport>> {
    Ok(Json(s.app.erase_person(&m, user, i).await?))
}

/// What deleting your account would do: per workspace holding your data, your role, what it
/// does with your contributions (its policy) and how many there are, and whether anything
/// stops the deletion (being a workspace's only owner). Signed-in sessions only.
#[utoipa::path(get, path = "/me/deletion", tag = "privacy",
    responses((status = 200, body = DeletionStatement), (status = "4XX", body = ErrorBody)))]
pub async fn deletion_statement(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<DeletionStatement>> {
    Ok(Json(s.app.deletion_statement(&p).await?))
}

/// Delete your account (right to erasure). Type your email address in `confirm`. You are
/// erased from every workspace under its policy (see `GET /me/deletion`), every session ends,
/// and your account key is crypto-shredded. Signed-in sessions only; this cannot be undone.
#[utoipa::path(delete, path = "/me", tag = "privacy", request_body = AccountDeletionInput,
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn delete_account(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(i): ApiJson<AccountDeletionInput>,
) -> ApiResult<Response> {
    s.app.delete_account(&p, i).await?;
    let clear = session_cookie_header(&s, "", 0)?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}
