//! DSR-05, DSR-06: the request desk. Requests that reached the workspace are recorded with a
//! one-month deadline and reminders, acted on from the desk, answered, and a rectification,
//! erasure or restriction carried out is told to those the data was shared with (Art. 19).
//! Requests that reach the operator are forwarded to the owners, never answered by the operator.

use std::time::Duration;

use ideaweave_domain::Role;
use ideaweave_server::mail::SmtpMailer;
use ideaweave_testkit::{Session, TestApp, TestSmtp, TestWorkspace, decode_quoted_printable};
use serde_json::{Value, json};

use crate::helpers::{Auth, Body, call, error_code};
use crate::platform::cli::{bin_for, run};

const DAY: u64 = 24 * 3600;

struct Desk {
    t: TestApp,
    smtp: TestSmtp,
    w: TestWorkspace,
    admin: Auth,
    admin_email: String,
    member: Session,
}

async fn desk(slug: &str) -> Desk {
    let smtp = TestSmtp::start().await;
    let t = TestApp::spawn_with(|c| c.mail = Some(smtp.config())).await;
    let w = t.workspace(slug).await;
    let admin_email = format!("admin@{slug}.example.org");
    let admin = t.session(&admin_email, "the admin's long password").await;
    t.app
        .add_member(slug, &admin_email, Role::Admin)
        .await
        .unwrap();
    let member_email = format!("member@{slug}.example.org");
    let member = t.session(&member_email, "the member's long password").await;
    t.app
        .add_member(slug, &member_email, Role::Member)
        .await
        .unwrap();
    Desk {
        t,
        smtp,
        w,
        admin: Auth::Session(admin),
        admin_email,
        member,
    }
}

impl Desk {
    async fn send(&self, method: &str, rest: &str, body: Value) -> (u16, Value) {
        let b = if body.is_null() {
            Body::None
        } else {
            Body::Json(body)
        };
        call(
            &self.t,
            method,
            &format!("/workspaces/{}{rest}", self.w.slug),
            &self.admin,
            b,
        )
        .await
    }

    /// As the owner's API token (the desk works with admin tokens; sessions expire when tests
    /// move the clock by weeks).
    async fn send_as_owner(&self, method: &str, rest: &str, body: Value) -> (u16, Value) {
        let b = if body.is_null() {
            Body::None
        } else {
            Body::Json(body)
        };
        call(
            &self.t,
            method,
            &format!("/workspaces/{}{rest}", self.w.slug),
            &Auth::Token(self.w.owner.token.clone()),
            b,
        )
        .await
    }

    async fn deliver(&self) {
        let mailer = SmtpMailer::new(&self.smtp.config()).unwrap();
        let round = self.t.app.send_due_mail(&mailer, 100).await.unwrap();
        assert_eq!((round.retrying, round.given_up), (0, 0), "{round:?}");
    }

    fn messages_to(&self, to: &str) -> Vec<String> {
        self.smtp
            .messages()
            .into_iter()
            .filter(|m| m.lines().any(|l| l.starts_with("To:") && l.contains(to)))
            .map(|m| decode_quoted_printable(&m))
            .collect()
    }
}

#[tokio::test]
async fn dsr_05_a_request_is_due_in_a_month_and_admins_are_reminded_before_and_when_overdue() {
    let d = desk("deadlines").await;
    let now = d.t.app.now_ms();
    let (st, r) = d
        .send(
            "POST",
            "/requests",
            json!({"kind": "access", "channel": "letter", "requester": "Dana Doe, 1 Main St",
                   "subject_id": d.member.user.0, "details": "wants a copy of everything"}),
        )
        .await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["state"], "open");
    assert_eq!(r["received_at"], now);
    let due = r["due_at"].as_i64().unwrap();
    let days = (due - now) / (DAY as i64 * 1000);
    assert!((28..=31).contains(&days), "one calendar month: {days} days");
    let id = r["id"].as_str().unwrap().to_owned();

    assert_eq!(
        d.t.app.remind_requests().await.unwrap(),
        0,
        "not due soon yet"
    );
    d.t.clock
        .advance(Duration::from_secs((days as u64 - 6) * DAY));
    assert_eq!(
        d.t.app.remind_requests().await.unwrap(),
        2,
        "the owner and the admin, once"
    );
    assert_eq!(d.t.app.remind_requests().await.unwrap(), 0, "once");
    d.deliver().await;
    d.smtp.wait_for(&d.admin_email).await;
    let mails = d.messages_to(&d.admin_email);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("must be answered by"), "{}", mails[0]);
    assert!(
        mails[0].contains(&format!("/w/deadlines/requests/{id}")),
        "{}",
        mails[0]
    );
    assert!(
        !mails[0].contains("Dana Doe"),
        "no personal data in reminders"
    );

    d.t.clock.advance(Duration::from_secs(7 * DAY));
    let (_, r) = d
        .send_as_owner("GET", &format!("/requests/{id}"), Value::Null)
        .await;
    assert_eq!(r["overdue"], true);
    assert_eq!(d.t.app.remind_requests().await.unwrap(), 2);
    assert_eq!(d.t.app.remind_requests().await.unwrap(), 0);
    d.deliver().await;
    assert!(
        d.messages_to(&d.admin_email)
            .iter()
            .any(|m| m.contains("Subject: Overdue"))
    );

    // Answering it late is recorded as such; an answered request gets no more reminders.
    let (st, r) = d
        .send_as_owner(
            "POST",
            &format!("/requests/{id}/resolution"),
            json!({"state": "done", "resolution": "sent the data by post"}),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["state"], "done");
    assert_eq!(r["overdue"], false);
    let (st, v) = d
        .send_as_owner(
            "POST",
            &format!("/requests/{id}/resolution"),
            json!({"state": "refused", "resolution": "again"}),
        )
        .await;
    assert_eq!((st, error_code(&v).as_str()), (409, "conflict"));
    let (_, events) = d
        .send_as_owner("GET", "/audit/events?action=request.resolved", Value::Null)
        .await;
    assert_eq!(events["items"][0]["facts"]["on_time"], false, "{events}");
}

#[tokio::test]
async fn dsr_05_an_erasure_is_carried_out_from_the_desk_and_told_to_recipients() {
    let d = desk("art19").await;
    let (_, r) = d
        .send(
            "POST",
            "/requests",
            json!({"kind": "erasure", "channel": "email", "requester": "member@art19.example.org",
                   "subject_id": d.member.user.0, "details": "please forget me"}),
        )
        .await;
    let id = r["id"].as_str().unwrap().to_owned();
    let (st, report) = d
        .send(
            "POST",
            &format!("/requests/{id}/erasure"),
            json!({"mode": "purge"}),
        )
        .await;
    assert_eq!(st, 200, "{report}");
    assert_eq!(report["mode"], "purge");
    let (st, _) = call(
        &d.t,
        "GET",
        "/me",
        &Auth::Session(d.member.clone()),
        Body::None,
    )
    .await;
    assert_eq!(st, 401, "the member is erased");
    // What the request said of the person is gone with them; the record of it stays.
    let (_, r) = d.send("GET", &format!("/requests/{id}"), Value::Null).await;
    assert_eq!(r["requester"], "[erased]", "{r}");
    assert_eq!(r["details"], "[erased]");
    assert_eq!(r["subject_id"], Value::Null);
    assert_eq!(r["kind"], "erasure");

    let (st, v) = d
        .send(
            "POST",
            &format!("/requests/{id}/resolution"),
            json!({"state": "done", "resolution": "erased", "notify": ["not an address"]}),
        )
        .await;
    assert_eq!(st, 422, "{v}");
    let (st, r) = d
        .send(
            "POST",
            &format!("/requests/{id}/resolution"),
            json!({"state": "done", "resolution": "erased, purge",
                   "notify": ["crm@partner.example.org", "newsletter@vendor.example.org"]}),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["notices"].as_array().unwrap().len(), 2);
    d.deliver().await;
    for to in ["crm@partner.example.org", "newsletter@vendor.example.org"] {
        let m = d.messages_to(to);
        assert_eq!(m.len(), 1, "{to}");
        assert!(m[0].contains("Art. 19"), "{}", m[0]);
        assert!(m[0].contains("an erasure"), "{}", m[0]);
        assert!(m[0].contains(&id), "the reference");
    }
    let (_, events) = d
        .send("GET", "/audit/events?action=request.resolved", Value::Null)
        .await;
    assert_eq!(events["items"][0]["facts"]["notices"], 2);

    // Access requests are answered with the person's data; notices are only for changes.
    let other =
        d.t.session("other@art19.example.org", "another long password")
            .await;
    d.t.app
        .add_member("art19", "other@art19.example.org", Role::Member)
        .await
        .unwrap();
    let (_, r) = d
        .send(
            "POST",
            "/requests",
            json!({"kind": "access", "channel": "phone", "requester": "Other",
                   "subject_id": other.user.0}),
        )
        .await;
    let access = r["id"].as_str().unwrap().to_owned();
    let (st, data) = d
        .send(
            "GET",
            &format!("/requests/{access}/personal-data"),
            Value::Null,
        )
        .await;
    assert_eq!(st, 200, "{data}");
    assert_eq!(data["format"], "ideaweave.workspace-personal-data/1");
    assert_eq!(data["workspace"]["slug"], "art19");
    let (st, v) = d
        .send(
            "POST",
            &format!("/requests/{access}/resolution"),
            json!({"state": "done", "resolution": "sent", "notify": ["x@example.org"]}),
        )
        .await;
    assert_eq!(st, 422, "no notices for access requests: {v}");
    let (st, _) = d
        .send(
            "POST",
            &format!("/requests/{access}/erasure"),
            json!({"mode": "purge"}),
        )
        .await;
    assert_eq!(st, 409, "an access request erases nobody");
}

#[tokio::test]
async fn dsr_05_the_desk_is_for_admins_and_refuses_bad_input() {
    let d = desk("desk-rules").await;
    let member = Auth::Session(d.member.clone());
    let (st, _) = call(
        &d.t,
        "GET",
        "/workspaces/desk-rules/requests",
        &member,
        Body::None,
    )
    .await;
    assert_eq!(st, 403);
    for (body, field) in [
        (
            json!({"kind": "gossip", "channel": "email", "requester": "x"}),
            "",
        ),
        (
            json!({"kind": "access", "channel": "email", "requester": ""}),
            "requester",
        ),
        (
            json!({"kind": "access", "channel": "operator", "requester": "x"}),
            "channel",
        ),
        (
            json!({"kind": "access", "channel": "email", "requester": "x", "received_at": 99_999_999_999_999i64}),
            "received_at",
        ),
        (
            json!({"kind": "access", "channel": "email", "requester": "x", "subject_id": uuid::Uuid::new_v4()}),
            "subject_id",
        ),
    ] {
        let (st, v) = d.send("POST", "/requests", body.clone()).await;
        assert_eq!(st, 422, "{body}: {v}");
        if !field.is_empty() {
            assert_eq!(v["error"]["field"], field, "{v}");
        }
    }
    let (_, list) = d.send("GET", "/requests", Value::Null).await;
    assert_eq!(list, json!([]), "nothing was recorded");
}

#[tokio::test]
async fn dsr_06_requests_reaching_the_operator_are_forwarded_to_the_owner_not_answered() {
    let d = desk("forwarded").await;
    // The operator's command line uses the instance's configuration, mail server included.
    let port = d.smtp.config().port.to_string();
    let (ok, out, err) = run({
        let mut c = bin_for(&d.t);
        c.env("IDEAWEAVE_MAIL__SMTP_HOST", "127.0.0.1")
            .env("IDEAWEAVE_MAIL__SMTP_PORT", &port)
            .env("IDEAWEAVE_MAIL__SMTP_TLS", "none");
        c.args([
            "admin",
            "forward-request",
            "--workspace",
            "forwarded",
            "--kind",
            "complaint",
            "--from",
            "Erin Example <erin@example.net>",
            "--received",
            "2026-11-20",
            "--details",
            "My comments were shown to people outside my team.",
        ]);
        c
    });
    assert!(ok, "{out}{err}");
    assert!(out.contains("Do not answer it yourself"), "{out}");
    let (ok, _, err) = run({
        let mut c = bin_for(&d.t);
        c.args([
            "admin",
            "forward-request",
            "--workspace",
            "forwarded",
            "--kind",
            "gossip",
            "--from",
            "x",
        ]);
        c
    });
    assert!(!ok && err.contains("unknown request kind"), "{err}");

    let (_, list) = d.send("GET", "/requests", Value::Null).await;
    let r = &list[0];
    assert_eq!(r["channel"], "operator");
    assert_eq!(r["forwarded_by_operator"], true);
    assert_eq!(r["recorded_by"], Value::Null);
    assert_eq!(r["kind"], "complaint");
    assert_eq!(r["requester"], "Erin Example <erin@example.net>");

    assert_eq!(
        d.t.app.outbox_counts().await.unwrap().waiting,
        1,
        "one message, to the one owner"
    );
    // The command line queued it by the real clock, ahead of the test's clock.
    d.t.clock.catch_up();
    d.deliver().await;
    d.smtp.wait_for(&d.w.owner.email).await;
    let owner_mail = d.messages_to(&d.w.owner.email);
    assert_eq!(owner_mail.len(), 1, "the owner is told at once");
    assert!(
        owner_mail[0].contains("The operator does not answer it"),
        "{}",
        owner_mail[0]
    );
    assert!(
        owner_mail[0].contains("My comments were shown"),
        "{}",
        owner_mail[0]
    );
    assert!(
        d.messages_to(&d.admin_email).is_empty(),
        "forwarded to the owners"
    );
    assert!(
        d.messages_to("erin@example.net").is_empty(),
        "nothing goes back to the requester from the operator"
    );

    // The operator can see that it was forwarded, not what the workspace answers.
    let (_, events) = d
        .send("GET", "/audit/events?action=request.forwarded", Value::Null)
        .await;
    assert_eq!(events["items"][0]["actor"]["pseudonym"], "operator");
    let (ok, out, _) = run({
        let mut c = bin_for(&d.t);
        c.args(["admin", "--help"]);
        c
    });
    assert!(ok);
    assert!(
        !out.contains("resolve") && !out.contains("answer-request"),
        "the operator has no command that answers a request: {out}"
    );
}

/// The desk lists all requests, or only the open, the overdue or the answered ones, each filter
/// with its count, so an admin sees at once what is late.
#[tokio::test]
async fn dsr_05_the_request_desk_filters_open_overdue_and_answered_requests() {
    use ideaweave_app::{RequestInput, ResolveInput};
    use ideaweave_domain::{RequestChannel, RequestKind, RequestState};

    let t = TestApp::spawn().await;
    let w = t.workspace("deskview").await;
    let owner = w.as_member(&w.owner);
    let admin = crate::content::pages::person(&t, &w, "ada", Role::Admin).await;
    let now = t.app.now_ms();
    let mut ids = Vec::new();
    for (who, days_ago) in [("Late Larry", 40), ("Fresh Fay", 1), ("Done Dora", 2)] {
        let r = t
            .app
            .record_request(
                &owner,
                RequestInput {
                    kind: RequestKind::Access,
                    channel: RequestChannel::Email,
                    requester: who.into(),
                    subject_id: None,
                    details: String::new(),
                    received_at: Some(now - days_ago * DAY as i64 * 1000),
                },
            )
            .await
            .unwrap();
        ids.push(r.id);
    }
    t.app
        .resolve_request(
            &owner,
            ids[2],
            ResolveInput {
                state: RequestState::Done,
                resolution: "Sent the data.".into(),
                notify: vec![],
            },
        )
        .await
        .unwrap();
    let shows = |page: &str| -> Vec<&str> {
        ["Late Larry", "Fresh Fay", "Done Dora"]
            .into_iter()
            .filter(|n| page.contains(n))
            .collect()
    };
    let desk = |q: &'static str| {
        let t = &t;
        let admin = &admin;
        async move {
            crate::content::pages::get(t, admin, &format!("/w/deskview/requests{q}"))
                .await
                .1
        }
    };
    let all = desk("").await;
    assert_eq!(shows(&all), ["Late Larry", "Fresh Fay", "Done Dora"]);
    assert!(all.contains("aria-current=\"page\">All (3)"), "{all}");
    assert!(
        all.contains(">Open (2)</a>")
            && all.contains(">Overdue (1)</a>")
            && all.contains(">Answered (1)</a>")
    );
    assert_eq!(
        shows(&desk("?show=open").await),
        ["Late Larry", "Fresh Fay"]
    );
    assert_eq!(shows(&desk("?show=overdue").await), ["Late Larry"]);
    assert_eq!(shows(&desk("?show=answered").await), ["Done Dora"]);
    // An unknown filter shows everything rather than failing.
    assert_eq!(shows(&desk("?show=%3Cscript%3E").await).len(), 3);
    // Once the late one is answered, nothing is overdue, and the page says so in German too.
    t.app
        .resolve_request(
            &owner,
            ids[0],
            ResolveInput {
                state: RequestState::Refused,
                resolution: "Not a member.".into(),
                notify: vec![],
            },
        )
        .await
        .unwrap();
    let (_, page, _) =
        crate::content::pages::get_in(&t, &admin, "/w/deskview/requests?show=overdue", "de").await;
    assert!(shows(&page).is_empty());
    assert!(page.contains("Hier ist keine Anfrage.") && page.contains("Überfällig (0)"));
}
