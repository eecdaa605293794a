//! The one place where errors become HTTP responses.
//!
//! Every failure leaves the API in one shape, `{"error":{"code":…,"message":…}}`, with the status
//! that says what happened. Internal errors are logged in full and answered with a generic
//! message: a client learns nothing about the server's insides.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ideaweave_app::AppError;
use serde::Serialize;
use utoipa::ToSchema;

/// An error as the API reports it.
#[derive(Debug)]
pub struct ApiError {
    /// A permission check refused the request (recorded in the audit trail).
    denied: bool,
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    /// For 429: seconds to wait, sent as `Retry-After` and in the body.
    retry_after: Option<u64>,
}

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code: `unauthenticated`, `forbidden`, `not_found`,
    /// `invalid_input`, `malformed_request`, `conflict`, `payload_too_large`,
    /// `unsupported_media_type`, `method_not_allowed`, `too_many_attempts`,
    /// `reauthentication_required`, `stronger_sign_in_required`, `internal`, `unavailable`.
    code: &'static str,
    /// A sentence for people.
    message: String,
    /// For `invalid_input`: the input field that was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// For `too_many_attempts`: seconds until the next attempt is considered (also sent as the
    /// `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_secs: Option<u64>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            denied: false,
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// A malformed request (bad path, query or body syntax).
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_request", message)
    }

    /// The route does not exist.
    pub fn no_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such endpoint; see /api/v1/openapi.json",
        )
    }
}

/// What an application error means over HTTP: the one mapping, for the API and the pages alike.
/// Every variant is named, so a new one cannot slip through as a 500.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meaning {
    /// The status of the response.
    pub status: StatusCode,
    /// The API's machine-readable code.
    pub code: &'static str,
    /// Whether the message may be shown: it is about the caller's own input or situation and
    /// never names anything the caller cannot see.
    pub shown: bool,
}

/// The meaning of `e`.
pub(crate) fn meaning(e: &AppError) -> Meaning {
    let m = |status, code, shown| Meaning {
        status,
        code,
        shown,
    };
    match e {
        AppError::Unauthenticated => m(StatusCode::UNAUTHORIZED, "unauthenticated", false),
        AppError::NotFound(_) => m(StatusCode::NOT_FOUND, "not_found", false),
        AppError::Forbidden(_) => m(StatusCode::FORBIDDEN, "forbidden", false),
        AppError::Invalid(_) => m(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", true),
        AppError::Malformed(_) => m(StatusCode::BAD_REQUEST, "malformed_request", true),
        AppError::Conflict(_) => m(StatusCode::CONFLICT, "conflict", true),
        AppError::TooLarge(_) => m(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", true),
        AppError::UnsupportedType(_) => m(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            true,
        ),
        AppError::TooManyAttempts { .. } => {
            m(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", true)
        }
        AppError::ReauthenticationRequired => {
            m(StatusCode::FORBIDDEN, "reauthentication_required", true)
        }
        AppError::StrongerSignInRequired(_) => {
            m(StatusCode::FORBIDDEN, "stronger_sign_in_required", true)
        }
        AppError::Internal(_) => m(StatusCode::INTERNAL_SERVER_ERROR, "internal", false),
        AppError::Unavailable(_) => m(StatusCode::SERVICE_UNAVAILABLE, "unavailable", true),
        AppError::Integrity(_) => m(
            StatusCode::INTERNAL_SERVER_ERROR,
            "integrity_failure",
            false,
        ),
    }
}

/// Logs a failure the caller cannot fix, with its whole cause chain, inside the request's span
/// (so the line names the request id and route). Called where an error becomes a response.
pub(crate) fn report(e: &AppError) {
    match e {
        AppError::Internal(_) => tracing::error!(error = %e.chain(), "internal error"),
        AppError::Unavailable(_) => {
            tracing::error!(error = %e.chain(), "a service the request needs is unavailable");
        }
        AppError::Integrity(detail) => {
            tracing::error!(error = %detail, "stored data failed its integrity check");
        }
        _ => {}
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        report(&e);
        let meaning = meaning(&e);
        let message = match &e {
            AppError::Invalid(v) => v.to_string(),
            AppError::Internal(_) => "something went wrong on our side; it has been logged".into(),
            other => other.to_string(),
        };
        Self {
            denied: matches!(e, AppError::Forbidden(_)),
            status: meaning.status,
            code: meaning.code,
            message,
            field: match &e {
                AppError::Invalid(v) => Some(v.field.clone()),
                _ => None,
            },
            retry_after: match e {
                AppError::TooManyAttempts { retry_after_secs } => Some(retry_after_secs),
                _ => None,
            },
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::malformed(format!("invalid path: {}", r.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            format!("invalid query string: {}", r.body_text()),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
                retry_after_secs: self.retry_after,
            },
        };
        let mut response = match self.retry_after {
            Some(secs) => (
                self.status,
                [(axum::http::header::RETRY_AFTER, secs.to_string())],
                Json(body),
            )
                .into_response(),
            None => (self.status, Json(body)).into_response(),
        };
        if self.denied {
            response.extensions_mut().insert(PermissionDenied);
        }
        response
    }
}

/// Marks a response to a request a permission check refused, for the layer that records such
/// attempts in the audit trail (AUD-01).
#[derive(Debug, Clone, Copy)]
pub struct PermissionDenied;

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
