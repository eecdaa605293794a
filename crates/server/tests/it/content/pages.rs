//! The content and administration pages over HTTP (COL-01…COL-03, SEC-01, ACC-02): every page
//! renders for a member, forms need the session's anti-CSRF token, votes/ratings/comments
//! answer htmx with fragments and plain forms with redirects, bad input comes back in its form,
//! and other workspaces' pages are 404.

use ideaweave_app::*;
use ideaweave_domain::{Role, VoteDirection};
use ideaweave_testkit::browser;

use crate::helpers::png;
use ideaweave_testkit::{Session, TestApp, TestWorkspace};

/// A signed-in member of `w` with `role`, as a browser session.
pub async fn person(t: &TestApp, w: &TestWorkspace, name: &str, role: Role) -> Session {
    let email = format!("{name}@{}.pages.test", w.slug);
    t.member_session(&w.slug, &email, name, "a long enough password", role)
        .await
}

pub async fn get(
    t: &TestApp,
    s: &Session,
    path: &str,
) -> (u16, String, reqwest::header::HeaderMap) {
    get_in(t, s, path, "en").await
}

/// [`get`] for a reader of `lang` (`Accept-Language`).
pub async fn get_in(
    t: &TestApp,
    s: &Session,
    path: &str,
    lang: &str,
) -> (u16, String, reqwest::header::HeaderMap) {
    let r = browser()
        .get(format!("{}{path}", t.base))
        .header("cookie", format!("iw_session={}", s.cookie))
        .header("accept-language", lang)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.text().await.unwrap(), headers)
}

pub async fn post(
    t: &TestApp,
    s: &Session,
    path: &str,
    form: &[(&str, &str)],
    htmx: bool,
) -> (u16, String, reqwest::header::HeaderMap) {
    let mut rb = browser()
        .post(format!("{}{path}", t.base))
        .header("cookie", format!("iw_session={}", s.cookie))
        .form(form);
    if htmx {
        rb = rb.header("hx-request", "true");
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.text().await.unwrap(), headers)
}

/// A workspace with a criterion, a space, a challenge rated on it and one idea by `author`.
pub struct Scene {
    pub w: TestWorkspace,
    pub space: String,
    pub discussion: String,
    pub criterion: String,
}

pub async fn scene(t: &TestApp, slug: &str) -> Scene {
    let w = t.workspace(slug).await;
    let criterion = t.criterion(&w, "Impact").await;
    let space = t.space(&w, "Ops", "Operations").await;
    let d = t
        .challenge(&w, space, "Save energy", "How?", &[criterion])
        .await;
    Scene {
        w,
        space: space.to_string(),
        discussion: d.to_string(),
        criterion: criterion.to_string(),
    }
}

/// Posts an idea through the new-idea page's multipart form; returns the idea's path.
pub async fn post_idea(
    t: &TestApp,
    s: &Session,
    slug: &str,
    discussion: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, Vec<u8>)>,
) -> (u16, String, String) {
    let mut form = reqwest::multipart::Form::new().text("csrf", s.csrf.clone());
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    if let Some((name, bytes)) = file {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
    }
    let r = browser()
        .post(format!("{}/w/{slug}/discussions/{discussion}/new", t.base))
        .header("cookie", format!("iw_session={}", s.cookie))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, r.text().await.unwrap())
}

#[tokio::test]
async fn col_01_a_member_posts_an_idea_with_a_file_and_others_vote_rate_and_comment() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "pages").await;
    let author = person(&t, &sc.w, "writer", Role::Member).await;
    let voter = person(&t, &sc.w, "voter", Role::Member).await;
    let slug = sc.w.slug.clone();

    // Every page of the path renders for a member.
    for path in [
        "/".to_owned(),
        format!("/w/{slug}"),
        format!("/w/{slug}/spaces/{}", sc.space),
        format!("/w/{slug}/discussions/{}", sc.discussion),
        format!("/w/{slug}/discussions/{}?view=board", sc.discussion),
        format!("/w/{slug}/discussions/{}/new", sc.discussion),
        format!("/w/{slug}/members"),
        format!("/w/{slug}/tokens"),
        "/account".to_owned(),
    ] {
        let (st, body, h) = get(&t, &author, &path).await;
        assert_eq!(st, 200, "{path}: {body}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
    }

    // Posting without the form's token changes nothing.
    let (st, ..) = post_idea(
        &t,
        &Session {
            csrf: "stale".into(),
            ..author.clone()
        },
        &slug,
        &sc.discussion,
        &[("title", "Never posted")],
        None,
    )
    .await;
    assert_eq!(st, 400);

    // A title that is too long comes back in the form with everything typed.
    let long = "x".repeat(400);
    let (st, _, body) = post_idea(
        &t,
        &author,
        &slug,
        &sc.discussion,
        &[
            ("title", &long),
            ("body", "Keep this body"),
            ("tags", "a, b"),
        ],
        None,
    )
    .await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("role=\"alert\"") && body.contains("Keep this body"));
    assert!(body.contains("value=\"a, b\""));

    let (st, location, body) = post_idea(
        &t,
        &author,
        &slug,
        &sc.discussion,
        &[
            ("title", "Switch off idle screens"),
            ("body", "Saves **power**."),
            ("tags", "energy, quick-win"),
        ],
        Some(("plan.txt", b"Screens: 40\nHours saved: 2,000\n".to_vec())),
    )
    .await;
    assert_eq!(st, 303, "{body}");
    assert!(
        location.starts_with(&format!("/w/{slug}/ideas/")),
        "{location}"
    );
    let (st, page, _) = get(&t, &author, &location).await;
    assert_eq!(st, 200);
    assert!(page.contains("Switch off idle screens") && page.contains("<strong>power</strong>"));
    assert!(page.contains("plan.txt") && page.contains("#energy"));
    let idea = location.rsplit('/').next().unwrap().to_owned();

    // A vote from htmx gets the vote box back; a plain form gets a redirect to the idea.
    let vote = format!("/w/{slug}/ideas/{idea}/vote");
    let (st, frag, h) = post(
        &t,
        &voter,
        &vote,
        &[("csrf", &voter.csrf), ("direction", "up")],
        true,
    )
    .await;
    assert_eq!(st, 200, "{frag}");
    assert!(
        frag.trim_start().starts_with("<section id=\"votes\""),
        "{frag}"
    );
    assert!(frag.contains("aria-pressed=\"true\""));
    assert!(!frag.contains("<html"));
    assert!(h.contains_key("content-security-policy"));
    let (st, _, h) = post(
        &t,
        &voter,
        &vote,
        &[("csrf", &voter.csrf), ("direction", "none")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(
        h["location"],
        format!("/w/{slug}/ideas/{idea}#votes").as_str()
    );
    post(
        &t,
        &voter,
        &vote,
        &[("csrf", &voter.csrf), ("direction", "down")],
        false,
    )
    .await;
    // Without the token, nothing is counted.
    let (st, ..) = post(&t, &voter, &vote, &[("direction", "up")], false).await;
    assert_eq!(st, 400);

    let rate = format!("/w/{slug}/ideas/{idea}/rate");
    let (st, frag, _) = post(
        &t,
        &voter,
        &rate,
        &[
            ("csrf", &voter.csrf),
            ("criterion", &sc.criterion),
            ("value", "4"),
        ],
        true,
    )
    .await;
    assert_eq!(st, 200, "{frag}");
    assert!(frag.contains("average 4.0"), "{frag}");
    let (st, body, _) = post(
        &t,
        &voter,
        &rate,
        &[
            ("csrf", &voter.csrf),
            ("criterion", &sc.criterion),
            ("value", "9"),
        ],
        false,
    )
    .await;
    assert_eq!(st, 422, "{body}");

    let comments = format!("/w/{slug}/ideas/{idea}/comments");
    let (st, frag, _) = post(
        &t,
        &voter,
        &comments,
        &[("csrf", &voter.csrf), ("body", "Also the *printers*.")],
        true,
    )
    .await;
    assert_eq!(st, 200);
    assert!(frag.contains("<em>printers</em>") && frag.starts_with("<section id=\"comments\""));
    // An empty comment comes back with a message, as a fragment for htmx.
    let (st, frag, _) = post(
        &t,
        &voter,
        &comments,
        &[("csrf", &voter.csrf), ("body", "   ")],
        true,
    )
    .await;
    assert_eq!(st, 200);
    assert!(frag.contains("role=\"alert\""), "{frag}");

    // The author sees it all.
    let (_, page, _) = get(&t, &author, &format!("/w/{slug}/ideas/{idea}")).await;
    assert!(page.contains("0 for · 1 against"), "votes missing");
    assert!(
        page.contains("average 4.0 · 1 rating<") && !page.contains("1 ratings"),
        "one rating, singular: {page}"
    );
    assert!(page.contains("<em>printers</em>"));
    let stored = t
        .app
        .idea(
            &sc.w.as_member(&sc.w.owner),
            idea.parse().map(ideaweave_domain::IdeaId).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(stored.summary.my_vote, None::<VoteDirection>);
    assert_eq!(stored.summary.downvotes, 1);
    assert_eq!(stored.summary.upvotes, 0);
}

/// Sends the new-idea form in German with `fields` and maybe a file; returns status and page.
async fn post_idea_in_german(
    t: &TestApp,
    s: &Session,
    sc: &Scene,
    fields: &[(&str, &str)],
    file: bool,
) -> (u16, String) {
    let mut form = reqwest::multipart::Form::new().text("csrf", s.csrf.clone());
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    if file {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(png()).file_name("plan.png"),
        );
    }
    let r = browser()
        .post(format!(
            "{}/w/{}/discussions/{}/new",
            t.base, sc.w.slug, sc.discussion
        ))
        .header("cookie", format!("iw_session={}", s.cookie))
        .header("accept-language", "de-DE,de;q=0.9")
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn col_01_a_refused_idea_says_at_each_field_what_is_wrong_in_the_readers_language() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "felder").await;
    let author = person(&t, &sc.w, "autorin", Role::Member).await;

    // An empty title: said at the title field, in German, and the chosen file is asked for
    // again rather than silently dropped.
    let (st, page) =
        post_idea_in_german(&t, &author, &sc, &[("title", "  "), ("body", "Text")], true).await;
    assert_eq!(st, 400);
    let at_title = page
        .split("id=\"i-title-error\">")
        .nth(1)
        .unwrap_or_default();
    assert!(at_title.starts_with("darf nicht leer sein<"), "{page}");
    assert!(
        page.contains("aria-invalid=\"true\" aria-describedby=\"i-title-error\""),
        "{page}"
    );
    assert!(
        !page.contains("must not be empty") && !page.contains("title:"),
        "{page}"
    );
    assert!(
        page.contains("id=\"i-file-error\""),
        "the lost file is said: {page}"
    );
    assert!(page.contains("Wählen Sie sie erneut"), "{page}");
    assert!(
        page.contains("value=\"  \"") || page.contains("Text</textarea>"),
        "the text is kept"
    );

    // A bad tag: at the tags field, with the tag as typed.
    let (st, page) = post_idea_in_german(
        &t,
        &author,
        &sc,
        &[("title", "Gute Idee"), ("tags", "grün, a/b")],
        false,
    )
    .await;
    assert_eq!(st, 400);
    let at_tags = page
        .split("id=\"i-tags-error\">")
        .nth(1)
        .unwrap_or_default();
    assert!(
        at_tags.starts_with("Schlagwort &quot;a/b&quot; darf nur Buchstaben")
            || at_tags.starts_with("Schlagwort &#34;a/b&#34; darf nur Buchstaben"),
        "{page}"
    );
    assert!(!page.contains("may contain only"), "{page}");
    assert!(!page.contains("id=\"i-file-error\""), "no file was chosen");
}

/// Uploads `bytes` as `name` through the idea page's file form.
pub(crate) async fn attach_on_page(
    t: &TestApp,
    s: &Session,
    slug: &str,
    idea: ideaweave_domain::IdeaId,
    name: &str,
    bytes: Vec<u8>,
    lang: &str,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("csrf", s.csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
    browser()
        .post(format!("{}/w/{slug}/ideas/{idea}/attachments", t.base))
        .header("cookie", format!("iw_session={}", s.cookie))
        .header("accept-language", lang)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn col_01_a_refused_file_is_told_once_at_its_field_after_a_redirect() {
    let t = TestApp::spawn_with(|c| c.max_upload_bytes = 1024).await;
    let sc = scene(&t, "files").await;
    let author = person(&t, &sc.w, "writer", Role::Member).await;
    let discussion = sc
        .discussion
        .parse()
        .map(ideaweave_domain::DiscussionId)
        .unwrap();
    let idea = t
        .client(&author)
        .post_idea(
            &sc.w.slug,
            discussion,
            &ideaweave_testkit::client::models::NewIdea::new("With a file", "Body"),
        )
        .await
        .expect(201)
        .id();
    for (lang, said) in [
        ("en", "it is larger than the limit of 1 KiB"),
        ("de", "größer als die Grenze von 1 KiB"),
    ] {
        let mut big = png();
        big.resize(4096, 0);
        let r = attach_on_page(&t, &author, &sc.w.slug, idea, "big.png", big, lang).await;
        assert_eq!(
            r.status(),
            303,
            "the form's address is not left in the address bar"
        );
        let to = r.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(
            to,
            format!("/w/{}/ideas/{idea}?file=file-too-large#files", sc.w.slug)
        );
        let (_, page, _) = get_in(&t, &author, to.split('#').next().unwrap(), lang).await;
        assert_eq!(
            page.matches(said).count(),
            1,
            "said once, in {lang}: {page}"
        );
        let field = page
            .split("id=\"attach-file-error\"")
            .nth(1)
            .unwrap_or_default();
        assert!(field.contains(said), "at the file field: {page}");
        assert!(
            page.contains("aria-invalid=\"true\" aria-describedby=\"attach-file-error\""),
            "{page}"
        );
        assert!(
            !page.contains("id=\"comment-problem\""),
            "not in the comment form"
        );
    }
    let r = attach_on_page(&t, &author, &sc.w.slug, idea, "small.png", png(), "en").await;
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("#files")
    );
}

#[tokio::test]
async fn acc_02_pages_of_another_workspace_are_404_and_guests_see_no_forms() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "mine").await;
    let author = person(&t, &sc.w, "author", Role::Member).await;
    let (_, location, _) = post_idea(
        &t,
        &author,
        &sc.w.slug,
        &sc.discussion,
        &[("title", "Mine only")],
        None,
    )
    .await;
    let other = t.workspace("theirs").await;
    let stranger = person(&t, &other, "stranger", Role::Owner).await;
    for path in [
        location.clone(),
        format!("/w/{}", sc.w.slug),
        format!("/w/{}/discussions/{}", sc.w.slug, sc.discussion),
        format!("/w/{}/members", sc.w.slug),
        format!("/w/{}/settings", sc.w.slug),
        format!("/w/{}/audit", sc.w.slug),
        format!("/w/theirs/discussions/{}", sc.discussion),
        format!("/w/theirs/ideas/{}", location.rsplit('/').next().unwrap()),
    ] {
        let (st, body, _) = get(&t, &stranger, &path).await;
        assert_eq!(st, 404, "{path}");
        assert!(!body.contains("Mine only") && !body.contains("Save energy"));
        assert!(
            body.contains(&format!("name=\"csrf\" value=\"{}\"", stranger.csrf)),
            "the 404 page keeps a working sign-out form"
        );
    }
    // Acting on another workspace's idea through one's own workspace's URL: 404, no vote.
    let idea = location.rsplit('/').next().unwrap();
    let (st, ..) = post(
        &t,
        &stranger,
        &format!("/w/theirs/ideas/{idea}/vote"),
        &[("csrf", &stranger.csrf), ("direction", "up")],
        false,
    )
    .await;
    assert_eq!(st, 404);

    // A guest listed in the space reads but gets no vote or idea forms; admin pages are
    // refused.
    let guest = person(&t, &sc.w, "guest", Role::Guest).await;
    t.app
        .add_space_member(
            &sc.w.as_member(&sc.w.owner),
            sc.space.parse().map(ideaweave_domain::SpaceId).unwrap(),
            SpaceMemberInput {
                user_id: guest.user,
            },
        )
        .await
        .unwrap();
    let members_tab = format!("href=\"/w/{}/members\"", sc.w.slug);
    let (_, home, _) = get(&t, &guest, &format!("/w/{}", sc.w.slug)).await;
    assert!(!home.contains(&members_tab), "no Members tab for guests");
    let (st, form, _) = get(
        &t,
        &guest,
        &format!("/w/{}/discussions/{}/new", sc.w.slug, sc.discussion),
    )
    .await;
    assert_eq!(st, 403, "no idea form to type into only to be refused");
    assert!(
        !form.contains("name=\"title\"") && form.contains("guests take part by commenting"),
        "{form}"
    );
    let member = person(&t, &sc.w, "member", Role::Member).await;
    let (_, home, _) = get(&t, &member, &format!("/w/{}", sc.w.slug)).await;
    assert!(home.contains(&members_tab), "members keep the tab: {home}");
    let (st, page, _) = get(&t, &guest, &location).await;
    assert_eq!(st, 200);
    assert!(!page.contains("/vote\"") && !page.contains("/rate\""));
    assert!(!page.contains("/edit\""));
    let (st, form, _) = get(&t, &guest, &format!("{}/edit", location)).await;
    assert_eq!(st, 403, "no edit form to type into only to be refused");
    assert!(
        !form.contains("name=\"title\"") && form.contains("only its author and moderators"),
        "{form}"
    );
    let (st, ..) = post(
        &t,
        &guest,
        &format!("{location}/edit"),
        &[("csrf", &guest.csrf), ("title", "Guest was here")],
        false,
    )
    .await;
    assert_eq!(st, 403);
    let (st, ..) = get(&t, &guest, &format!("/w/{}/settings", sc.w.slug)).await;
    assert_eq!(st, 403);
    let (st, ..) = get(&t, &guest, &format!("/w/{}/audit", sc.w.slug)).await;
    assert_eq!(st, 403);
    // Signed out, a page sends people to sign in and back.
    let r = browser()
        .get(format!("{}{location}", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap();
    assert!(to.starts_with("/sign-in?next=%2Fw%2F"), "{to}");
}

#[tokio::test]
async fn col_02_admins_invite_change_roles_and_remove_members_from_the_page() {
    let t = TestApp::spawn().await;
    let w = t.workspace("team").await;
    let admin = person(&t, &w, "admin", Role::Admin).await;
    let member = person(&t, &w, "member", Role::Member).await;
    let members = "/w/team/members";
    let (st, page, _) = post(
        &t,
        &admin,
        "/w/team/members/invite",
        &[
            ("csrf", &admin.csrf),
            ("email", "new@team.test"),
            ("role", "member"),
        ],
        false,
    )
    .await;
    assert_eq!(st, 200, "{page}");
    // Mail delivery is off in this instance: nothing claims it was sent, and the link is
    // shown to pass on.
    assert!(
        page.contains("Invitation created (not emailed) for new@team.test")
            && !page.contains("Invitation sent"),
        "{page}"
    );
    let link = page
        .split("<code class=\"secret\" id=\"accept-url\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_owned();
    assert!(link.contains("/invitations/"), "{link}");
    // An admin cannot invite an owner: refused with a message, the address kept.
    let (st, page, _) = post(
        &t,
        &admin,
        "/w/team/members/invite",
        &[
            ("csrf", &admin.csrf),
            ("email", "boss@team.test"),
            ("role", "owner"),
        ],
        false,
    )
    .await;
    assert_eq!(st, 403, "{page}");

    // The invitee opens the link, sets a password and is signed in.
    let path = link.split_once("://").unwrap().1;
    let path = &path[path.find('/').unwrap()..];
    let r = browser()
        .get(format!("{}{path}", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("id=\"password_again\""));
    let r = browser()
        .post(format!("{}{path}", t.base))
        .header("origin", t.base.clone())
        .form(&[
            ("name", "New Person"),
            ("password", "a long enough password"),
            ("password_again", "not the same password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("value=\"New Person\""));
    // Issue 21: the refusal stands at the second password, which is marked.
    assert!(
        page.contains("<p class=\"field-error\" id=\"password-again-error\">")
            && page.contains("aria-invalid=\"true\" aria-describedby=\"password-again-error\""),
        "{page}"
    );
    let r = browser()
        .post(format!("{}{path}", t.base))
        .header("origin", t.base.clone())
        .form(&[
            ("name", "New Person"),
            ("password", "short"),
            ("password_again", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("<p class=\"field-error\" id=\"password-error\">")
            && page.contains(
                "aria-describedby=\"password-error password-hint\" aria-invalid=\"true\""
            ),
        "a password the policy refuses is refused at its field: {page}"
    );
    let r = browser()
        .post(format!("{}{path}", t.base))
        .header("origin", t.base.clone())
        .form(&[
            ("name", "New Person"),
            ("password", "a long enough password"),
            ("password_again", "a long enough password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/w/team");
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("iw_session=")
    );
    // The link works once.
    let r = browser()
        .get(format!("{}{path}", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);

    // Role change and removal.
    let m = format!("/w/team/members/{}/role", member.user);
    let (st, ..) = post(&t, &admin, &m, &[("role", "moderator")], false).await;
    assert_eq!(st, 400, "no token, no change");
    let (st, ..) = post(
        &t,
        &admin,
        &m,
        &[("csrf", &admin.csrf), ("role", "moderator")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let (_, page, _) = get(&t, &admin, members).await;
    assert!(page.contains("<option value=\"moderator\" selected>"));
    let (st, ..) = post(
        &t,
        &admin,
        &format!("/w/team/members/{}/remove", member.user),
        &[("csrf", &admin.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let (st, ..) = get(&t, &member, "/w/team").await;
    assert_eq!(st, 404, "a removed member no longer sees the workspace");
}

#[tokio::test]
async fn col_03_admins_change_settings_and_tokens_from_the_pages() {
    let t = TestApp::spawn().await;
    let w = t.workspace("conf").await;
    let admin = person(&t, &w, "admin", Role::Admin).await;
    let f = |extra: &[(&'static str, &'static str)]| {
        let mut v = vec![("csrf", admin.csrf.clone())];
        v.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        v
    };
    let send = |path: &'static str, form: Vec<(&'static str, String)>| {
        let t = &t;
        let admin = &admin;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(t, admin, path, &pairs, false).await
        }
    };
    let (st, ..) = send("/w/conf/settings/name", f(&[("name", "Renamed Co")])).await;
    assert_eq!(st, 303);
    let (st, ..) = send("/w/conf/settings/stages", f(&[("name", "Parked")])).await;
    assert_eq!(st, 303);
    let (st, ..) = send("/w/conf/settings/criteria", f(&[("name", "Cost")])).await;
    assert_eq!(st, 303);
    let (st, ..) = send(
        "/w/conf/settings/spaces",
        f(&[
            ("name", "Board room"),
            ("description", "Secret"),
            ("private", "on"),
        ]),
    )
    .await;
    assert_eq!(st, 303);
    // An empty name comes back with a message.
    let (st, page, _) = send("/w/conf/settings/stages", f(&[("name", "")])).await;
    assert_eq!(st, 400);
    assert!(page.contains("role=\"alert\""));
    let (_, page, _) = get(&t, &admin, "/w/conf/settings").await;
    for s in [
        "Renamed Co",
        "Parked",
        "Cost",
        "Board room",
        "Who can see this private space",
    ] {
        assert!(page.contains(s), "{s} missing");
    }
    let ws = t.app.workspace(&w.as_member(&w.owner)).await.unwrap();
    assert_eq!(ws.name, "Renamed Co");
    assert!(ws.stages.iter().any(|s| s.name == "Parked"));

    let (st, page, _) = send(
        "/w/conf/tokens",
        f(&[("name", "ci"), ("scope", "read"), ("days", "30")]),
    )
    .await;
    assert_eq!(st, 200);
    let secret = page
        .split("id=\"new-secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_owned();
    let r = reqwest::Client::new()
        .get(t.api("/workspaces/conf"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the token shown works");
    let (_, page, _) = get(&t, &admin, "/w/conf/tokens").await;
    assert!(!page.contains(&secret), "the secret is shown once");
    let (st, page, _) = send("/w/conf/tokens", f(&[("name", "x"), ("days", "soon")])).await;
    assert_eq!(st, 400);
    // Told at the field, with what was typed kept.
    assert!(page.contains("id=\"token-days-error\">The expiry must be a whole number of days."));
    assert!(page.contains("aria-invalid=\"true\" aria-describedby=\"token-days-error\""));
    assert!(page.contains("value=\"x\"") && page.contains("value=\"soon\""));
    let long = "n".repeat(101);
    let form = vec![
        ("csrf", admin.csrf.clone()),
        ("name", long),
        ("days", "30".to_owned()),
    ];
    let (st, page, _) = send("/w/conf/tokens", form).await;
    assert_eq!(st, 400);
    assert!(page.contains("id=\"token-name-error\""), "{page}");

    let (st, page, _) = get(&t, &admin, "/w/conf/audit").await;
    assert_eq!(st, 200);
    assert!(page.contains("token.created") && page.contains("workspace.settings_changed"));
    let (st, page, _) = get(&t, &admin, "/w/conf/audit?action=token.created").await;
    assert_eq!(st, 200);
    assert!(!page.contains("<code>workspace.settings_changed</code>"));
}

#[tokio::test]
async fn col_03_people_change_their_display_name_from_the_account_page() {
    let t = TestApp::spawn().await;
    let w = t.workspace("names").await;
    let me = person(&t, &w, "renamer", Role::Member).await;
    let (st, ..) = post(&t, &me, "/account", &[("name", "No Token")], false).await;
    assert_eq!(st, 400);
    let (st, page, _) = post(
        &t,
        &me,
        "/account",
        &[("csrf", &me.csrf), ("name", "  ")],
        false,
    )
    .await;
    assert_eq!(st, 400);
    assert!(
        page.contains("aria-invalid=\"true\" aria-describedby=\"name-error\""),
        "the refusal stands at the name: {page}"
    );
    let (st, _, h) = post(
        &t,
        &me,
        "/account",
        &[("csrf", &me.csrf), ("name", "Rena Renamed")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(h["location"], "/account?saved=1");
    let (_, page, _) = get(&t, &me, "/account?saved=1").await;
    assert!(page.contains("value=\"Rena Renamed\"") && page.contains("role=\"status\""));
    let (_, page, _) = get(&t, &me, "/w/names/members").await;
    assert!(page.contains("Rena Renamed"));
    // The name is sealed: the database never holds it in clear.
    assert!(
        !t.database_bytes()
            .iter()
            .any(|(_, b)| b.windows(12).any(|w| w == b"Rena Renamed")),
        "the new name is stored in clear"
    );
    // An API token cannot rename the account.
    let r = reqwest::Client::new()
        .patch(t.api("/me"))
        .bearer_auth(&w.owner.token)
        .json(&serde_json::json!({"name": "Token Name"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn col_04_members_choose_their_notifications_per_workspace_on_the_account_page() {
    let t = TestApp::spawn().await;
    let w = t.workspace("notes").await;
    let me = person(&t, &w, "reader", Role::Member).await;
    let (st, page, _) = get(&t, &me, "/account").await;
    assert_eq!(st, 200);
    assert!(
        page.contains("<option value=\"instant\" selected>"),
        "instant is the default"
    );
    let path = "/w/notes/notifications";
    let (st, ..) = post(&t, &me, path, &[("preference", "daily")], false).await;
    assert_eq!(st, 400, "no token, no change");
    let (st, ..) = post(
        &t,
        &me,
        path,
        &[("csrf", &me.csrf), ("preference", "weekly")],
        false,
    )
    .await;
    assert_eq!(st, 422);
    let (st, _, h) = post(
        &t,
        &me,
        path,
        &[("csrf", &me.csrf), ("preference", "daily")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(h["location"], "/account?saved=1");
    let (_, page, _) = get(&t, &me, "/account").await;
    assert!(page.contains("<option value=\"daily\" selected>"));
    let member = t
        .app
        .enter(
            &t.app
                .authenticate(&Credential::Session(me.cookie.clone()))
                .await
                .unwrap(),
            "notes",
        )
        .await
        .unwrap();
    assert_eq!(
        t.app.notification_preference(&member).await.unwrap(),
        NotificationPreference::Daily
    );
    // Another workspace's setting is not reachable through this one's membership.
    t.workspace("elsewhere").await;
    let (st, ..) = post(
        &t,
        &me,
        "/w/elsewhere/notifications",
        &[("csrf", &me.csrf), ("preference", "off")],
        false,
    )
    .await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn col_01_moderators_merge_unmerge_and_restore_from_the_idea_page() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "moderate").await;
    let author = person(&t, &sc.w, "author", Role::Member).await;
    let moderator = person(&t, &sc.w, "moderator", Role::Moderator).await;
    let slug = sc.w.slug.clone();
    let (_, dup, _) = post_idea(
        &t,
        &author,
        &slug,
        &sc.discussion,
        &[("title", "Duplicate")],
        None,
    )
    .await;
    let (_, keep, _) = post_idea(
        &t,
        &author,
        &slug,
        &sc.discussion,
        &[("title", "Original")],
        None,
    )
    .await;
    // Members see no moderation forms; posting one anyway is refused.
    let (_, page, _) = get(&t, &author, &dup).await;
    assert!(!page.contains("/merge\""));
    let (st, ..) = post(
        &t,
        &author,
        &format!("{dup}/merge"),
        &[("csrf", &author.csrf), ("into", &keep)],
        false,
    )
    .await;
    assert_eq!(st, 403);
    // A moderator pastes the original's address; the duplicate points to it.
    let (_, page, _) = get(&t, &moderator, &dup).await;
    assert!(page.contains("/merge\""));
    let (st, page, _) = post(
        &t,
        &moderator,
        &format!("{dup}/merge"),
        &[("csrf", &moderator.csrf), ("into", "not an idea")],
        false,
    )
    .await;
    assert_eq!(st, 400);
    assert!(page.contains("role=\"alert\""));
    let into = format!("{}{keep}#comments", t.base);
    let (st, _, h) = post(
        &t,
        &moderator,
        &format!("{dup}/merge"),
        &[("csrf", &moderator.csrf), ("into", &into)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert!(h["location"].to_str().unwrap().starts_with(keep.as_str()));
    let (_, page, _) = get(&t, &moderator, &keep).await;
    assert!(
        page.contains("Duplicate"),
        "the merge history names the duplicate"
    );
    let (_, page, _) = get(&t, &moderator, &dup).await;
    assert!(page.contains("/unmerge\""));
    let (st, ..) = post(
        &t,
        &moderator,
        &format!("{dup}/unmerge"),
        &[("csrf", &moderator.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let (_, page, _) = get(&t, &author, &dup).await;
    assert!(!page.contains("was merged into another"));
    // Deleted by its author, restored by a moderator.
    let (st, ..) = post(
        &t,
        &author,
        &format!("{dup}/delete"),
        &[("csrf", &author.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let (st, ..) = get(&t, &author, &dup).await;
    assert_eq!(st, 404, "members no longer see a deleted idea");
    let (_, page, _) = get(&t, &moderator, &dup).await;
    assert!(page.contains("/restore\""));
    let (st, ..) = post(
        &t,
        &moderator,
        &format!("{dup}/restore"),
        &[("csrf", &moderator.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let (st, ..) = get(&t, &author, &dup).await;
    assert_eq!(st, 200);
}

/// LIF-03 from the settings page: an admin sees the periods and changes them; a value that is
/// not a whole number of days, or out of range, comes back with a message and changes nothing;
/// a moderator is refused.
#[tokio::test]
async fn lif_03_admins_set_the_retention_periods_on_the_settings_page() {
    let t = TestApp::spawn().await;
    let w = t.workspace("kept").await;
    let admin = person(&t, &w, "admin", Role::Admin).await;
    let moderator = person(&t, &w, "moderator", Role::Moderator).await;
    let (st, page, _) = get(&t, &admin, "/w/kept/settings").await;
    assert_eq!(st, 200);
    for default in [
        "name=\"activity_days\" type=\"number\" min=\"1\" max=\"3650\" required class=\"short\" value=\"90\"",
        "name=\"deleted_days\" type=\"number\" min=\"1\" max=\"3650\" required class=\"short\" value=\"30\"",
        "name=\"invitation_days\" type=\"number\" min=\"1\" max=\"3650\" required class=\"short\" value=\"7\"",
    ] {
        assert!(page.contains(default), "{default} missing");
    }
    let form = |a: &str, d: &str, i: &str| {
        vec![
            ("csrf", admin.csrf.clone()),
            ("activity_days", a.to_owned()),
            ("deleted_days", d.to_owned()),
            ("invitation_days", i.to_owned()),
        ]
    };
    let send = |s: &Session, v: Vec<(&'static str, String)>| {
        let t = &t;
        let s = s.clone();
        async move {
            let pairs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(t, &s, "/w/kept/settings/retention", &pairs, false).await
        }
    };
    let (st, _, h) = send(&admin, form("60", "14", "3")).await;
    assert_eq!(st, 303);
    assert_eq!(h["location"], "/w/kept/settings#retention");
    for (a, d, i, says) in [
        ("60", "two weeks", "3", "whole number"),
        ("60", "14", "0", "between 1 and 3650"),
        ("99999", "14", "3", "between 1 and 3650"),
    ] {
        let (st, page, _) = send(&admin, form(a, d, i)).await;
        assert_eq!(st, 400, "{a} {d} {i}");
        assert!(
            page.contains("role=\"alert\"") && page.contains(says),
            "{says}"
        );
        let section = page
            .split("id=\"retention\"")
            .nth(1)
            .and_then(|r| r.split("</section>").next())
            .unwrap_or_default();
        assert!(
            section.contains(says) && section.contains("aria-invalid=\"true\""),
            "said in the retention section, the field marked: {section}"
        );
    }
    let p = t
        .app
        .retention_policy(&w.as_member(&w.owner))
        .await
        .unwrap();
    assert_eq!(
        (p.activity_days, p.deleted_days, p.invitation_days),
        (60, 14, 3)
    );
    let mut refused = form("1", "1", "1");
    refused[0].1 = moderator.csrf.clone();
    let (st, ..) = send(&moderator, refused).await;
    assert_eq!(st, 403);
    assert_eq!(
        t.app
            .retention_policy(&w.as_member(&w.owner))
            .await
            .unwrap()
            .deleted_days,
        14
    );
}

/// DSR-01 from the account page: the download link works with the browser's own session
/// cookie (a plain GET, as a click sends it) and gives the person's document.
#[tokio::test]
async fn dsr_01_the_account_page_links_to_the_personal_data_download() {
    let t = TestApp::spawn().await;
    let w = t.workspace("mine").await;
    let me = person(&t, &w, "me", Role::Member).await;
    let (st, page, _) = get(&t, &me, "/account").await;
    assert_eq!(st, 200);
    assert!(
        page.contains("<a class=\"button\" href=\"/api/v1/me/personal-data\" download>"),
        "the link is on the page"
    );
    let (st, body, headers) = get(&t, &me, "/api/v1/me/personal-data").await;
    assert_eq!(st, 200, "{body}");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["account"]["email"], "me@mine.pages.test");
    assert_eq!(doc["workspaces"][0]["slug"], "mine");
}

/// DSR-04 from the account page: restrict with one button, see since when, lift it again.
#[tokio::test]
async fn dsr_04_people_restrict_and_lift_processing_on_the_account_page() {
    let t = TestApp::spawn().await;
    let w = t.workspace("limits").await;
    let me = person(&t, &w, "me", Role::Member).await;
    let (_, page, _) = get(&t, &me, "/account").await;
    assert!(page.contains("name=\"restricted\" value=\"true\""));
    let (st, _, h) = post(
        &t,
        &me,
        "/account/restriction",
        &[("csrf", &me.csrf), ("restricted", "true")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(h["location"], "/account?saved=1#restriction");
    let (_, page, _) = get(&t, &me, "/account").await;
    assert!(page.contains("Restricted since"), "shown as restricted");
    assert!(page.contains("name=\"restricted\" value=\"false\""));
    let (st, ..) = post(
        &t,
        &me,
        "/account/restriction",
        &[("csrf", "not the token"), ("restricted", "false")],
        false,
    )
    .await;
    assert_ne!(st, 303, "a forged form changes nothing");
    let (st, ..) = post(
        &t,
        &me,
        "/account/restriction",
        &[("csrf", &me.csrf), ("restricted", "false")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let (_, page, _) = get(&t, &me, "/account").await;
    assert!(!page.contains("Restricted since"));
}

#[tokio::test]
async fn dsr_03_the_account_page_states_what_deletion_does_and_deletes_on_the_typed_address() {
    let t = TestApp::spawn().await;
    let w = t.workspace("leaving").await;
    let me = person(&t, &w, "me", Role::Member).await;
    let (_, page, _) = get(&t, &me, "/account").await;
    let title = page
        .split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map(|(title, _)| title)
        .unwrap_or_default();
    assert!(
        !title.contains('<') && !title.contains("csrf"),
        "the tab title is text, not the deletion form: {title}"
    );
    let main = page.split_once("<main").map(|(_, m)| m).unwrap_or_default();
    assert!(main.contains("id=\"delete-account\""), "{page}");
    assert!(
        page.contains("shown as written by &quot;Former member&quot;")
            || page.contains("shown as written by &#34;Former member&#34;"),
        "the workspace's policy is stated: {page}"
    );
    let (st, page, _) = post(
        &t,
        &me,
        "/account/delete",
        &[("csrf", &me.csrf), ("confirm", "someone@else.test")],
        false,
    )
    .await;
    assert_eq!(st, 400);
    assert!(page.contains("id=\"delete-error\""), "{page}");
    let (st, ..) = post(
        &t,
        &me,
        "/account/delete",
        &[("csrf", "forged"), ("confirm", "me@leaving.pages.test")],
        false,
    )
    .await;
    assert_ne!(st, 303, "a forged form deletes nothing");
    let (st, _, h) = post(
        &t,
        &me,
        "/account/delete",
        &[("csrf", &me.csrf), ("confirm", "me@leaving.pages.test")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(h["location"], "/sign-in?deleted=1");
    assert!(
        h["set-cookie"].to_str().unwrap().contains("Max-Age=0"),
        "the browser is signed out"
    );
    let (st, _, h) = get(&t, &me, "/account").await;
    assert_eq!(st, 303, "the session is gone");
    assert!(h["location"].to_str().unwrap().starts_with("/sign-in"));
    let r = browser()
        .get(format!("{}/sign-in?deleted=1", t.base))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Your account was deleted"));
}

#[tokio::test]
async fn dsr_03_admins_choose_the_erasure_policy_and_erase_members_from_the_members_page() {
    let t = TestApp::spawn().await;
    let w = t.workspace("erasing").await;
    let admin = person(&t, &w, "admin", Role::Admin).await;
    let gone = t.member(&w, "gone", Role::Member).await;
    let (st, _, h) = post(
        &t,
        &admin,
        "/w/erasing/settings/erasure",
        &[("csrf", &admin.csrf), ("mode", "purge")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(h["location"], "/w/erasing/settings#erasure");
    let (_, page, _) = get(&t, &admin, "/w/erasing/settings").await;
    assert!(page.contains("<option value=\"purge\" selected>"), "{page}");
    let (st, ..) = post(
        &t,
        &admin,
        "/w/erasing/settings/erasure",
        &[("csrf", &admin.csrf), ("mode", "shred")],
        false,
    )
    .await;
    assert_eq!(st, 400, "an unknown mode is refused");

    let (_, page, _) = get(&t, &admin, "/w/erasing/members").await;
    let action = format!("/w/erasing/members/{}/erase", gone.id.0);
    assert!(page.contains(&action), "{page}");
    assert!(
        !page.contains(&format!("/w/erasing/members/{}/erase", admin.user.0)),
        "no erase button for oneself"
    );
    let (st, _, h) = post(
        &t,
        &admin,
        &action,
        &[("csrf", &admin.csrf), ("mode", "anonymise")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(h["location"], "/w/erasing/members");
    let (_, page, _) = get(&t, &admin, "/w/erasing/members").await;
    assert!(!page.contains(&action), "the member is gone");
}

#[tokio::test]
async fn lif_01_admins_prepare_watch_and_download_an_export_from_the_settings_page() {
    let t = TestApp::spawn().await;
    let w = t.workspace("exporting").await;
    let admin = person(&t, &w, "admin", Role::Admin).await;
    let (_, page, _) = get(&t, &admin, "/w/exporting/settings").await;
    assert!(
        page.contains("action=\"/w/exporting/settings/export\""),
        "{page}"
    );
    let (st, _, h) = post(
        &t,
        &admin,
        "/w/exporting/settings/export",
        &[("csrf", &admin.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(h["location"], "/w/exporting/settings#export");
    let (_, page, _) = get(&t, &admin, "/w/exporting/settings").await;
    assert!(page.contains("waiting to start"), "{page}");
    assert!(
        page.contains("hx-get=\"/w/exporting/settings/exports\""),
        "the section polls while the export is prepared"
    );
    assert!(
        !page.contains("action=\"/w/exporting/settings/export\""),
        "one at a time"
    );
    assert_eq!(t.app.run_export_jobs().await.unwrap(), 1);
    let (st, fragment, _) = get(&t, &admin, "/w/exporting/settings/exports").await;
    assert_eq!(st, 200);
    assert!(fragment.contains("/download\" download>"), "{fragment}");
    assert!(!fragment.contains("hx-trigger"), "polling stops when ready");
    let member = person(&t, &w, "member", Role::Member).await;
    let (st, _, _) = get(&t, &member, "/w/exporting/settings/exports").await;
    assert_eq!(st, 403);
}

#[tokio::test]
async fn dsr_05_admins_record_and_answer_requests_on_the_request_desk_page() {
    let t = TestApp::spawn().await;
    let w = t.workspace("deskpage").await;
    let admin = person(&t, &w, "admin", Role::Admin).await;
    let member = person(&t, &w, "member", Role::Member).await;
    let (st, page, _) = get(&t, &admin, "/w/deskpage/requests").await;
    assert_eq!(st, 200);
    assert!(page.contains("No requests recorded."), "{page}");
    assert!(
        page.contains("href=\"/w/deskpage/requests\""),
        "in the navigation"
    );
    let (st, page, _) = post(
        &t,
        &admin,
        "/w/deskpage/requests",
        &[
            ("csrf", &admin.csrf),
            ("kind", "rectification"),
            ("channel", "letter"),
            ("requester", "Rita Writes"),
            ("subject_id", &member.user.0.to_string()),
            ("received", "2026-02-30"),
            ("details", "my name is misspelt"),
        ],
        false,
    )
    .await;
    assert_eq!(st, 400, "30 February is no date");
    assert!(page.contains("Rita Writes"), "the draft is kept");
    assert!(
        page.contains("id=\"req-received-error\"")
            && page.contains("aria-describedby=\"req-received-error\""),
        "told at the date's field"
    );
    let (st, _, h) = post(
        &t,
        &admin,
        "/w/deskpage/requests",
        &[
            ("csrf", &admin.csrf),
            ("kind", "rectification"),
            ("channel", "letter"),
            ("requester", "Rita Writes"),
            ("subject_id", &member.user.0.to_string()),
            ("received", "2026-11-20"),
            ("details", "my name is misspelt"),
        ],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let location = h["location"].to_str().unwrap().to_owned();
    let (_, page, _) = get(&t, &admin, &location).await;
    assert!(
        page.contains("20 Dec 2026"),
        "due one month after receipt, as a day in the reader's language: {page}"
    );
    assert!(
        page.contains("name=\"notify\""),
        "a rectification is told to recipients"
    );
    let (st, _, h) = post(
        &t,
        &admin,
        &format!("{location}/resolve"),
        &[
            ("csrf", &admin.csrf),
            ("state", "done"),
            ("resolution", "corrected the name"),
            ("notify", ""),
        ],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(h["location"].to_str().unwrap(), location);
    let (_, page, _) = get(&t, &admin, &location).await;
    assert!(page.contains("corrected the name"));
    assert!(
        !page.contains("name=\"resolution\""),
        "answered: no form any more"
    );
    let (st, _, _) = get(&t, &member, "/w/deskpage/requests").await;
    assert_eq!(st, 403);
}

#[tokio::test]
async fn lif_02_owners_schedule_and_cancel_the_deletion_on_the_settings_page() {
    let t = TestApp::spawn().await;
    let w = t.workspace("endgame").await;
    let owner = person(&t, &w, "owner2", Role::Owner).await;
    let admin = person(&t, &w, "admin", Role::Admin).await;
    let member = person(&t, &w, "member", Role::Member).await;
    let (_, page, _) = get(&t, &admin, "/w/endgame/settings").await;
    assert!(
        !page.contains("id=\"termination\""),
        "admins cannot delete the workspace"
    );
    let (_, page, _) = get(&t, &owner, "/w/endgame/settings").await;
    assert!(
        page.contains("action=\"/w/endgame/settings/termination\""),
        "{page}"
    );
    let (st, page, _) = post(
        &t,
        &owner,
        "/w/endgame/settings/termination",
        &[("csrf", &owner.csrf), ("confirm", "wrong")],
        false,
    )
    .await;
    assert_eq!(st, 400);
    assert!(page.contains("short name"), "{page}");
    let (st, _, h) = post(
        &t,
        &owner,
        "/w/endgame/settings/termination",
        &[("csrf", &owner.csrf), ("confirm", "endgame")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(h["location"], "/w/endgame/settings#termination");
    let (_, page, _) = get(&t, &member, "/w/endgame").await;
    assert!(
        page.contains("It will be destroyed on"),
        "members see the date: {page}"
    );
    let (_, page, _) = get(&t, &owner, "/w/endgame/settings").await;
    assert!(page.contains("/w/endgame/settings/termination/cancel"));
    let (st, ..) = post(
        &t,
        &owner,
        "/w/endgame/settings/termination/cancel",
        &[("csrf", &owner.csrf)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let (_, page, _) = get(&t, &member, "/w/endgame").await;
    assert!(!page.contains("It will be destroyed on"));
}

#[tokio::test]
async fn dsr_02_the_account_page_sends_a_link_to_confirm_a_new_address() {
    let t = TestApp::spawn_with(|c| {
        c.mail = Some(ideaweave_testkit::mail_config(
            ideaweave_testkit::closed_port(),
        ))
    })
    .await;
    let w = t.workspace("readdress").await;
    let me = person(&t, &w, "me", Role::Member).await;
    let (_, page, _) = get(&t, &me, "/account").await;
    assert!(page.contains("action=\"/account/email\""), "{page}");
    let (st, page, _) = post(
        &t,
        &me,
        "/account/email",
        &[("csrf", &me.csrf), ("email", "nonsense")],
        false,
    )
    .await;
    assert_eq!(st, 400);
    assert!(page.contains("id=\"email-error\""), "{page}");
    let (st, page, _) = post(
        &t,
        &me,
        "/account/email",
        &[("csrf", &me.csrf), ("email", "elsewhere@example.org")],
        false,
    )
    .await;
    assert_eq!(st, 200);
    assert!(
        page.contains("A link to confirm it was sent to elsewhere@example.org"),
        "{page}"
    );
    assert_eq!(t.app.outbox_counts().await.unwrap().waiting, 1);
}

#[tokio::test]
async fn dsr_02_without_mail_the_account_page_offers_no_address_change_and_says_why() {
    let t = TestApp::spawn().await;
    let w = t.workspace("nomail").await;
    let me = person(&t, &w, "me", Role::Member).await;
    let (_, page, _) = get(&t, &me, "/account").await;
    assert!(!page.contains("action=\"/account/email\""), "{page}");
    assert!(
        page.contains("cannot be confirmed here. Ask its operator"),
        "{page}"
    );
    let (st, page, _) = post(
        &t,
        &me,
        "/account/email",
        &[("csrf", &me.csrf), ("email", "elsewhere@example.org")],
        false,
    )
    .await;
    assert!(st == 400 || st == 409, "a stale form is refused: {st}");
    assert!(
        page.contains("a new address cannot be confirmed")
            && !page.contains("a password cannot be reset"),
        "the refusal is about the address, not a password reset: {page}"
    );
    assert!(
        page.contains("<p class=\"alert\" role=\"alert\" id=\"email-problem\">"),
        "the refusal is shown although the page offers no address form: {page}"
    );
}

#[tokio::test]
async fn sup_01_admins_invite_and_revoke_support_from_the_support_page() {
    let t = TestApp::spawn().await;
    let w = t.workspace("helpdesk").await;
    let admin = person(&t, &w, "admin", Role::Admin).await;
    let member = person(&t, &w, "member", Role::Member).await;
    let (st, page, _) = get(&t, &admin, "/w/helpdesk/support").await;
    assert_eq!(st, 200, "{page}");
    assert!(page.contains("Support has never been invited"));
    let form = |hours: &'static str| {
        vec![
            ("csrf", admin.csrf.as_str()),
            ("scope", "manage"),
            ("hours", hours),
            ("reason", "The board view shows no stages"),
        ]
    };
    let (st, page, _) = post(&t, &admin, "/w/helpdesk/support", &form("soon"), false).await;
    assert_eq!(st, 400);
    assert!(
        page.contains("id=\"support-hours-error\">The time must be a whole number of hours"),
        "{page}"
    );
    // What was typed stays: the reason, the scope.
    assert!(page.contains(">The board view shows no stages</textarea>"));
    assert!(page.contains("value=\"manage\" checked"));
    let (st, page, _) = post(&t, &admin, "/w/helpdesk/support", &form("999"), false).await;
    assert_eq!(st, 400, "{page}");
    assert!(
        page.contains("id=\"support-hours-error\">"),
        "the use case's refusal is at the field too"
    );
    let (st, ..) = post(&t, &admin, "/w/helpdesk/support", &form("4"), false).await;
    assert_eq!(st, 303);
    let (_, page, _) = get(&t, &admin, "/w/helpdesk/support").await;
    assert!(page.contains("The board view shows no stages"), "{page}");
    let grants = t.app.support_grants(&w.as_member(&w.owner)).await.unwrap();
    assert_eq!(grants.len(), 1);
    assert!(grants[0].live);
    // Members have no such page.
    let (st, ..) = get(&t, &member, "/w/helpdesk/support").await;
    assert_eq!(st, 403);
    let revoke = format!("/w/helpdesk/support/{}/revoke", grants[0].id);
    let (st, ..) = post(&t, &admin, &revoke, &[("csrf", admin.csrf.as_str())], false).await;
    assert_eq!(st, 303);
    let (_, page, _) = get(&t, &admin, "/w/helpdesk/support").await;
    assert!(page.contains("revoked"), "{page}");
    assert!(!t.app.support_grants(&w.as_member(&w.owner)).await.unwrap()[0].live);
}

/// Issue 21: a refusal stands at the field it is about, which is marked invalid and names the
/// message, on the account page (name, new address, deletion), the password form (each of its
/// three fields) and the space page's new-discussion form (which keeps what was typed).
#[tokio::test]
async fn col_03_refusals_stand_at_their_field_on_the_account_password_and_space_forms() {
    let t = TestApp::spawn_with(|c| {
        c.mail = Some(ideaweave_testkit::mail_config(
            ideaweave_testkit::closed_port(),
        ))
    })
    .await;
    let sc = scene(&t, "fields").await;
    let me = person(&t, &sc.w, "me", Role::Moderator).await;
    // The message at the field, and the field (the tag naming the message) marked invalid.
    let marked = |page: &str, id: &str| {
        page.contains(&format!("<p class=\"field-error\" id=\"{id}\">"))
            && page.split('<').any(|tag| {
                tag.contains("aria-invalid=\"true\"")
                    && tag
                        .split("aria-describedby=\"")
                        .nth(1)
                        .and_then(|rest| rest.split('"').next())
                        .is_some_and(|ids| ids.split(' ').any(|i| i == id))
            })
    };
    for (path, form, id) in [
        ("/account", vec![("name", "   ")], "name-error"),
        ("/account/email", vec![("email", "nonsense")], "email-error"),
        (
            "/account/delete",
            vec![("confirm", "someone@else.test")],
            "delete-error",
        ),
        (
            "/account/password",
            vec![
                ("current_password", "a long enough password"),
                ("new_password", "one new long passphrase"),
                ("new_password_again", "another new long passphrase"),
            ],
            "new-password-again-error",
        ),
        (
            "/account/password",
            vec![
                ("current_password", "not the password at all"),
                ("new_password", "one new long passphrase"),
                ("new_password_again", "one new long passphrase"),
            ],
            "current-password-error",
        ),
    ] {
        let mut fields = vec![("csrf", me.csrf.as_str())];
        fields.extend(form);
        let (st, page, _) = post(&t, &me, path, &fields, false).await;
        assert_eq!(st, 400, "{path}: {page}");
        assert!(
            marked(&page, id),
            "{path}: the refusal is not at {id}: {page}"
        );
        assert!(
            !page.contains("class=\"alert\" role=\"alert\">"),
            "{path}: nothing above the form: {page}"
        );
    }
    let new_discussion = format!("/w/fields/spaces/{}/discussions", sc.space);
    for (form, id) in [
        (
            vec![("title", "Kept title"), ("deadline", "31.02.2027")],
            "d-deadline-error",
        ),
        (
            vec![("title", "  "), ("description", "Kept words")],
            "d-title-error",
        ),
    ] {
        let mut fields = vec![("csrf", me.csrf.as_str()), ("kind", "topic")];
        fields.extend(form.iter().copied());
        let (st, page, _) = post(&t, &me, &new_discussion, &fields, false).await;
        assert_eq!(st, 400, "{page}");
        assert!(marked(&page, id), "the refusal is not at {id}: {page}");
        for (_, typed) in form.iter().filter(|(k, _)| *k != "deadline") {
            if !typed.trim().is_empty() {
                assert!(page.contains(typed), "{typed} was kept: {page}");
            }
        }
        assert!(
            page.contains("<option value=\"topic\" selected>"),
            "the kind chosen was kept: {page}"
        );
    }
}

/// Issue 21: why an account cannot be deleted is told in the reader's language, like every
/// other refusal (the use case says it in English, as the API does).
#[tokio::test]
async fn dsr_03_a_sole_owner_is_told_in_german_why_the_account_stays() {
    let t = TestApp::spawn().await;
    let me = t
        .session("alleine@example.org", "a long enough password")
        .await;
    t.app
        .create_workspace("allein", "Allein", "alleine@example.org")
        .await
        .unwrap();
    let (st, page, _) = get_in(&t, &me, "/account", "de").await;
    assert_eq!(st, 200);
    assert!(
        page.contains(
            "Sie sind die einzige Eigentümerin oder der einzige Eigentümer von &#34;allein&#34;"
        ) || page.contains(
            "Sie sind die einzige Eigentümerin oder der einzige Eigentümer von &quot;allein&quot;"
        ),
        "{page}"
    );
    assert!(!page.contains("only owner"), "{page}");
    let (_, page, _) = get(&t, &me, "/account").await;
    assert!(
        page.contains("You are the only owner of"),
        "English, as a sentence: {page}"
    );
}

#[tokio::test]
async fn dsr_05_a_requests_received_day_is_a_calendar_day_whatever_the_readers_zone() {
    // A reader east of UTC: their midnight is the day before in UTC. The month to answer in is
    // still counted from the day they typed.
    let t = TestApp::spawn().await;
    let w = t.workspace("deskzone").await;
    let admin = person(&t, &w, "admin", Role::Admin).await;
    let (st, _, _) = post(
        &t,
        &admin,
        "/account/time-zone",
        &[("csrf", &admin.csrf), ("time_zone", "Asia/Tokyo")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    for (received, due) in [("2026-03-01", "1 Apr 2026"), ("2026-01-31", "28 Feb 2026")] {
        let (st, _, h) = post(
            &t,
            &admin,
            "/w/deskzone/requests",
            &[
                ("csrf", &admin.csrf),
                ("kind", "access"),
                ("channel", "letter"),
                ("requester", "Tomo Tokyo"),
                ("subject_id", ""),
                ("received", received),
                ("details", "what do you hold on me"),
            ],
            false,
        )
        .await;
        assert_eq!(st, 303, "{received}");
        let location = h["location"].to_str().unwrap().to_owned();
        let (_, page, _) = get(&t, &admin, &location).await;
        assert!(page.contains(due), "{received} is due {due}: {page}");
    }
}

#[tokio::test]
async fn col_03_an_in_place_update_after_the_session_ended_goes_to_sign_in() {
    // htmx would follow a 303 itself and swap the sign-in page in place of the part it
    // updates (a comment's actions, the thread); it is told to go to sign-in instead.
    let t = TestApp::spawn().await;
    let sc = scene(&t, "expired").await;
    let path = format!("/w/{}/discussions/{}", sc.w.slug, sc.discussion);
    let r = browser()
        .get(format!("{}{path}", t.base))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let to = r.headers()["hx-redirect"].to_str().unwrap().to_owned();
    assert!(to.starts_with("/sign-in?next=%2Fw%2Fexpired"), "{to}");
    let r = browser()
        .get(format!("{}{path}", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        303,
        "a plain request is redirected as before"
    );
}
