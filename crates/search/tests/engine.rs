//! The engine on its own: what a query finds, what a scope hides, how results page, and that
//! an index comes back whole from its files (COL-05).

// A failed step is a failed test (clippy counts only `#[test]` functions as tests, not helpers).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ideaweave_search::*;
use uuid::Uuid;

fn doc(kind: Kind, space: Uuid, title: &str, body: &str) -> Document {
    Document {
        kind,
        id: Uuid::now_v7(),
        space: (kind != Kind::Member).then_some(space),
        discussion: None,
        idea: None,
        stage: None,
        author: None,
        tags: Vec::new(),
        created_at: 1_700_000_000,
        votes: 0,
        deleted: false,
        title: title.into(),
        body: body.into(),
    }
}

struct Fixture {
    index: WorkspaceIndex,
    scope: Scope,
}

fn fixture(language: Language, docs: Vec<Document>) -> Fixture {
    let index = WorkspaceIndex::create(language).unwrap();
    let space = docs
        .iter()
        .find_map(|d| d.space)
        .unwrap_or_else(Uuid::now_v7);
    index
        .apply(false, docs.into_iter().map(Change::Put))
        .unwrap();
    Fixture {
        index,
        scope: Scope {
            spaces: vec![space],
            members: true,
        },
    }
}

fn request<'a>(q: &'a ParsedQuery, scope: &'a Scope) -> Request<'a> {
    Request {
        query: q,
        scope,
        kinds: &[],
        space: None,
        discussion: None,
        stage: None,
        author: None,
        tag: None,
        from: None,
        until: None,
        deleted: false,
        sort: Sort::Relevance,
        after: None,
        limit: 20,
    }
}

impl Fixture {
    fn titles(&self, text: &str) -> Vec<String> {
        let q = ParsedQuery::parse(text, false).unwrap();
        self.titles_for(&request(&q, &self.scope))
    }

    fn titles_for(&self, r: &Request<'_>) -> Vec<String> {
        let mut t: Vec<String> = self
            .index
            .search(r)
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.title.text)
            .collect();
        t.sort();
        t
    }
}

#[test]
fn col_05_words_are_found_in_their_forms_with_near_misses_phrases_and_prefixes() {
    let s = Uuid::now_v7();
    let f = fixture(
        Language::English,
        vec![
            doc(
                Kind::Idea,
                s,
                "Night trains",
                "Travelling by rail to Vienna",
            ),
            doc(
                Kind::Idea,
                s,
                "Bus budget",
                "A train of thought about buses",
            ),
            doc(Kind::Comment, s, "", "Sustainability matters for budgets"),
        ],
    );
    assert_eq!(f.titles("train"), ["Bus budget", "Night trains"]);
    assert_eq!(f.titles("\"night train\""), ["Night trains"]);
    assert_eq!(f.titles("\"train night\""), Vec::<String>::new());
    assert_eq!(f.titles("sustain*"), [""]);
    assert_eq!(f.titles("budgte"), ["Bus budget"], "one transposition");
    assert_eq!(f.titles("train -bus"), ["Night trains"]);
    assert_eq!(f.titles("vienna OR sustainability"), ["", "Night trains"]);
    assert_eq!(
        f.titles("train vienna"),
        ["Night trains"],
        "words are all required"
    );
    assert_eq!(
        f.titles("..."),
        Vec::<String>::new(),
        "punctuation finds nothing"
    );
}

#[test]
fn col_05_german_words_are_stemmed_in_german_workspaces() {
    let s = Uuid::now_v7();
    let f = fixture(
        Language::German,
        vec![doc(Kind::Idea, s, "Neue Häuser", "Wir bauen Fahrradwege")],
    );
    assert_eq!(f.titles("haus"), ["Neue Häuser"]);
    assert_eq!(f.titles("Fahrradweg"), ["Neue Häuser"]);
}

#[test]
fn col_05_the_scope_hides_other_spaces_members_and_deleted_content() {
    let visible = Uuid::now_v7();
    let hidden = Uuid::now_v7();
    let mut deleted = doc(Kind::Idea, visible, "canary deleted", "");
    deleted.deleted = true;
    let f = fixture(
        Language::English,
        vec![
            doc(Kind::Idea, visible, "canary visible", ""),
            doc(Kind::Idea, hidden, "canary hidden", ""),
            doc(Kind::Member, visible, "canary member", ""),
            deleted,
        ],
    );
    let q = ParsedQuery::parse("canary", false).unwrap();
    let scope = Scope {
        spaces: vec![visible],
        members: false,
    };
    assert_eq!(f.titles_for(&request(&q, &scope)), ["canary visible"]);
    let scope = Scope {
        spaces: vec![visible],
        members: true,
    };
    assert_eq!(
        f.titles_for(&request(&q, &scope)),
        ["canary member", "canary visible"]
    );
    let nothing = Scope::default();
    assert!(f.titles_for(&request(&q, &nothing)).is_empty());
    let mut r = request(&q, &scope);
    r.deleted = true;
    assert_eq!(
        f.titles_for(&r),
        ["canary deleted"],
        "members are never deleted content"
    );
    // A query naming the hidden space's words still finds nothing there.
    let q = ParsedQuery::parse("hidden", false).unwrap();
    assert!(f.titles_for(&request(&q, &f.scope)).is_empty());
}

#[test]
fn col_05_filters_narrow_and_kinds_are_counted() {
    let s = Uuid::now_v7();
    let stage = Uuid::now_v7();
    let author = Uuid::now_v7();
    let mut tagged = doc(Kind::Idea, s, "canary tagged", "");
    tagged.tags = vec!["Mobility".into()];
    tagged.stage = Some(stage);
    tagged.author = Some(author);
    tagged.created_at = 2_000;
    let mut old = doc(Kind::Idea, s, "canary old", "");
    old.created_at = 1_000;
    let f = fixture(
        Language::English,
        vec![tagged, old, doc(Kind::Comment, s, "", "canary comment")],
    );
    let q = ParsedQuery::parse("canary", false).unwrap();
    let mut r = request(&q, &f.scope);
    r.tag = Some("mobility");
    assert_eq!(f.titles_for(&r), ["canary tagged"]);
    let mut r = request(&q, &f.scope);
    r.stage = Some(stage);
    assert_eq!(f.titles_for(&r), ["canary tagged"]);
    let mut r = request(&q, &f.scope);
    r.author = Some(author);
    assert_eq!(f.titles_for(&r), ["canary tagged"]);
    let mut r = request(&q, &f.scope);
    r.until = Some(1_500);
    assert_eq!(f.titles_for(&r), ["canary old"]);
    let mut r = request(&q, &f.scope);
    r.from = Some(1_500);
    r.kinds = &[Kind::Idea];
    assert_eq!(f.titles_for(&r), ["canary tagged"]);
    let results = f.index.search(&r).unwrap();
    assert_eq!(results.total, 1);
    let counts: std::collections::HashMap<Kind, u64> = results.by_kind.into_iter().collect();
    assert_eq!(counts[&Kind::Idea], 1);
    assert_eq!(counts[&Kind::Comment], 1, "other kinds are still counted");
    // Tags are words too.
    assert_eq!(f.titles("mobility"), ["canary tagged"]);
}

#[test]
fn col_05_pages_follow_each_other_without_gaps_or_repeats_in_every_order() {
    let s = Uuid::now_v7();
    let docs: Vec<Document> = (0..23)
        .map(|i| {
            let mut d = doc(
                Kind::Idea,
                s,
                &format!("canary {i}"),
                &"canary ".repeat(i % 4 + 1),
            );
            d.created_at = 1_000 + (i as i64 % 5);
            d.votes = (i as i64 % 3) - 1;
            d
        })
        .collect();
    let f = fixture(Language::English, docs);
    let q = ParsedQuery::parse("canary", false).unwrap();
    for sort in [Sort::Relevance, Sort::Newest, Sort::Top] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let mut r = request(&q, &f.scope);
            r.sort = sort;
            r.limit = 5;
            r.after = after;
            let page = f.index.search(&r).unwrap();
            assert_eq!(page.total, 23);
            seen.extend(page.hits.iter().map(|h| (h.id, h.created_at, h.votes)));
            match page.next {
                Some(c) => after = Some(Cursor::parse(&c.to_string()).unwrap()),
                None => break,
            }
        }
        let mut ids: Vec<Uuid> = seen.iter().map(|(id, _, _)| *id).collect();
        assert_eq!(ids.len(), 23, "{sort:?}");
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 23, "{sort:?}: no repeats");
        if sort == Sort::Newest {
            assert!(seen.windows(2).all(|w| w[0].1 >= w[1].1));
        }
        if sort == Sort::Top {
            assert!(seen.windows(2).all(|w| w[0].2 >= w[1].2));
        }
    }
    assert!(Cursor::parse("not a cursor").is_none());
    assert!(Cursor::parse(&"f".repeat(32)).is_none(), "NaN is refused");
}

#[test]
fn col_05_snippets_mark_what_matched() {
    let s = Uuid::now_v7();
    let f = fixture(
        Language::English,
        vec![doc(
            Kind::Idea,
            s,
            "Quiet canary",
            "The canary sings at dawn",
        )],
    );
    let q = ParsedQuery::parse("canary", false).unwrap();
    let hit = &f.index.search(&request(&q, &f.scope)).unwrap().hits[0];
    let marked: Vec<&str> = hit
        .snippet
        .marks
        .iter()
        .map(|m| &hit.snippet.text[m.clone()])
        .collect();
    assert_eq!(marked, ["canary"]);
    let marked: Vec<&str> = hit
        .title
        .marks
        .iter()
        .map(|m| &hit.title.text[m.clone()])
        .collect();
    assert_eq!(marked, ["canary"]);
}

#[test]
fn enc_01_an_index_comes_back_whole_from_its_files_and_refuses_bad_ones() {
    let s = Uuid::now_v7();
    let f = fixture(
        Language::English,
        vec![
            doc(Kind::Idea, s, "first canary", ""),
            doc(Kind::Comment, s, "", "second canary"),
        ],
    );
    let files = f.index.files().unwrap();
    assert!(files.iter().any(|f| f.name == "meta.json"));
    let reopened = WorkspaceIndex::open(Language::English, files.clone()).unwrap();
    assert_eq!(reopened.doc_count(), 2);
    let q = ParsedQuery::parse("canary", false).unwrap();
    assert_eq!(reopened.search(&request(&q, &f.scope)).unwrap().total, 2);
    // A file with a path in its name, or a missing segment file, is refused, not trusted.
    let mut bad = files.clone();
    bad[0].name = "../escape".into();
    assert!(WorkspaceIndex::open(Language::English, bad).is_err());
    let only_meta: Vec<IndexFile> = files
        .into_iter()
        .filter(|f| f.name == "meta.json")
        .collect();
    assert!(
        WorkspaceIndex::open(Language::English, only_meta)
            .and_then(|i| i.search(&request(&q, &f.scope)))
            .is_err()
    );
}

#[test]
fn dsr_03_a_removed_document_leaves_no_trace_in_the_files() {
    let s = Uuid::now_v7();
    let gone = doc(Kind::Comment, s, "", "zebracanary stripes");
    let gone_id = gone.id;
    let f = fixture(
        Language::English,
        vec![doc(Kind::Idea, s, "kept", "plain words"), gone],
    );
    let contains = |files: &[IndexFile]| {
        files.iter().any(|f| {
            f.bytes
                .windows(b"zebracanary".len())
                .any(|w| w == b"zebracanary")
        })
    };
    assert!(
        contains(&f.index.files().unwrap()),
        "the canary is in the files at first"
    );
    let done = f
        .index
        .apply(
            false,
            [Change::Remove {
                kind: Kind::Comment,
                id: gone_id,
            }],
        )
        .unwrap();
    assert!(done.expunged);
    assert!(!contains(&f.index.files().unwrap()));
    assert_eq!(f.titles("zebracanary"), Vec::<String>::new());
    assert_eq!(f.index.doc_count(), 1);
}

#[test]
fn col_05_putting_a_document_again_replaces_it() {
    let s = Uuid::now_v7();
    let mut d = doc(Kind::Idea, s, "before", "");
    let f = fixture(Language::English, vec![d.clone()]);
    d.title = "after".into();
    f.index
        .apply(false, [Change::Put(d.clone()), Change::Put(d)])
        .unwrap();
    assert_eq!(f.index.doc_count(), 1);
    assert_eq!(f.titles("after"), ["after"]);
    assert!(f.titles("before").is_empty());
}

#[test]
fn col_05_near_misses_are_looked_for_only_when_few_documents_hold_the_word_as_typed() {
    let s = Uuid::now_v7();
    let mut docs: Vec<Document> = (0..10)
        .map(|i| doc(Kind::Idea, s, &format!("Budget {i}"), ""))
        .collect();
    docs.push(doc(Kind::Idea, s, "Budgte typo", ""));
    docs.push(doc(Kind::Idea, s, "Canary", ""));
    docs.push(doc(Kind::Idea, s, "Canery typo", ""));
    let f = fixture(Language::English, docs);
    // Ten documents spell it "budget": the typed word is spelled right, its near miss is not
    // looked for.
    let budget = f.titles("budget");
    assert_eq!(budget.len(), 10, "{budget:?}");
    assert!(!budget.contains(&"Budgte typo".to_owned()));
    // One document holds "canary": a near miss may be what was meant.
    assert_eq!(f.titles("canary"), ["Canary", "Canery typo"]);
    // A word no document holds finds its near misses (one edit away at six letters).
    assert_eq!(f.titles("canart"), ["Canary"]);
}

#[test]
fn col_05_a_prefix_of_many_words_finds_them_all_and_a_prefix_of_few_ranks_them() {
    let s = Uuid::now_v7();
    let mut docs: Vec<Document> = (0..70)
        .map(|i| doc(Kind::Idea, s, &format!("word pre{i:03}x"), ""))
        .collect();
    docs.push(doc(Kind::Idea, s, "onboarding onboarding onboarding", ""));
    docs.push(doc(
        Kind::Idea,
        s,
        "onboard once, with many other words beside it",
        "",
    ));
    let f = fixture(Language::English, docs);
    // More words start with "pre" than are matched one by one: all are still found.
    let q = ParsedQuery::parse("pre*", false).unwrap();
    let mut r = request(&q, &f.scope);
    r.limit = 50;
    let found = f.index.search(&r).unwrap();
    assert_eq!(found.total, 70);
    // Few words start with "onboard": matched as words, the denser match ranks first.
    let q = ParsedQuery::parse("onboard*", false).unwrap();
    let found = f.index.search(&request(&q, &f.scope)).unwrap();
    assert_eq!(found.total, 2);
    assert_eq!(found.hits[0].title.text, "onboarding onboarding onboarding");
    // A prefix that starts no word finds nothing.
    assert!(f.titles("zzq*").is_empty());
}

#[test]
fn col_05_acc_02_readers_of_many_spaces_see_those_spaces_and_no_other() {
    let spaces: Vec<Uuid> = (0..40).map(|_| Uuid::now_v7()).collect();
    let docs: Vec<Document> = spaces
        .iter()
        .enumerate()
        .map(|(i, s)| doc(Kind::Idea, *s, &format!("canary {i:02}"), ""))
        .collect();
    let f = fixture(Language::English, docs);
    // Past the number of spaces matched one by one (a set marks their documents), and below;
    // a word as written, and a near miss (whose text is matched once, the spaces as a filter).
    for (readable, typed) in [35, 3, 0]
        .into_iter()
        .flat_map(|n| [(n, "canary"), (n, "canaryy")])
    {
        let q = ParsedQuery::parse(typed, false).unwrap();
        let scope = Scope {
            spaces: spaces[..readable].to_vec(),
            members: true,
        };
        let mut r = request(&q, &scope);
        r.limit = 50;
        let found = f.index.search(&r).unwrap();
        assert_eq!(found.total, readable as u64);
        let mut titles: Vec<String> = found.hits.into_iter().map(|h| h.title.text).collect();
        titles.sort();
        let expected: Vec<String> = (0..readable).map(|i| format!("canary {i:02}")).collect();
        assert_eq!(titles, expected, "{typed} in {readable} spaces");
    }
}

#[test]
fn col_05_filters_decide_what_matches_never_how_well() {
    let (busy, quiet) = (Uuid::now_v7(), Uuid::now_v7());
    let mut docs: Vec<Document> = (0..50)
        .map(|i| doc(Kind::Idea, busy, &format!("filler {i}"), ""))
        .collect();
    let mut heat = doc(Kind::Idea, quiet, "Heat pumps", "");
    heat.tags = vec!["energy".into()];
    let id = heat.id;
    docs.push(heat);
    docs.push(doc(Kind::Idea, busy, "Heat maps", ""));
    let f = fixture(Language::English, docs);
    let scope = Scope {
        spaces: vec![busy, quiet],
        members: false,
    };
    let q = ParsedQuery::parse("heat", false).unwrap();
    let score = |r: &Request<'_>| -> f64 {
        let found = f.index.search(r).unwrap();
        let hit = found.hits.iter().find(|h| h.id == id).unwrap();
        f64::from_bits(u64::from_str_radix(&hit.cursor.to_string()[..16], 16).unwrap())
    };
    let unfiltered = score(&request(&q, &scope));
    let mut in_space = request(&q, &scope);
    in_space.space = Some(quiet);
    let mut tagged = request(&q, &scope);
    tagged.tag = Some("energy");
    let mut dated = request(&q, &scope);
    dated.from = Some(0);
    for (what, r) in [("space", in_space), ("tag", tagged), ("time", dated)] {
        assert_eq!(
            score(&r),
            unfiltered,
            "filtering on the {what} leaves the score as it was"
        );
    }
}
