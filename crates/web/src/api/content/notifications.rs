//! The caller's own email notification preference in a workspace (COL-04).

use axum::Json;
use axum::extract::State;
use ideaweave_app::NotificationSettings;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Ws};

/// Your email notification preference in this workspace: `instant` (an email per event, the
/// default), `daily` (one digest a day) or `off`. Comments on your ideas, replies to your
/// comments and stage changes of your ideas notify you.
#[utoipa::path(get, path = "/workspaces/{slug}/me/notifications", tag = "notifications", params(("slug" = String, Path)),
    responses((status = 200, body = NotificationSettings), (status = "4XX", body = ErrorBody)))]
pub async fn get_notifications(
    State(s): State<AppState>,
    Ws(m): Ws,
) -> ApiResult<Json<NotificationSettings>> {
    Ok(Json(NotificationSettings {
        preference: s.app.notification_preference(&m).await?,
    }))
}

/// Choose your email notification preference in this workspace. `off` also drops what waited
/// for your next digest.
#[utoipa::path(put, path = "/workspaces/{slug}/me/notifications", tag = "notifications", params(("slug" = String, Path)),
    request_body = NotificationSettings,
    responses((status = 200, body = NotificationSettings), (status = "4XX", body = ErrorBody)))]
pub async fn set_notifications(
    State(s): State<AppState>,
    Ws(m): Ws,
    ApiJson(i): ApiJson<NotificationSettings>,
) -> ApiResult<Json<NotificationSettings>> {
    s.app.set_notification_preference(&m, i.preference).await?;
    Ok(Json(i))
}
