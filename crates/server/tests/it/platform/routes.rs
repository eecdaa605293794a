//! The catalogue of every workspace API route, with the resources each needs and who may call
//! it. The authorisation matrix, the bad-input tests and the cross-tenant probes all walk it,
//! and a test checks it covers every operation of the OpenAPI document.

use std::collections::HashMap;

use ideaweave_app::*;
use ideaweave_domain::{RequestKind, Role, TokenScope};
use ideaweave_testkit::{Person, TestApp, TestWorkspace};
use serde_json::Value;

use crate::helpers::png;

/// Who may call a route.
#[derive(Clone, Copy, Debug)]
pub enum Allowed {
    /// Every role, guests included.
    All,
    /// Members, moderators, admins, owners.
    MemberPlus,
    /// Moderators and up.
    ModPlus,
    /// Admins and owners.
    AdminPlus,
    /// Only the fixture's member (the author of the content).
    AuthorOnly,
    /// Nobody with an API token (session-only routes).
    NoToken,
}

impl Allowed {
    pub fn admits(self, r: Role) -> bool {
        match self {
            Allowed::All => true,
            Allowed::MemberPlus => r >= Role::Member,
            Allowed::ModPlus => r >= Role::Moderator,
            Allowed::AdminPlus => r >= Role::Admin,
            Allowed::AuthorOnly => r == Role::Member,
            Allowed::NoToken => false,
        }
    }
}

/// The body a route takes.
#[derive(Clone, Copy, Debug)]
pub enum BodyKind {
    None,
    Json(&'static str),
    Upload,
}

/// One route of the API.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub name: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    pub body: BodyKind,
    pub success: u16,
    pub allowed: Allowed,
    /// True when the route touches content inside a space: a guest not listed in it gets 404.
    pub in_space: bool,
    /// True when the target is a deleted idea: non-moderators get 404.
    pub deleted_target: bool,
}

const fn r(
    name: &'static str,
    method: &'static str,
    path: &'static str,
    body: BodyKind,
    success: u16,
    allowed: Allowed,
    in_space: bool,
) -> Route {
    Route {
        name,
        method,
        path,
        body,
        success,
        allowed,
        in_space,
        deleted_target: false,
    }
}

use Allowed::*;
use BodyKind::{Json as J, None as N, Upload as U};

pub const ROUTES: &[Route] = &[
    r(
        "get_workspace",
        "GET",
        "/workspaces/{slug}",
        N,
        200,
        All,
        false,
    ),
    r(
        "rename_workspace",
        "PATCH",
        "/workspaces/{slug}",
        J(r#"{"name":"Renamed"}"#),
        200,
        AdminPlus,
        false,
    ),
    r(
        "create_stage",
        "POST",
        "/workspaces/{slug}/stages",
        J(r#"{"name":"{uniq}"}"#),
        201,
        AdminPlus,
        false,
    ),
    r(
        "update_stage",
        "PATCH",
        "/workspaces/{slug}/stages/{stage}",
        J(r#"{"name":"{uniq}"}"#),
        200,
        AdminPlus,
        false,
    ),
    r(
        "delete_stage",
        "DELETE",
        "/workspaces/{slug}/stages/{stage}",
        N,
        204,
        AdminPlus,
        false,
    ),
    r(
        "create_criterion",
        "POST",
        "/workspaces/{slug}/criteria",
        J(r#"{"name":"{uniq}"}"#),
        201,
        AdminPlus,
        false,
    ),
    r(
        "update_criterion",
        "PATCH",
        "/workspaces/{slug}/criteria/{criterion}",
        J(r#"{"name":"{uniq}"}"#),
        200,
        AdminPlus,
        false,
    ),
    r(
        "delete_criterion",
        "DELETE",
        "/workspaces/{slug}/criteria/{criterion}",
        N,
        204,
        AdminPlus,
        false,
    ),
    r(
        "list_members",
        "GET",
        "/workspaces/{slug}/members",
        N,
        200,
        MemberPlus,
        false,
    ),
    r(
        "change_role",
        "PATCH",
        "/workspaces/{slug}/members/{target_user}",
        J(r#"{"role":"guest"}"#),
        200,
        AdminPlus,
        false,
    ),
    r(
        "remove_member",
        "DELETE",
        "/workspaces/{slug}/members/{target_user}",
        N,
        204,
        AdminPlus,
        false,
    ),
    r(
        "list_invitations",
        "GET",
        "/workspaces/{slug}/invitations",
        N,
        200,
        AdminPlus,
        false,
    ),
    r(
        "invite",
        "POST",
        "/workspaces/{slug}/invitations",
        J(r#"{"email":"{email}","role":"member"}"#),
        201,
        AdminPlus,
        false,
    ),
    r(
        "revoke_invitation",
        "DELETE",
        "/workspaces/{slug}/invitations/{invitation}",
        N,
        204,
        AdminPlus,
        false,
    ),
    r(
        "list_tokens",
        "GET",
        "/workspaces/{slug}/tokens",
        N,
        200,
        All,
        false,
    ),
    r(
        "get_oidc",
        "GET",
        "/workspaces/{slug}/sso/oidc",
        N,
        200,
        AdminPlus,
        false,
    ),
    r(
        "set_oidc",
        "PUT",
        "/workspaces/{slug}/sso/oidc",
        J(r#"{"issuer":"https://idp.example","client_id":"c","client_secret":"s"}"#),
        200,
        NoToken,
        false,
    ),
    r(
        "remove_oidc",
        "DELETE",
        "/workspaces/{slug}/sso/oidc",
        N,
        204,
        NoToken,
        false,
    ),
    r(
        "list_support_grants",
        "GET",
        "/workspaces/{slug}/support-access",
        N,
        200,
        AdminPlus,
        false,
    ),
    r(
        "grant_support",
        "POST",
        "/workspaces/{slug}/support-access",
        J(r#"{"scope":"read","hours":2}"#),
        201,
        NoToken,
        false,
    ),
    r(
        "revoke_support",
        "DELETE",
        "/workspaces/{slug}/support-access/{support_grant}",
        N,
        204,
        AdminPlus,
        false,
    ),
    r(
        "get_saml",
        "GET",
        "/workspaces/{slug}/sso/saml",
        N,
        200,
        AdminPlus,
        false,
    ),
    r(
        "set_saml",
        "PUT",
        "/workspaces/{slug}/sso/saml",
        J(r#"{"idp_metadata":"<md:EntityDescriptor/>"}"#),
        200,
        NoToken,
        false,
    ),
    r(
        "remove_saml",
        "DELETE",
        "/workspaces/{slug}/sso/saml",
        N,
        204,
        NoToken,
        false,
    ),
    r(
        "get_security",
        "GET",
        "/workspaces/{slug}/security",
        N,
        200,
        All,
        false,
    ),
    r(
        "set_security",
        "PUT",
        "/workspaces/{slug}/security",
        J(r#"{"member_minimum":"password","admin_minimum":"password"}"#),
        200,
        NoToken,
        false,
    ),
    r(
        "create_token",
        "POST",
        "/workspaces/{slug}/tokens",
        J(r#"{"name":"t","scope":"read"}"#),
        201,
        NoToken,
        false,
    ),
    r(
        "revoke_token",
        "DELETE",
        "/workspaces/{slug}/tokens/{own_token}",
        N,
        204,
        All,
        false,
    ),
    r(
        "get_notifications",
        "GET",
        "/workspaces/{slug}/me/notifications",
        N,
        200,
        All,
        false,
    ),
    r(
        "set_notifications",
        "PUT",
        "/workspaces/{slug}/me/notifications",
        J(r#"{"preference":"daily"}"#),
        200,
        All,
        false,
    ),
    r(
        "profile",
        "GET",
        "/workspaces/{slug}/members/{target_user}/profile",
        N,
        200,
        MemberPlus,
        false,
    ),
    r(
        "inbox",
        "GET",
        "/workspaces/{slug}/me/inbox",
        N,
        200,
        All,
        false,
    ),
    r(
        "search",
        "GET",
        "/workspaces/{slug}/search?q=idea",
        N,
        200,
        All,
        false,
    ),
    r(
        "similar_ideas",
        "GET",
        "/workspaces/{slug}/ideas/similar?title=idea",
        N,
        200,
        All,
        false,
    ),
    r(
        "get_search_settings",
        "GET",
        "/workspaces/{slug}/search/settings",
        N,
        200,
        All,
        false,
    ),
    r(
        "set_search_settings",
        "PUT",
        "/workspaces/{slug}/search/settings",
        J(r#"{"language":"de"}"#),
        200,
        AdminPlus,
        false,
    ),
    r(
        "activity",
        "GET",
        "/workspaces/{slug}/me/activity",
        N,
        200,
        All,
        false,
    ),
    r(
        "activity_seen",
        "POST",
        "/workspaces/{slug}/me/activity/seen",
        N,
        204,
        All,
        false,
    ),
    r(
        "read_all",
        "POST",
        "/workspaces/{slug}/me/inbox/read",
        N,
        200,
        All,
        false,
    ),
    r(
        "idea_follow",
        "GET",
        "/workspaces/{slug}/ideas/{idea}/follow",
        N,
        200,
        MemberPlus,
        true,
    ),
    r(
        "set_idea_follow",
        "PUT",
        "/workspaces/{slug}/ideas/{idea}/follow",
        J(r#"{"following":true}"#),
        200,
        MemberPlus,
        true,
    ),
    r(
        "discussion_follow",
        "GET",
        "/workspaces/{slug}/discussions/{discussion}/follow",
        N,
        200,
        MemberPlus,
        true,
    ),
    r(
        "set_discussion_follow",
        "PUT",
        "/workspaces/{slug}/discussions/{discussion}/follow",
        J(r#"{"following":true}"#),
        200,
        MemberPlus,
        true,
    ),
    r(
        "get_retention",
        "GET",
        "/workspaces/{slug}/retention",
        N,
        200,
        All,
        false,
    ),
    r(
        "set_retention",
        "PUT",
        "/workspaces/{slug}/retention",
        J(r#"{"activity_days":60,"deleted_days":14,"invitation_days":3}"#),
        200,
        AdminPlus,
        false,
    ),
    r(
        "get_erasure_policy",
        "GET",
        "/workspaces/{slug}/erasure-policy",
        N,
        200,
        All,
        false,
    ),
    r(
        "set_erasure_policy",
        "PUT",
        "/workspaces/{slug}/erasure-policy",
        J(r#"{"mode":"purge"}"#),
        200,
        AdminPlus,
        false,
    ),
    r(
        "erase_person",
        "POST",
        "/workspaces/{slug}/people/{target_user}/erasure",
        J(r#"{"mode":"anonymise"}"#),
        200,
        NoToken,
        false,
    ),
    r(
        "request_export",
        "POST",
        "/workspaces/{slug}/exports",
        N,
        202,
        NoToken,
        false,
    ),
    r(
        "list_exports",
        "GET",
        "/workspaces/{slug}/exports",
        N,
        200,
        NoToken,
        false,
    ),
    r(
        "get_export",
        "GET",
        "/workspaces/{slug}/exports/{export}",
        N,
        200,
        NoToken,
        false,
    ),
    r(
        "download_export",
        "GET",
        "/workspaces/{slug}/exports/{export}/download",
        N,
        200,
        NoToken,
        false,
    ),
    r(
        "list_requests",
        "GET",
        "/workspaces/{slug}/requests",
        N,
        200,
        AdminPlus,
        false,
    ),
    r(
        "record_request",
        "POST",
        "/workspaces/{slug}/requests",
        J(r#"{"kind":"access","channel":"email","requester":"someone@example.org"}"#),
        201,
        AdminPlus,
        false,
    ),
    r(
        "get_request",
        "GET",
        "/workspaces/{slug}/requests/{request}",
        N,
        200,
        AdminPlus,
        false,
    ),
    r(
        "resolve_request",
        "POST",
        "/workspaces/{slug}/requests/{request}/resolution",
        J(r#"{"state":"done","resolution":"answered"}"#),
        200,
        AdminPlus,
        false,
    ),
    r(
        "erase_for_request",
        "POST",
        "/workspaces/{slug}/requests/{erasure_request}/erasure",
        J(r#"{"mode":"anonymise"}"#),
        200,
        NoToken,
        false,
    ),
    r(
        "personal_data_for_request",
        "GET",
        "/workspaces/{slug}/requests/{access_request}/personal-data",
        N,
        200,
        AdminPlus,
        false,
    ),
    r(
        "get_termination",
        "GET",
        "/workspaces/{slug}/termination",
        N,
        200,
        All,
        false,
    ),
    r(
        "request_termination",
        "POST",
        "/workspaces/{slug}/termination",
        J(r#"{"confirm":"{slug}"}"#),
        200,
        NoToken,
        false,
    ),
    r(
        "cancel_termination",
        "DELETE",
        "/workspaces/{slug}/termination",
        N,
        200,
        NoToken,
        false,
    ),
    r(
        "list_spaces",
        "GET",
        "/workspaces/{slug}/spaces",
        N,
        200,
        All,
        false,
    ),
    r(
        "create_space",
        "POST",
        "/workspaces/{slug}/spaces",
        J(r#"{"name":"New space"}"#),
        201,
        AdminPlus,
        false,
    ),
    r(
        "get_space",
        "GET",
        "/workspaces/{slug}/spaces/{space}",
        N,
        200,
        MemberPlus,
        true,
    ),
    r(
        "update_space",
        "PUT",
        "/workspaces/{slug}/spaces/{space}",
        J(r#"{"name":"Renamed space"}"#),
        200,
        AdminPlus,
        true,
    ),
    r(
        "delete_space",
        "DELETE",
        "/workspaces/{slug}/spaces/{space}",
        N,
        204,
        AdminPlus,
        true,
    ),
    r(
        "list_space_members",
        "GET",
        "/workspaces/{slug}/spaces/{space}/members",
        N,
        200,
        MemberPlus,
        true,
    ),
    r(
        "add_space_member",
        "POST",
        "/workspaces/{slug}/spaces/{space}/members",
        J(r#"{"user_id":"{target_user}"}"#),
        204,
        AdminPlus,
        true,
    ),
    r(
        "remove_space_member",
        "DELETE",
        "/workspaces/{slug}/spaces/{space}/members/{listed_user}",
        N,
        204,
        AdminPlus,
        true,
    ),
    r(
        "list_discussions",
        "GET",
        "/workspaces/{slug}/spaces/{space}/discussions",
        N,
        200,
        MemberPlus,
        true,
    ),
    r(
        "create_discussion",
        "POST",
        "/workspaces/{slug}/spaces/{space}/discussions",
        J(r#"{"kind":"topic","title":"A topic"}"#),
        201,
        ModPlus,
        true,
    ),
    r(
        "get_discussion",
        "GET",
        "/workspaces/{slug}/discussions/{discussion}",
        N,
        200,
        MemberPlus,
        true,
    ),
    r(
        "update_discussion",
        "PATCH",
        "/workspaces/{slug}/discussions/{discussion}",
        J(r#"{"open":false}"#),
        200,
        ModPlus,
        true,
    ),
    r(
        "delete_discussion",
        "DELETE",
        "/workspaces/{slug}/discussions/{discussion}",
        N,
        204,
        AdminPlus,
        true,
    ),
    r(
        "list_ideas",
        "GET",
        "/workspaces/{slug}/discussions/{discussion}/ideas",
        N,
        200,
        MemberPlus,
        true,
    ),
    r(
        "create_idea",
        "POST",
        "/workspaces/{slug}/discussions/{discussion}/ideas",
        J(r#"{"title":"An idea"}"#),
        201,
        MemberPlus,
        true,
    ),
    r(
        "get_idea",
        "GET",
        "/workspaces/{slug}/ideas/{idea}",
        N,
        200,
        MemberPlus,
        true,
    ),
    r(
        "update_idea",
        "PATCH",
        "/workspaces/{slug}/ideas/{idea}",
        J(r#"{"title":"Edited"}"#),
        200,
        MemberPlus,
        true,
    ),
    r(
        "delete_idea",
        "DELETE",
        "/workspaces/{slug}/ideas/{idea}",
        N,
        204,
        MemberPlus,
        true,
    ),
    Route {
        deleted_target: true,
        ..r(
            "restore_idea",
            "POST",
            "/workspaces/{slug}/ideas/{deleted_idea}/restore",
            N,
            200,
            ModPlus,
            true,
        )
    },
    r(
        "set_stage",
        "PUT",
        "/workspaces/{slug}/ideas/{idea}/stage",
        J(r#"{"stage_id":"{stage}"}"#),
        200,
        ModPlus,
        true,
    ),
    r(
        "merge_idea",
        "POST",
        "/workspaces/{slug}/ideas/{idea}/merge",
        J(r#"{"into":"{idea2}"}"#),
        200,
        ModPlus,
        true,
    ),
    r(
        "unmerge_idea",
        "POST",
        "/workspaces/{slug}/ideas/{merged_idea}/unmerge",
        N,
        200,
        ModPlus,
        true,
    ),
    r(
        "vote",
        "PUT",
        "/workspaces/{slug}/ideas/{idea}/vote",
        J(r#"{"direction":"up"}"#),
        200,
        MemberPlus,
        true,
    ),
    r(
        "unvote",
        "DELETE",
        "/workspaces/{slug}/ideas/{idea}/vote",
        N,
        200,
        MemberPlus,
        true,
    ),
    r(
        "rate",
        "PUT",
        "/workspaces/{slug}/ideas/{idea}/ratings/{criterion_rated}",
        J(r#"{"value":4}"#),
        200,
        MemberPlus,
        true,
    ),
    r(
        "unrate",
        "DELETE",
        "/workspaces/{slug}/ideas/{idea}/ratings/{criterion_rated}",
        N,
        200,
        MemberPlus,
        true,
    ),
    r(
        "list_comments",
        "GET",
        "/workspaces/{slug}/ideas/{idea}/comments",
        N,
        200,
        MemberPlus,
        true,
    ),
    r(
        "create_comment",
        "POST",
        "/workspaces/{slug}/ideas/{idea}/comments",
        J(r#"{"body":"A comment"}"#),
        201,
        MemberPlus,
        true,
    ),
    r(
        "update_comment",
        "PATCH",
        "/workspaces/{slug}/comments/{comment}",
        J(r#"{"body":"Edited comment"}"#),
        200,
        AuthorOnly,
        true,
    ),
    r(
        "comment_history",
        "GET",
        "/workspaces/{slug}/comments/{comment}/history",
        N,
        200,
        ModPlus,
        true,
    ),
    r(
        "delete_comment",
        "DELETE",
        "/workspaces/{slug}/comments/{comment}",
        N,
        204,
        MemberPlus,
        true,
    ),
    r(
        "upload",
        "POST",
        "/workspaces/{slug}/ideas/{idea}/attachments",
        U,
        201,
        MemberPlus,
        true,
    ),
    r(
        "get_attachment",
        "GET",
        "/workspaces/{slug}/attachments/{attachment}",
        N,
        200,
        MemberPlus,
        true,
    ),
    r(
        "download",
        "GET",
        "/workspaces/{slug}/attachments/{attachment}/content",
        N,
        200,
        MemberPlus,
        true,
    ),
    r(
        "preview",
        "GET",
        "/workspaces/{slug}/attachments/{attachment}/preview",
        N,
        200,
        MemberPlus,
        true,
    ),
    r(
        "delete_attachment",
        "DELETE",
        "/workspaces/{slug}/attachments/{attachment}",
        N,
        204,
        MemberPlus,
        true,
    ),
    r(
        "add_link",
        "POST",
        "/workspaces/{slug}/ideas/{idea}/links",
        J(r#"{"url":"https://example.org/a"}"#),
        201,
        MemberPlus,
        true,
    ),
    r(
        "delete_link",
        "DELETE",
        "/workspaces/{slug}/links/{link}",
        N,
        204,
        MemberPlus,
        true,
    ),
    r(
        "audit_events",
        "GET",
        "/workspaces/{slug}/audit/events",
        N,
        200,
        AdminPlus,
        false,
    ),
    r(
        "audit_event_proof",
        "GET",
        "/workspaces/{slug}/audit/events/{audit_index}/proof",
        N,
        200,
        AdminPlus,
        false,
    ),
    r(
        "audit_export",
        "GET",
        "/workspaces/{slug}/audit/export",
        N,
        200,
        AdminPlus,
        false,
    ),
];

/// Routes outside workspaces, covered by their own tests.
pub const OTHER_OPERATIONS: &[(&str, &str)] = &[
    // One's own notification: tested in content::inbox (another's id is a 404 to everyone).
    ("POST", "/workspaces/{slug}/me/inbox/{notification_id}/read"),
    ("POST", "/session"),
    ("DELETE", "/session"),
    ("GET", "/me"),
    ("PATCH", "/me"),
    ("DELETE", "/me"),
    ("GET", "/me/deletion"),
    ("POST", "/me/email"),
    ("GET", "/email-change/{token}"),
    ("POST", "/email-change/{token}"),
    ("GET", "/me/personal-data"),
    ("GET", "/me/restriction"),
    ("PUT", "/me/restriction"),
    ("GET", "/me/time-zone"),
    ("PUT", "/me/time-zone"),
    ("GET", "/invitations/{token}"),
    ("POST", "/invitations/{token}/accept"),
    ("POST", "/password-reset"),
    ("GET", "/password-reset/{token}"),
    ("POST", "/password-reset/{token}"),
    ("POST", "/session/second-factor"),
    ("POST", "/session/reauth"),
    ("GET", "/session/reauth"),
    ("POST", "/session/reauth/passkey"),
    ("POST", "/session/reauth/passkey/finish"),
    ("GET", "/me/sessions"),
    ("DELETE", "/me/sessions"),
    ("DELETE", "/me/sessions/{id}"),
    ("PUT", "/me/password"),
    ("GET", "/me/second-factors"),
    ("POST", "/me/second-factors/totp"),
    ("DELETE", "/me/second-factors/totp"),
    ("POST", "/me/second-factors/totp/confirm"),
    ("POST", "/me/second-factors/recovery-codes"),
    ("POST", "/session/passkey"),
    ("POST", "/session/passkey/finish"),
    ("POST", "/session/second-factor/passkey"),
    ("POST", "/me/passkeys/registration"),
    ("GET", "/me/passkeys"),
    ("POST", "/me/passkeys"),
    ("DELETE", "/me/passkeys/{id}"),
    ("GET", "/audit/checkpoint"),
    ("GET", "/audit/key"),
    ("GET", "/audit/consistency"),
    ("GET", "/support/invitations"),
];

/// The workspace and its people used by the route tests.
pub struct Fixture {
    pub ws: TestWorkspace,
    pub admin: Person,
    pub moderator: Person,
    pub member: Person,
    pub guest: Person,
}

impl Fixture {
    pub async fn new(t: &TestApp, slug: &str) -> Self {
        let ws = t.workspace(slug).await;
        let admin = t.member(&ws, "admin", Role::Admin).await;
        let moderator = t.member(&ws, "moderator", Role::Moderator).await;
        let member = t.member(&ws, "member", Role::Member).await;
        let guest = t.member(&ws, "guest", Role::Guest).await;
        Self {
            ws,
            admin,
            moderator,
            member,
            guest,
        }
    }

    pub fn person(&self, role: Role) -> &Person {
        match role {
            Role::Owner => &self.ws.owner,
            Role::Admin => &self.admin,
            Role::Moderator => &self.moderator,
            Role::Member => &self.member,
            Role::Guest => &self.guest,
        }
    }
}

/// Placeholders (`{name}`: lowercase letters, digits, underscores) a path or body template uses.
fn placeholders(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (start, _) in s.match_indices('{') {
        let rest = &s[start + 1..];
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
            .count();
        if len > 0 && rest[len..].starts_with('}') {
            out.push(&rest[..len]);
        }
    }
    out
}

/// Creates, fresh, every resource a route's templates name, acting through the use cases, and
/// returns the values of the placeholders. `actor_email` owns `{own_token}`.
pub async fn prepare(
    t: &TestApp,
    f: &Fixture,
    route: &Route,
    actor: Option<&Person>,
) -> HashMap<&'static str, String> {
    let mut text = route.path.to_owned();
    if let BodyKind::Json(b) = route.body {
        text.push_str(b);
    }
    let wanted: Vec<String> = placeholders(&text).into_iter().map(str::to_owned).collect();
    let want = |k: &str| wanted.iter().any(|w| w == k);
    let owner = f.ws.as_member(&f.ws.owner);
    let member = f.ws.as_member(&f.member);
    let app = &t.app;
    let mut v: HashMap<&'static str, String> = HashMap::new();
    v.insert("slug", f.ws.slug.clone());
    if want("audit_index") {
        let page = app
            .workspace_audit(
                &owner,
                AuditQuery {
                    limit: Some(1),
                    ..AuditQuery::default()
                },
            )
            .await
            .unwrap();
        v.insert("audit_index", page.items[0].index.to_string());
    }
    v.insert("uniq", format!("n{}", uuid::Uuid::new_v4().simple()));
    v.insert(
        "email",
        format!("invitee.{}@example.org", uuid::Uuid::new_v4().simple()),
    );
    let needs_space = [
        "space",
        "discussion",
        "idea",
        "idea2",
        "deleted_idea",
        "merged_idea",
        "comment",
        "attachment",
        "link",
        "criterion_rated",
        "listed_user",
    ]
    .iter()
    .any(|k| want(k));
    let needs_idea = ["idea", "comment", "attachment", "link"]
        .iter()
        .any(|k| want(k))
        || want("criterion_rated");
    if want("stage") {
        let s = app
            .create_stage(
                &owner,
                NamedItemInput {
                    name: format!("stage {}", uuid::Uuid::new_v4()),
                    position: None,
                },
            )
            .await
            .unwrap();
        v.insert("stage", s.id.to_string());
    }
    if want("criterion") {
        let c = app
            .create_criterion(
                &owner,
                NamedItemInput {
                    name: format!("crit {}", uuid::Uuid::new_v4()),
                    position: None,
                },
            )
            .await
            .unwrap();
        v.insert("criterion", c.id.to_string());
    }
    if want("target_user") || want("listed_user") {
        let p = t.member(&f.ws, "target", Role::Member).await;
        v.insert("target_user", p.id.to_string());
        v.insert("listed_user", p.id.to_string());
    }
    if want("invitation") {
        let i = app
            .invite(
                &owner,
                InvitationInput {
                    email: format!("inv.{}@example.org", uuid::Uuid::new_v4().simple()),
                    role: Role::Member,
                },
            )
            .await
            .unwrap();
        v.insert("invitation", i.invitation.id.to_string());
    }
    for (key, kind, subject) in [
        ("request", RequestKind::Access, None),
        ("erasure_request", RequestKind::Erasure, Some(f.member.id)),
        ("access_request", RequestKind::Access, Some(f.member.id)),
    ] {
        if want(key) {
            let r = app
                .record_request(
                    &owner,
                    RequestInput {
                        kind,
                        channel: ideaweave_domain::RequestChannel::Email,
                        requester: "someone@example.org".into(),
                        subject_id: subject,
                        details: String::new(),
                        received_at: None,
                    },
                )
                .await
                .unwrap();
            v.insert(key, r.id.to_string());
        }
    }
    if want("export") {
        // One export at a time: a fixture prepared again reuses its export.
        let job = match app.export_jobs(&owner).await.unwrap().into_iter().next() {
            Some(j) => j,
            None => app.request_export(&owner).await.unwrap(),
        };
        v.insert("export", job.id.to_string());
    }
    if want("support_grant") {
        let grant = app
            .grant_support(
                &owner,
                SupportGrantInput {
                    scope: ideaweave_domain::SupportScope::Read,
                    hours: 1,
                    reason: None,
                },
            )
            .await
            .unwrap();
        v.insert("support_grant", grant.id.to_string());
    }
    if want("own_token") {
        let who = actor.unwrap_or(&f.ws.owner);
        let email = if actor.is_some() {
            who.email.clone()
        } else {
            f.ws.owner.email.clone()
        };
        let tok = app
            .create_token_for(
                &email,
                &f.ws.slug,
                TokenInput {
                    name: "victim".into(),
                    scope: TokenScope::Read,
                    expires_in_days: None,
                },
            )
            .await;
        let id = match tok {
            Ok(tk) => tk.token.id.to_string(),
            Err(_) => app
                .create_token_for(
                    &f.ws.owner.email,
                    &f.ws.slug,
                    TokenInput {
                        name: "victim".into(),
                        scope: TokenScope::Read,
                        expires_in_days: None,
                    },
                )
                .await
                .unwrap()
                .token
                .id
                .to_string(),
        };
        v.insert("own_token", id);
    }
    if needs_space {
        let space = app
            .create_space(
                &owner,
                SpaceInput {
                    name: "Space".into(),
                    description: String::new(),
                    private: false,
                },
            )
            .await
            .unwrap();
        v.insert("space", space.id.to_string());
        if let Some(u) = v.get("listed_user").cloned() {
            app.add_space_member(
                &owner,
                space.id,
                SpaceMemberInput {
                    user_id: u.parse().unwrap(),
                },
            )
            .await
            .unwrap();
        }
        let crit = app
            .create_criterion(
                &owner,
                NamedItemInput {
                    name: format!("rated {}", uuid::Uuid::new_v4()),
                    position: None,
                },
            )
            .await
            .unwrap();
        v.insert("criterion_rated", crit.id.to_string());
        let d = app
            .create_discussion(
                &owner,
                space.id,
                DiscussionInput {
                    kind: DiscussionKind::Challenge,
                    title: "Challenge".into(),
                    description: String::new(),
                    deadline: None,
                    criteria: vec![crit.id],
                },
            )
            .await
            .unwrap();
        v.insert("discussion", d.id.to_string());
        let new_idea = |title: &'static str| IdeaInput {
            title: title.into(),
            body: "Body".into(),
            tags: vec![],
        };
        if needs_idea || want("idea2") {
            let idea = app
                .create_idea(&member, d.id, new_idea("Member's idea"))
                .await
                .unwrap();
            v.insert("idea", idea.summary.id.to_string());
            if want("comment") {
                let c = app
                    .create_comment(
                        &member,
                        idea.summary.id,
                        CommentInput {
                            body: "Hello".into(),
                            parent_id: None,
                        },
                    )
                    .await
                    .unwrap();
                v.insert("comment", c.id.to_string());
            }
            if want("attachment") {
                let a = app
                    .upload(
                        &member,
                        idea.summary.id,
                        None,
                        "pixel.png",
                        futures_util::stream::iter([Ok(png().into())]),
                    )
                    .await
                    .unwrap();
                v.insert("attachment", a.id.to_string());
            }
            if want("link") {
                let l = app
                    .add_link(
                        &member,
                        idea.summary.id,
                        LinkInput {
                            url: "https://example.org".into(),
                            title: String::new(),
                            comment_id: None,
                        },
                    )
                    .await
                    .unwrap();
                v.insert("link", l.id.to_string());
            }
        }
        if want("idea2") {
            let i2 = app
                .create_idea(&owner, d.id, new_idea("Owner's idea"))
                .await
                .unwrap();
            v.insert("idea2", i2.summary.id.to_string());
        }
        if want("deleted_idea") {
            let i = app
                .create_idea(&member, d.id, new_idea("Deleted idea"))
                .await
                .unwrap();
            app.delete_idea(&owner, i.summary.id).await.unwrap();
            v.insert("deleted_idea", i.summary.id.to_string());
        }
        if want("merged_idea") {
            let a = app
                .create_idea(&member, d.id, new_idea("Duplicate"))
                .await
                .unwrap();
            let b = app
                .create_idea(&owner, d.id, new_idea("Original"))
                .await
                .unwrap();
            app.merge(&owner, a.summary.id, MergeInput { into: b.summary.id })
                .await
                .unwrap();
            v.insert("merged_idea", a.summary.id.to_string());
        }
    }
    v
}

/// Fills a template's placeholders.
pub fn fill(template: &str, vars: &HashMap<&'static str, String>) -> String {
    let mut s = template.to_owned();
    for (k, val) in vars {
        s = s.replace(&format!("{{{k}}}"), val);
    }
    if template.starts_with('/') {
        assert!(!s.contains('{'), "unfilled placeholder in {s}");
    }
    s
}

/// The request body of a route with its placeholders filled.
pub fn body(route: &Route, vars: &HashMap<&'static str, String>) -> crate::helpers::Body {
    match route.body {
        BodyKind::None => crate::helpers::Body::None,
        BodyKind::Json(tpl) => {
            let v: Value = serde_json::from_str(&fill(tpl, vars)).expect("template is JSON");
            crate::helpers::Body::Json(v)
        }
        BodyKind::Upload => crate::helpers::Body::Upload {
            filename: "pixel.png",
            bytes: png(),
        },
    }
}
