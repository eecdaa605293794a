//! The JSON API under `/api/v1`, one module per resource family. Every handler is annotated for
//! the OpenAPI document, which is generated from these annotations and served at
//! `/api/v1/openapi.json`.

pub mod content;
mod document;
pub mod identity;
pub mod privacy;
pub mod transfer;
pub mod trust;
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
    components(schemas(
        crate::error::ErrorBody,
        ideaweave_domain::paging::IdeaSort,
        ideaweave_app::SearchOrder
    ))
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
        .routes(routes!(identity::session::login, identity::session::logout))
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
            trust::support::list_support_grants,
            trust::support::grant_support
        ))
        .routes(routes!(trust::support::revoke_support))
        .routes(routes!(trust::support::support_invitations))
        .routes(routes!(
            identity::get_credential_policy,
            identity::set_credential_policy
        ))
        .routes(routes!(
            identity::session::me,
            identity::session::rename_me,
            privacy::erasure::delete_account
        ))
        .routes(routes!(privacy::erasure::deletion_statement))
        .routes(routes!(identity::session::request_email_change))
        .routes(routes!(
            identity::session::email_change_info,
            identity::session::confirm_email_change
        ))
        .routes(routes!(identity::session::personal_data))
        .routes(routes!(
            identity::session::get_restriction,
            identity::session::set_restriction
        ))
        .routes(routes!(
            identity::session::get_time_zone,
            identity::session::set_time_zone
        ))
        .routes(routes!(identity::session::invitation_info))
        .routes(routes!(identity::session::accept_invitation))
        .routes(routes!(identity::password::request_reset))
        .routes(routes!(
            identity::password::reset_info,
            identity::password::reset_password
        ))
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
        .routes(routes!(workspace::profile))
        .routes(routes!(workspace::list_invitations, workspace::invite))
        .routes(routes!(workspace::revoke_invitation))
        .routes(routes!(workspace::list_tokens, workspace::create_token))
        .routes(routes!(workspace::revoke_token))
        .routes(routes!(
            content::notifications::get_notifications,
            content::notifications::set_notifications
        ))
        .routes(routes!(content::inbox::inbox))
        .routes(routes!(content::inbox::read_one))
        .routes(routes!(content::inbox::read_all))
        .routes(routes!(content::search::search))
        .routes(routes!(content::search::similar_ideas))
        .routes(routes!(
            content::search::get_search_settings,
            content::search::set_search_settings
        ))
        .routes(routes!(content::inbox::activity))
        .routes(routes!(content::inbox::activity_seen))
        .routes(routes!(
            content::inbox::idea_follow,
            content::inbox::set_idea_follow
        ))
        .routes(routes!(
            content::inbox::discussion_follow,
            content::inbox::set_discussion_follow
        ))
        .routes(routes!(
            privacy::retention::get_retention,
            privacy::retention::set_retention
        ))
        .routes(routes!(
            privacy::erasure::get_erasure_policy,
            privacy::erasure::set_erasure_policy
        ))
        .routes(routes!(privacy::erasure::erase_person))
        .routes(routes!(
            transfer::exports::request_export,
            transfer::exports::list_exports
        ))
        .routes(routes!(transfer::exports::get_export))
        .routes(routes!(transfer::exports::download_export))
        .routes(routes!(
            privacy::requests::list_requests,
            privacy::requests::record_request
        ))
        .routes(routes!(privacy::requests::get_request))
        .routes(routes!(privacy::requests::resolve_request))
        .routes(routes!(privacy::requests::erase_for_request))
        .routes(routes!(privacy::requests::personal_data_for_request))
        .routes(routes!(
            privacy::termination::get_termination,
            privacy::termination::request_termination,
            privacy::termination::cancel_termination
        ))
        .routes(routes!(
            content::spaces::list_spaces,
            content::spaces::create_space
        ))
        .routes(routes!(
            content::spaces::get_space,
            content::spaces::update_space,
            content::spaces::delete_space
        ))
        .routes(routes!(
            content::spaces::list_space_members,
            content::spaces::add_space_member
        ))
        .routes(routes!(content::spaces::remove_space_member))
        .routes(routes!(
            content::spaces::list_discussions,
            content::spaces::create_discussion
        ))
        .routes(routes!(
            content::spaces::get_discussion,
            content::spaces::update_discussion,
            content::spaces::delete_discussion
        ))
        .routes(routes!(
            content::ideas::list_ideas,
            content::ideas::create_idea
        ))
        .routes(routes!(
            content::ideas::get_idea,
            content::ideas::update_idea,
            content::ideas::delete_idea
        ))
        .routes(routes!(content::ideas::restore_idea))
        .routes(routes!(content::ideas::set_stage))
        .routes(routes!(content::ideas::merge_idea))
        .routes(routes!(content::ideas::unmerge_idea))
        .routes(routes!(content::ideas::vote, content::ideas::unvote))
        .routes(routes!(content::ideas::rate, content::ideas::unrate))
        .routes(routes!(
            content::comments::list_comments,
            content::comments::create_comment
        ))
        .routes(routes!(
            content::comments::update_comment,
            content::comments::delete_comment
        ))
        .routes(routes!(content::comments::comment_history))
        .routes(routes!(content::files::upload))
        .routes(routes!(
            content::files::get_attachment,
            content::files::delete_attachment
        ))
        .routes(routes!(content::files::download))
        .routes(routes!(content::files::preview))
        .routes(routes!(content::files::add_link))
        .routes(routes!(content::files::delete_link))
        .routes(routes!(trust::audit::list_events))
        .routes(routes!(trust::audit::event_proof))
        .routes(routes!(trust::audit::export))
        .routes(routes!(trust::audit::checkpoint))
        .routes(routes!(trust::audit::verifier_key))
        .routes(routes!(trust::audit::consistency))
}
