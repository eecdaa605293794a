//! The workspace's audit trail as its admins read it (AUD-04): what happened in words of the
//! reader's language, people by name where the admin can see them in the member list (others,
//! former members and erased people by pseudonym), filtered by action, person and dates.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use ideaweave_app::*;
use ideaweave_domain::UserId;
use serde::Deserialize;

use crate::AppState;
use crate::ui::format::{iso, url_encode};
use crate::ui::guard::InWorkspace;
use crate::ui::i18n::Catalog;
use crate::ui::{Chrome, OrPage, PageResult, Refusal, framed, page};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/w/{slug}/audit", get(audit_page))
}

struct EventRow {
    index: u64,
    at: String,
    at_iso: String,
    /// The action in the reader's words.
    label: &'static str,
    /// Its stable name, for those who search the documentation or the export.
    action: String,
    describe: &'static str,
    outcome: &'static str,
    actor: String,
    target: String,
    /// The recorded target in full, for the tooltip.
    target_full: String,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Chrome,
    slug: String,
    events: Vec<EventRow>,
    actions: Vec<Choice>,
    people: Vec<Choice>,
    from: String,
    to: String,
    problem: Option<Refusal>,
    next: Option<String>,
}
framed!(AuditPage);

impl AuditPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.problem.as_ref().and_then(|p| p.at(field))
    }
}

#[derive(Deserialize, Default)]
struct AuditPageQuery {
    action: Option<String>,
    person: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<u64>,
}

/// The catalogue key of an action's label.
fn label_key(action: AuditAction) -> String {
    format!("audit.label.{}", action.as_str())
}

fn outcome_key(outcome: &str) -> &'static str {
    match outcome {
        "success" => "audit.outcome_success",
        "denied" => "audit.outcome_denied",
        _ => "audit.outcome_failure",
    }
}

/// Who a recorded person is to the reader: a name from the member list, a former member's or
/// an erased person's pseudonym, or the operator.
fn person_name(tr: &Catalog, names: &HashMap<UserId, String>, p: &AuditPersonView) -> String {
    if p.pseudonym == "operator" {
        return tr.get("audit.operator").to_owned();
    }
    match p.user_id.and_then(|u| names.get(&u)) {
        Some(name) => name.clone(),
        None if p.user_id.is_some() => format!("{} ({})", tr.get("audit.former"), p.pseudonym),
        None => p.pseudonym.clone(),
    }
}

/// What a recorded target that is not a person is, in words: `space 01a24d47` for
/// `space:01a24d47-…` (the whole id stays in the export), or the record itself when the
/// catalogue has no word for its kind.
fn thing_name(tr: &Catalog, target: &str) -> String {
    let (kind, id) = target.split_once(':').unwrap_or((target, ""));
    let word = tr.lookup(&format!("audit.thing.{kind}"));
    if word.is_empty() {
        return target.to_owned();
    }
    match id.get(..8) {
        Some(short) => format!("{word} {short}"),
        None => word.to_owned(),
    }
}

/// The start (`from`) or the end (`to`, exclusive) of a `YYYY-MM-DD` day in the reader's zone,
/// or a refusal at the field.
fn day_bound(c: &Chrome, field: &str, raw: &str, start: bool) -> Result<Option<i64>, Refusal> {
    let tr = c.tr;
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match c.clock.day_span(raw) {
        Some((first, _)) if start => Ok(Some(first)),
        Some((_, last)) => Ok(Some(last + 1)),
        None => Err(Refusal::at_field(
            field,
            tr.get("audit.bad_date").to_owned(),
        )),
    }
}

async fn audit_page(
    State(s): State<AppState>,
    w: InWorkspace,
    q: Result<Query<AuditPageQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let w = w.at("audit");
    let tr = w.c.tr;
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let action = q
        .action
        .filter(|a| !a.is_empty())
        .and_then(|a| AuditAction::parse(&a));
    let person = q.person.as_deref().and_then(|p| p.parse().ok()).map(UserId);
    let from = q.from.unwrap_or_default();
    let to = q.to.unwrap_or_default();
    let bounds = day_bound(&w.c, "from", &from, true)
        .and_then(|since| day_bound(&w.c, "to", &to, false).map(|until| (since, until)));
    let (problem, (since, until)) = match bounds {
        Ok(b) => (None, b),
        Err(r) => (Some(r), (None, None)),
    };
    let query = AuditQuery {
        action: action.map(|a| a.as_str().to_owned()),
        person,
        since,
        until,
        before: q.before,
        limit: Some(100),
    };
    let events = s.app.workspace_audit(&w.m, query).await.or_page(&w.c)?;
    // Everyone the admin can see in the member list, by name; the filter offers them too.
    let members = s
        .app
        .member_directory(&w.m, MemberDirectoryQuery::everyone())
        .await
        .or_page(&w.c)?
        .items;
    let names: HashMap<UserId, String> = members
        .iter()
        .map(|m| (m.user_id, m.name.clone()))
        .collect();
    let slug = w.ws.slug.clone();
    let next = events.next_before.map(|b| {
        let mut link = format!("/w/{slug}/audit?before={b}");
        for (key, value) in [
            ("action", action.map(|a| a.as_str().to_owned())),
            ("person", person.map(|p| p.0.to_string())),
            ("from", Some(from.clone()).filter(|f| !f.is_empty())),
            ("to", Some(to.clone()).filter(|t| !t.is_empty())),
        ] {
            if let Some(v) = value {
                link.push_str(&format!("&{key}={}", url_encode(&v)));
            }
        }
        link
    });
    let rows = events
        .items
        .iter()
        .map(|e| {
            let known = AuditAction::parse(&e.action);
            EventRow {
                index: e.index,
                at: w.c.exact(e.at),
                at_iso: iso(e.at),
                label: known.map_or("", |a| tr.lookup(&label_key(a))),
                describe: known.map_or("", |a| a.describe()),
                action: e.action.clone(),
                target_full: e.target.clone(),
                outcome: tr.get(outcome_key(&e.outcome)),
                actor: match &e.actor {
                    // The operator's support staff are nobody's fellow members: say who they are.
                    Some(p)
                        if known == Some(AuditAction::SupportAccessed)
                            && !p.user_id.is_some_and(|u| names.contains_key(&u)) =>
                    {
                        tr.get("audit.support_staff").to_owned()
                    }
                    Some(p) => person_name(tr, &names, p),
                    None => tr.get("audit.nobody").to_owned(),
                },
                target: e
                    .target_person
                    .as_ref()
                    .map(|p| person_name(tr, &names, p))
                    .unwrap_or_else(|| thing_name(tr, &e.target)),
            }
        })
        .collect();
    let mut actions: Vec<Choice> = AuditAction::ALL
        .iter()
        .map(|a| Choice {
            value: a.as_str().to_owned(),
            label: tr.lookup(&label_key(*a)).to_owned(),
            selected: action == Some(*a),
        })
        .collect();
    actions.sort_by_key(|a| a.label.to_lowercase());
    let people = members
        .into_iter()
        .map(|m| Choice {
            selected: person == Some(m.user_id),
            value: m.user_id.0.to_string(),
            label: m.name,
        })
        .collect();
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(page(
        status,
        &AuditPage {
            events: rows,
            actions,
            people,
            from,
            to,
            problem,
            next,
            slug,
            c: w.c,
        },
    ))
}
