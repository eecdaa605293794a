//! A workspace's sign-in set-up for its admins (IDN-02, IDN-03): the weakest sign-in accepted
//! from members and from admins, and single sign-on through an OpenID Connect provider or a
//! SAML identity provider, each with a check against the real provider before anything is
//! saved. Saving and removing need a recent re-authentication, as through the API.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ideaweave_app::*;
use ideaweave_domain::{AuthLevel, Role};

use crate::AppState;
use crate::ui::guard::{Fields, InWorkspace, WsForm};
use crate::ui::identity::session::role_key;
use crate::ui::{Chrome, OrPage, PageError, PageResult, Refusal, framed, page};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/w/{slug}/settings/sign-in", get(setup_page))
        .route("/w/{slug}/settings/sign-in/policy", post(save_policy))
        .route("/w/{slug}/settings/sign-in/oidc", post(save_oidc))
        .route("/w/{slug}/settings/sign-in/oidc/remove", post(remove_oidc))
        .route("/w/{slug}/settings/sign-in/saml", post(save_saml))
        .route("/w/{slug}/settings/sign-in/saml/remove", post(remove_saml))
}

/// The page's address; `#section` is appended after a change.
fn here(w: &InWorkspace) -> String {
    format!("/w/{}/settings/sign-in", w.ws.slug)
}

/// A change that needs a recent re-authentication sends the admin to prove who they are and
/// back to this page.
fn to_reauth(w: &InWorkspace) -> Response {
    Redirect::to(&format!("/reauth?next={}", here(w))).into_response()
}

/// What the OpenID Connect form holds: the saved settings or what was typed.
struct OidcDraft {
    issuer: String,
    client_id: String,
    domains: String,
    group_claim: String,
    groups: String,
    role: Role,
}

/// What the SAML form holds.
struct SamlDraft {
    metadata: String,
    domains: String,
    group_attribute: String,
    groups: String,
    role: Role,
    trust_email: bool,
}

impl Default for OidcDraft {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            client_id: String::new(),
            domains: String::new(),
            group_claim: String::new(),
            groups: String::new(),
            role: Role::Member,
        }
    }
}

impl Default for SamlDraft {
    fn default() -> Self {
        Self {
            metadata: String::new(),
            domains: String::new(),
            group_attribute: String::new(),
            groups: String::new(),
            role: Role::Member,
            trust_email: false,
        }
    }
}

/// A sign-in level as the policy form offers it.
struct LevelChoice {
    value: &'static str,
    key: &'static str,
}

const LEVELS: [(AuthLevel, &str); 3] = [
    (AuthLevel::Password, "signin.level_password"),
    (AuthLevel::Mfa, "signin.level_mfa"),
    (AuthLevel::Passkey, "signin.level_passkey"),
];

/// The roles single sign-on may give on a first sign-in (admins are made by hand).
const SSO_ROLES: [Role; 3] = [Role::Guest, Role::Member, Role::Moderator];

/// What happened on the page: a refusal or a check's result, by section.
#[derive(Default)]
struct Outcome {
    section: &'static str,
    problem: Option<Refusal>,
    /// A test's answer, in the reader's language.
    checked: Option<String>,
    oidc: Option<OidcDraft>,
    saml: Option<SamlDraft>,
}

#[derive(Template)]
#[template(path = "sign_in_setup.html")]
struct SetupPage {
    c: Chrome,
    slug: String,
    levels: Vec<LevelChoice>,
    member_minimum: &'static str,
    admin_minimum: &'static str,
    /// How the visitor signed in, which bounds what they can require of admins.
    mine: &'static str,
    roles: Vec<(&'static str, &'static str)>,
    oidc: Option<OidcSettingsView>,
    oidc_draft: OidcDraft,
    saml: Option<SamlSettingsView>,
    saml_draft: SamlDraft,
    /// This workspace's OpenID Connect redirect URI, to register before the first save.
    redirect_uri: String,
    saved: bool,
    out: Outcome,
}
framed!(SetupPage);

impl SetupPage {
    /// The refusal at `field` of `section`'s form.
    fn error(&self, section: &str, field: &str) -> Option<&str> {
        (self.out.section == section)
            .then_some(self.out.problem.as_ref())
            .flatten()
            .and_then(|p| p.at(field))
    }

    /// A refusal of `section`'s form about none of `fields`.
    fn general(&self, section: &str, fields: &[&str]) -> Option<&str> {
        (self.out.section == section)
            .then_some(self.out.problem.as_ref())
            .flatten()
            .and_then(|p| p.above(fields))
    }

    /// A check's result for `section`.
    fn checked_in(&self, section: &str) -> Option<&str> {
        (self.out.section == section)
            .then_some(self.out.checked.as_deref())
            .flatten()
    }
}

fn joined(list: &[String]) -> String {
    list.join(", ")
}

fn split_list(raw: &str) -> Vec<String> {
    raw.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn render(s: &AppState, w: InWorkspace, out: Outcome, saved: bool) -> PageResult {
    let w = w.at("settings");
    if !w.is_admin() {
        return Err(PageError::new(
            w.c,
            AppError::Forbidden("admins only".into()),
        ));
    }
    let policy = s.app.credential_policy(&w.m).await.or_page(&w.c)?;
    let oidc = s.app.oidc_settings(&w.m).await.or_page(&w.c)?;
    let saml = s.app.saml_settings(&w.m).await.or_page(&w.c)?;
    let mut out = out;
    let oidc_draft = out.oidc.take().unwrap_or_else(|| match &oidc {
        Some(v) => OidcDraft {
            issuer: v.issuer.clone(),
            client_id: v.client_id.clone(),
            domains: joined(&v.allowed_domains),
            group_claim: v.group_claim.clone().unwrap_or_default(),
            groups: joined(&v.allowed_groups),
            role: v.default_role,
        },
        None => OidcDraft::default(),
    });
    let saml_draft = out.saml.take().unwrap_or_else(|| match &saml {
        Some(v) => SamlDraft {
            metadata: String::new(),
            domains: joined(&v.allowed_domains),
            group_attribute: v.group_attribute.clone().unwrap_or_default(),
            groups: joined(&v.allowed_groups),
            role: v.default_role,
            trust_email: v.trust_email_attribute,
        },
        None => SamlDraft::default(),
    });
    let mine =
        w.p.session
            .as_ref()
            .map_or(AuthLevel::Password, |f| f.level);
    let status = if out.problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // How the visitor signed in, in words that follow "You signed in with" (German needs the
    // dative there: "mit einem Passwort").
    let key_of = |l: AuthLevel| match l {
        AuthLevel::Password => "signin.used_password",
        AuthLevel::Mfa => "signin.used_mfa",
        AuthLevel::Passkey => "signin.used_passkey",
    };
    Ok(page(
        status,
        &SetupPage {
            slug: w.ws.slug.clone(),
            levels: LEVELS
                .iter()
                .map(|(l, k)| LevelChoice {
                    value: l.as_str(),
                    key: k,
                })
                .collect(),
            member_minimum: policy.member_minimum.as_str(),
            admin_minimum: policy.admin_minimum.as_str(),
            mine: key_of(mine),
            roles: SSO_ROLES
                .iter()
                .map(|r| (r.as_str(), role_key(*r)))
                .collect(),
            redirect_uri: s.app.oidc_redirect_uri(&w.ws.slug),
            oidc,
            oidc_draft,
            saml,
            saml_draft,
            saved,
            out,
            c: w.c,
        },
    ))
}

#[derive(Debug, Default, serde::Deserialize)]
struct SetupQuery {
    saved: Option<String>,
}

async fn setup_page(
    State(s): State<AppState>,
    w: InWorkspace,
    q: Result<axum::extract::Query<SetupQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let saved = q.is_ok_and(|axum::extract::Query(q)| q.saved.is_some());
    render(&s, w, Outcome::default(), saved).await
}

/// After a change: back to the section, to reauthentication, or the page with the refusal.
async fn settled<T>(
    s: &AppState,
    w: InWorkspace,
    section: &'static str,
    result: AppResult<T>,
    drafts: (Option<OidcDraft>, Option<SamlDraft>),
) -> PageResult {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("{}?saved=1#{section}", here(&w))).into_response()),
        Err(AppError::ReauthenticationRequired) => Ok(to_reauth(&w)),
        Err(e) => match Refusal::of(&e, w.c.tr) {
            Some(p) => {
                let out = Outcome {
                    section,
                    problem: Some(p),
                    oidc: drafts.0,
                    saml: drafts.1,
                    ..Default::default()
                };
                render(s, w, out, false).await
            }
            None => Err(PageError::new(w.c, e)),
        },
    }
}

fn level(f: &Fields, name: &str) -> Option<AuthLevel> {
    LEVELS
        .iter()
        .map(|(l, _)| *l)
        .find(|l| f.get(name) == Some(l.as_str()))
}

async fn save_policy(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let (Some(member_minimum), Some(admin_minimum)) =
        (level(&f, "member_minimum"), level(&f, "admin_minimum"))
    else {
        let r = Err::<(), _>(AppError::invalid("member_minimum", "choose a sign-in"));
        return settled(&s, w, "policy", r, (None, None)).await;
    };
    let input = CredentialPolicyView {
        member_minimum,
        admin_minimum,
    };
    let r = s.app.set_credential_policy(&w.m, &w.p, input).await;
    settled(&s, w, "policy", r, (None, None)).await
}

fn sso_role(f: &Fields) -> Role {
    SSO_ROLES
        .into_iter()
        .find(|r| f.get("default_role") == Some(r.as_str()))
        .unwrap_or(Role::Member)
}

async fn save_oidc(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let draft = OidcDraft {
        issuer: f.text("issuer"),
        client_id: f.text("client_id"),
        domains: f.text("allowed_domains"),
        group_claim: f.text("group_claim"),
        groups: f.text("allowed_groups"),
        role: sso_role(&f),
    };
    if f.get("action") == Some("test") {
        let r = s.app.probe_oidc_issuer(&w.m, &draft.issuer).await;
        return match r {
            Ok(probe) => {
                let tr = w.c.tr;
                let checked = format!(
                    "{} {} {} {}{}",
                    tr.get("signin.oidc_ok"),
                    probe.issuer,
                    tr.get("signin.oidc_ok_login"),
                    probe.authorization_endpoint,
                    if probe.logs_out {
                        format!(" {}", tr.get("signin.logs_out"))
                    } else {
                        String::new()
                    }
                );
                let out = Outcome {
                    section: "oidc",
                    checked: Some(checked),
                    oidc: Some(draft),
                    ..Default::default()
                };
                render(&s, w, out, false).await
            }
            Err(e) => settled(&s, w, "oidc", Err::<(), _>(e), (Some(draft), None)).await,
        };
    }
    let secret = f.text("client_secret");
    let input = OidcSettingsInput {
        issuer: draft.issuer.clone(),
        client_id: draft.client_id.clone(),
        client_secret: (!secret.is_empty()).then_some(secret),
        allowed_domains: split_list(&draft.domains),
        group_claim: Some(draft.group_claim.clone()),
        allowed_groups: split_list(&draft.groups),
        default_role: draft.role,
    };
    let r = s.app.set_oidc_settings(&w.m, input).await;
    settled(&s, w, "oidc", r, (Some(draft), None)).await
}

async fn remove_oidc(State(s): State<AppState>, WsForm { w, .. }: WsForm) -> PageResult {
    let r = s.app.remove_oidc_settings(&w.m).await;
    settled(&s, w, "oidc", r, (None, None)).await
}

async fn save_saml(State(s): State<AppState>, WsForm { w, f }: WsForm) -> PageResult {
    let draft = SamlDraft {
        metadata: f.text("idp_metadata"),
        domains: f.text("allowed_domains"),
        group_attribute: f.text("group_attribute"),
        groups: f.text("allowed_groups"),
        role: sso_role(&f),
        trust_email: f.get("trust_email_attribute").is_some(),
    };
    if f.get("action") == Some("test") {
        return match s.app.probe_saml_metadata(&w.m, &draft.metadata) {
            Ok(probe) => {
                let tr = w.c.tr;
                let checked = format!(
                    "{} {} {} {} ({}){}",
                    tr.get("signin.saml_ok"),
                    probe.entity_id,
                    tr.get("signin.saml_ok_login"),
                    probe.sso_url,
                    tr.count("count.certificates", probe.certificates as i64),
                    if probe.logs_out {
                        format!(" {}", tr.get("signin.logs_out"))
                    } else {
                        String::new()
                    }
                );
                let out = Outcome {
                    section: "saml",
                    checked: Some(checked),
                    saml: Some(draft),
                    ..Default::default()
                };
                render(&s, w, out, false).await
            }
            Err(e) => settled(&s, w, "saml", Err::<(), _>(e), (None, Some(draft))).await,
        };
    }
    let input = SamlSettingsInput {
        idp_metadata: draft.metadata.clone(),
        allowed_domains: split_list(&draft.domains),
        group_attribute: Some(draft.group_attribute.clone()),
        allowed_groups: split_list(&draft.groups),
        default_role: draft.role,
        trust_email_attribute: draft.trust_email,
    };
    let r = s.app.set_saml_settings(&w.m, input).await;
    settled(&s, w, "saml", r, (None, Some(draft))).await
}

async fn remove_saml(State(s): State<AppState>, WsForm { w, .. }: WsForm) -> PageResult {
    let r = s.app.remove_saml_settings(&w.m).await;
    settled(&s, w, "saml", r, (None, None)).await
}
