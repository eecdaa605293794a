//! SEC-01: a corpus of XSS payloads (script tags, event handlers, javascript: links, SVG,
//! Markdown tricks) goes into every text field a member or admin can fill; every page that
//! shows them carries the strict policy and contains no markup, handler or script URL that
//! came from them. (The browser walk checks, in Chromium, that none of it runs.)

use ideaweave_app::*;
use ideaweave_domain::{IdeaId, Role};
use ideaweave_testkit::TestApp;

use crate::content::pages::{get, person, post};

const PAYLOADS: &[&str] = &[
    "<script>xss(1)</script>",
    "<img src=x onerror=xss(2)>",
    "<svg onload=xss(3)><script>xss(3)</script></svg>",
    "\"><script>xss(4)</script>",
    "'><img src=x onerror='xss(5)'>",
    "<a href=\"javascript:xss(6)\">click</a>",
    "[click](javascript:xss(7))",
    "[click](JaVaScRiPt:xss(8))",
    "[click](&#106;avascript:xss(9))",
    "![x](javascript:xss(10))",
    "[x](data:text/html;base64,PHNjcmlwdD54c3MoMTEpPC9zY3JpcHQ+)",
    "<iframe srcdoc=\"<script>xss(12)</script>\"></iframe>",
    "<details open ontoggle=xss(13)>",
    "<style>body{background:url(javascript:xss(14))}</style>",
    "<math><mtext><table><mglyph><style><img src=x onerror=xss(15)>",
    "<form action=\"https://evil.test\"><button>go</button></form>",
    "<object data=\"javascript:xss(17)\"></object>",
    "<<script>script>xss(18)<</script>/script>",
    "[a](<javascript:xss(19)>)",
    "<a href=\"  javascript:xss(20)\">x</a>",
];

/// The page's own script elements (htmx, passkeys) are the only ones allowed.
fn own_scripts() -> [String; 3] {
    ["htmx.min.js", "passkey.js", "enhance.js"].map(|file| {
        format!(
            "<script src=\"{}\" defer></script>",
            ideaweave_web::ui::asset_url(file)
        )
    })
}

/// Tags the pages never emit themselves. (Images are allowed in Markdown: the sanitiser keeps
/// `<img src>` without handlers, and the policy loads images from this origin only.)
const FOREIGN_TAGS: &[&str] = &[
    "script",
    "svg",
    "iframe",
    "object",
    "embed",
    "math",
    "style",
    "base",
    "meta http",
    "link rel=\"import",
    "frame",
];

/// The pages' own SVG: the icon sprite (once, at the top of each page, exactly as in its
/// template) and the markup that draws one of its icons.
const SPRITE: &str = include_str!("../../../../web/templates/partials/icons.html");

fn own_svg(html: &str) -> String {
    let html = html.replacen(SPRITE.trim_end(), "", 1);
    SPRITE
        .split("<symbol id=\"icon-")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .fold(html, |h, name| {
            h.replace(
                &format!(
                    "<svg class=\"icon\" aria-hidden=\"true\" focusable=\"false\"><use href=\"#icon-{name}\"></use></svg>"
                ),
                "",
            )
        })
}

/// Finds markup in `html` that could only have come from a payload; `None` when clean.
fn foreign_markup(html: &str) -> Option<String> {
    let html = own_scripts()
        .iter()
        .fold(own_svg(html), |h, own| h.replacen(own, "", 1));
    let lower = html.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find('<') {
        let tag_and_more = &rest[at + 1..];
        let end = tag_and_more.find('>').unwrap_or(tag_and_more.len());
        let tag = &tag_and_more[..end];
        let name = tag.split(|c: char| c.is_whitespace()).next().unwrap_or("");
        for f in FOREIGN_TAGS {
            let fname = f.split(' ').next().unwrap_or(f);
            if name == fname && (!f.contains(' ') || tag.starts_with(f)) {
                return Some(format!("<{tag}>"));
            }
        }
        for (attr, value) in attributes(&tag[name.len()..]) {
            // An event-handler attribute.
            if attr.starts_with("on") {
                return Some(format!("<{tag}>"));
            }
            // A script URL in a URL attribute.
            let url_attr = ["href", "src", "action", "formaction", "data"].contains(&attr.as_str());
            let v = value.trim_start();
            if url_attr
                && ["javascript:", "data:", "vbscript:"]
                    .iter()
                    .any(|s| v.starts_with(s))
            {
                return Some(format!("<{tag}>"));
            }
        }
        let foreign_form = name == "form"
            && attributes(&tag[name.len()..])
                .iter()
                .any(|(a, v)| a == "action" && !v.starts_with('/'));
        if foreign_form {
            return Some(format!("<{tag}>"));
        }
        rest = &tag_and_more[end..];
    }
    None
}

/// The attributes of a tag's text after its name, quoted values read whole.
fn attributes(mut rest: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            return out;
        }
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_owned();
        rest = rest[name_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            if let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') {
                let body = &after[1..];
                let close = body.find(q).unwrap_or(body.len());
                value = body[..close].to_owned();
                rest = body.get(close + 1..).unwrap_or("");
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                value = after[..end].to_owned();
                rest = &after[end..];
            }
        }
        out.push((name, value));
    }
}

#[test]
fn the_scanner_finds_what_it_looks_for() {
    assert!(foreign_markup("<p>&lt;script&gt;xss(1)&lt;/script&gt;</p>").is_none());
    let [htmx, passkey, enhance] = own_scripts();
    assert!(foreign_markup(&format!("{htmx}{passkey}{enhance}<p>ok</p>")).is_none());
    assert!(foreign_markup("<p>a<script>xss()</script></p>").is_some());
    assert!(foreign_markup("<b onmouseover = 'x'>").is_some());
    assert!(foreign_markup("<a href=\" javascript:x\">").is_some());
    assert!(foreign_markup("<a href=\"https://ok.test/javascript:\">").is_none());
    assert!(foreign_markup("<p>only text with onerror=xss(2) in it</p>").is_none());
    assert!(foreign_markup("<input value=\"&#60;img src=x onerror=xss(2)&#62;\">").is_none());
    assert!(foreign_markup("<input value='a' onfocus=x>").is_some());
    assert!(foreign_markup("<a title=\"x\" href=javascript:x>").is_some());
}

#[tokio::test]
async fn sec_01_xss_corpus_in_every_text_field_never_reaches_a_page_as_markup() {
    let t = TestApp::spawn().await;
    let w = t.workspace("xss").await;
    let admin = person(&t, &w, "admin", Role::Admin).await;
    let owner = w.as_member(&w.owner);
    let admin_member = t
        .app
        .enter(
            &t.app
                .authenticate(&Credential::Session(admin.cookie.clone()))
                .await
                .unwrap(),
            "xss",
        )
        .await
        .unwrap();
    let mut accepted = 0;
    let mut pages = vec![
        "/".to_owned(),
        "/w/xss".to_owned(),
        "/w/xss/members".to_owned(),
        "/w/xss/settings".to_owned(),
        "/w/xss/tokens".to_owned(),
        "/w/xss/audit".to_owned(),
        "/account".to_owned(),
    ];
    // Names of people and of the workspace.
    for (i, p) in PAYLOADS.iter().take(6).enumerate() {
        let email = format!("person{i}@xss.test");
        if t.app
            .create_user(&email, p, Some("a long enough password"), false)
            .await
            .is_ok()
        {
            t.app.add_member("xss", &email, Role::Member).await.unwrap();
            accepted += 1;
        }
    }
    let _ = t
        .app
        .rename_workspace(
            &owner,
            WorkspacePatch {
                name: PAYLOADS[1].into(),
            },
        )
        .await;
    for p in PAYLOADS {
        let named = NamedItemInput {
            name: (*p).into(),
            position: None,
        };
        accepted += t.app.create_stage(&owner, named).await.is_ok() as usize;
        let named = NamedItemInput {
            name: (*p).into(),
            position: None,
        };
        accepted += t.app.create_criterion(&owner, named).await.is_ok() as usize;
        let token = TokenInput {
            name: (*p).into(),
            scope: ideaweave_domain::TokenScope::Read,
            expires_in_days: None,
        };
        accepted += t.app.create_token(&admin_member, token).await.is_ok() as usize;
    }
    let criteria: Vec<_> = t
        .app
        .workspace(&owner)
        .await
        .unwrap()
        .criteria
        .iter()
        .map(|c| c.id)
        .collect();
    for p in PAYLOADS {
        let Ok(space) = t
            .app
            .create_space(
                &owner,
                SpaceInput {
                    name: p.chars().take(60).collect(),
                    description: (*p).into(),
                    private: false,
                },
            )
            .await
        else {
            continue;
        };
        accepted += 1;
        pages.push(format!("/w/xss/spaces/{}", space.id));
        let d = t
            .app
            .create_discussion(
                &owner,
                space.id,
                DiscussionInput {
                    kind: DiscussionKind::Challenge,
                    title: (*p).into(),
                    description: (*p).into(),
                    deadline: None,
                    criteria: criteria.clone(),
                },
            )
            .await
            .unwrap();
        pages.push(format!("/w/xss/discussions/{}", d.id));
        pages.push(format!("/w/xss/discussions/{}?view=board", d.id));
        pages.push(format!("/w/xss/discussions/{}/new", d.id));
        let idea = t
            .app
            .create_idea(
                &owner,
                d.id,
                IdeaInput {
                    title: (*p).into(),
                    body: (*p).into(),
                    tags: vec![],
                },
            )
            .await
            .unwrap();
        let id = idea.summary.id;
        pages.push(format!("/w/xss/ideas/{id}"));
        pages.push(format!("/w/xss/ideas/{id}/edit"));
        pages.push(format!("/w/xss/ideas/{id}/delete"));
        let c = t
            .app
            .create_comment(
                &owner,
                id,
                CommentInput {
                    body: (*p).into(),
                    parent_id: None,
                },
            )
            .await
            .unwrap();
        // The edit form of a comment of the admin who fetches the pages, the payload in its
        // field, and the delete confirmation of the owner's.
        let own = t
            .app
            .create_comment(
                &admin_member,
                id,
                CommentInput {
                    body: (*p).into(),
                    parent_id: None,
                },
            )
            .await
            .unwrap();
        pages.push(format!("/w/xss/ideas/{id}?edit={}", own.id));
        pages.push(format!("/w/xss/ideas/{id}?delete={}", c.id));
        t.app
            .create_comment(
                &owner,
                id,
                CommentInput {
                    body: (*p).into(),
                    parent_id: Some(c.id),
                },
            )
            .await
            .unwrap();
        let link = LinkInput {
            url: "https://example.org/a?b=c".into(),
            title: (*p).into(),
            comment_id: None,
        };
        accepted += t.app.add_link(&owner, id, link).await.is_ok() as usize;
        let filename = format!(
            "{}.txt",
            p.chars().filter(|c| *c != '/').take(60).collect::<String>()
        );
        let body = futures_util::stream::iter([Ok(bytes::Bytes::from_static(b"plain text\n"))]);
        accepted += t
            .app
            .upload(&owner, id, None, &filename, body)
            .await
            .is_ok() as usize;
        // Script URLs are refused as links.
        for url in [
            "javascript:xss(1)",
            "JAVASCRIPT:xss(1)",
            "data:text/html,<script>xss()</script>",
            " javascript:xss()",
        ] {
            let link = LinkInput {
                url: url.into(),
                title: String::new(),
                comment_id: None,
            };
            assert!(
                t.app.add_link(&owner, id, link).await.is_err(),
                "{url} was accepted"
            );
        }
        // Through the page's own forms too, answered as htmx fragments.
        let (st, frag, h) = post(
            &t,
            &admin,
            &format!("/w/xss/ideas/{id}/comments"),
            &[("csrf", &admin.csrf), ("body", p)],
            true,
        )
        .await;
        assert_eq!(st, 200, "{frag}");
        assert!(h.contains_key("content-security-policy"));
        if let Some(bad) = foreign_markup(&frag) {
            panic!("payload {p:?} reached the comment fragment as {bad}");
        }
        let _ = IdeaId(id.0);
    }
    assert!(
        accepted >= PAYLOADS.len() * 4,
        "only {accepted} payloads were stored: the corpus tests little"
    );

    for path in &pages {
        let (st, html, h) = get(&t, &admin, path).await;
        assert_eq!(st, 200, "{path}");
        if path.contains("?edit=") {
            assert!(
                html.contains("<textarea id=\"edit-"),
                "the edit form with the payload in it is what this page tests: {path}"
            );
        }
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe"),
            "{path}: {csp}"
        );
        if let Some(bad) = foreign_markup(&html) {
            panic!("{path}: a payload reached the page as {bad}");
        }
        let shows_content = [
            "/spaces/",
            "/discussions/",
            "/ideas/",
            "/settings",
            "/members",
        ]
        .iter()
        .any(|k| path.contains(k));
        assert!(
            !shows_content || html.contains("xss("),
            "{path} shows none of the payloads: the test checks nothing"
        );
    }
}
