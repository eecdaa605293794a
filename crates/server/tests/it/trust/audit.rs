//! AUD-01..AUD-04 end to end: every event kind is recorded under the right pseudonym; the log
//! is append-only and `verify` names the first index of any tampering; checkpoints and proofs
//! verify offline; a witness catches a rolled-back log; erasing an actor leaves the log
//! verifiable and the events unattributable; admins read and export their workspace's trail.

use std::collections::{BTreeMap, BTreeSet};

use ideaweave_app::{
    AuditAction, AuditQuery, LinkInput, Mailer, OutgoingMail, ProofFile, TokenInput, Verified,
    VerifierKey,
};
use ideaweave_backup::{Backups, RestoreScope, TargetSpec};
use ideaweave_domain::{Role, TokenScope, UserId, WorkspaceId};
use ideaweave_testkit::{TestApp, TestDb, closed_port, mail_config, test_db};
use serde_json::{Value, json};

use crate::helpers::{Auth, Body, call, open_discussion, with_token};
use crate::identity::sso::OidcProvider;
use crate::identity::{enrol_totp, send, sign_in_with_code, totp_code};
use crate::platform::cli::{bin_for, run};

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

/// Every event of the workspace `slug` as its owner sees them, oldest first.
async fn workspace_events(t: &TestApp, slug: &str, owner_token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut before: Option<u64> = None;
    loop {
        let path = match before {
            Some(b) => format!("/workspaces/{slug}/audit/events?limit=500&before={b}"),
            None => format!("/workspaces/{slug}/audit/events?limit=500"),
        };
        let (st, page) = with_token(t, "GET", &path, owner_token, None).await;
        assert_eq!(st, 200, "{page}");
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_before"].as_u64() {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    out.reverse();
    out
}

/// The events of `workspace` (or, with `None`, of the instance itself) as the operator reads
/// them, newest first.
async fn operator_events(t: &TestApp, workspace: Option<WorkspaceId>) -> Vec<Value> {
    t.app
        .instance_audit(
            workspace,
            AuditQuery {
                limit: Some(500),
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap()
        .items
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

fn actor_of(e: &Value) -> Option<String> {
    e["actor"]["user_id"].as_str().map(str::to_owned)
}

async fn verify(t: &TestApp) -> ideaweave_app::AuditReport {
    t.app
        .verify_audit(None, None, &|_, _| {})
        .await
        .unwrap_or_else(|e| panic!("verify failed: {e:?}"))
}

/// A mailer that keeps what it is given, for reading a link out of the outbox.
#[derive(Default)]
struct Captured(std::sync::Mutex<Vec<OutgoingMail>>);

impl Mailer for Captured {
    fn send<'a>(
        &'a self,
        mail: &'a OutgoingMail,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(mail.clone());
        Box::pin(async { Ok(()) })
    }
}

/// Sends what `t`'s outbox holds into a capture and returns the secret after `marker` (such as
/// `/reset-password/`) in the link mailed to `to`.
async fn mailed_secret(t: &TestApp, to: &str, marker: &str) -> String {
    let outbox = Captured::default();
    t.app.send_due_mail(&outbox, 50).await.unwrap();
    let sent = outbox.0.lock().unwrap();
    sent.iter()
        .find(|m| m.to == to)
        .and_then(|m| m.text.split(marker).nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no link with {marker} to {to}"))
        .to_owned()
}

/// Records `n` events in workspace `slug`: a space made private, then public again.
async fn space_changes(t: &TestApp, slug: &str, token: &str, n: usize) {
    let (st, sp) = with_token(
        t,
        "POST",
        &format!("/workspaces/{slug}/spaces"),
        token,
        Some(json!({"name": format!("s {}", uuid::Uuid::new_v4()), "description": "", "private": false})),
    )
    .await;
    assert_eq!(st, 201, "{sp}");
    for i in 0..n {
        let (st, _) = with_token(
            t,
            "PUT",
            &format!("/workspaces/{slug}/spaces/{}", id(&sp)),
            token,
            Some(json!({"name": "changing", "description": "", "private": i % 2 == 0})),
        )
        .await;
        assert_eq!(st, 200);
    }
}

/// A workspace with a few dozen recorded events.
async fn busy_log(slug: &str) -> (TestApp, ideaweave_testkit::TestWorkspace) {
    let t = TestApp::spawn().await;
    let w = t.workspace(slug).await;
    for i in 0..14 {
        let (st, tok) = with_token(
            &t,
            "POST",
            &format!("/workspaces/{slug}/spaces"),
            &w.owner.token,
            Some(json!({"name": format!("space {i}"), "description": "", "private": false})),
        )
        .await;
        assert_eq!(st, 201, "{tok}");
        let (st, _) = with_token(
            &t,
            "PUT",
            &format!("/workspaces/{slug}/spaces/{}", id(&tok)),
            &w.owner.token,
            Some(json!({"name": format!("space {i}!"), "description": "", "private": true})),
        )
        .await;
        assert_eq!(st, 200);
    }
    (t, w)
}

fn drop_append_only_triggers() -> &'static str {
    match test_db() {
        TestDb::Sqlite => {
            "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_entries_no_delete; \
             DROP TRIGGER audit_nodes_no_update; DROP TRIGGER audit_nodes_no_delete;"
        }
        TestDb::Postgres => {
            "DROP TRIGGER audit_entries_append_only ON audit_entries; \
             DROP TRIGGER audit_nodes_append_only ON audit_nodes;"
        }
    }
}

const COLUMNS: &str =
    "at, workspace_id, actor, action, target, outcome, details, leaf_hash, root_after";

#[tokio::test]
async fn aud_01_verify_names_the_first_index_of_every_kind_of_tampering() {
    let cases: Vec<(&str, String, u64)> = vec![
        (
            "an edited entry",
            "UPDATE audit_entries SET outcome = 'failure' WHERE seq = 7".into(),
            7,
        ),
        (
            "an edited entry whose leaf hash was recomputed",
            // The leaf hash of entry 9 put on entry 7: the tree recorded after 7 no longer fits.
            "UPDATE audit_entries SET leaf_hash = (SELECT leaf_hash FROM audit_entries WHERE seq = 9) WHERE seq = 7".into(),
            7,
        ),
        (
            "a deleted entry",
            "DELETE FROM audit_entries WHERE seq = 7".into(),
            7,
        ),
        (
            "an inserted entry",
            format!(
                "UPDATE audit_entries SET seq = seq + 1000 WHERE seq >= 7; \
                 UPDATE audit_entries SET seq = seq - 999 WHERE seq >= 1007; \
                 INSERT INTO audit_entries (seq, {COLUMNS}) SELECT 7, {COLUMNS} FROM audit_entries WHERE seq = 3;"
            ),
            7,
        ),
        (
            "two entries swapped",
            "UPDATE audit_entries SET seq = -1 WHERE seq = 5; \
             UPDATE audit_entries SET seq = 5 WHERE seq = 11; \
             UPDATE audit_entries SET seq = 11 WHERE seq = -1;"
                .into(),
            5,
        ),
        (
            "a truncated log",
            "DELETE FROM audit_entries WHERE seq >= 12".into(),
            12,
        ),
        (
            "a truncated log with its head moved back",
            "DELETE FROM audit_entries WHERE seq >= 12; UPDATE audit_head SET size = 12".into(),
            12,
        ),
        (
            "a rewritten subtree hash",
            "UPDATE audit_nodes SET hash = (SELECT leaf_hash FROM audit_entries WHERE seq = 0) WHERE level = 2 AND idx = 1".into(),
            4,
        ),
    ];
    for (what, sql, index) in cases {
        let (t, _) = busy_log("tamper").await;
        t.app.sign_audit_checkpoint().await.unwrap();
        let clean = verify(&t).await;
        assert_eq!(clean.problem, None, "{what}: the untouched log verifies");
        assert!(clean.entries >= 17 && clean.checkpoints >= 1, "{clean:?}");

        // The database refuses edits through any ordinary path…
        let refused = t
            .raw_sql_refused("UPDATE audit_entries SET outcome = 'x' WHERE seq = 1")
            .await;
        assert!(refused.contains("append-only"), "{refused}");
        t.raw_sql_refused("DELETE FROM audit_entries WHERE seq = 1")
            .await;

        // …so the attacker drops the guards first.
        t.raw_sql(drop_append_only_triggers()).await;
        t.raw_sql(&sql).await;
        let report = verify(&t).await;
        let problem = report
            .problem
            .unwrap_or_else(|| panic!("{what} went unnoticed"));
        assert_eq!(problem.index, index, "{what}: {}", problem.what);

        if what == "an edited entry" {
            let (ok, _, err) = run({
                let mut c = bin_for(&t);
                c.args(["audit", "verify"]);
                c
            });
            assert!(!ok, "the CLI exits non-zero");
            assert!(err.contains("fails at index 7"), "{err}");
        }
    }
}

#[tokio::test]
async fn aud_02_checkpoints_and_proofs_verify_offline_and_a_witness_catches_a_rollback() {
    let (t, w) = busy_log("proofs").await;
    let other = t.workspace("proofs-other").await;
    let admin = t.member(&w, "auditor", Role::Admin).await;
    let member = t.member(&w, "plain", Role::Member).await;

    // The checkpoint and key are public; the key printed by the CLI is the one served.
    let anon = reqwest::Client::new();
    let note = anon
        .get(t.api("/audit/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key_text = anon
        .get(t.api("/audit/key"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = VerifierKey::parse(&key_text).unwrap();
    let (ok, cli_key, err) = run({
        let mut c = bin_for(&t);
        c.args(["audit", "key"]);
        c
    });
    assert!(ok, "{err}");
    assert_eq!(cli_key.trim(), key_text.trim());
    let first = key.verify(&note).unwrap();
    assert!(first.size > 0);

    // An admin's inclusion proof for one of their workspace's events verifies with the key.
    let events = workspace_events(&t, "proofs", &w.owner.token).await;
    let index = events[3]["index"].as_u64().unwrap();
    let (st, proof) = with_token(
        &t,
        "GET",
        &format!("/workspaces/proofs/audit/events/{index}/proof"),
        &admin.token,
        None,
    )
    .await;
    assert_eq!(st, 200, "{proof}");
    let proof: ProofFile = serde_json::from_value(proof).unwrap();
    match proof.verify(Some(&key)).unwrap() {
        Verified::Included { entry, .. } => {
            assert_eq!(entry.index, index);
            assert_eq!(entry.action, events[3]["action"].as_str().unwrap());
        }
        other => panic!("{other:?}"),
    }
    // Not for members, not across workspaces.
    let (st, _) = with_token(
        &t,
        "GET",
        "/workspaces/proofs/audit/events",
        &member.token,
        None,
    )
    .await;
    assert_eq!(st, 403);
    let (st, _) = with_token(
        &t,
        "GET",
        &format!("/workspaces/proofs-other/audit/events/{index}/proof"),
        &other.owner.token,
        None,
    )
    .await;
    assert_eq!(st, 404, "another workspace's entry is not found");

    // The log grows; a consistency proof links the two checkpoints.
    let before_growth = first.size;
    space_changes(&t, "proofs", &w.owner.token, 5).await;
    let (ok, grown, err) = run({
        let mut c = bin_for(&t);
        c.args(["audit", "checkpoint"]);
        c
    });
    assert!(ok, "{err}");
    let grown = key.verify(&grown).unwrap();
    assert!(grown.size > before_growth);
    let consistency: ProofFile = anon
        .get(t.api(&format!("/audit/consistency?from={before_growth}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(matches!(
        consistency.verify(Some(&key)).unwrap(),
        Verified::Consistent { old, new } if old.size == before_growth && new == grown
    ));

    // A proof file from the CLI verifies offline, with no configuration; an altered one fails.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("proof.json");
    let (ok, _, err) = run({
        let mut c = bin_for(&t);
        c.args(["audit", "proof", "--index", &index.to_string(), "-o"])
            .arg(&file);
        c
    });
    assert!(ok, "{err}");
    let offline = |path: &std::path::Path| {
        let mut c = crate::platform::cli::bin();
        c.args(["audit", "verify-proof"])
            .arg(path)
            .args(["--key", key_text.trim()]);
        run(c)
    };
    let (ok, out, err) = offline(&file);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("entry {index}")), "{out}");
    let mut altered: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    altered["index"] = json!(index + 1);
    let bad = dir.path().join("altered.json");
    std::fs::write(&bad, altered.to_string()).unwrap();
    let (ok, _, err) = offline(&bad);
    assert!(!ok && err.contains("does not verify"), "{err}");

    // A witness follows the log over HTTP…
    let witness_dir = dir.path().join("witness");
    // The witness calls the in-process server over HTTP: it runs off the test's runtime.
    let witness = |base: &str| {
        let mut c = crate::platform::cli::bin();
        c.args(["audit", "witness"])
            .arg(&witness_dir)
            .args(["--url", base]);
        tokio::task::spawn_blocking(move || run(c))
    };
    let (ok, out, err) = witness(&t.base).await.unwrap();
    assert!(ok && out.contains("first checkpoint seen"), "{out}{err}");

    // …a copy of the database is taken (the backup an operator could later restore)…
    let backup = tempfile::tempdir().unwrap();
    let restore_url = match test_db() {
        TestDb::Sqlite => {
            let f = backup.path().join("backup.db");
            t.app.store().vacuum_into(&f).await.unwrap();
            format!("sqlite://{}", f.display())
        }
        TestDb::Postgres => crate::trust::encryption::pg_copy(&t.config.database_url).await,
    };
    space_changes(&t, "proofs", &w.owner.token, 3).await;
    t.app.sign_audit_checkpoint().await.unwrap();
    let (ok, out, err) = witness(&t.base).await.unwrap();
    assert!(ok && out.contains("consistent:"), "{out}{err}");

    // …and when the instance is rolled back to that copy, the witness refuses it.
    let restored = TestApp::spawn_with(|c| {
        c.database_url = restore_url.clone();
        c.master_key = t.config.master_key.clone();
        c.shred_ledger = t.config.shred_ledger.clone();
    })
    .await;
    let (ok, out, err) = witness(&restored.base).await.unwrap();
    assert!(!ok, "a rolled-back log was accepted: {out}");
    assert!(err.contains("rolled back"), "{err}");
}

#[tokio::test]
async fn aud_03_erasing_an_actor_keeps_the_log_verifiable_and_their_events_unattributable() {
    let t = TestApp::spawn().await;
    let w = t.workspace("erasure").await;
    let m = t.member(&w, "leaving", Role::Member).await;
    let stays = t.member(&w, "staying", Role::Member).await;
    let d = open_discussion(&t, "erasure", &w.owner.token).await;
    for p in [&m, &stays] {
        let (st, idea) = with_token(
            &t,
            "POST",
            &format!("/workspaces/erasure/discussions/{}/ideas", d),
            &p.token,
            Some(json!({"title": "mine", "body": "b", "tags": []})),
        )
        .await;
        assert_eq!(st, 201, "{idea}");
        let (st, _) = with_token(
            &t,
            "DELETE",
            &format!("/workspaces/erasure/ideas/{}", id(&idea)),
            &p.token,
            None,
        )
        .await;
        assert_eq!(st, 204);
    }
    let events = workspace_events(&t, "erasure", &w.owner.token).await;
    let mine: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "content.deleted" && actor_of(e) == Some(m.id.0.to_string()))
        .collect();
    assert_eq!(mine.len(), 1, "{events:?}");
    let pseudonym = mine[0]["actor"]["pseudonym"].as_str().unwrap().to_owned();
    assert!(pseudonym.starts_with("p-") && !pseudonym.contains(&m.id.0.to_string()));
    assert_eq!(mine[0]["client"]["ip"], json!("127.0.0.1"));
    assert!(mine[0]["client"].is_object(), "client data is kept, sealed");

    t.app.shred_member_data(w.id, m.id).await.unwrap();
    let after = workspace_events(&t, "erasure", &w.owner.token).await;
    let theirs: Vec<&Value> = after
        .iter()
        .filter(|e| e["actor"]["pseudonym"] == json!(pseudonym))
        .collect();
    assert!(!theirs.is_empty());
    for e in &theirs {
        assert_eq!(e["actor"]["user_id"], Value::Null, "unattributable: {e}");
        assert_eq!(e["client"], Value::Null, "client data unreadable: {e}");
    }
    let shredded: Vec<&Value> = after
        .iter()
        .filter(|e| e["action"] == "keys.subject_shredded")
        .collect();
    assert_eq!(shredded.len(), 1);
    assert_eq!(shredded[0]["target"], json!(format!("member:{pseudonym}")));
    assert_eq!(shredded[0]["target_person"]["user_id"], Value::Null);
    assert!(
        after.iter().any(
            |e| e["action"] == "content.deleted" && actor_of(e) == Some(stays.id.0.to_string())
        ),
        "the others stay attributed"
    );
    let report = verify(&t).await;
    assert_eq!(report.problem, None, "the log still verifies");
}

#[tokio::test]
async fn aud_04_admins_export_the_trail_and_the_export_is_recorded() {
    let (t, w) = busy_log("export").await;
    let (st, body) = call(
        &t,
        "GET",
        "/workspaces/export/audit/export",
        &Auth::Token(w.owner.token.clone()),
        Body::None,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let key = VerifierKey::parse(body["verifier_key"].as_str().unwrap()).unwrap();
    let cp = key.verify(body["checkpoint"].as_str().unwrap()).unwrap();
    let events = body["events"].as_array().unwrap();
    assert!(events.len() >= 17);
    assert!(
        events
            .windows(2)
            .all(|p| p[0]["index"].as_u64() < p[1]["index"].as_u64())
    );
    let last = events.last().unwrap();
    assert_eq!(last["action"], "audit.exported");
    assert!(
        cp.size > last["index"].as_u64().unwrap(),
        "the checkpoint covers the export"
    );
    // Each exported entry is the exact bytes the tree holds: a proof for it verifies.
    let index = events[2]["index"].as_u64().unwrap();
    let proof = t.app.audit_inclusion_proof(index).await.unwrap();
    let ProofFile::Inclusion { entry, .. } = &proof else {
        panic!("{proof:?}")
    };
    assert_eq!(entry, events[2]["entry"].as_str().unwrap());
    // Filters: by action, by time, with paging.
    let (st, page) = with_token(
        &t,
        "GET",
        "/workspaces/export/audit/events?action=space.settings_changed&limit=3",
        &w.owner.token,
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert!(page["next_before"].is_u64());
    let (st, e) = with_token(
        &t,
        "GET",
        "/workspaces/export/audit/events?action=nonsense",
        &w.owner.token,
        None,
    )
    .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (422, Some("action")),
        "{e}"
    );
}

// AUD-01: every kind of event is recorded with the right actor. Each test below performs one
// area's actions and proves the kinds of its list; together the lists name every kind.

/// Sign-ins, sign-outs and a person's changes to their own account.
const ACCOUNT_KINDS: &[&str] = &[
    "account.created",
    "auth.sign_in",
    "auth.sign_in_failed",
    "auth.sign_out",
    "account.renamed",
    "account.data_exported",
    "account.restricted",
    "account.restriction_lifted",
    "password.reset_requested",
    "password.reset",
    "account.email_changed",
];

/// Passwords, second factors, sessions and a workspace's credential policy.
const IDENTITY_KINDS: &[&str] = &[
    "password.changed",
    "mfa.enabled",
    "mfa.recovery_codes_regenerated",
    "mfa.recovery_code_used",
    "session.revoked",
    "auth.reauthenticated",
    "mfa.disabled",
    "workspace.security_changed",
];

const SSO_KINDS: &[&str] = &["workspace.sso_changed"];

/// Membership, invitations, workspace settings, the trail's export and refused requests.
const ADMINISTRATION_KINDS: &[&str] = &[
    "account.created",
    "workspace.created",
    "member.added",
    "invitation.created",
    "invitation.revoked",
    "invitation.accepted",
    "member.role_changed",
    "member.removed",
    "member.notifications_changed",
    "workspace.settings_changed",
    "audit.exported",
    "access.denied",
];

const CONTENT_KINDS: &[&str] = &[
    "space.settings_changed",
    "discussion.changed",
    "content.deleted",
    "idea.merged",
    "retention.changed",
    "retention.applied",
];

const KEY_KINDS: &[&str] = &[
    "token.created",
    "token.revoked",
    "keys.workspace_rotated",
    "keys.master_rotated",
    "keys.master_retired",
    "keys.subject_shredded",
];

const ERASURE_KINDS: &[&str] = &["person.erased", "account.deleted"];

const REQUEST_KINDS: &[&str] = &[
    "request.recorded",
    "request.data_prepared",
    "request.resolved",
    "request.forwarded",
];

const SUPPORT_KINDS: &[&str] = &["support.granted", "support.accessed", "support.revoked"];

const TERMINATION_KINDS: &[&str] = &[
    "workspace.deletion_requested",
    "workspace.deletion_cancelled",
    "workspace.deleted",
];

const TRANSFER_KINDS: &[&str] = &["workspace.exported", "workspace.imported"];

const BACKUP_KINDS: &[&str] = &["backup.created", "backup.failed", "backup.restored"];

/// Every list above, by name.
const KIND_LISTS: &[(&str, &[&str])] = &[
    ("ACCOUNT_KINDS", ACCOUNT_KINDS),
    ("IDENTITY_KINDS", IDENTITY_KINDS),
    ("SSO_KINDS", SSO_KINDS),
    ("ADMINISTRATION_KINDS", ADMINISTRATION_KINDS),
    ("CONTENT_KINDS", CONTENT_KINDS),
    ("KEY_KINDS", KEY_KINDS),
    ("ERASURE_KINDS", ERASURE_KINDS),
    ("REQUEST_KINDS", REQUEST_KINDS),
    ("SUPPORT_KINDS", SUPPORT_KINDS),
    ("TERMINATION_KINDS", TERMINATION_KINDS),
    ("TRANSFER_KINDS", TRANSFER_KINDS),
    ("BACKUP_KINDS", BACKUP_KINDS),
];

/// The kinds two tests prove on purpose: an account the operator creates (ACCOUNT_KINDS) and
/// one created by accepting an invitation (ADMINISTRATION_KINDS).
const CHECKED_TWICE: &[&str] = &["account.created"];

const DANA: &str = "dana@example.org";
const DANA_PASSWORD: &str = "dana's long quiet password";
const DANA_NEW_PASSWORD: &str = "dana's new quiet password";

/// Who an expected event is by.
#[derive(Clone, Copy, Debug)]
enum By {
    /// The operator, at the command line.
    Operator,
    /// Nobody that could be identified.
    Nobody,
    /// Someone since erased from the event's scope: a pseudonym that names no one.
    Erased,
    /// This person.
    Person(UserId),
}

/// Who an expected event is by: this person.
fn by(id: UserId) -> By {
    By::Person(id)
}

/// An expected event: its kind, who did it, how it ended, and the events it is to be among.
type Case<'a> = (&'a str, By, &'a str, &'a [Value]);

/// Asserts that each case is recorded, that the cases are of exactly the kinds in `kinds` (the
/// list of the kinds the test proves), and that the log verifies.
async fn assert_recorded(t: &TestApp, kinds: &[&str], cases: &[Case<'_>]) {
    for &(action, who, outcome, events) in cases {
        let found = events.iter().any(|e| {
            e["action"] == action
                && e["outcome"] == outcome
                && match who {
                    By::Operator => e["actor"]["pseudonym"] == "operator",
                    By::Nobody => e["actor"].is_null(),
                    By::Erased => {
                        e["actor"]["pseudonym"].is_string() && e["actor"]["user_id"].is_null()
                    }
                    By::Person(id) => e["actor"]["user_id"] == json!(id),
                }
        });
        assert!(found, "no {action} ({outcome}) by {who:?} in {events:#?}");
    }
    let checked: BTreeSet<&str> = cases.iter().map(|c| c.0).collect();
    let listed: BTreeSet<&str> = kinds.iter().copied().collect();
    assert_eq!(checked, listed, "the cases prove the kinds of the list");
    assert_eq!(verify(t).await.problem, None, "the log verifies");
}

/// An instance with a mail server configured (nothing listens there): mail is queued, and the
/// links it holds can be read with [`mailed_secret`].
async fn with_mail() -> TestApp {
    TestApp::spawn_with(|c| c.mail = Some(mail_config(closed_port()))).await
}

/// Dana, with a password, made an admin of the workspace `kinds`; her id.
async fn add_dana(t: &TestApp) -> UserId {
    let dana = t
        .app
        .create_user(DANA, "Dana", Some(DANA_PASSWORD), false)
        .await
        .unwrap()
        .0
        .id;
    t.app.add_member("kinds", DANA, Role::Admin).await.unwrap();
    dana
}

/// Runs the command line against `t`'s instance; it succeeds.
fn cli(t: &TestApp, args: &[&str]) {
    let (ok, out, err) = run({
        let mut c = bin_for(t);
        c.args(args);
        c
    });
    assert!(ok, "{args:?}: {out}{err}");
}

/// Signing in and out, failed sign-ins, a person's changes to their own account, and a password
/// reset and an address change, each with the link mailed for it.
#[tokio::test]
async fn aud_01_account_and_password_events_are_recorded() {
    let t = with_mail().await;
    let alice = t
        .app
        .create_user(
            "alice@example.org",
            "Alice",
            Some("alice's long password"),
            false,
        )
        .await
        .unwrap()
        .0
        .id;
    let (st, body) = call(
        &t,
        "POST",
        "/session",
        &Auth::None,
        Body::Json(json!({"email": "alice@example.org", "password": "alice's long password"})),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    for (email, pw) in [
        ("alice@example.org", "a wrong password here"),
        ("nobody@example.org", "a wrong password here"),
    ] {
        let (st, _) = call(
            &t,
            "POST",
            "/session",
            &Auth::None,
            Body::Json(json!({"email": email, "password": pw})),
        )
        .await;
        assert_eq!(st, 403);
    }
    let session = t
        .session("alice@example.org", "alice's long password")
        .await;
    let (st, _) = call(
        &t,
        "PATCH",
        "/me",
        &Auth::Session(session.clone()),
        Body::Json(json!({"name": "Alice Renamed"})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = call(
        &t,
        "GET",
        "/me/personal-data",
        &Auth::Session(session.clone()),
        Body::None,
    )
    .await;
    assert_eq!(st, 200);
    for on in [true, false] {
        let (st, _) = call(
            &t,
            "PUT",
            "/me/restriction",
            &Auth::Session(session.clone()),
            Body::Json(json!({"restricted": on})),
        )
        .await;
        assert_eq!(st, 200);
    }
    let (st, _) = call(
        &t,
        "DELETE",
        "/session",
        &Auth::Session(session),
        Body::None,
    )
    .await;
    assert_eq!(st, 204);

    // A password reset: asked for by someone unknown, then done with the emailed link.
    let web = ideaweave_app::ClientInfo {
        ip: Some("192.0.2.7".into()),
        user_agent: Some("browser".into()),
    };
    t.app
        .request_password_reset("alice@example.org", &web)
        .await
        .unwrap();
    let reset_token = mailed_secret(&t, "alice@example.org", "/reset-password/").await;
    t.app
        .reset_password(&reset_token, "alice's new long password", &web)
        .await
        .unwrap();

    // Alice rectifies her address with the link sent to the new one.
    let login = t
        .app
        .login(
            &ideaweave_app::LoginInput::password("alice@example.org", "alice's new long password"),
            &web,
        )
        .await
        .unwrap()
        .done()
        .expect("no second factor");
    let alice_p = t
        .app
        .authenticate(&ideaweave_app::Credential::Session(login.session))
        .await
        .unwrap();
    t.app
        .request_email_change(
            &alice_p,
            ideaweave_app::EmailChangeInput {
                email: "alice@example.net".into(),
            },
        )
        .await
        .unwrap();
    let change_token = mailed_secret(&t, "alice@example.net", "/email-change/").await;
    t.app
        .confirm_email_change(&change_token, &web)
        .await
        .unwrap();

    let inst = operator_events(&t, None).await;
    let reset_requested = inst
        .iter()
        .find(|e| e["action"] == "password.reset_requested")
        .unwrap();
    assert_eq!(reset_requested["target_person"]["user_id"], json!(alice));
    assert_recorded(
        &t,
        ACCOUNT_KINDS,
        &[
            ("account.created", By::Operator, "success", &inst),
            ("auth.sign_in", by(alice), "success", &inst),
            ("auth.sign_in_failed", by(alice), "failure", &inst),
            ("auth.sign_in_failed", By::Nobody, "failure", &inst),
            ("auth.sign_out", by(alice), "success", &inst),
            ("account.renamed", by(alice), "success", &inst),
            ("account.data_exported", by(alice), "success", &inst),
            ("account.restricted", by(alice), "success", &inst),
            ("account.restriction_lifted", by(alice), "success", &inst),
            ("password.reset_requested", By::Nobody, "success", &inst),
            ("password.reset", by(alice), "success", &inst),
            ("account.email_changed", by(alice), "success", &inst),
        ],
    )
    .await;
}

/// Identity (IDN-01..04): a password change, an authenticator with its recovery codes, a
/// credential policy, a recovery-code sign-in, a revoked session, a re-authentication.
#[tokio::test]
async fn aud_01_password_changes_second_factors_and_credential_policy_are_recorded() {
    let t = TestApp::spawn().await;
    let w = t.workspace("kinds").await;
    let dana = add_dana(&t).await;
    let r = send(
        &t,
        "POST",
        "/session",
        None,
        Some(json!({"email": DANA, "password": DANA_PASSWORD})),
    )
    .await;
    let d = r.session(dana);
    let r = send(
        &t,
        "PUT",
        "/me/password",
        Some(&d),
        Some(json!({"current_password": DANA_PASSWORD, "new_password": DANA_NEW_PASSWORD})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = r.session(dana);
    let (secret, _, d) = enrol_totp(&t, &d).await;
    let r = send(
        &t,
        "POST",
        "/me/second-factors/recovery-codes",
        Some(&d),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let code = r.body["codes"][0].as_str().unwrap().to_owned();
    let r = send(
        &t,
        "PUT",
        "/workspaces/kinds/security",
        Some(&d),
        Some(json!({"member_minimum": "password", "admin_minimum": "password"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(
        &t,
        "POST",
        "/session",
        None,
        Some(json!({"email": DANA, "password": DANA_NEW_PASSWORD})),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let r = send(
        &t,
        "POST",
        "/session/second-factor",
        None,
        Some(json!({"challenge": r.body["challenge"], "recovery_code": code})),
    )
    .await;
    let d2 = r.session(dana);
    let r = send(&t, "DELETE", "/me/sessions", Some(&d2), None).await;
    assert_eq!(r.body["sessions_ended"], 1, "{}", r.body);
    t.clock.advance(std::time::Duration::from_secs(31));
    let r = send(
        &t,
        "POST",
        "/session/reauth",
        Some(&d2),
        Some(json!({"password": DANA_NEW_PASSWORD, "code": totp_code(&t, &secret)})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d2 = r.session(dana);
    let r = send(&t, "DELETE", "/me/second-factors/totp", Some(&d2), None).await;
    assert_eq!(r.status, 204, "{}", r.body);

    let inst = operator_events(&t, None).await;
    let ws = workspace_events(&t, "kinds", &w.owner.token).await;
    assert_recorded(
        &t,
        IDENTITY_KINDS,
        &[
            ("password.changed", by(dana), "success", &inst),
            ("mfa.enabled", by(dana), "success", &inst),
            ("mfa.recovery_codes_regenerated", by(dana), "success", &inst),
            ("mfa.recovery_code_used", by(dana), "success", &inst),
            ("session.revoked", by(dana), "success", &inst),
            ("auth.reauthenticated", by(dana), "success", &inst),
            ("mfa.disabled", by(dana), "success", &inst),
            ("workspace.security_changed", by(dana), "success", &ws),
        ],
    )
    .await;
}

/// Single sign-on set up against a real provider (IDN-03).
#[tokio::test]
async fn aud_01_single_sign_on_changes_are_recorded() {
    let t = TestApp::spawn_with(|c| c.sso_allow_http = true).await;
    let w = t.workspace("kinds").await;
    let dana = add_dana(&t).await;
    let idp = OidcProvider::start("kinds");
    let session = t.session(DANA, DANA_PASSWORD).await;
    let (st, v) = call(
        &t,
        "PUT",
        "/workspaces/kinds/sso/oidc",
        &Auth::Session(session),
        Body::Json(
            json!({"issuer": idp.issuer, "client_id": "c", "client_secret": "s",
            "allowed_domains": ["example.org"]}),
        ),
    )
    .await;
    assert_eq!(st, 200, "{v}");

    let ws = workspace_events(&t, "kinds", &w.owner.token).await;
    assert_recorded(
        &t,
        SSO_KINDS,
        &[("workspace.sso_changed", by(dana), "success", &ws)],
    )
    .await;
}

/// Workspace administration: invitations mailed, revoked and accepted, a member's role changed
/// and the member removed, settings changed, the trail exported, and a member's attempt that a
/// permission check refuses.
#[tokio::test]
async fn aud_01_invitations_membership_and_workspace_settings_are_recorded() {
    let t = with_mail().await;
    let w = t.workspace("kinds").await;
    let owner = w.as_member(&w.owner);
    let owner_id = w.owner.id;
    let inv = t
        .app
        .invite(
            &owner,
            ideaweave_app::InvitationInput {
                email: "bob@example.org".into(),
                role: Role::Member,
            },
        )
        .await
        .unwrap();
    let gone = t
        .app
        .invite(
            &owner,
            ideaweave_app::InvitationInput {
                email: "carol@example.org".into(),
                role: Role::Member,
            },
        )
        .await
        .unwrap();
    t.app
        .revoke_invitation(&owner, gone.invitation.id)
        .await
        .unwrap();
    // The link was mailed (and not shown to the owner): Bob reads it in his mail.
    assert!(inv.token.is_none());
    let secret = mailed_secret(&t, "bob@example.org", "/invitations/").await;
    let (st, accepted) = call(
        &t,
        "POST",
        &format!("/invitations/{secret}/accept"),
        &Auth::None,
        Body::Json(json!({"name": "Bob", "password": "bob's long password"})),
    )
    .await;
    assert_eq!(st, 201, "{accepted}");
    let bob = UserId(accepted["user"]["id"].as_str().unwrap().parse().unwrap());
    t.app
        .change_role(
            &owner,
            bob,
            ideaweave_app::RoleInput {
                role: Role::Moderator,
            },
        )
        .await
        .unwrap();
    t.app
        .rename_workspace(
            &owner,
            ideaweave_app::WorkspacePatch {
                name: "Renamed".into(),
            },
        )
        .await
        .unwrap();
    t.app.remove_member(&owner, bob).await.unwrap();
    t.app
        .set_notification_preference(&owner, ideaweave_app::NotificationPreference::Daily)
        .await
        .unwrap();
    let (st, _) = call(
        &t,
        "GET",
        "/workspaces/kinds/audit/export",
        &Auth::Token(w.owner.token.clone()),
        Body::None,
    )
    .await;
    assert_eq!(st, 200);
    // A member's attempt that a permission check refuses is recorded too.
    let refused = t.member(&w, "refused", Role::Member).await;
    let (st, _) = with_token(
        &t,
        "PATCH",
        "/workspaces/kinds",
        &refused.token,
        Some(json!({"name": "Not mine to rename"})),
    )
    .await;
    assert_eq!(st, 403);

    let inst = operator_events(&t, None).await;
    let ws = workspace_events(&t, "kinds", &w.owner.token).await;
    let role_change = ws
        .iter()
        .find(|e| e["action"] == "member.role_changed")
        .unwrap();
    assert_eq!(role_change["target_person"]["user_id"], json!(bob));
    assert_eq!(
        role_change["facts"],
        json!({"from": "member", "to": "moderator"})
    );
    let notifications = ws
        .iter()
        .find(|e| e["action"] == "member.notifications_changed")
        .unwrap();
    assert_eq!(notifications["target_person"]["user_id"], json!(owner_id));
    assert_eq!(
        notifications["facts"],
        json!({"from": "instant", "to": "daily", "pending_dropped": 0})
    );
    assert_recorded(
        &t,
        ADMINISTRATION_KINDS,
        &[
            ("account.created", by(bob), "success", &inst),
            ("workspace.created", By::Operator, "success", &ws),
            ("member.added", By::Operator, "success", &ws),
            ("invitation.created", by(owner_id), "success", &ws),
            ("invitation.revoked", by(owner_id), "success", &ws),
            ("invitation.accepted", by(bob), "success", &ws),
            ("member.role_changed", by(owner_id), "success", &ws),
            ("member.removed", by(owner_id), "success", &ws),
            ("member.notifications_changed", by(owner_id), "success", &ws),
            ("workspace.settings_changed", by(owner_id), "success", &ws),
            ("audit.exported", by(owner_id), "success", &ws),
            ("access.denied", by(refused.id), "denied", &ws),
        ],
    )
    .await;
}

/// Content: a space created and changed, an idea merged into another, a link and an idea
/// deleted, and the deleted idea purged by the retention job once it is old enough.
#[tokio::test]
async fn aud_01_content_changes_and_retention_are_recorded() {
    let t = TestApp::spawn().await;
    let w = t.workspace("kinds").await;
    let owner = w.as_member(&w.owner);
    let sp = t
        .app
        .create_space(
            &owner,
            ideaweave_app::SpaceInput {
                name: "S".into(),
                description: String::new(),
                private: false,
            },
        )
        .await
        .unwrap();
    t.app
        .update_space(
            &owner,
            sp.id,
            ideaweave_app::SpaceInput {
                name: "S2".into(),
                description: String::new(),
                private: true,
            },
        )
        .await
        .unwrap();
    let d = t
        .app
        .create_discussion(
            &owner,
            sp.id,
            ideaweave_app::DiscussionInput {
                kind: ideaweave_app::DiscussionKind::Topic,
                title: "D".into(),
                description: String::new(),
                deadline: None,
                criteria: vec![],
            },
        )
        .await
        .unwrap();
    let mut ideas = Vec::new();
    for title in ["one", "two", "three"] {
        ideas.push(
            t.app
                .create_idea(
                    &owner,
                    d.id,
                    ideaweave_app::IdeaInput {
                        title: title.into(),
                        body: "b".into(),
                        tags: vec![],
                    },
                )
                .await
                .unwrap()
                .summary
                .id,
        );
    }
    t.app
        .merge(
            &owner,
            ideas[1],
            ideaweave_app::MergeInput { into: ideas[0] },
        )
        .await
        .unwrap();
    let link = t
        .app
        .add_link(
            &owner,
            ideas[2],
            LinkInput {
                url: "https://example.org".into(),
                title: String::new(),
                comment_id: None,
            },
        )
        .await
        .unwrap();
    t.app.delete_link(&owner, link.id).await.unwrap();
    t.app.delete_idea(&owner, ideas[2]).await.unwrap();
    let closing = ideaweave_app::DiscussionPatch {
        open: Some(false),
        ..Default::default()
    };
    t.app
        .update_discussion(&owner, d.id, closing)
        .await
        .unwrap();
    t.app
        .set_retention_policy(
            &owner,
            ideaweave_domain::RetentionPolicy {
                deleted_days: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // The idea deleted above is purged once it has been deleted for longer than ten days.
    t.clock
        .advance(std::time::Duration::from_secs(11 * 24 * 3600));
    assert_eq!(t.app.enforce_retention().await.unwrap().ideas, 1);

    let ws = workspace_events(&t, "kinds", &w.owner.token).await;
    assert_recorded(
        &t,
        CONTENT_KINDS,
        &[
            ("space.settings_changed", by(w.owner.id), "success", &ws),
            ("discussion.changed", by(w.owner.id), "success", &ws),
            ("content.deleted", by(w.owner.id), "success", &ws),
            ("idea.merged", by(w.owner.id), "success", &ws),
            ("retention.changed", by(w.owner.id), "success", &ws),
            ("retention.applied", By::Operator, "success", &ws),
        ],
    )
    .await;
}

/// Keys: a member's API token created and revoked, the workspace key and the master key rotated
/// and the old master key retired at the command line, and the member's data key shredded (their
/// events stay, unattributable).
#[tokio::test]
async fn aud_01_key_operations_and_crypto_shredding_are_recorded() {
    let t = TestApp::spawn().await;
    let w = t.workspace("kinds").await;
    let alice = t.member(&w, "alice", Role::Member).await;
    let as_alice = w.as_member(&alice);
    let tok = t
        .app
        .create_token(
            &as_alice,
            TokenInput {
                name: "mine".into(),
                scope: TokenScope::Read,
                expires_in_days: None,
            },
        )
        .await
        .unwrap();
    t.app.revoke_token(&as_alice, tok.token.id).await.unwrap();
    cli(&t, &["keys", "rotate-workspace", "kinds"]);
    cli(&t, &["keys", "rotate-master"]);
    cli(&t, &["keys", "retire-master", "1", "--yes"]);
    t.app.shred_member_data(w.id, alice.id).await.unwrap();

    let inst = operator_events(&t, None).await;
    let ws = workspace_events(&t, "kinds", &w.owner.token).await;
    assert_recorded(
        &t,
        KEY_KINDS,
        &[
            ("token.created", By::Erased, "success", &ws),
            ("token.revoked", By::Erased, "success", &ws),
            ("keys.workspace_rotated", By::Operator, "success", &ws),
            ("keys.master_rotated", By::Operator, "success", &inst),
            ("keys.master_retired", By::Operator, "success", &inst),
            ("keys.subject_shredded", By::Operator, "success", &ws),
        ],
    )
    .await;
}

/// Erasure: an admin erases a member, and a member deletes their own account.
#[tokio::test]
async fn aud_01_erasures_and_account_deletions_are_recorded() {
    let t = TestApp::spawn().await;
    let w = t.workspace("kinds").await;
    let carol = t
        .session("carol@example.org", "carol's long password")
        .await
        .user;
    t.app
        .add_member("kinds", "carol@example.org", Role::Member)
        .await
        .unwrap();
    t.app
        .erase_person(
            &w.as_member(&w.owner),
            carol,
            ideaweave_app::ErasureInput {
                mode: ideaweave_domain::ErasureMode::Purge,
            },
        )
        .await
        .unwrap();
    let dave = t.session("dave@example.org", "dave's long password").await;
    t.app
        .add_member("kinds", "dave@example.org", Role::Member)
        .await
        .unwrap();
    let (st, v) = call(
        &t,
        "DELETE",
        "/me",
        &Auth::Session(dave),
        Body::Json(json!({"confirm": "dave@example.org"})),
    )
    .await;
    assert_eq!(st, 204, "{v}");

    let inst = operator_events(&t, None).await;
    let ws = workspace_events(&t, "kinds", &w.owner.token).await;
    assert_recorded(
        &t,
        ERASURE_KINDS,
        &[
            ("person.erased", by(w.owner.id), "success", &ws),
            ("person.erased", By::Erased, "success", &ws),
            ("account.deleted", By::Erased, "success", &inst),
        ],
    )
    .await;
}

/// The request desk: an access request recorded, its data gathered and the request answered,
/// and a complaint the operator forwards to the workspace.
#[tokio::test]
async fn aud_01_data_subject_requests_are_recorded() {
    let t = TestApp::spawn().await;
    let w = t.workspace("kinds").await;
    let owner = w.as_member(&w.owner);
    let access = t
        .app
        .record_request(
            &owner,
            ideaweave_app::RequestInput {
                kind: ideaweave_domain::RequestKind::Access,
                channel: ideaweave_domain::RequestChannel::Letter,
                requester: "someone".into(),
                subject_id: Some(w.owner.id),
                details: String::new(),
                received_at: None,
            },
        )
        .await
        .unwrap();
    t.app
        .personal_data_for_request(&owner, access.id)
        .await
        .unwrap();
    t.app
        .resolve_request(
            &owner,
            access.id,
            ideaweave_app::ResolveInput {
                state: ideaweave_domain::RequestState::Done,
                resolution: "sent".into(),
                notify: vec![],
            },
        )
        .await
        .unwrap();
    t.app
        .forward_request(
            "kinds",
            ideaweave_app::ForwardedRequest {
                kind: ideaweave_domain::RequestKind::Complaint,
                requester: "someone".into(),
                details: String::new(),
                received_at: None,
            },
        )
        .await
        .unwrap();

    let ws = workspace_events(&t, "kinds", &w.owner.token).await;
    assert_recorded(
        &t,
        REQUEST_KINDS,
        &[
            ("request.recorded", by(w.owner.id), "success", &ws),
            ("request.data_prepared", by(w.owner.id), "success", &ws),
            ("request.resolved", by(w.owner.id), "success", &ws),
            ("request.forwarded", By::Operator, "success", &ws),
        ],
    )
    .await;
}

/// Support access (SUP-01): the owner invites support, an operator (two factors) makes a
/// request under the invitation, the owner revokes it.
#[tokio::test]
async fn aud_01_support_access_is_recorded() {
    let t = TestApp::spawn().await;
    let w = t.workspace("kinds").await;
    let owner = w.as_member(&w.owner);
    let grant = t
        .app
        .grant_support(
            &owner,
            ideaweave_app::SupportGrantInput {
                scope: ideaweave_domain::SupportScope::Read,
                hours: 1,
                reason: None,
            },
        )
        .await
        .unwrap();
    t.app
        .create_user(
            "ops@operator.example",
            "Ops",
            Some("the operator's long passphrase"),
            true,
        )
        .await
        .unwrap();
    let ops = t
        .session("ops@operator.example", "the operator's long passphrase")
        .await;
    let (ops_secret, _, ops) = enrol_totp(&t, &ops).await;
    let ops = sign_in_with_code(
        &t,
        "ops@operator.example",
        "the operator's long passphrase",
        &ops_secret,
        ops.user,
    )
    .await;
    let r = send(&t, "GET", "/workspaces/kinds", Some(&ops), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    t.app.revoke_support(&owner, grant.id).await.unwrap();

    let ws = workspace_events(&t, "kinds", &w.owner.token).await;
    assert_recorded(
        &t,
        SUPPORT_KINDS,
        &[
            ("support.granted", by(w.owner.id), "success", &ws),
            ("support.accessed", by(ops.user), "success", &ws),
            ("support.revoked", by(w.owner.id), "success", &ws),
        ],
    )
    .await;
}

/// A workspace's deletion asked for, cancelled, asked for again and carried out after its
/// grace period; its owner is unattributable once the workspace and its keys are gone.
#[tokio::test]
async fn aud_01_workspace_termination_is_recorded() {
    let t = TestApp::spawn().await;
    let gone = t.workspace("kinds-gone").await;
    let gone_owner = gone.as_member(&gone.owner);
    let confirm = || ideaweave_app::TerminationInput {
        confirm: "kinds-gone".into(),
    };
    t.app
        .request_termination(&gone_owner, confirm())
        .await
        .unwrap();
    t.app.cancel_termination(&gone_owner).await.unwrap();
    t.app
        .request_termination(&gone_owner, confirm())
        .await
        .unwrap();
    t.clock
        .advance(std::time::Duration::from_secs(15 * 24 * 3600));
    assert_eq!(t.app.run_terminations().await.unwrap().deleted, 1);

    let ws = operator_events(&t, Some(gone.id)).await;
    assert_recorded(
        &t,
        TERMINATION_KINDS,
        &[
            ("workspace.deletion_requested", By::Erased, "success", &ws),
            ("workspace.deletion_cancelled", By::Erased, "success", &ws),
            ("workspace.deleted", By::Operator, "success", &ws),
        ],
    )
    .await;
}

/// A workspace exported as an archive and imported under another name, at the command line.
#[tokio::test]
async fn aud_01_workspace_export_and_import_are_recorded() {
    let t = TestApp::spawn().await;
    let w = t.workspace("kinds").await;
    let archive = t.dir.path().join("kinds.tar.gz").display().to_string();
    cli(&t, &["export", "workspace", "kinds", "--out", &archive]);
    cli(&t, &["import", "--slug", "kinds-copy", &archive]);

    let copy_token = t
        .token(&w.owner.email, "kinds-copy", TokenScope::Read)
        .await;
    let copy = workspace_events(&t, "kinds-copy", &copy_token).await;
    let ws = workspace_events(&t, "kinds", &w.owner.token).await;
    assert_recorded(
        &t,
        TRANSFER_KINDS,
        &[
            ("workspace.exported", By::Operator, "success", &ws),
            ("workspace.imported", By::Operator, "success", &copy),
        ],
    )
    .await;
}

/// Backups (BAK-01, BAK-05): one taken, one failed, and the workspace restored from the first
/// (the live log is kept: the restore is recorded, nothing rewound).
#[tokio::test]
async fn aud_01_backups_and_restores_are_recorded() {
    let t = TestApp::spawn().await;
    let w = t.workspace("kinds").await;
    let dir = tempfile::tempdir().unwrap();
    let operator = age::x25519::Identity::generate();
    let good = Backups::new(
        t.app.clone(),
        crate::transfer::backup::settings(
            &t,
            vec![TargetSpec::Dir(dir.path().to_owned())],
            &operator,
        ),
    )
    .unwrap();
    let report = good.run(&|_| {}).await.unwrap();
    let unreachable = TargetSpec::S3(ideaweave_testkit::s3_location(
        &format!("http://127.0.0.1:{}", closed_port()),
        "backups",
        "",
    ));
    let bad = Backups::new(
        t.app.clone(),
        crate::transfer::backup::settings(&t, vec![unreachable], &operator),
    )
    .unwrap();
    assert!(bad.run(&|_| {}).await.is_err());
    ideaweave_backup::restore(
        &t.app,
        &t.config.database_url,
        &dir.path().join(&report.name),
        operator,
        &RestoreScope::Workspace("kinds".into()),
        false,
        &dir.path().join("work"),
        &Default::default(),
    )
    .await
    .unwrap();

    let inst = operator_events(&t, None).await;
    let ws = workspace_events(&t, "kinds", &w.owner.token).await;
    assert_recorded(
        &t,
        BACKUP_KINDS,
        &[
            ("backup.created", By::Operator, "success", &inst),
            ("backup.failed", By::Operator, "failure", &inst),
            ("backup.restored", By::Operator, "success", &ws),
        ],
    )
    .await;
}

/// The lists above name every kind of event, so that each kind has a test that records it; a
/// kind is in two lists only when [`CHECKED_TWICE`] says so.
#[test]
fn aud_01_every_event_kind_has_a_test_that_records_it() {
    let mut lists_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for &(list, kinds) in KIND_LISTS {
        for &kind in kinds {
            lists_of.entry(kind).or_default().push(list);
        }
    }
    for (kind, lists) in &lists_of {
        assert!(
            lists.len() == 1 || CHECKED_TWICE.contains(kind),
            "{kind} is in {lists:?}: keep it in one, or add it to CHECKED_TWICE if both are meant"
        );
    }
    for kind in CHECKED_TWICE {
        assert!(
            lists_of.get(kind).is_some_and(|lists| lists.len() == 2),
            "{kind} is in CHECKED_TWICE but not in two lists"
        );
    }
    let listed: BTreeSet<&str> = lists_of.keys().copied().collect();
    let all: BTreeSet<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
    assert_eq!(
        listed, all,
        "every kind of event has a test that records it: add a case for each new kind"
    );
}

#[tokio::test]
async fn aud_01_requests_a_permission_check_refuses_are_recorded_with_their_route() {
    let t = TestApp::spawn().await;
    let w = t.workspace("refusals").await;
    let other = t.workspace("elsewhere").await;
    let member = t.member(&w, "curious", Role::Member).await;
    let guest = t.member(&w, "guest", Role::Guest).await;
    for (who, method, path, body) in [
        (
            &member,
            "PATCH",
            "/workspaces/refusals",
            Some(json!({"name": "Mine now"})),
        ),
        (&member, "GET", "/workspaces/refusals/audit/events", None),
        (&guest, "GET", "/workspaces/refusals/members", None),
    ] {
        let (st, v) = with_token(&t, method, path, &who.token, body).await;
        assert_eq!(st, 403, "{method} {path}: {v}");
    }
    // Not refusals: another workspace is a 404 to them, and what they may do is not recorded
    // as denied.
    let (st, _) = with_token(&t, "GET", "/workspaces/elsewhere", &member.token, None).await;
    assert_eq!(st, 404);
    let (st, _) = with_token(&t, "GET", "/workspaces/refusals", &member.token, None).await;
    assert_eq!(st, 200);
    let events = workspace_events(&t, "refusals", &w.owner.token).await;
    let denied: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "access.denied")
        .collect();
    let seen: Vec<(Option<String>, &str)> = denied
        .iter()
        .map(|e| (actor_of(e), e["facts"]["request"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen.len(),
        3,
        "one entry per refused request, nothing else: {seen:?}"
    );
    for (who, line) in [
        (&member, "PATCH /api/v1/workspaces/{slug}"),
        (&member, "GET /api/v1/workspaces/{slug}/audit/events"),
        (&guest, "GET /api/v1/workspaces/{slug}/members"),
    ] {
        assert!(
            seen.contains(&(Some(who.id.0.to_string()), line)),
            "{line} in {seen:?}"
        );
    }
    assert!(denied.iter().all(|e| e["outcome"] == "denied"));
    assert!(
        workspace_events(&t, "elsewhere", &other.owner.token)
            .await
            .iter()
            .all(|e| e["action"] != "access.denied")
    );
    assert_eq!(verify(&t).await.problem, None);
}

/// A blob literal in this database's SQL.
fn blob(bytes: &[u8]) -> String {
    match test_db() {
        TestDb::Sqlite => format!("X'{}'", hex::encode(bytes)),
        TestDb::Postgres => format!("'\\x{}'::bytea", hex::encode(bytes)),
    }
}

/// Every append-only guard of the audit tables dropped, as an attacker with database access
/// does first.
fn drop_every_guard() -> &'static str {
    match test_db() {
        TestDb::Sqlite => {
            "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_entries_no_delete; \
             DROP TRIGGER audit_nodes_no_update; DROP TRIGGER audit_nodes_no_delete; \
             DROP TRIGGER audit_checkpoints_no_update; DROP TRIGGER audit_checkpoints_no_delete;"
        }
        TestDb::Postgres => "DROP FUNCTION audit_append_only() CASCADE;",
    }
}

/// What someone with write access to the database but no master key can do to make the
/// unkeyed tree consistent again after editing entries: recompute every leaf, every root, every
/// subtree hash and the head from the entries as they now are, and delete the checkpoints.
async fn rehash_everything(t: &TestApp) {
    let rows = t
        .app
        .store()
        .read()
        .await
        .unwrap()
        .audit_entries_from(0, 1_000_000)
        .await
        .unwrap();
    let mut frontier = ideaweave_audit::Frontier::new();
    let mut sql = String::from("DELETE FROM audit_nodes; DELETE FROM audit_checkpoints;");
    for r in &rows {
        let leaf = ideaweave_audit::Entry {
            index: r.seq as u64,
            at: r.at,
            workspace: r.workspace_id,
            actor: r.actor.clone(),
            action: r.action.clone(),
            target: r.target.clone(),
            outcome: r.outcome.clone(),
            details: r.details.clone(),
        }
        .leaf_hash();
        for (id, hash) in frontier.push(leaf) {
            sql.push_str(&format!(
                "INSERT INTO audit_nodes (level, idx, hash) VALUES ({}, {}, {});",
                id.level,
                id.index,
                blob(&hash)
            ));
        }
        sql.push_str(&format!(
            "UPDATE audit_entries SET leaf_hash = {}, root_after = {} WHERE seq = {};",
            blob(&leaf),
            blob(&frontier.root()),
            r.seq
        ));
    }
    sql.push_str(&format!(
        "UPDATE audit_head SET size = {}, frontier = {};",
        rows.len(),
        blob(&frontier.to_bytes())
    ));
    t.raw_sql(&sql).await;
}

/// AUD-01, AUD-02 (issue 19, finding 4): with write access to the database but not the master
/// key, an attacker rewrites an entry and recomputes every hash with the checkpoints deleted,
/// or appends an entry with correct hashes: `verify` names the exact index and the server
/// refuses to sign. Dropped guards are reported and put back at start; TRUNCATE is refused on
/// every audit table (PostgreSQL); an altered checkpoint signature is named by its index.
#[tokio::test]
async fn aud_01_a_database_writer_cannot_forge_or_rewrite_the_history() {
    // A consistent rewrite, checkpoints deleted.
    let (t, _) = busy_log("forge").await;
    t.app.sign_audit_checkpoint().await.unwrap();
    t.raw_sql(drop_every_guard()).await;
    let report = verify(&t).await;
    assert!(
        !report.missing_guards.is_empty(),
        "dropped guards are reported: {report:?}"
    );
    t.raw_sql("UPDATE audit_entries SET outcome = 'failure' WHERE seq = 6")
        .await;
    rehash_everything(&t).await;
    let problem = verify(&t).await.problem.expect("the rewrite is noticed");
    assert_eq!(problem.index, 6, "{}", problem.what);
    let refused = format!("{:?}", t.app.sign_audit_checkpoint().await.unwrap_err());
    assert!(refused.contains("refusing to sign"), "{refused}");
    // Started again, the server puts the guards back.
    let node = t.second_node().await;
    assert!(
        t.app
            .store()
            .missing_audit_guards()
            .await
            .unwrap()
            .is_empty(),
        "the guards are back"
    );
    let again = t
        .raw_sql_refused("UPDATE audit_entries SET outcome = 'x' WHERE seq = 1")
        .await;
    assert!(again.contains("append-only"), "{again}");
    drop(node);

    // A forged append with correct hashes: a copy of entry 3 as the next entry.
    let (t, _) = busy_log("append").await;
    t.app.sign_audit_checkpoint().await.unwrap();
    let size = t.audit_size().await;
    t.raw_sql(drop_every_guard()).await;
    t.raw_sql(&format!(
        "INSERT INTO audit_entries (seq, {COLUMNS}) SELECT {size}, {COLUMNS} FROM audit_entries WHERE seq = 3;"
    ))
    .await;
    rehash_everything(&t).await;
    let problem = verify(&t)
        .await
        .problem
        .expect("the forged entry is noticed");
    assert_eq!(problem.index, size as u64, "{}", problem.what);
    assert!(problem.what.contains("MAC"), "{}", problem.what);
    let refused = format!("{:?}", t.app.sign_audit_checkpoint().await.unwrap_err());
    assert!(refused.contains("refusing to sign"), "{refused}");
    // A checkpoint row made up to cover the forgery is not taken on trust: it has no signature.
    let root: Vec<u8> = {
        let head = t
            .app
            .store()
            .read()
            .await
            .unwrap()
            .audit_head()
            .await
            .unwrap();
        let f = ideaweave_audit::Frontier::from_bytes(&head.frontier).unwrap();
        f.root().to_vec()
    };
    t.raw_sql(&format!(
        "INSERT INTO audit_checkpoints (size, root, note, signed_at) VALUES ({}, {}, 'made up', 0)",
        size + 1,
        blob(&root)
    ))
    .await;
    let refused = format!("{:?}", t.app.sign_audit_checkpoint().await.unwrap_err());
    assert!(
        refused.contains("does not carry this log's signature"),
        "{refused}"
    );

    // Taking every MAC away with the marker that says from where they are due: every entry
    // is then due one, so the very first is named.
    let (t, _) = busy_log("unsealed").await;
    t.raw_sql(drop_every_guard()).await;
    t.raw_sql("UPDATE audit_entries SET mac = NULL; DELETE FROM audit_seal;")
        .await;
    let problem = verify(&t)
        .await
        .problem
        .expect("the stripped MACs are noticed");
    assert_eq!(problem.index, 0, "{}", problem.what);

    // An altered checkpoint signature is named by the index it covers.
    let (t, _) = busy_log("checkpoint").await;
    let note = t.app.sign_audit_checkpoint().await.unwrap();
    let cp_size = t.audit_size().await;
    t.raw_sql(drop_every_guard()).await;
    let forged = note.replace('—', "-");
    t.raw_sql(&format!(
        "UPDATE audit_checkpoints SET note = '{}' WHERE size = {cp_size}",
        forged.replace('\'', "''")
    ))
    .await;
    let problem = verify(&t)
        .await
        .problem
        .expect("the altered checkpoint is noticed");
    assert_eq!(problem.index, cp_size as u64 - 1, "{}", problem.what);
    assert!(
        problem.what.contains(&format!("size {cp_size}")),
        "{}",
        problem.what
    );

    // PostgreSQL: TRUNCATE skips row triggers, so every audit table refuses it.
    if test_db() == TestDb::Postgres {
        let (t, _) = busy_log("truncate").await;
        for table in [
            "audit_entries",
            "audit_nodes",
            "audit_checkpoints",
            "audit_head",
            "audit_actors",
        ] {
            let err = t.raw_sql_refused(&format!("TRUNCATE {table}")).await;
            assert!(err.contains("append-only"), "{table}: {err}");
        }
    }
}

/// AUD-01 (issue 19, finding 10): a member who sends a thousand refused requests adds a
/// bounded number of entries to the permanent log: ten a minute, the tenth saying that the
/// rest of the minute's are counted, not recorded one by one; the next minute records again.
#[tokio::test]
async fn aud_01_a_flood_of_refused_requests_adds_a_bounded_number_of_entries() {
    let t = TestApp::spawn().await;
    let w = t.workspace("flood").await;
    let member = t.member(&w, "flooder", Role::Member).await;
    let before = t.audit_size().await;
    let path = format!("/workspaces/{}/audit/events", w.slug);
    for _ in 0..1000 {
        let (st, _) = with_token(&t, "GET", &path, &member.token, None).await;
        assert_eq!(st, 403);
    }
    let grown = t.audit_size().await - before;
    assert_eq!(grown, 10, "1,000 refusals in one minute add ten entries");
    let denied: Vec<Value> = workspace_events(&t, "flood", &w.owner.token)
        .await
        .into_iter()
        .filter(|e| e["action"] == "access.denied")
        .collect();
    assert_eq!(denied.len(), 10);
    assert!(
        denied
            .iter()
            .any(|e| e["facts"]["further_denials_this_minute"].is_string()),
        "{denied:?}"
    );
    t.clock.advance(std::time::Duration::from_secs(61));
    let (st, _) = with_token(&t, "GET", &path, &member.token, None).await;
    assert_eq!(st, 403);
    assert_eq!(
        t.audit_size().await - before,
        11,
        "the next minute records again"
    );

    // The export comes in pages; only the first records the export.
    let all = workspace_events(&t, "flood", &w.owner.token).await.len() + 1;
    let mut seen = Vec::new();
    let mut before: Option<u64> = None;
    loop {
        let q = before.map_or(String::new(), |b| format!("&before={b}"));
        let (st, page) = with_token(
            &t,
            "GET",
            &format!("/workspaces/flood/audit/export?limit=4{q}"),
            &w.owner.token,
            None,
        )
        .await;
        assert_eq!(st, 200, "{page}");
        let events = page["events"].as_array().unwrap();
        assert!(!events.is_empty() && events.len() <= 4, "{page}");
        let mut indexes: Vec<u64> = events
            .iter()
            .map(|e| e["index"].as_u64().unwrap())
            .collect();
        indexes.extend(seen);
        seen = indexes;
        match page["next_before"].as_u64() {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    assert_eq!(
        seen.len(),
        all,
        "every event once, oldest first across pages"
    );
    assert!(seen.windows(2).all(|p| p[0] < p[1]), "{seen:?}");
    let (st, v) = with_token(
        &t,
        "GET",
        "/workspaces/flood/audit/export?limit=0",
        &w.owner.token,
        None,
    )
    .await;
    assert_eq!(st, 422, "{v}");
}

/// The audit page reads as events in words: labels in the reader's language, members by name,
/// former members by pseudonym, filtered by person and by dates.
#[tokio::test]
async fn aud_04_the_audit_page_names_people_and_actions_and_filters_by_person_and_date() {
    use crate::content::pages::{get, get_in, person, post};

    let t = TestApp::spawn().await;
    let w = t.workspace("readable").await;
    let ada = person(&t, &w, "Ada", Role::Admin).await;
    let bob = person(&t, &w, "Bob", Role::Member).await;
    let (st, ..) = post(
        &t,
        &ada,
        "/w/readable/tokens",
        &[
            ("csrf", &ada.csrf),
            ("name", "ci"),
            ("scope", "read"),
            ("days", "30"),
        ],
        false,
    )
    .await;
    assert_eq!(st, 200);
    let (st, ..) = post(
        &t,
        &ada,
        &format!("/w/readable/members/{}/role", bob.user.0),
        &[("csrf", &ada.csrf), ("role", "moderator")],
        false,
    )
    .await;
    assert_eq!(st, 303);

    let (st, page, _) = get(&t, &ada, "/w/readable/audit").await;
    assert_eq!(st, 200);
    assert!(
        page.contains("<strong>API token created</strong>"),
        "{page}"
    );
    assert!(page.contains("<strong>Role changed</strong>"));
    assert!(page.contains("Who: Ada · What: "), "the actor by name");
    assert!(
        page.contains("\">Bob</span>")
            && page.contains("What: <span class=\"wrap-anywhere\" title=\"member:p-"),
        "the target by name"
    );
    assert!(
        page.contains("What: <span class=\"wrap-anywhere\" title=\"token:"),
        "the token by its kind"
    );
    assert!(
        page.contains("\">API token "),
        "named in words with a short id"
    );
    let (_, page, _) = get_in(&t, &ada, "/w/readable/audit", "de").await;
    assert!(
        page.contains("<strong>API-Token erstellt</strong>")
            && page.contains("<strong>Rolle geändert</strong>")
    );

    // Only what Bob did or what was done to him.
    let (_, page, _) = get(
        &t,
        &ada,
        &format!("/w/readable/audit?person={}", bob.user.0),
    )
    .await;
    assert!(page.contains("<strong>Role changed</strong>"));
    assert!(!page.contains("<strong>API token created</strong>"));
    // Dates: nothing from tomorrow on; a bad date is told at its field.
    let tomorrow = {
        let d = t.app.now_ms() / 86_400_000 + 1;
        let (y, m, dd) = ideaweave_domain::requests::civil_date(d);
        format!("{y:04}-{m:02}-{dd:02}")
    };
    let (_, page, _) = get(&t, &ada, &format!("/w/readable/audit?from={tomorrow}")).await;
    assert!(page.contains("No events match."));
    let (_, page, _) = get(&t, &ada, &format!("/w/readable/audit?to={tomorrow}")).await;
    assert!(page.contains("<strong>Role changed</strong>"));
    let (st, page, _) = get(&t, &ada, "/w/readable/audit?from=soon").await;
    assert_eq!(st, 400);
    assert!(page.contains("id=\"audit-from-error\">Enter a date like 2026-12-31."));

    // Once removed, Bob is a former member: the trail keeps his pseudonym, not his name.
    let (st, ..) = post(
        &t,
        &ada,
        &format!("/w/readable/members/{}/remove", bob.user.0),
        &[("csrf", &ada.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let (_, page, _) = get(&t, &ada, "/w/readable/audit?action=member.role_changed").await;
    assert!(page.contains("\">former member (p-"), "{page}");
    // Members do not read the trail.
    let carl = person(&t, &w, "Carl", Role::Member).await;
    let (st, ..) = get(&t, &carl, "/w/readable/audit").await;
    assert_eq!(st, 403);
}
