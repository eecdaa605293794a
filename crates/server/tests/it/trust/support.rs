//! SUP-01: the operator's support staff get into a workspace only by an explicit, scoped,
//! expiring, revocable invitation from one of its admins, and every request they make there is
//! in the workspace's audit trail (AUD-01), attributable only while they exist (AUD-03).

use std::time::Duration;

use ideaweave_domain::Role;
use ideaweave_server::mail::SmtpMailer;
use ideaweave_testkit::{Session, TestApp, TestSmtp};
use serde_json::{Value, json};

use crate::identity::{enrol_totp, send, sign_in_with_code};

const ADMIN: &str = "ada@helpme.example";
const OPERATOR: &str = "ops@operator.example";
const PASSWORD: &str = "a long passphrase of the test";

/// The instance: the workspace `helpme` with its admin's session, and an operator account
/// signed in with two factors.
async fn instance(smtp: &TestSmtp) -> (TestApp, Session, Session) {
    let config = smtp.config();
    let t = TestApp::spawn_with(move |c| c.mail = Some(config)).await;
    t.workspace("helpme").await;
    t.app
        .create_user(ADMIN, "Ada", Some(PASSWORD), false)
        .await
        .unwrap();
    t.app
        .add_member("helpme", ADMIN, Role::Admin)
        .await
        .unwrap();
    let admin = t.session(ADMIN, PASSWORD).await;
    t.app
        .create_user(OPERATOR, "Ops", Some(PASSWORD), true)
        .await
        .unwrap();
    let op = t.session(OPERATOR, PASSWORD).await;
    let (secret, _, op) = enrol_totp(&t, &op).await;
    let op = sign_in_with_code(&t, OPERATOR, PASSWORD, &secret, op.user).await;
    (t, admin, op)
}

async fn invite(t: &TestApp, admin: &Session, body: Value) -> (u16, Value) {
    let r = send(
        t,
        "POST",
        "/workspaces/helpme/support-access",
        Some(admin),
        Some(body),
    )
    .await;
    (r.status, r.body)
}

async fn events(t: &TestApp, admin: &Session, action: &str) -> Vec<Value> {
    let r = send(
        t,
        "GET",
        &format!("/workspaces/helpme/audit/events?action={action}&limit=500"),
        Some(admin),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn sup_01_support_gets_in_only_by_invitation_within_its_scope_and_time() {
    let smtp = TestSmtp::start().await;
    let (t, admin, op) = instance(&smtp).await;

    // Without an invitation the operator is a stranger: the workspace does not exist for them.
    for path in ["/workspaces/helpme", "/workspaces/helpme/members"] {
        assert_eq!(send(&t, "GET", path, Some(&op), None).await.status, 404);
    }
    let r = send(&t, "GET", "/support/invitations", Some(&op), None).await;
    assert_eq!((r.status, r.body.clone()), (200, json!([])));

    // The admin's invitation is checked.
    for (bad, field) in [
        (json!({"scope": "read", "hours": 0}), "hours"),
        (json!({"scope": "read", "hours": 169}), "hours"),
        (
            json!({"scope": "read", "hours": 1, "reason": "x".repeat(1001)}),
            "reason",
        ),
    ] {
        let (st, v) = invite(&t, &admin, bad).await;
        assert_eq!(
            (st, v["error"]["field"].clone()),
            (422, json!(field)),
            "{v}"
        );
    }
    let (st, v) = invite(&t, &admin, json!({"scope": "root", "hours": 1})).await;
    assert_eq!(st, 422, "{v}");
    let (st, grant) = invite(
        &t,
        &admin,
        json!({"scope": "read", "hours": 2, "reason": "Ticket 42: the stages look wrong"}),
    )
    .await;
    assert_eq!(st, 201, "{grant}");
    assert_eq!(grant["live"], json!(true));
    // The operators are told where, how and until when.
    let mailer = SmtpMailer::new(&smtp.config()).unwrap();
    t.app.send_due_mail(&mailer, 50).await.unwrap();
    smtp.wait_for(OPERATOR).await;
    let mail = smtp
        .messages()
        .into_iter()
        .map(|m| ideaweave_testkit::decode_quoted_printable(&m))
        .find(|m| m.contains("Subject: Support access to the workspace helpme"))
        .expect("the operator is emailed about the invitation");
    assert!(mail.contains("/w/helpme"), "{mail}");
    assert!(
        !mail.contains("Ticket 42"),
        "the reason stays in the workspace, not in mailboxes: {mail}"
    );

    let r = send(&t, "GET", "/support/invitations", Some(&op), None).await;
    assert_eq!(r.body[0]["workspace"], json!("helpme"), "{}", r.body);
    assert_eq!(r.body[0]["scope"], json!("read"));
    assert_eq!(
        r.body[0]["reason"],
        json!("Ticket 42: the stages look wrong")
    );
    // Members cannot list invitations; only operators see theirs.
    assert_eq!(
        send(&t, "GET", "/support/invitations", Some(&admin), None)
            .await
            .status,
        403
    );

    // Read support sees what an admin sees and changes nothing.
    for path in [
        "/workspaces/helpme",
        "/workspaces/helpme/members",
        "/workspaces/helpme/audit/events",
    ] {
        let r = send(&t, "GET", path, Some(&op), None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
    // Support sees no one's activity: the last-active day is the admins' alone, in the
    // workspace's member list and in a private space's (which an earlier special case missed).
    let visit = t
        .http
        .get(format!("{}/w/helpme", t.base))
        .header("cookie", format!("iw_session={}", admin.cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(visit.status(), 200, "Ada's visit to the workspace's page");
    let members = send(&t, "GET", "/workspaces/helpme/members", Some(&admin), None).await;
    let ada = members.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|m| m["name"] == json!("Ada")))
        .map(|m| m["user_id"].clone())
        .unwrap_or_else(|| panic!("Ada in {}", members.body));
    let r = send(
        &t,
        "POST",
        "/workspaces/helpme/spaces",
        Some(&admin),
        Some(json!({"name": "Board room", "private": true})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let space = r.body["id"].as_str().unwrap_or_default().to_owned();
    let r = send(
        &t,
        "POST",
        &format!("/workspaces/helpme/spaces/{space}/members"),
        Some(&admin),
        Some(json!({"user_id": ada})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let days = |v: &Value| -> Vec<Value> {
        let rows = v["items"].as_array().or(v.as_array()).cloned();
        rows.unwrap_or_default()
            .iter()
            .map(|m| m["last_active_on"].clone())
            .filter(|d| !d.is_null())
            .collect()
    };
    for path in [
        "/workspaces/helpme/members".to_owned(),
        format!("/workspaces/helpme/spaces/{space}/members"),
    ] {
        let seen_by_admin = send(&t, "GET", &path, Some(&admin), None).await;
        assert_eq!(seen_by_admin.status, 200, "{path}: {}", seen_by_admin.body);
        assert!(
            !days(&seen_by_admin.body).is_empty(),
            "{path}: the admin sees when Ada was last active: {}",
            seen_by_admin.body
        );
        let seen_by_support = send(&t, "GET", &path, Some(&op), None).await;
        assert_eq!(
            seen_by_support.status, 200,
            "{path}: {}",
            seen_by_support.body
        );
        assert_eq!(
            days(&seen_by_support.body),
            Vec::<Value>::new(),
            "{path}: support sees no activity"
        );
    }

    // The operator's home page lists the invitation with what is asked.
    let home = t
        .http
        .get(format!("{}/", t.base))
        .header("cookie", format!("iw_session={}", op.cookie))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("href=\"/w/helpme\"") && home.contains("Ticket 42"),
        "{home}"
    );
    // The pages let support in too, showing what it may see.
    for path in [
        "/w/helpme",
        "/w/helpme/members",
        "/w/helpme/settings",
        "/w/helpme/audit",
    ] {
        let page = t
            .http
            .get(format!("{}{path}", t.base))
            .header("cookie", format!("iw_session={}", op.cookie))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "{path}");
    }
    for (method, path, body) in [
        (
            "POST",
            "/workspaces/helpme/spaces",
            json!({"name": "Ops space"}),
        ),
        (
            "PATCH",
            "/workspaces/helpme",
            json!({"name": "Renamed by support"}),
        ),
        (
            "POST",
            "/workspaces/helpme/invitations",
            json!({"email": "x@y.example", "role": "member"}),
        ),
        (
            "POST",
            "/workspaces/helpme/support-access",
            json!({"scope": "manage", "hours": 9}),
        ),
        ("POST", "/workspaces/helpme/exports", json!({})),
    ] {
        let r = send(&t, method, path, Some(&op), Some(body)).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }

    // The admin revokes it: the next request is refused.
    let r = send(
        &t,
        "DELETE",
        &format!(
            "/workspaces/helpme/support-access/{}",
            grant["id"].as_str().unwrap()
        ),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        send(&t, "GET", "/workspaces/helpme", Some(&op), None)
            .await
            .status,
        404
    );
    let r = send(
        &t,
        "DELETE",
        &format!(
            "/workspaces/helpme/support-access/{}",
            grant["id"].as_str().unwrap()
        ),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        r.status, 404,
        "a revoked invitation cannot be revoked again"
    );
}

#[tokio::test]
async fn sup_01_support_expires_and_the_invitation_given_last_is_in_force() {
    let smtp = TestSmtp::start().await;
    let (t, admin, op) = instance(&smtp).await;

    // Manage support fixes things, never acts as a person or takes data out; and it expires.
    let (st, _) = invite(
        &t,
        &admin,
        json!({"scope": "manage", "hours": 1, "reason": "Ticket 43: a space is missing"}),
    )
    .await;
    assert_eq!(st, 201);
    let r = send(
        &t,
        "POST",
        "/workspaces/helpme/spaces",
        Some(&op),
        Some(json!({"name": "Fixed by support"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let space = r.body["id"].as_str().unwrap().to_owned();
    for (method, path, body) in [
        (
            "DELETE",
            format!("/workspaces/helpme/spaces/{space}"),
            Value::Null,
        ),
        (
            "PUT",
            format!("/workspaces/helpme/spaces/{space}"),
            json!({"name": "Fixed by support", "description": "", "private": true}),
        ),
        (
            "PUT",
            "/workspaces/helpme/erasure-policy".to_owned(),
            json!({"mode": "purge"}),
        ),
        (
            "GET",
            "/workspaces/helpme/audit/export".to_owned(),
            Value::Null,
        ),
        (
            "POST",
            format!("/workspaces/helpme/spaces/{space}/discussions"),
            json!({"kind": "topic", "title": "t"}),
        ),
        (
            "POST",
            "/workspaces/helpme/tokens".to_owned(),
            json!({"name": "t", "scope": "read"}),
        ),
        (
            "PUT",
            "/workspaces/helpme/retention".to_owned(),
            json!({"activity_days": 1, "deleted_days": 1, "invitation_days": 1}),
        ),
        (
            "GET",
            "/workspaces/helpme/support-access".to_owned(),
            Value::Null,
        ),
        (
            "PUT",
            "/workspaces/helpme/security".to_owned(),
            json!({"member_minimum": "password", "admin_minimum": "password"}),
        ),
    ] {
        let body = (!body.is_null()).then_some(body);
        let r = send(&t, method, &path, Some(&op), body).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }
    t.clock.advance(Duration::from_secs(3601));
    assert_eq!(
        send(&t, "GET", "/workspaces/helpme", Some(&op), None)
            .await
            .status,
        404
    );
    // ...and the attempt is in the trail, refused.
    let denied: Vec<Value> = events(&t, &admin, "support.accessed")
        .await
        .into_iter()
        .filter(|e| e["outcome"] == json!("denied"))
        .collect();
    assert!(
        denied.iter().any(|e| e["facts"]["grant"].is_null()
            && e["facts"]["request"] == json!("GET /api/v1/workspaces/{slug}")),
        "{denied:?}"
    );

    // A new invitation replaces a live one: the scope in force is the one given last.
    let admin = t.session(ADMIN, PASSWORD).await;
    let (_, wide) = invite(&t, &admin, json!({"scope": "manage", "hours": 5})).await;
    let (_, narrow) = invite(&t, &admin, json!({"scope": "read", "hours": 1})).await;
    let r = send(
        &t,
        "GET",
        "/workspaces/helpme/support-access",
        Some(&admin),
        None,
    )
    .await;
    let live: Vec<&Value> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["live"] == json!(true))
        .collect();
    assert_eq!(live.len(), 1, "{}", r.body);
    assert_eq!(live[0]["id"], narrow["id"]);
    assert_ne!(wide["id"], narrow["id"]);
    let r = send(
        &t,
        "POST",
        "/workspaces/helpme/spaces",
        Some(&op),
        Some(json!({"name": "Not with read"})),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(
        &t,
        "DELETE",
        &format!(
            "/workspaces/helpme/support-access/{}",
            narrow["id"].as_str().unwrap()
        ),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, 204);

    // The admin sees every invitation, live or not, with its reason.
    let r = send(
        &t,
        "GET",
        "/workspaces/helpme/support-access",
        Some(&admin),
        None,
    )
    .await;
    let grants = r.body.as_array().unwrap();
    assert_eq!(grants.len(), 3, "{}", r.body);
    assert!(grants.iter().all(|g| g["live"] == json!(false)));
    assert!(
        grants
            .iter()
            .any(|g| g["reason"] == json!("Ticket 43: a space is missing"))
    );
    // A month after the invitations ended, what was asked is forgotten; the invitations stay.
    t.clock.advance(Duration::from_secs(31 * 24 * 3600));
    t.app.enforce_retention().await.unwrap();
    let admin = t.session(ADMIN, PASSWORD).await;
    let r = send(
        &t,
        "GET",
        "/workspaces/helpme/support-access",
        Some(&admin),
        None,
    )
    .await;
    let grants = r.body.as_array().unwrap();
    assert_eq!(grants.len(), 3, "{}", r.body);
    assert!(grants.iter().all(|g| g["reason"].is_null()), "{}", r.body);
}

#[tokio::test]
async fn sup_01_every_support_request_is_audited_and_unattributable_once_the_operator_is_erased() {
    let smtp = TestSmtp::start().await;
    let (t, admin, op) = instance(&smtp).await;
    let (_, grant) = invite(&t, &admin, json!({"scope": "read", "hours": 1})).await;
    for path in ["/workspaces/helpme", "/workspaces/helpme/members"] {
        assert_eq!(send(&t, "GET", path, Some(&op), None).await.status, 200);
    }
    // A refused write is a request made under the invitation too.
    let r = send(
        &t,
        "POST",
        "/workspaces/helpme/spaces",
        Some(&op),
        Some(json!({"name": "nope"})),
    )
    .await;
    assert_eq!(r.status, 403);

    let granted = events(&t, &admin, "support.granted").await;
    assert_eq!(granted.len(), 1);
    assert_eq!(granted[0]["facts"]["scope"], json!("read"));
    assert_eq!(granted[0]["facts"]["grant"], grant["id"]);
    assert_eq!(
        granted[0]["actor"]["user_id"],
        json!(admin.user.0.to_string())
    );
    // On the audit page the support staff are named as what they are, not as a former member.
    let (_, page, _) =
        crate::content::pages::get(&t, &admin, "/w/helpme/audit?action=support.accessed").await;
    assert!(page.contains("Who: Support staff (operator)"), "{page}");
    assert!(!page.contains("former member (p-"));
    let accessed = events(&t, &admin, "support.accessed").await;
    let requests: Vec<&str> = accessed
        .iter()
        .map(|e| e["facts"]["request"].as_str().unwrap())
        .collect();
    for want in [
        "GET /api/v1/workspaces/{slug}",
        "GET /api/v1/workspaces/{slug}/members",
        "POST /api/v1/workspaces/{slug}/spaces",
    ] {
        assert!(requests.contains(&want), "{want} in {requests:?}");
    }
    // Reading the trail is a support request too, but the admin reads it here.
    let pseudonym = accessed[0]["actor"]["pseudonym"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        accessed
            .iter()
            .all(|e| e["actor"]["pseudonym"] == json!(pseudonym)
                && e["actor"]["user_id"] == json!(op.user.0.to_string())
                && e["facts"]["grant"] == grant["id"])
    );
    assert!(!pseudonym.contains(&op.user.0.to_string()));

    let r = send(
        &t,
        "DELETE",
        &format!(
            "/workspaces/helpme/support-access/{}",
            grant["id"].as_str().unwrap()
        ),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(events(&t, &admin, "support.revoked").await.len(), 1);

    // The operator's data in the workspace is shredded (their erasure): the events stay, the
    // log verifies, and nobody can tell whose they were.
    let ws = t.app.workspace_id("helpme").await.unwrap();
    t.app.shred_member_data(ws, op.user).await.unwrap();
    let after = events(&t, &admin, "support.accessed").await;
    assert_eq!(after.len(), accessed.len());
    for e in &after {
        assert_eq!(e["actor"]["pseudonym"], json!(pseudonym));
        assert_eq!(e["actor"]["user_id"], Value::Null, "unattributable: {e}");
    }
    let report = t.app.verify_audit(None, None, &|_, _| {}).await.unwrap();
    assert_eq!(report.problem, None, "the log still verifies");
}
