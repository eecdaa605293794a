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
    /// `reauthentication_required`, `stronger_sign_in_required`, `internal`.
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

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let msg = e.to_string();
        match e {
            AppError::Unauthenticated => {
                Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", msg)
            }
            AppError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "not_found", msg),
            AppError::Forbidden(_) => Self {
                denied: true,
                ..Self::new(StatusCode::FORBIDDEN, "forbidden", msg)
            },
            AppError::Invalid(v) => Self {
                denied: false,
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "invalid_input",
                message: v.to_string(),
                field: Some(v.field),
                retry_after: None,
            },
            AppError::TooManyAttempts { retry_after_secs } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", msg)
            },
            AppError::ReauthenticationRequired => {
                Self::new(StatusCode::FORBIDDEN, "reauthentication_required", msg)
            }
            AppError::StrongerSignInRequired(_) => {
                Self::new(StatusCode::FORBIDDEN, "stronger_sign_in_required", msg)
            }
            AppError::Conflict(_) => Self::new(StatusCode::CONFLICT, "conflict", msg),
            AppError::Malformed(_) => Self::malformed(msg),
            AppError::TooLarge(_) => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", msg)
            }
            AppError::UnsupportedType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                msg,
            ),
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on our side; it has been logged",
                )
            }
            AppError::Integrity(detail) => {
                tracing::error!(error = %detail, "stored data failed its integrity check");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "integrity_failure", msg)
            }
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
