//! LIF-02: an owner asks for a workspace's deletion; members are told; owners are reminded and
//! may cancel; at the end of the grace period every row, file and key is destroyed and the
//! owners receive a certificate signed by the instance key that `ideaweave verify-certificate`
//! checks offline.

use std::time::Duration;

use ideaweave_domain::Role;
use ideaweave_server::mail::SmtpMailer;
use ideaweave_testkit::{Session, TestApp, TestSmtp, decode_quoted_printable};
use serde_json::{Value, json};

use crate::helpers::{Auth, Body, call, error_code, open_discussion, png, with_token};
use crate::platform::cli::{bin_for, run};

const DAY: u64 = 24 * 3600;

struct Doomed {
    t: TestApp,
    smtp: TestSmtp,
    owner: Session,
    owner_email: String,
    member_email: String,
    member_token: String,
}

async fn doomed(slug: &str) -> Doomed {
    let smtp = TestSmtp::start().await;
    let t = TestApp::spawn_with(|c| c.mail = Some(smtp.config())).await;
    let owner_email = format!("owner@{slug}.example.org");
    let owner = t.session(&owner_email, "the owner's long password").await;
    t.app
        .create_workspace(slug, "Doomed", &owner_email)
        .await
        .unwrap();
    let member_email = format!("member@{slug}.example.org");
    t.session(&member_email, "the member's long password").await;
    t.app
        .add_member(slug, &member_email, Role::Member)
        .await
        .unwrap();
    let member_token = t
        .token(&member_email, slug, ideaweave_domain::TokenScope::Write)
        .await;
    let owner_token = t
        .token(&owner_email, slug, ideaweave_domain::TokenScope::Write)
        .await;
    let d = open_discussion(&t, slug, &owner_token).await;
    let (st, idea) = with_token(
        &t,
        "POST",
        &format!("/workspaces/{slug}/discussions/{d}/ideas"),
        &member_token,
        Some(json!({"title": "Soon gone", "body": "b"})),
    )
    .await;
    assert_eq!(st, 201, "{idea}");
    let (st, v) = call(
        &t,
        "POST",
        &format!(
            "/workspaces/{slug}/ideas/{}/attachments",
            idea["id"].as_str().unwrap()
        ),
        &Auth::Token(member_token.clone()),
        Body::Upload {
            filename: "p.png",
            bytes: png(),
        },
    )
    .await;
    assert_eq!(st, 201, "{v}");
    Doomed {
        t,
        smtp,
        owner,
        owner_email,
        member_email,
        member_token,
    }
}

impl Doomed {
    async fn deliver(&self) {
        // Mail queued a moment ago by the real clock is due by the test's clock too.
        let mailer = SmtpMailer::new(&self.smtp.config()).unwrap();
        let round = self.t.app.send_due_mail(&mailer, 100).await.unwrap();
        assert_eq!((round.retrying, round.given_up), (0, 0), "{round:?}");
    }

    fn mail_to(&self, to: &str) -> Vec<String> {
        self.smtp
            .messages()
            .into_iter()
            .filter(|m| m.lines().any(|l| l.starts_with("To:") && l.contains(to)))
            .map(|m| decode_quoted_printable(&m))
            .collect()
    }

    fn files(&self) -> usize {
        fn walk(p: &std::path::Path) -> usize {
            std::fs::read_dir(p)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p)
                    } else {
                        usize::from(
                            p.parent()
                                .and_then(|d| d.file_name())
                                .is_some_and(|n| n.len() == 36),
                        )
                    }
                })
                .sum()
        }
        walk(self.t.dir.path())
    }
}

#[tokio::test]
async fn lif_02_a_deleted_workspace_is_destroyed_after_the_grace_period_with_a_signed_certificate()
{
    let d = doomed("doomed").await;
    let me = Auth::Session(d.owner.clone());
    let path = "/workspaces/doomed/termination";
    let (st, v) = call(
        &d.t,
        "POST",
        path,
        &me,
        Body::Json(json!({"confirm": "doom"})),
    )
    .await;
    assert_eq!(st, 422, "the slug must be typed: {v}");
    let (st, v) = call(
        &d.t,
        "POST",
        path,
        &Auth::Token(d.member_token.clone()),
        Body::Json(json!({"confirm": "doomed"})),
    )
    .await;
    assert_eq!(st, 403, "{v}");
    let (st, v) = call(
        &d.t,
        "POST",
        path,
        &me,
        Body::Json(json!({"confirm": "doomed"})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["scheduled"], true);
    let due = v["due_at"].as_i64().unwrap();
    assert_eq!(
        due - v["requested_at"].as_i64().unwrap(),
        14 * DAY as i64 * 1000,
        "the default grace period"
    );
    let (st, v) = call(
        &d.t,
        "POST",
        path,
        &me,
        Body::Json(json!({"confirm": "doomed"})),
    )
    .await;
    assert_eq!((st, error_code(&v).as_str()), (409, "conflict"));
    d.t.clock.advance(Duration::from_secs(1));
    d.deliver().await;
    let told = d.mail_to(&d.member_email);
    assert_eq!(told.len(), 1, "every member is told");
    assert!(told[0].contains("download your data"), "{}", told[0]);
    let (_, seen) = with_token(&d.t, "GET", path, &d.member_token, None).await;
    assert_eq!(seen["due_at"], due, "members see the date");

    assert_eq!(d.t.app.run_terminations().await.unwrap().deleted, 0);
    d.t.clock.advance(Duration::from_secs(7 * DAY + 3600));
    let r = d.t.app.run_terminations().await.unwrap();
    assert_eq!((r.reminders, r.deleted), (1, 0), "a week before");
    assert_eq!(d.t.app.run_terminations().await.unwrap().reminders, 0);
    d.t.clock.advance(Duration::from_secs(6 * DAY));
    assert_eq!(
        d.t.app.run_terminations().await.unwrap().reminders,
        1,
        "a day before"
    );
    assert_eq!(d.files(), 2, "the file and its preview");

    d.t.clock.advance(Duration::from_secs(DAY));
    let r = d.t.app.run_terminations().await.unwrap();
    assert_eq!(
        (r.deleted, r.certificates),
        (1, 0),
        "the certificate comes with the deletion"
    );
    assert_eq!(d.files(), 0, "the files are gone");
    let again =
        d.t.app
            .login(
                &ideaweave_app::LoginInput::password(&d.owner_email, "the owner's long password"),
                &Default::default(),
            )
            .await
            .expect("the owner's account is not the workspace's: it stays")
            .done()
            .expect("no second factor");
    let fresh = Auth::Session(Session {
        user: again.user.id,
        cookie: again.session,
        csrf: again.csrf,
    });
    let (st, _) = call(&d.t, "GET", "/workspaces/doomed", &fresh, Body::None).await;
    assert_eq!(st, 404, "the workspace is gone");
    let (st, _) = with_token(&d.t, "GET", "/workspaces/doomed", &d.member_token, None).await;
    assert_eq!(st, 401, "its tokens are gone");
    let ledger = std::fs::read_to_string(&d.t.config.shred_ledger).unwrap_or_default();
    let (ok, certificate, err) = run({
        let mut c = bin_for(&d.t);
        c.args(["admin", "certificate", "doomed"]);
        c
    });
    assert!(ok, "{err}");
    let cert: Value = serde_json::from_str(certificate.lines().nth(1).unwrap()).unwrap();
    assert_eq!(cert["slug"], "doomed");
    assert_eq!(cert["rows"]["ideas"], 1);
    assert_eq!(cert["rows"]["attachments"], 1);
    assert_eq!(cert["files"], 1);
    assert!(
        ledger.contains(cert["workspace_id"].as_str().unwrap()),
        "the workspace's keys are in the shred ledger"
    );
    d.deliver().await;
    let mail = d.mail_to(&d.owner_email);
    assert!(
        mail.iter()
            .any(|m| m.contains("Deletion certificate of the workspace doomed")),
        "the owner receives the certificate"
    );

    // The certificate checks out offline with the instance's published key, and nothing else
    // does.
    let (_, key) = call(&d.t, "GET", "/audit/key", &Auth::None, Body::None).await;
    let key = key.as_str().expect("the key is text").trim().to_owned();
    let file = d.t.dir.path().join("certificate.txt");
    std::fs::write(&file, &certificate).unwrap();
    let verify = |f: &std::path::Path, k: Option<&str>| {
        let mut c = bin_for(&d.t);
        c.arg("verify-certificate").arg(f);
        if let Some(k) = k {
            c.args(["--key", k]);
        }
        run(c)
    };
    let (ok, out, err) = verify(&file, Some(&key));
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("valid deletion certificate: workspace doomed"),
        "{out}"
    );
    let (ok, out, err) = verify(&file, None);
    assert!(
        !ok && err.contains("NOT VERIFIED against the instance"),
        "without the instance's key nothing is proven: {out}{err}"
    );
    let crlf = d.t.dir.path().join("certificate-crlf.txt");
    std::fs::write(&crlf, certificate.replace('\n', "\r\n")).unwrap();
    let (ok, out, err) = verify(&crlf, Some(&key));
    assert!(ok, "saved with Windows line endings: {out}{err}");
    let forged = d.t.dir.path().join("forged.txt");
    std::fs::write(&forged, certificate.replace("\"ideas\":1", "\"ideas\":0")).unwrap();
    let (ok, _, err) = verify(&forged, Some(&key));
    assert!(!ok && err.contains("signature does not verify"), "{err}");
    let other = TestApp::spawn().await;
    let (_, other_key) = call(&other, "GET", "/audit/key", &Auth::None, Body::None).await;
    let other_key = other_key
        .as_str()
        .expect("the key is text")
        .trim()
        .to_owned();
    let (ok, _, _) = verify(&file, Some(&other_key));
    assert!(!ok, "another instance's key does not verify it");
}

#[tokio::test]
async fn lif_02_an_owner_cancels_and_nothing_is_deleted() {
    let d = doomed("spared").await;
    let me = Auth::Session(d.owner.clone());
    let path = "/workspaces/spared/termination";
    let (st, _) = call(&d.t, "DELETE", path, &me, Body::None).await;
    assert_eq!(st, 409, "nothing to cancel");
    let (st, _) = call(
        &d.t,
        "POST",
        path,
        &me,
        Body::Json(json!({"confirm": "spared"})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = call(
        &d.t,
        "DELETE",
        path,
        &Auth::Token(d.member_token.clone()),
        Body::None,
    )
    .await;
    assert_eq!(st, 403);
    let (st, v) = call(&d.t, "DELETE", path, &me, Body::None).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["scheduled"], false);
    d.t.clock.advance(Duration::from_secs(15 * DAY));
    let r = d.t.app.run_terminations().await.unwrap();
    assert_eq!((r.deleted, r.reminders), (0, 0));
    let (st, _) = with_token(&d.t, "GET", "/workspaces/spared", &d.member_token, None).await;
    assert_eq!(st, 200, "the workspace lives on");
    assert_eq!(d.files(), 2, "the file and its preview");

    // Once the date has come, the deletion is under way: too late to cancel.
    let again =
        d.t.app
            .login(
                &ideaweave_app::LoginInput::password(&d.owner_email, "the owner's long password"),
                &Default::default(),
            )
            .await
            .unwrap()
            .done()
            .expect("no second factor");
    let me = Auth::Session(Session {
        user: again.user.id,
        cookie: again.session,
        csrf: again.csrf,
    });
    let (st, _) = call(
        &d.t,
        "POST",
        path,
        &me,
        Body::Json(json!({"confirm": "spared"})),
    )
    .await;
    assert_eq!(st, 200);
    d.t.clock.advance(Duration::from_secs(15 * DAY));
    let later =
        d.t.app
            .login(
                &ideaweave_app::LoginInput::password(&d.owner_email, "the owner's long password"),
                &Default::default(),
            )
            .await
            .unwrap()
            .done()
            .expect("no second factor");
    let me = Auth::Session(Session {
        user: later.user.id,
        cookie: later.session,
        csrf: later.csrf,
    });
    let (st, v) = call(&d.t, "DELETE", path, &me, Body::None).await;
    assert_eq!(st, 409, "{v}");
    assert_eq!(d.t.app.run_terminations().await.unwrap().deleted, 1);
}
