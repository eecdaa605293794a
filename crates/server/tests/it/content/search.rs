//! COL-05, ACC-02: search finds a canary placed in every searchable field only for those who
//! may see it: not other workspaces, not non-members of a private space, not guests outside
//! their spaces, not signed-out callers or revoked tokens; deleted content only for moderators
//! asking for it. Both databases (`IW_TEST_DB`).

use ideaweave_domain::{IdeaId, Role};
use ideaweave_testkit::client::models::{NewComment, NewIdea};
use ideaweave_testkit::{Person, TestApp};
use serde_json::{Value, json};

use crate::helpers::{Auth, Body, call, call_json, private_space};
use crate::platform::routes::Fixture;

/// Indexes everything queued, as the server's background job does every second.
pub(crate) async fn index_now(t: &TestApp) {
    let round = t.app.run_search_indexing("test-node").await.unwrap();
    assert_eq!(round.failed, 0, "{round:?}");
}

/// The ids `who` finds for `q` in `ws` (with extra query parameters), or the refusal.
pub(crate) async fn search_as(
    t: &TestApp,
    auth: &Auth,
    ws: &str,
    q: &str,
    extra: &str,
) -> Result<Vec<String>, (u16, Value)> {
    let path = format!("/workspaces/{ws}/search?q={}{extra}", urlencode(q));
    let (status, v) = call(t, "GET", &path, auth, Body::None).await;
    if status != 200 {
        return Err((status, v));
    }
    Ok(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_owned())
        .collect())
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// How many index files of workspace `w` the file store holds.
fn index_files(t: &TestApp, w: &ideaweave_testkit::TestWorkspace) -> usize {
    std::fs::read_dir(t.files_dir().join(w.id.0.to_string()))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("search-"))
                .count()
        })
        .unwrap_or(0)
}

fn token(p: &Person) -> Auth {
    Auth::Token(p.token.clone())
}

async fn idea(
    t: &TestApp,
    who: &Person,
    ws: &str,
    d: impl std::fmt::Display,
    title: &str,
    body: &str,
    tags: &[&str],
) -> IdeaId {
    let (status, v) = call_json(
        t,
        &token(who),
        "POST",
        &format!("/workspaces/{ws}/discussions/{d}/ideas"),
        json!({"title": title, "body": body, "tags": tags}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    serde_json::from_value(v["id"].clone()).unwrap()
}

/// One canary per searchable field, the id of what holds it, and who must find it.
struct Canary {
    word: &'static str,
    holder: String,
    /// Found by every member of the workspace who may read the open space.
    public: bool,
}

#[tokio::test]
async fn col_05_acc_02_every_canary_is_found_only_by_those_who_may_see_it() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "srch").await;
    let ws = f.ws.slug.as_str();
    let insider = t.member(&f.ws, "insider", Role::Member).await;
    let named = t.member(&f.ws, "lemurrrquokka", Role::Member).await;
    let open = t.space(&f.ws, "aardvarkqz hall", "buffalowx things").await;
    let d = t
        .challenge(
            &f.ws,
            open,
            "chinchillaq question",
            "dolphinyy details",
            &[],
        )
        .await;
    let i = idea(
        &t,
        &f.member,
        ws,
        d,
        "elephantkk title",
        "flamingojj body",
        &["giraffeww"],
    )
    .await;
    let c = t
        .client(&f.member)
        .comment(ws, i, &NewComment::new("hedgehogvv says"))
        .await
        .expect(201);
    let (status, link) = call_json(
        &t,
        &token(&f.member),
        "POST",
        &format!("/workspaces/{ws}/ideas/{i}/links"),
        json!({"url": "https://example.org/iguanauu", "title": "jaguartt page"}),
    )
    .await;
    assert_eq!(status, 201, "{link}");
    let file = t
        .client(&f.member)
        .attach(ws, i, "koalass-notes.txt", b"plain notes".to_vec())
        .await
        .expect(201);
    let private = private_space(&t, &f.ws, "Board room", &[insider.id]).await;
    let secret_d = t.challenge(&f.ws, private, "Board", "", &[]).await;
    let secret = idea(&t, &insider, ws, secret_d, "meerkatqq merger", "", &[]).await;
    let gone = idea(&t, &f.member, ws, d, "narwhalpp withdrawn", "", &[]).await;
    t.client(&f.member).delete_idea(ws, gone).await.expect(204);
    // Another workspace holds the same words: never found from this one, and the other way.
    let g = Fixture::new(&t, "srch-other").await;
    let g_space = t.space(&g.ws, "aardvarkqz elsewhere", "").await;
    let g_d = t.challenge(&g.ws, g_space, "Elsewhere", "", &[]).await;
    let foreign = idea(
        &t,
        &g.member,
        "srch-other",
        g_d,
        "elephantkk foreign",
        "",
        &[],
    )
    .await;
    index_now(&t).await;

    let canaries = [
        Canary {
            word: "aardvarkqz",
            holder: open.to_string(),
            public: true,
        },
        Canary {
            word: "buffalowx",
            holder: open.to_string(),
            public: true,
        },
        Canary {
            word: "chinchillaq",
            holder: d.to_string(),
            public: true,
        },
        Canary {
            word: "dolphinyy",
            holder: d.to_string(),
            public: true,
        },
        Canary {
            word: "elephantkk",
            holder: i.to_string(),
            public: true,
        },
        Canary {
            word: "flamingojj",
            holder: i.to_string(),
            public: true,
        },
        Canary {
            word: "giraffeww",
            holder: i.to_string(),
            public: true,
        },
        Canary {
            word: "hedgehogvv",
            holder: c.id.to_string(),
            public: true,
        },
        Canary {
            word: "iguanauu",
            holder: link["id"].as_str().unwrap().to_owned(),
            public: true,
        },
        Canary {
            word: "jaguartt",
            holder: link["id"].as_str().unwrap().to_owned(),
            public: true,
        },
        Canary {
            word: "koalass",
            holder: file.id.to_string(),
            public: true,
        },
        Canary {
            word: "meerkatqq",
            holder: secret.to_string(),
            public: false,
        },
    ];
    let finds = |ids: &Result<Vec<String>, (u16, Value)>, holder: &str| {
        ids.as_ref()
            .is_ok_and(|ids| ids.iter().any(|id| id == holder))
    };
    for canary in &canaries {
        // Admins and owners see every space (the policy's rule); others only open spaces and
        // those they are listed in; guests only those they are listed in.
        for (who, may) in [
            (&f.ws.owner, true),
            (&f.admin, true),
            (&f.moderator, canary.public),
            (&f.member, canary.public),
            (&insider, true),
            (&f.guest, false),
        ] {
            let found = search_as(&t, &token(who), ws, canary.word, "").await;
            assert_eq!(
                finds(&found, &canary.holder),
                may,
                "{} as {:?}: {found:?}",
                canary.word,
                who.role
            );
        }
        // Another workspace's member: their own workspace never shows it; this one is a 404.
        let elsewhere = search_as(&t, &token(&g.member), "srch-other", canary.word, "").await;
        assert!(!finds(&elsewhere, &canary.holder), "{}", canary.word);
        let r = search_as(&t, &token(&g.member), ws, canary.word, "").await;
        assert_eq!(r.unwrap_err().0, 404);
        let r = search_as(&t, &Auth::None, ws, canary.word, "").await;
        assert_eq!(r.unwrap_err().0, 401);
    }
    let r = search_as(&t, &token(&f.member), ws, "elephantkk", "")
        .await
        .unwrap();
    assert!(
        !r.contains(&foreign.to_string()),
        "the other workspace's idea"
    );
    // Members by name: for those who may see the member list, not guests.
    let found = search_as(&t, &token(&f.member), ws, "lemurrrquokka", "").await;
    assert!(finds(&found, &named.id.0.to_string()), "{found:?}");
    let found = search_as(&t, &token(&f.guest), ws, "lemurrrquokka", "").await;
    assert!(!finds(&found, &named.id.0.to_string()), "{found:?}");
    // Deleted content: not for anyone by default; for moderators asking for it; refused to
    // members asking for it.
    for who in [&f.ws.owner, &f.moderator, &f.member] {
        let found = search_as(&t, &token(who), ws, "narwhalpp", "").await;
        assert!(!finds(&found, &gone.to_string()), "{found:?}");
    }
    let found = search_as(&t, &token(&f.moderator), ws, "narwhalpp", "&deleted=true").await;
    assert!(finds(&found, &gone.to_string()), "{found:?}");
    let r = search_as(&t, &token(&f.member), ws, "narwhalpp", "&deleted=true").await;
    assert_eq!(r.unwrap_err().0, 403);
    // A revoked token finds nothing any more.
    let (status, v) = call(
        &t,
        "GET",
        &format!("/workspaces/{ws}/tokens"),
        &token(&f.member),
        Body::None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let token_id = v.as_array().unwrap()[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &t,
        "DELETE",
        &format!("/workspaces/{ws}/tokens/{token_id}"),
        &token(&f.member),
        Body::None,
    )
    .await;
    assert_eq!(status, 204);
    let r = search_as(&t, &token(&f.member), ws, "elephantkk", "").await;
    assert_eq!(r.unwrap_err().0, 401);
}

#[tokio::test]
async fn col_05_changes_are_found_after_indexing_and_edits_replace_what_was_found() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "srch-edit").await;
    let ws = f.ws.slug.as_str();
    let space = t.space(&f.ws, "Open", "").await;
    let d = t.challenge(&f.ws, space, "Ideas", "", &[]).await;
    let i = t
        .client(&f.member)
        .post_idea(ws, d, &NewIdea::new("oldwordzz", "text"))
        .await
        .expect(201)
        .summary
        .id;
    let me = token(&f.member);
    index_now(&t).await;
    assert_eq!(
        search_as(&t, &me, ws, "oldwordzz", "").await.unwrap(),
        [i.to_string()]
    );
    let (status, v) = call_json(
        &t,
        &me,
        "PATCH",
        &format!("/workspaces/{ws}/ideas/{i}"),
        json!({"title": "newwordyy"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    index_now(&t).await;
    assert!(
        search_as(&t, &me, ws, "oldwordzz", "")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        search_as(&t, &me, ws, "newwordyy", "").await.unwrap(),
        [i.to_string()]
    );
    // Indexing again finds nothing to do and changes nothing.
    let round = t.app.run_search_indexing("test-node").await.unwrap();
    assert_eq!(round.changes, 0, "{round:?}");
    assert_eq!(
        search_as(&t, &me, ws, "newwordyy", "").await.unwrap(),
        [i.to_string()]
    );
}

#[tokio::test]
async fn col_05_a_malformed_query_is_a_422_naming_the_query_never_a_500() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "srch-bad").await;
    let ws = f.ws.slug.as_str();
    index_now(&t).await;
    let me = token(&f.member);
    for (q, extra) in [
        ("\"unclosed", ""),
        ("", ""),
        ("a*", ""),
        ("-only", ""),
        ("OR", ""),
        (&"x".repeat(300)[..], ""),
        ("fine", "&cursor=nonsense"),
        ("fine", "&limit=0"),
        ("fine", "&limit=51"),
        ("fine", "&kind=idea,unicorn"),
        ("fine", "&since=2000&until=1000"),
    ] {
        let r = search_as(&t, &me, ws, q, extra).await;
        let (status, v) = r.unwrap_err();
        assert_eq!(status, 422, "{q:?}{extra}: {v}");
    }
    for extra in ["&sort=sideways", "&space=not-a-uuid", "&unknown=1"] {
        let (status, v) = search_as(&t, &me, ws, "fine", extra).await.unwrap_err();
        assert!(status == 400 || status == 422, "{extra}: {status} {v}");
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn dsr_03_col_05_erased_people_are_found_no_more_even_from_an_older_copy_of_the_database() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "srch-erase").await;
    let ws = f.ws.slug.as_str();
    let alice = t.member(&f.ws, "alicezebrawood", Role::Member).await;
    let bob = t.member(&f.ws, "bobyakfield", Role::Member).await;
    let space = t.space(&f.ws, "Open", "").await;
    let d = t.challenge(&f.ws, space, "Ideas", "", &[]).await;
    let kept = idea(&t, &alice, ws, d, "pelicanhh kept", "", &[]).await;
    let purged = idea(&t, &bob, ws, d, "ocelotgg purged", "", &[]).await;
    let reader = token(&f.member);
    index_now(&t).await;
    for (word, holder) in [
        ("pelicanhh", kept.to_string()),
        ("ocelotgg", purged.to_string()),
        ("alicezebrawood", alice.id.0.to_string()),
        ("bobyakfield", bob.id.0.to_string()),
    ] {
        let found = search_as(&t, &reader, ws, word, "").await.unwrap();
        assert!(found.contains(&holder), "{word} is found before: {found:?}");
    }
    // The copy of the data directory an operator might put back later: database and files
    // (the index's sealed files of that time among them).
    let before = t.copy_database().await;
    let files_before = tempfile::tempdir().unwrap();
    copy_dir(t.files_dir(), files_before.path());

    crate::helpers::anonymise(&t, &f.ws, alice.id).await;
    t.app
        .erase_person(
            &f.ws.as_member(&f.ws.owner),
            bob.id,
            ideaweave_app::ErasureInput {
                mode: ideaweave_domain::ErasureMode::Purge,
            },
        )
        .await
        .unwrap();
    index_now(&t).await;
    // Anonymised: the idea stays findable by its words, without its author; purged: gone.
    let (status, v) = call(
        &t,
        "GET",
        &format!("/workspaces/{ws}/search?q=pelicanhh"),
        &reader,
        Body::None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["items"][0]["id"], kept.to_string(), "{v}");
    assert!(!v.to_string().contains(&alice.id.0.to_string()), "{v}");
    for word in ["ocelotgg", "alicezebrawood", "bobyakfield"] {
        let found = search_as(&t, &reader, ws, word, "").await.unwrap();
        assert!(found.is_empty(), "{word} is still found: {found:?}");
    }
    let by_author = search_as(
        &t,
        &reader,
        ws,
        "pelicanhh",
        &format!("&author={}", alice.id.0),
    )
    .await
    .unwrap();
    assert!(
        by_author.is_empty(),
        "nothing is attributed to her: {by_author:?}"
    );

    // A node started on the older copy (with the live shred ledger, as every start applies
    // it) serves no index of before the erasure, and rebuilds one without the erased.
    let node = t
        .node_with(|c| {
            c.database_url = before.url.clone();
            c.files = ideaweave_server::config::FilesLocation::Dir(files_before.path().to_owned());
        })
        .await;
    let page = node
        .app
        .search(
            &f.ws.as_member(&f.member),
            &ideaweave_app::SearchInput {
                q: "ocelotgg".into(),
                limit: 20,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(page.hits.is_empty(), "{page:?}");
    let round = node.app.run_search_indexing("copy-node").await.unwrap();
    assert_eq!(round.failed, 0, "{round:?}");
    for word in ["ocelotgg", "alicezebrawood", "bobyakfield", "pelicanhh"] {
        let page = node
            .app
            .search(
                &f.ws.as_member(&f.member),
                &ideaweave_app::SearchInput {
                    q: word.into(),
                    limit: 20,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(page.ready, "{word}: the index was rebuilt");
        assert!(page.hits.is_empty(), "{word} came back: {page:?}");
    }
}

#[tokio::test]
async fn enc_04_col_05_a_deleted_workspace_leaves_no_index_behind() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "srch-gone").await;
    let ws = f.ws.slug.as_str();
    let space = t.space(&f.ws, "Open", "").await;
    let d = t.challenge(&f.ws, space, "Ideas", "", &[]).await;
    idea(&t, &f.member, ws, d, "tapirff doomed", "", &[]).await;
    index_now(&t).await;
    assert!(index_files(&t, &f.ws) > 0, "the index is stored");
    t.app
        .request_termination(
            &f.ws.as_member(&f.ws.owner),
            ideaweave_app::TerminationInput {
                confirm: ws.to_owned(),
            },
        )
        .await
        .unwrap();
    t.clock
        .advance(std::time::Duration::from_secs(91 * 24 * 3600));
    assert_eq!(t.app.run_terminations().await.unwrap().deleted, 1);
    assert_eq!(index_files(&t, &f.ws), 0, "its files are deleted");
    let status = t.app.search_status().await.unwrap();
    assert!(
        status.iter().all(|s| s.workspace != f.ws.id.0),
        "nothing of it is left: {status:?}"
    );
    index_now(&t).await;
}

#[tokio::test]
async fn col_05_what_hangs_off_a_deleted_comment_is_hidden_and_what_was_deleted_is_never_shown() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "srch-hang").await;
    let ws = f.ws.slug.as_str();
    let space = t.space(&f.ws, "Open", "").await;
    let d = t.challenge(&f.ws, space, "Ideas", "", &[]).await;
    let i = idea(&t, &f.member, ws, d, "wombatcc idea", "", &[]).await;
    let c = t
        .client(&f.member)
        .comment(ws, i, &NewComment::new("with a link"))
        .await
        .expect(201);
    let (status, link) = call_json(
        &t,
        &token(&f.member),
        "POST",
        &format!("/workspaces/{ws}/ideas/{i}/links"),
        json!({"url": "https://example.org/bisonbb", "title": "bisonbb page", "comment_id": c.id}),
    )
    .await;
    assert_eq!(status, 201, "{link}");
    let link_id = link["id"].as_str().unwrap().to_owned();
    index_now(&t).await;
    let me = token(&f.member);
    assert_eq!(
        search_as(&t, &me, ws, "bisonbb", "").await.unwrap(),
        std::slice::from_ref(&link_id)
    );
    t.client(&f.member)
        .delete_comment(ws, c.id)
        .await
        .expect(204);
    // Before the indexer runs, the results are checked against the database...
    assert!(
        search_as(&t, &me, ws, "bisonbb", "")
            .await
            .unwrap()
            .is_empty()
    );
    // ...and after it, the index itself no longer offers it, except to moderators asking
    // for deleted content.
    index_now(&t).await;
    assert!(
        search_as(&t, &me, ws, "bisonbb", "")
            .await
            .unwrap()
            .is_empty()
    );
    let found = search_as(&t, &token(&f.moderator), ws, "bisonbb", "&deleted=true")
        .await
        .unwrap();
    assert_eq!(found, [link_id]);
    // The same for an idea deleted between two runs of the indexer.
    t.client(&f.member).delete_idea(ws, i).await.expect(204);
    assert!(
        search_as(&t, &me, ws, "wombatcc", "")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn col_05_a_rebuild_reads_every_page_even_when_some_items_cannot_be_opened() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "srch-pages").await;
    let ws = f.ws.slug.as_str();
    let alice = t.member(&f.ws, "alice", Role::Member).await;
    let space = t.space(&f.ws, "Open", "").await;
    let d = t.challenge(&f.ws, space, "Ideas", "", &[]).await;
    let i = idea(&t, &f.member, ws, d, "many comments", "", &[]).await;
    // Alice's comments come first in id order; once her key is destroyed they cannot be
    // opened, and the first page of comments holds fewer documents than rows.
    for n in 0..5 {
        t.app
            .create_comment(
                &f.ws.as_member(&alice),
                ideaweave_domain::IdeaId(i.0),
                ideaweave_app::CommentInput {
                    body: format!("alice says {n}"),
                    parent_id: None,
                },
            )
            .await
            .unwrap();
    }
    let mut last = None;
    for n in 0..1_000 {
        let c = t
            .app
            .create_comment(
                &f.ws.as_member(&f.member),
                ideaweave_domain::IdeaId(i.0),
                ideaweave_app::CommentInput {
                    body: format!("comment {n}"),
                    parent_id: None,
                },
            )
            .await
            .unwrap();
        last = Some(c.id);
    }
    t.app
        .create_comment(
            &f.ws.as_member(&f.member),
            ideaweave_domain::IdeaId(i.0),
            ideaweave_app::CommentInput {
                body: "quaggaee at the very end".into(),
                parent_id: None,
            },
        )
        .await
        .unwrap();
    assert!(t.app.shred_member_data(f.ws.id, alice.id).await.unwrap());
    let mut seen = (0, 0);
    let n = t
        .app
        .rebuild_search_index(f.ws.id, "test-node", &mut |done, total| {
            seen = (done, total)
        })
        .await
        .unwrap();
    assert!(n >= 1_006, "{n} items read");
    assert_eq!(seen.0, seen.1, "the progress ends at its total: {seen:?}");
    let found = search_as(&t, &token(&f.member), ws, "quaggaee", "")
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "the last comment is indexed: {found:?}");
    assert!(last.is_some());
    let found = search_as(&t, &token(&f.member), ws, "says", "")
        .await
        .unwrap();
    assert!(
        found.is_empty(),
        "what cannot be opened is not indexed: {found:?}"
    );
}

#[tokio::test]
async fn enc_01_col_05_superseded_index_files_are_deleted_after_a_grace_period() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "srch-gc").await;
    let ws = f.ws.slug.as_str();
    let space = t.space(&f.ws, "Open", "").await;
    let d = t.challenge(&f.ws, space, "Ideas", "", &[]).await;
    for n in 0..6 {
        idea(&t, &f.member, ws, d, &format!("idea {n}"), "", &[]).await;
        index_now(&t).await;
    }
    let piled_up = index_files(&t, &f.ws);
    t.clock.advance(std::time::Duration::from_secs(11));
    index_now(&t).await;
    let status = t.app.search_status().await.unwrap();
    let mine = status.iter().find(|s| s.workspace == f.ws.id.0).unwrap();
    let after = index_files(&t, &f.ws);
    assert!(after < piled_up, "{after} files, {piled_up} before");
    assert_eq!(mine.queued, 0);
    // What is left is what the index needs: it opens and finds every idea.
    let found = search_as(&t, &token(&f.member), ws, "idea", "&kind=idea")
        .await
        .unwrap();
    assert_eq!(found.len(), 6, "{found:?}");
}

/// The figures of workspace `slug` in `search status`, read in process.
async fn status_of(t: &TestApp, slug: &str) -> ideaweave_app::SearchStatus {
    t.app
        .search_status()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.slug.as_deref() == Some(slug))
        .unwrap_or_else(|| panic!("no search status for {slug}"))
}

#[tokio::test]
async fn col_05_a_node_killed_mid_batch_loses_nothing_and_duplicates_nothing() {
    use crate::platform::cli::bin_for;
    let t = TestApp::spawn().await;
    let mut seed = bin_for(&t);
    seed.args([
        "admin",
        "seed-benchmark",
        "--slug",
        "crash",
        "--ideas",
        "3000",
        "--comments",
        "3000",
    ]);
    let (ok, _, err) = crate::platform::cli::run(seed);
    assert!(ok, "{err}");
    index_now(&t).await;
    let built = status_of(&t, "crash").await;
    assert!(built.documents > 6_000 && built.queued == 0, "{built:?}");
    // Every idea and comment changes at once: thousands of queued changes, many batches.
    t.raw_sql("UPDATE ideas SET score = score + 7").await;
    t.raw_sql("UPDATE comments SET body = body").await;
    let queued = status_of(&t, "crash").await.queued;
    assert!(queued >= 6_000, "{queued} changes queued");

    let serve = || {
        let mut c = bin_for(&t);
        c.args(["serve", "--listen", "127.0.0.1:0"])
            .env("IDEAWEAVE_LOG__FILTER", "error")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c.spawn().expect("the server starts")
    };
    let mut node = serve();
    // Killed once a batch was committed and more were still to come: in the middle of the
    // work, very likely in the middle of a batch.
    let started = std::time::Instant::now();
    loop {
        let s = status_of(&t, "crash").await;
        if s.generation > built.generation && s.queued > 0 && s.queued < queued {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the node never got going: {s:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    node.kill().unwrap();
    node.wait().unwrap();
    let left = status_of(&t, "crash").await;
    assert!(left.queued > 0, "work was left: {left:?}");

    // Another node takes over once the killed node's lease has run out, and finishes.
    let mut node = serve();
    let started = std::time::Instant::now();
    loop {
        let s = status_of(&t, "crash").await;
        if s.queued == 0 && !s.rebuild && s.generation > left.generation {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(180),
            "the work was not finished: {s:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    node.kill().unwrap();
    node.wait().unwrap();
    let done = status_of(&t, "crash").await;
    assert_eq!(
        done.documents, built.documents,
        "every item indexed once, none lost, none twice"
    );
    // The changes are in the index: an idea's score as the search shows it is the new one
    // (this process notices the other node's commits within seconds).
    t.clock.advance(std::time::Duration::from_secs(3));
    let ws = t.app.workspace_id_of("crash").await.unwrap();
    let owner = ideaweave_app::Member {
        workspace: ws,
        slug: "crash".into(),
        actor: ideaweave_domain::policy::Actor {
            user: ideaweave_domain::UserId(uuid::Uuid::nil()),
            role: Role::Owner,
            scope: None,
        },
        client: ideaweave_app::ClientInfo::default(),
        reauth_at: None,
        support: None,
    };
    let page = t
        .app
        .search(
            &owner,
            &ideaweave_app::SearchInput {
                q: "improve OR reduce OR automate OR simplify OR share OR open OR streamline"
                    .into(),
                kinds: vec![ideaweave_app::SearchKind::Idea],
                sort: ideaweave_app::SearchSort::Top,
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!page.hits.is_empty(), "{page:?}");
    for h in &page.hits {
        let idea = t
            .app
            .idea(&owner, ideaweave_domain::IdeaId(h.id))
            .await
            .unwrap();
        assert_eq!(h.votes, idea.summary.score, "the score after the change");
    }
}

#[tokio::test]
async fn col_05_a_workspace_set_to_german_finds_german_word_forms() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "srch-de").await;
    let ws = f.ws.slug.as_str();
    let space = t.space(&f.ws, "Offen", "").await;
    let d = t.challenge(&f.ws, space, "Ideen", "", &[]).await;
    let i = idea(&t, &f.member, ws, d, "Neue Häuser für alle", "", &[]).await;
    index_now(&t).await;
    let me = token(&f.member);
    assert!(
        search_as(&t, &me, ws, "haus", "").await.unwrap().is_empty(),
        "English stems do not know German plurals"
    );
    let path = format!("/workspaces/{ws}/search/settings");
    let (status, v) = call_json(&t, &me, "PUT", &path, json!({"language": "de"})).await;
    assert_eq!(status, 403, "members cannot change it: {v}");
    let (status, v) = call_json(
        &t,
        &token(&f.admin),
        "PUT",
        &path,
        json!({"language": "de"}),
    )
    .await;
    assert_eq!((status, v["language"].as_str()), (200, Some("de")), "{v}");
    let (status, v) = call_json(
        &t,
        &token(&f.admin),
        "PUT",
        &path,
        json!({"language": "fr"}),
    )
    .await;
    assert!(status == 400 || status == 422, "{status} {v}");
    let (_, v) = call(&t, "GET", &path, &me, Body::None).await;
    assert_eq!(v["language"], "de");
    let round = t.app.run_search_indexing("test-node").await.unwrap();
    assert_eq!(round.rebuilt, 1, "{round:?}");
    assert_eq!(
        search_as(&t, &me, ws, "haus", "").await.unwrap(),
        [i.to_string()]
    );
}

#[tokio::test]
async fn col_05_a_page_is_filled_from_the_next_when_the_database_check_removes_hits() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "srch-fill").await;
    let ws = f.ws.slug.as_str();
    let space = t.space(&f.ws, "Open", "").await;
    let d = t.challenge(&f.ws, space, "Ideas", "", &[]).await;
    let mut ideas = Vec::new();
    for n in 0..12 {
        ideas.push(idea(&t, &f.member, ws, d, &format!("lemmingdd {n}"), "", &[]).await);
        t.clock.advance(std::time::Duration::from_secs(1));
    }
    index_now(&t).await;
    // The eight newest are deleted and the indexer has not run yet: the first pages the
    // index offers hold only deleted ideas.
    for i in &ideas[4..] {
        t.client(&f.member).delete_idea(ws, *i).await.expect(204);
    }
    let me = token(&f.member);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..5 {
        let (status, v) = call(
            &t,
            "GET",
            &format!("/workspaces/{ws}/search?q=lemmingdd&limit=3&sort=newest{cursor}"),
            &me,
            Body::None,
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let items = v["items"].as_array().unwrap();
        seen.extend(items.iter().map(|h| h["id"].as_str().unwrap().to_owned()));
        match v["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(items.len(), 3, "a page with more after it is full: {v}");
                cursor = format!("&cursor={c}");
            }
            None => break,
        }
    }
    let live: Vec<String> = ideas[..4].iter().rev().map(|i| i.to_string()).collect();
    assert_eq!(seen, live, "the four live ideas, newest first, each once");
}

/// The search page applies the same rule as the API (ACC-02): a canary in an open space, a
/// private space and a deleted idea, looked for by a member, a guest, an admin, a person of
/// another workspace and nobody signed in.
#[tokio::test]
async fn col_05_acc_02_the_search_page_shows_only_what_the_reader_may_see() {
    use super::pages::{get, person};
    let t = TestApp::spawn().await;
    let w = t.workspace("srchpage").await;
    let member = person(&t, &w, "member", Role::Member).await;
    let guest = person(&t, &w, "guest", Role::Guest).await;
    let admin = person(&t, &w, "admin", Role::Admin).await;
    let open = t.space(&w, "Open", "").await;
    let d = t.challenge(&w, open, "Ideas", "", &[]).await;
    let hidden = private_space(&t, &w, "Hidden", &[]).await;
    let hd = t.challenge(&w, hidden, "Secret", "", &[]).await;
    let owner = token(&w.owner);
    let shown = idea(&t, &w.owner, &w.slug, d, "Open pagecanaryaa", "x", &[]).await;
    let private = idea(&t, &w.owner, &w.slug, hd, "Hidden pagecanarybb", "x", &[]).await;
    let gone = idea(&t, &w.owner, &w.slug, d, "Gone pagecanarycc", "x", &[]).await;
    let (st, _) = call(
        &t,
        "DELETE",
        &format!("/workspaces/{}/ideas/{gone}", w.slug),
        &owner,
        Body::None,
    )
    .await;
    assert_eq!(st, 204);
    index_now(&t).await;
    let other = t.workspace("srchpage-other").await;
    let outsider = person(&t, &other, "outsider", Role::Member).await;

    let page_finds = |page: &str, id: IdeaId| page.contains(&format!("/w/srchpage/ideas/{id}"));
    for (who, name, sees) in [
        (&member, "member", [true, false, false]),
        (&guest, "guest", [false, false, false]),
        (&admin, "admin", [true, true, false]),
    ] {
        for ((word, id), may) in [
            ("pagecanaryaa", shown),
            ("pagecanarybb", private),
            ("pagecanarycc", gone),
        ]
        .into_iter()
        .zip(sees)
        {
            let (st, page, _) = get(&t, who, &format!("/w/srchpage/search?q={word}")).await;
            assert_eq!(st, 200, "{name}");
            assert_eq!(page_finds(&page, id), may, "{name} looking for {word}");
        }
    }
    // Deleted content: for those who moderate, when they ask for it.
    let (_, page, _) = get(&t, &admin, "/w/srchpage/search?q=pagecanarycc&deleted=1").await;
    assert!(page_finds(&page, gone));
    let (_, page, _) = get(&t, &member, "/w/srchpage/search?q=pagecanarycc&deleted=1").await;
    assert!(!page_finds(&page, gone));
    // Another workspace's person: the page is not there for them.
    let (st, page, _) = get(&t, &outsider, "/w/srchpage/search?q=pagecanaryaa").await;
    assert_eq!(st, 404);
    assert!(!page_finds(&page, shown));
    // Nobody signed in: sent to sign in, shown nothing.
    let r = ideaweave_testkit::browser()
        .get(format!("{}/w/srchpage/search?q=pagecanaryaa", t.base))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    assert_ne!(status, 200, "{body}");
    assert!(!page_finds(&body, shown));
}
