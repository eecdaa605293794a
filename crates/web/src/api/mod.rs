//! The JSON API under `/api/v1`, one module per resource family. Every handler is annotated for
//! the OpenAPI document, which is generated from these annotations and served at
//! `/api/v1/openapi.json`.

pub mod audit;
pub mod comments;
mod document;
pub mod erasure;
pub mod exports;
pub mod files;
pub mod ideas;
pub mod identity;
pub mod notifications;
pub mod password;
pub mod requests;
pub mod retention;
pub mod session;
pub mod spaces;
pub mod support;
pub mod termination;
pub mod workspace;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// Top-level facts of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ideaweave API",
        description = "Workspaces, spaces, discussions, ideas, comments, votes, ratings, files and members. \
            Authenticate with `Authorization: Bearer <token>` (a workspace API token) or the `iw_session` cookie \
            from `POST /api/v1/session`; cookie-authenticated requests that change state must send `X-CSRF-Token`. \
            Errors always have the shape `{\"error\":{\"code\":…,\"message\":…}}`. \
            Numbers the schemas type as `integer` must be sent as JSON integers (`20`, not `20.0` or `\"20\"`); \
            request bodies must be UTF-8 JSON objects without repeated keys; text is checked after leading and \
            trailing spaces are trimmed, and may not contain control characters or invisible reordering marks."
    ),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    components(schemas(crate::error::ErrorBody, ideaweave_domain::paging::IdeaSort))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::extract::SESSION_COOKIE,
            ))),
        );
    }
}

pub(crate) use document::finish as finish_document;

/// Every API route, with its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(session::login, session::logout))
        .routes(routes!(identity::second_factor))
        .routes(routes!(identity::passkey_second_factor_options))
        .routes(routes!(identity::start_passkey_sign_in))
        .routes(routes!(identity::finish_passkey_sign_in))
        .routes(routes!(identity::start_passkey_registration))
        .routes(routes!(
            identity::list_passkeys,
            identity::finish_passkey_registration
        ))
        .routes(routes!(identity::remove_passkey))
        .routes(routes!(identity::reauthenticate, identity::reauth_methods))
        .routes(routes!(identity::start_passkey_reauth))
        .routes(routes!(identity::finish_passkey_reauth))
        .routes(routes!(
            identity::list_sessions,
            identity::revoke_other_sessions
        ))
        .routes(routes!(identity::revoke_session))
        .routes(routes!(identity::change_password))
        .routes(routes!(identity::second_factors))
        .routes(routes!(identity::start_totp, identity::remove_totp))
        .routes(routes!(identity::confirm_totp))
        .routes(routes!(identity::regenerate_recovery_codes))
        .routes(routes!(
            identity::get_oidc,
            identity::set_oidc,
            identity::remove_oidc
        ))
        .routes(routes!(
            identity::get_saml,
            identity::set_saml,
            identity::remove_saml
        ))
        .routes(routes!(
            support::list_support_grants,
            support::grant_support
        ))
        .routes(routes!(support::revoke_support))
        .routes(routes!(support::support_invitations))
        .routes(routes!(
            identity::get_credential_policy,
            identity::set_credential_policy
        ))
        .routes(routes!(
            session::me,
            session::rename_me,
            erasure::delete_account
        ))
        .routes(routes!(erasure::deletion_statement))
        .routes(routes!(session::request_email_change))
        .routes(routes!(
            session::email_change_info,
            session::confirm_email_change
        ))
        .routes(routes!(session::personal_data))
        .routes(routes!(session::get_restriction, session::set_restriction))
        .routes(routes!(session::invitation_info))
        .routes(routes!(session::accept_invitation))
        .routes(routes!(password::request_reset))
        .routes(routes!(password::reset_info, password::reset_password))
        .routes(routes!(
            workspace::get_workspace,
            workspace::rename_workspace
        ))
        .routes(routes!(workspace::create_stage))
        .routes(routes!(workspace::update_stage, workspace::delete_stage))
        .routes(routes!(workspace::create_criterion))
        .routes(routes!(
            workspace::update_criterion,
            workspace::delete_criterion
        ))
        .routes(routes!(workspace::list_members))
        .routes(routes!(workspace::change_role, workspace::remove_member))
        .routes(routes!(workspace::list_invitations, workspace::invite))
        .routes(routes!(workspace::revoke_invitation))
        .routes(routes!(workspace::list_tokens, workspace::create_token))
        .routes(routes!(workspace::revoke_token))
        .routes(routes!(
            notifications::get_notifications,
            notifications::set_notifications
        ))
        .routes(routes!(retention::get_retention, retention::set_retention))
        .routes(routes!(
            erasure::get_erasure_policy,
            erasure::set_erasure_policy
        ))
        .routes(routes!(erasure::erase_person))
        .routes(routes!(exports::request_export, exports::list_exports))
        .routes(routes!(exports::get_export))
        .routes(routes!(exports::download_export))
        .routes(routes!(requests::list_requests, requests::record_request))
        .routes(routes!(requests::get_request))
        .routes(routes!(requests::resolve_request))
        .routes(routes!(requests::erase_for_request))
        .routes(routes!(requests::personal_data_for_request))
        .routes(routes!(
            termination::get_termination,
            termination::request_termination,
            termination::cancel_termination
        ))
        .routes(routes!(spaces::list_spaces, spaces::create_space))
        .routes(routes!(
            spaces::get_space,
            spaces::update_space,
            spaces::delete_space
        ))
        .routes(routes!(
            spaces::list_space_members,
            spaces::add_space_member
        ))
        .routes(routes!(spaces::remove_space_member))
        .routes(routes!(spaces::list_discussions, spaces::create_discussion))
        .routes(routes!(spaces::get_discussion, spaces::update_discussion))
        .routes(routes!(ideas::list_ideas, ideas::create_idea))
        .routes(routes!(
            ideas::get_idea,
            ideas::update_idea,
            ideas::delete_idea
        ))
        .routes(routes!(ideas::restore_idea))
        .routes(routes!(ideas::set_stage))
        .routes(routes!(ideas::merge_idea))
        .routes(routes!(ideas::unmerge_idea))
        .routes(routes!(ideas::vote, ideas::unvote))
        .routes(routes!(ideas::rate, ideas::unrate))
        .routes(routes!(comments::list_comments, comments::create_comment))
        .routes(routes!(comments::update_comment, comments::delete_comment))
        .routes(routes!(files::upload))
        .routes(routes!(files::get_attachment, files::delete_attachment))
        .routes(routes!(files::download))
        .routes(routes!(files::add_link))
        .routes(routes!(files::delete_link))
        .routes(routes!(audit::list_events))
        .routes(routes!(audit::event_proof))
        .routes(routes!(audit::export))
        .routes(routes!(audit::checkpoint))
        .routes(routes!(audit::verifier_key))
        .routes(routes!(audit::consistency))
}
