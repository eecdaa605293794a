//! The search page (COL-05): a query in the workspace's header, results with the words that
//! matched highlighted, counts by kind to narrow them, and the next page. A plain GET form:
//! it works without script; with script, results follow the typing (htmx swaps only the
//! results, so the field keeps its focus and what was typed).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use ideaweave_app::{
    SearchHit, SearchInput, SearchKind, SearchSort, SimilarIdea, TextPiece, pieces,
};

use crate::AppState;
use crate::ui::format::url_encode;
use crate::ui::guard::InWorkspace;
use crate::ui::time::Moment;
use crate::ui::{Chrome, PageResult, Problem, Refusal, form_refusal, framed, page};

/// Results per page.
const PAGE_SIZE: u32 = 20;

/// The page's query string; anything it cannot read is ignored or said at its field.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct SearchParams {
    q: Option<String>,
    kind: Option<String>,
    sort: Option<String>,
    /// `1`: deleted content (moderators).
    deleted: Option<String>,
    cursor: Option<String>,
    /// `1`: sent while typing (the last word also matches longer words).
    typing: Option<String>,
}

/// A kind to narrow the results to, with its count.
struct Facet {
    label: &'static str,
    count: u64,
    href: String,
    current: bool,
}

/// One result, ready to show.
struct ResultLine {
    kind: &'static str,
    href: String,
    title: Vec<TextPiece>,
    snippet: Vec<TextPiece>,
    posted: Moment,
    deleted: bool,
    tags: Vec<String>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    c: Chrome,
    slug: String,
    q: String,
    kind: String,
    sort: &'static str,
    deleted: bool,
    may_search_deleted: bool,
    /// Sent while typing: results swap in place, so a refusal is said in the results too.
    typing: bool,
    problem: Problem,
    /// Whether a query was run (and not refused).
    searched: bool,
    ready: bool,
    total: i64,
    facets: Vec<Facet>,
    results: Vec<ResultLine>,
    next: Option<String>,
}
framed!(SearchPage);

/// The translation key of a kind's name.
fn kind_label(kind: SearchKind) -> &'static str {
    match kind {
        SearchKind::Idea => "search.kind.idea",
        SearchKind::Comment => "search.kind.comment",
        SearchKind::Discussion => "search.kind.discussion",
        SearchKind::Space => "search.kind.space",
        SearchKind::Link => "search.kind.link",
        SearchKind::File => "search.kind.file",
        SearchKind::Member => "search.kind.member",
    }
}

/// Where a result leads.
fn href(slug: &str, h: &SearchHit) -> String {
    let idea = h.idea.unwrap_or(h.id);
    match h.kind {
        SearchKind::Idea => format!("/w/{slug}/ideas/{}", h.id),
        SearchKind::Comment => format!("/w/{slug}/ideas/{idea}#comment-{}", h.id),
        SearchKind::Link | SearchKind::File => format!("/w/{slug}/ideas/{idea}"),
        SearchKind::Discussion => format!("/w/{slug}/discussions/{}", h.id),
        SearchKind::Space => format!("/w/{slug}/spaces/{}", h.id),
        SearchKind::Member => format!("/w/{slug}/people/{}", h.id),
    }
}

/// The page's address with these parameters (empty ones left out).
fn address(slug: &str, params: &[(&str, &str)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    if query.is_empty() {
        format!("/w/{slug}/search")
    } else {
        format!("/w/{slug}/search?{}", query.join("&"))
    }
}

pub(super) async fn search_page(
    State(s): State<AppState>,
    w: InWorkspace,
    q: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let w = w.at("search");
    let p = q.map(|Query(q)| q).unwrap_or_default();
    let text = p.q.clone().unwrap_or_default();
    let kind: Option<SearchKind> = p.kind.as_deref().and_then(|k| k.parse().ok());
    let (sort, sort_name) = match p.sort.as_deref() {
        Some("newest") => (SearchSort::Newest, "newest"),
        Some("top") => (SearchSort::Top, "top"),
        _ => (SearchSort::Relevance, "relevance"),
    };
    let deleted = p.deleted.as_deref() == Some("1");
    let typing = p.typing.as_deref() == Some("1");
    let typing_flag = if typing { "1" } else { "" };
    let slug = w.ws.slug.clone();
    let mut view = SearchPage {
        slug: slug.clone(),
        q: text.clone(),
        kind: kind.map(|k| k.as_str().to_owned()).unwrap_or_default(),
        sort: sort_name,
        deleted,
        may_search_deleted: false,
        typing,
        problem: Problem::default(),
        searched: false,
        ready: true,
        total: 0,
        facets: Vec::new(),
        results: Vec::new(),
        next: None,
        c: w.c.clone(),
    };
    if text.trim().is_empty() {
        view.may_search_deleted = s.app.may_search_deleted(&w.m).await.unwrap_or(false);
        return Ok(page(StatusCode::OK, &view));
    }
    let input = SearchInput {
        q: text.clone(),
        kinds: kind.into_iter().collect(),
        deleted,
        sort,
        cursor: p.cursor.clone().filter(|c| !c.is_empty()),
        limit: PAGE_SIZE,
        as_you_type: typing,
        ..SearchInput::default()
    };
    let found = match s.app.search(&w.m, &input).await {
        Ok(found) => found,
        Err(e) => {
            let refusal: Refusal = form_refusal(e, &w.c)?;
            view.problem = Problem(Some(refusal));
            view.may_search_deleted = s.app.may_search_deleted(&w.m).await.unwrap_or(false);
            // While typing, the results swap in place (htmx swaps only successful answers).
            let status = if typing {
                StatusCode::OK
            } else {
                view.problem.status()
            };
            return Ok(page(status, &view));
        }
    };
    let kind_name = view.kind.clone();
    let deleted_flag = if deleted { "1" } else { "" };
    view.searched = true;
    view.ready = found.ready;
    view.may_search_deleted = found.may_search_deleted;
    view.total = i64::try_from(found.total).unwrap_or(i64::MAX);
    view.facets = found
        .by_kind
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| Facet {
            label: kind_label(*k),
            count: *n,
            current: kind == Some(*k),
            href: address(
                &slug,
                &[
                    ("q", &text),
                    ("kind", if kind == Some(*k) { "" } else { k.as_str() }),
                    (
                        "sort",
                        if sort_name == "relevance" {
                            ""
                        } else {
                            sort_name
                        },
                    ),
                    ("deleted", deleted_flag),
                ],
            ),
        })
        .collect();
    view.results = found
        .hits
        .iter()
        .map(|h| ResultLine {
            kind: kind_label(h.kind),
            href: href(&slug, h),
            title: pieces(&h.title),
            snippet: pieces(&h.snippet),
            posted: w.c.moment(h.created_at),
            deleted: h.deleted,
            tags: h.tags.clone(),
        })
        .collect();
    view.next = found.next.as_deref().map(|cursor| {
        address(
            &slug,
            &[
                ("q", &text),
                ("kind", &kind_name),
                (
                    "sort",
                    if sort_name == "relevance" {
                        ""
                    } else {
                        sort_name
                    },
                ),
                ("deleted", deleted_flag),
                ("typing", typing_flag),
                ("cursor", cursor),
            ],
        )
    });
    Ok(page(StatusCode::OK, &view))
}

/// What the new-idea form's title field sends as it is typed.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct SimilarParams {
    title: Option<String>,
}

#[derive(Template)]
#[template(path = "partials/similar_ideas.html")]
struct SimilarFragment {
    c: Chrome,
    slug: String,
    similar: Vec<SimilarIdea>,
}
framed!(SimilarFragment);

/// Ideas like the title being typed in the new-idea form (htmx swaps this into the form; the
/// field keeps its focus). Nothing when there are none or the title has no telling words.
pub(super) async fn similar_ideas(
    State(s): State<AppState>,
    w: InWorkspace,
    q: Result<Query<SimilarParams>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let title = q.map(|Query(q)| q.title).ok().flatten().unwrap_or_default();
    let similar = super::similar_or_none(&s, &w, &title, None, None).await;
    Ok(page(
        StatusCode::OK,
        &SimilarFragment {
            slug: w.ws.slug.clone(),
            similar,
            c: w.c,
        },
    ))
}
