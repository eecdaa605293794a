//! Password reset by an emailed, single-use link (IDN-01): ask for a link, see what a link is
//! for, set a new password with it. None of these needs a sign-in: the link is the secret.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ideaweave_app::{NewPasswordInput, PasswordResetInfo, PasswordResetRequest};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Client};

/// Ask for a password reset link for an email address. The answer is 202, after the same time,
/// whether or not the address has an account; for an account, the link is emailed (it works
/// once, for an hour) and replaces any earlier one. 409 when this instance sends no email.
#[utoipa::path(post, path = "/password-reset", tag = "password reset", security(()),
    request_body = PasswordResetRequest,
    responses((status = 202, description = "If the address has an account, a link is on its way"),
        (status = "4XX", body = ErrorBody)))]
pub async fn request_reset(
    State(s): State<AppState>,
    Client(client): Client,
    ApiJson(input): ApiJson<PasswordResetRequest>,
) -> ApiResult<StatusCode> {
    s.app.request_password_reset(&input.email, &client).await?;
    Ok(StatusCode::ACCEPTED)
}

/// What a reset link is for (the account's address, masked) while it can be used: 404 for a
/// link that does not exist or was replaced, 409 for one used or expired.
#[utoipa::path(get, path = "/password-reset/{token}", tag = "password reset", security(()),
    params(("token" = String, Path, description = "The token from the reset link")),
    responses((status = 200, body = PasswordResetInfo), (status = "4XX", body = ErrorBody)))]
pub async fn reset_info(
    State(s): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Json<PasswordResetInfo>> {
    Ok(Json(s.app.password_reset_info(&token).await?))
}

/// Set a new password with a reset link. The link is then used up and every session of the
/// account ends; sign in again with the new password.
#[utoipa::path(post, path = "/password-reset/{token}", tag = "password reset", security(()),
    params(("token" = String, Path, description = "The token from the reset link")),
    request_body = NewPasswordInput,
    responses((status = 204, description = "The password is set"), (status = "4XX", body = ErrorBody)))]
pub async fn reset_password(
    State(s): State<AppState>,
    Client(client): Client,
    ApiPath(token): ApiPath<String>,
    ApiJson(input): ApiJson<NewPasswordInput>,
) -> ApiResult<StatusCode> {
    s.app
        .reset_password(&token, &input.password, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
