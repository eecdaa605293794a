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
