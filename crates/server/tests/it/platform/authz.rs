//! ACC-01, ACC-02: every API route, driven as each role, as an authenticated non-member, as a
//! member of another workspace, and unauthenticated, against a hand-written expectation.

use std::collections::BTreeSet;

use ideaweave_domain::Role;
use ideaweave_testkit::TestApp;

use crate::helpers::{Auth, call, error_code};
use crate::platform::routes::{Allowed, Fixture, OTHER_OPERATIONS, ROUTES, body, fill, prepare};

#[derive(Clone, Copy, Debug)]
enum Caller {
    Role(Role),
    NonMember,
    OtherWorkspace,
    Anonymous,
}

/// The status a caller must get from a route: written from the rules in the README, not
/// computed by the policy under test.
fn expected(route: &crate::platform::routes::Route, caller: Caller) -> u16 {
    match caller {
        Caller::Anonymous => 401,
        Caller::NonMember | Caller::OtherWorkspace => 404,
        Caller::Role(role) => {
            if route.in_space && role == Role::Guest {
                return 404;
            }
            if route.deleted_target && role < Role::Moderator {
                return 404;
            }
            if route.allowed.admits(role) {
                route.success
            } else {
                403
            }
        }
    }
}

#[tokio::test]
async fn acc_01_acc_02_authorisation_matrix_every_route_every_caller() {
    let t = TestApp::spawn().await;
    let other = t.workspace("other-tenant").await;
    let outsider = t
        .session("outsider@example.org", "outsider password 1")
        .await;
    let callers = [
        Caller::Role(Role::Owner),
        Caller::Role(Role::Admin),
        Caller::Role(Role::Moderator),
        Caller::Role(Role::Member),
        Caller::Role(Role::Guest),
        Caller::NonMember,
        Caller::OtherWorkspace,
        Caller::Anonymous,
    ];
    let mut failures = Vec::new();
    let mut cells = 0;
    for route in ROUTES {
        let f = Fixture::new(&t, &format!("m-{}", route.name.replace('_', "-"))).await;
        for caller in callers {
            let (auth, actor) = match caller {
                Caller::Role(r) => (Auth::Token(f.person(r).token.clone()), Some(f.person(r))),
                Caller::NonMember => (Auth::Session(outsider.clone()), None),
                Caller::OtherWorkspace => (Auth::Token(other.owner.token.clone()), None),
                Caller::Anonymous => (Auth::None, None),
            };
            let vars = prepare(&t, &f, route, actor).await;
            let path = fill(route.path, &vars);
            let (status, v) = call(&t, route.method, &path, &auth, body(route, &vars)).await;
            let want = expected(route, caller);
            cells += 1;
            if status != want {
                failures.push(format!(
                    "{} {:?}: got {status}, want {want}: {v}",
                    route.name, caller
                ));
            } else if status >= 400 {
                let code = error_code(&v);
                let want_code = match status {
                    401 => "unauthenticated",
                    403 => "forbidden",
                    _ => "not_found",
                };
                if code != want_code {
                    failures.push(format!(
                        "{} {:?}: code {code}, want {want_code}",
                        route.name, caller
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cells, ROUTES.len() * callers.len());
}

#[tokio::test]
async fn acc_01_session_callers_have_their_full_role_and_tokens_need_sessions() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "sessions").await;
    let s = t
        .session("admin.session@example.org", "a long enough password")
        .await;
    t.app
        .add_member(&f.ws.slug, "admin.session@example.org", Role::Admin)
        .await
        .unwrap();
    let auth = Auth::Session(s.clone());
    let (st, v) = call(
        &t,
        "POST",
        "/workspaces/sessions/tokens",
        &auth,
        crate::helpers::Body::Json(serde_json::json!({"name":"ci","scope":"read"})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let secret = v["secret"].as_str().unwrap().to_owned();
    let (st, _) = call(
        &t,
        "GET",
        "/workspaces/sessions",
        &Auth::Token(secret.clone()),
        crate::helpers::Body::None,
    )
    .await;
    assert_eq!(st, 200);
    let (st, v) = call(
        &t,
        "PATCH",
        "/workspaces/sessions",
        &Auth::Token(secret),
        crate::helpers::Body::Json(serde_json::json!({"name":"x"})),
    )
    .await;
    assert_eq!(
        (st, error_code(&v).as_str()),
        (403, "forbidden"),
        "a read token cannot write, whatever the role"
    );
    let no_csrf = Auth::Session(ideaweave_testkit::Session {
        csrf: "wrong".into(),
        ..s
    });
    let (st, v) = call(
        &t,
        "PATCH",
        "/workspaces/sessions",
        &no_csrf,
        crate::helpers::Body::Json(serde_json::json!({"name":"x"})),
    )
    .await;
    assert_eq!(
        st, 403,
        "a cookie request without the CSRF token is refused: {v}"
    );
}

#[tokio::test]
async fn acc_01_private_spaces_hidden_from_unlisted_members_and_guests_see_only_listed_spaces() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "private").await;
    let owner = f.ws.as_member(&f.ws.owner);
    let private = t
        .app
        .create_space(
            &owner,
            ideaweave_app::SpaceInput {
                name: "Board".into(),
                description: String::new(),
                private: true,
            },
        )
        .await
        .unwrap();
    let open = t
        .app
        .create_space(
            &owner,
            ideaweave_app::SpaceInput {
                name: "Open".into(),
                description: String::new(),
                private: false,
            },
        )
        .await
        .unwrap();
    t.app
        .add_space_member(
            &owner,
            private.id,
            ideaweave_app::SpaceMemberInput {
                user_id: f.moderator.id,
            },
        )
        .await
        .unwrap();
    t.app
        .add_space_member(
            &owner,
            open.id,
            ideaweave_app::SpaceMemberInput {
                user_id: f.guest.id,
            },
        )
        .await
        .unwrap();
    let names = |v: &serde_json::Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let both = BTreeSet::from(["Board".to_owned(), "Open".to_owned()]);
    for (p, want) in [
        (&f.member, BTreeSet::from(["Open".to_owned()])),
        (&f.moderator, both.clone()),
        (&f.admin, both),
        (&f.guest, BTreeSet::from(["Open".to_owned()])),
    ] {
        let (_, v) = call(
            &t,
            "GET",
            "/workspaces/private/spaces",
            &Auth::Token(p.token.clone()),
            crate::helpers::Body::None,
        )
        .await;
        assert_eq!(names(&v), want, "{:?}", p.role);
    }
    let path = format!("/workspaces/private/spaces/{}", private.id);
    assert_eq!(
        call(
            &t,
            "GET",
            &path,
            &Auth::Token(f.member.token.clone()),
            crate::helpers::Body::None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(
            &t,
            "GET",
            &path,
            &Auth::Token(f.moderator.token.clone()),
            crate::helpers::Body::None
        )
        .await
        .0,
        200
    );
    let d = t
        .app
        .create_discussion(
            &owner,
            open.id,
            ideaweave_app::DiscussionInput {
                kind: ideaweave_app::DiscussionKind::Topic,
                title: "T".into(),
                description: String::new(),
                deadline: None,
                criteria: vec![],
            },
        )
        .await
        .unwrap();
    let idea = t
        .app
        .create_idea(
            &f.ws.as_member(&f.member),
            d.id,
            ideaweave_app::IdeaInput {
                title: "I".into(),
                body: String::new(),
                tags: vec![],
            },
        )
        .await
        .unwrap();
    let guest = Auth::Token(f.guest.token.clone());
    let (st, _) = call(
        &t,
        "POST",
        &format!("/workspaces/private/ideas/{}/comments", idea.summary.id),
        &guest,
        crate::helpers::Body::Json(serde_json::json!({"body":"guest here"})),
    )
    .await;
    assert_eq!(st, 201, "a guest listed in a space may comment");
    let (st, _) = call(
        &t,
        "PUT",
        &format!("/workspaces/private/ideas/{}/vote", idea.summary.id),
        &guest,
        crate::helpers::Body::Json(serde_json::json!({"direction":"up"})),
    )
    .await;
    assert_eq!(st, 403, "a guest may not vote");
}

#[tokio::test]
async fn acc_01_route_catalogue_covers_every_openapi_operation() {
    let doc = serde_json::to_value(ideaweave_web::openapi()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let normalise = |p: &str| -> String {
        let p = p.split('?').next().unwrap_or(p);
        p.split('/')
            .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
            .collect::<Vec<_>>()
            .join("/")
    };
    let mut tested: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), normalise(r.path)))
        .collect();
    tested.extend(
        OTHER_OPERATIONS
            .iter()
            .map(|(m, p)| ((*m).to_owned(), normalise(p))),
    );
    let documented: BTreeSet<(String, String)> = documented
        .into_iter()
        .map(|(m, p)| (m, normalise(&p)))
        .collect();
    let untested: Vec<_> = documented.difference(&tested).collect();
    let undocumented: Vec<_> = tested.difference(&documented).collect();
    assert!(
        untested.is_empty(),
        "operations without authorisation tests: {untested:?}"
    );
    assert!(
        undocumented.is_empty(),
        "tested operations missing from the OpenAPI document: {undocumented:?}"
    );
    assert!(matches!(
        ROUTES
            .iter()
            .find(|r| r.name == "create_token")
            .unwrap()
            .allowed,
        Allowed::NoToken
    ));
}

#[tokio::test]
async fn acc_04_operators_cannot_read_workspace_content_and_nothing_impersonates() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "tenant").await;
    t.app
        .create_user(
            "operator@example.org",
            "Operator",
            Some("operator password 1"),
            true,
        )
        .await
        .unwrap();
    let login = t
        .app
        .login(
            &ideaweave_app::LoginInput::password("operator@example.org", "operator password 1"),
            &ideaweave_app::ClientInfo::default(),
        )
        .await
        .unwrap()
        .done()
        .expect("no second factor");
    let op = Auth::Session(ideaweave_testkit::Session {
        user: login.user.id,
        cookie: login.session,
        csrf: login.csrf,
    });
    for r in ROUTES.iter().filter(|r| r.method == "GET") {
        let vars = prepare(&t, &f, r, None).await;
        let (st, _) = call(
            &t,
            "GET",
            &fill(r.path, &vars),
            &op,
            crate::helpers::Body::None,
        )
        .await;
        assert_eq!(st, 404, "operator reading {}", r.name);
    }
    let (_, me) = call(&t, "GET", "/me", &op, crate::helpers::Body::None).await;
    assert_eq!(me["workspaces"], serde_json::json!([]));
    let doc = serde_json::to_string(&ideaweave_web::openapi())
        .unwrap()
        .to_lowercase();
    for word in [
        "impersonat",
        "sudo",
        "act-as",
        "act_as",
        "login-as",
        "login_as",
    ] {
        assert!(
            !doc.contains(word),
            "the API must have no impersonation feature ({word})"
        );
    }
}

#[tokio::test]
async fn acc_02_hidden_and_missing_resources_answer_identically() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "hidden").await;
    let owner = f.ws.as_member(&f.ws.owner);
    let board = t
        .app
        .create_space(
            &owner,
            ideaweave_app::SpaceInput {
                name: "Board".into(),
                description: String::new(),
                private: true,
            },
        )
        .await
        .unwrap();
    let hidden = call(
        &t,
        "GET",
        &format!("/workspaces/hidden/spaces/{}", board.id),
        &Auth::Token(f.member.token.clone()),
        crate::helpers::Body::None,
    )
    .await;
    let missing = call(
        &t,
        "GET",
        &format!("/workspaces/hidden/spaces/{}", uuid::Uuid::now_v7()),
        &Auth::Token(f.member.token.clone()),
        crate::helpers::Body::None,
    )
    .await;
    assert_eq!(hidden.0, 404);
    assert_eq!(
        hidden, missing,
        "a private space must not be distinguishable from a missing one"
    );
}

#[tokio::test]
async fn acc_01_merges_stay_inside_one_discussion() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "merging").await;
    let route = ROUTES.iter().find(|r| r.name == "merge_idea").unwrap();
    let a = prepare(&t, &f, route, None).await;
    let b = prepare(&t, &f, route, None).await;
    let (st, v) = crate::helpers::with_token(
        &t,
        "POST",
        &format!("/workspaces/merging/ideas/{}/merge", a["idea"]),
        &f.ws.owner.token,
        Some(serde_json::json!({"into": b["idea2"]})),
    )
    .await;
    assert_eq!(
        (st, v["error"]["field"].as_str()),
        (422, Some("into")),
        "{v}"
    );
}
