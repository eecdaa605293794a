//! Bad input on every endpoint gets a clear 4xx in the one error shape, never a 500: malformed,
//! missing, oversized, mistyped, unknown fields, malformed ids, and ids of another workspace.

use ideaweave_testkit::TestApp;
use serde_json::{Value, json};

use crate::helpers::{Auth, Body, call, error_code, png, with_token};
use crate::platform::routes::{BodyKind, Fixture, ROUTES, body, fill, prepare};

const ID_KEYS: &[&str] = &[
    "stage",
    "criterion",
    "target_user",
    "invitation",
    "own_token",
    "space",
    "listed_user",
    "discussion",
    "idea",
    "deleted_idea",
    "merged_idea",
    "criterion_rated",
    "comment",
    "attachment",
    "link",
    "request",
    "erasure_request",
    "access_request",
];

#[tokio::test]
async fn every_json_endpoint_rejects_malformed_mistyped_unknown_and_oversized_bodies() {
    let t = TestApp::spawn().await;
    let mut failures = Vec::new();
    for route in ROUTES
        .iter()
        .filter(|r| matches!(r.body, BodyKind::Json(_)))
    {
        let f = Fixture::new(&t, &format!("j-{}", route.name.replace('_', "-"))).await;
        let auth = Auth::Token(f.ws.owner.token.clone());
        let vars = prepare(&t, &f, route, Some(&f.ws.owner)).await;
        let path = fill(route.path, &vars);
        let crate::helpers::Body::Json(valid) = body(route, &vars) else {
            unreachable!()
        };
        let mut unknown = valid.clone();
        unknown["no_such_field"] = json!(1);
        let mut cases: Vec<(&str, Body, u16, &str)> = vec![
            (
                "malformed",
                Body::Raw {
                    content_type: "application/json",
                    bytes: b"{\"oops\": ".to_vec(),
                },
                400,
                "malformed_request",
            ),
            (
                "not json",
                Body::Raw {
                    content_type: "text/plain",
                    bytes: valid.to_string().into_bytes(),
                },
                415,
                "unsupported_media_type",
            ),
            ("unknown field", Body::Json(unknown), 422, "invalid_input"),
            (
                "wrong type",
                Body::Json(json!([1, 2, 3])),
                422,
                "invalid_input",
            ),
            (
                "oversized",
                Body::Raw {
                    content_type: "application/json",
                    bytes: format!("{{\"name\":\"{}\"}}", "x".repeat(2 << 20)).into_bytes(),
                },
                413,
                "payload_too_large",
            ),
        ];
        if valid.as_object().is_some_and(|o| !o.is_empty())
            && !["update_discussion", "update_idea"].contains(&route.name)
        {
            cases.push((
                "missing fields",
                Body::Json(json!({})),
                422,
                "invalid_input",
            ));
        }
        for (what, b, want, code) in cases {
            let (st, v) = call(&t, route.method, &path, &auth, b).await;
            if st != want || error_code(&v) != code {
                failures.push(format!(
                    "{} {what}: got {st} {v}, want {want} {code}",
                    route.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn every_id_in_a_path_is_checked_malformed_unknown_and_foreign() {
    let t = TestApp::spawn().await;
    let b = Fixture::new(&t, "tenant-b").await;
    let mut failures = Vec::new();
    for route in ROUTES {
        let f = Fixture::new(&t, &format!("i-{}", route.name.replace('_', "-"))).await;
        let keys: Vec<&str> = ID_KEYS
            .iter()
            .copied()
            .filter(|k| route.path.contains(&format!("{{{k}}}")))
            .collect();
        if keys.is_empty() {
            continue;
        }
        let vars = prepare(&t, &f, route, Some(&f.ws.owner)).await;
        for key in &keys {
            for (what, value, want) in [
                ("malformed", "not-a-uuid".to_owned(), 400u16),
                ("unknown", uuid::Uuid::now_v7().to_string(), 404),
            ] {
                let mut v = vars.clone();
                v.insert(key, value);
                let (st, resp) = call(
                    &t,
                    route.method,
                    &fill(route.path, &v),
                    &Auth::Token(f.ws.owner.token.clone()),
                    body(route, &vars),
                )
                .await;
                if st != want {
                    failures.push(format!(
                        "{} {key} {what}: got {st} {resp}, want {want}",
                        route.name
                    ));
                } else {
                    error_code(&resp);
                }
            }
        }
        // ACC-02: workspace B's owner, on B's slug, with every id taken from workspace A.
        let mut foreign = vars.clone();
        foreign.insert("slug", b.ws.slug.clone());
        let (st, resp) = call(
            &t,
            route.method,
            &fill(route.path, &foreign),
            &Auth::Token(b.ws.owner.token.clone()),
            body(route, &foreign),
        )
        .await;
        if st != 404 {
            failures.push(format!(
                "{} with workspace A's ids inside workspace B: got {st} {resp}, want 404",
                route.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "fields").await;
    let route = ROUTES.iter().find(|r| r.name == "create_idea").unwrap();
    let vars = prepare(&t, &f, route, None).await;
    let ideas = fill(route.path, &vars);
    let tok = &f.member.token;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"title": "   "}), "title"),
        (json!({"title": "x".repeat(201)}), "title"),
        (json!({"title": "ok", "tags": ["has/slash"]}), "tags"),
        (
            json!({"title": "ok", "tags": (0..11).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
            "tags",
        ),
        (json!({"title": "ok", "body": "x".repeat(50_001)}), "body"),
        (json!({"title": "bell\u{0007}"}), "title"),
    ];
    for (b, field) in cases {
        let (st, v) = with_token(&t, "POST", &ideas, tok, Some(b.clone())).await;
        assert_eq!(st, 422, "{b}: {v}");
        assert_eq!(v["error"]["field"], field, "{v}");
    }
    let idea = with_token(&t, "POST", &ideas, tok, Some(json!({"title": "Valid"})))
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let more: Vec<(&str, String, Value, &str)> = vec![
        (
            "PUT",
            format!(
                "/workspaces/fields/ideas/{idea}/ratings/{}",
                vars["criterion_rated"]
            ),
            json!({"value": 6}),
            "value",
        ),
        (
            "PUT",
            format!(
                "/workspaces/fields/ideas/{idea}/ratings/{}",
                vars["criterion_rated"]
            ),
            json!({"value": 0}),
            "value",
        ),
        (
            "POST",
            format!("/workspaces/fields/ideas/{idea}/links"),
            json!({"url": "javascript:alert(1)"}),
            "url",
        ),
        (
            "POST",
            format!("/workspaces/fields/ideas/{idea}/comments"),
            json!({"body": ""}),
            "body",
        ),
        (
            "POST",
            "/workspaces/fields/invitations".into(),
            json!({"email": "not-an-address", "role": "member"}),
            "email",
        ),
        (
            "POST",
            "/workspaces/fields/stages".into(),
            json!({"name": ""}),
            "name",
        ),
    ];
    for (m, path, b, field) in more {
        let token = if path.contains("invitations") || path.contains("stages") {
            &f.ws.owner.token
        } else {
            tok
        };
        let (st, v) = with_token(&t, m, &path, token, Some(b.clone())).await;
        assert_eq!(
            (st, v["error"]["field"].as_str()),
            (422, Some(field)),
            "{path} {b}: {v}"
        );
    }
    let (st, v) = with_token(
        &t,
        "PUT",
        &format!("/workspaces/fields/ideas/{idea}/vote"),
        tok,
        Some(json!({"direction": "sideways"})),
    )
    .await;
    assert_eq!((st, error_code(&v).as_str()), (422, "invalid_input"));
}

#[tokio::test]
async fn bad_query_strings_are_refused() {
    let t = TestApp::spawn().await;
    let f = Fixture::new(&t, "queries").await;
    let route = ROUTES.iter().find(|r| r.name == "list_ideas").unwrap();
    let vars = prepare(&t, &f, route, None).await;
    let base = fill(route.path, &vars);
    let tok = &f.member.token;
    for (q, want) in [
        ("?sort=best", 400),
        ("?limit=0", 422),
        ("?limit=1000", 422),
        ("?limit=-1", 400),
        ("?cursor=%%%", 422),
        ("?cursor=bm9wZQ", 422),
        ("?stage=xyz", 400),
        ("?what=1", 400),
        ("?tag=a%2Fb", 422),
    ] {
        let (st, v) = with_token(&t, "GET", &format!("{base}{q}"), tok, None).await;
        assert_eq!(st, want, "{q}: {v}");
        error_code(&v);
    }
}

#[tokio::test]
async fn uploads_are_checked_by_content_and_size() {
    let t = TestApp::spawn_with(|c| c.max_upload_bytes = 64 * 1024).await;
    let f = Fixture::new(&t, "uploads").await;
    let route = ROUTES.iter().find(|r| r.name == "upload").unwrap();
    let vars = prepare(&t, &f, route, None).await;
    let path = fill(route.path, &vars);
    let member = Auth::Token(f.member.token.clone());
    let elf = [0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0].to_vec();
    let cases: Vec<(&str, Body, u16)> = vec![
        (
            "png named .exe",
            Body::Upload {
                filename: "evil.exe",
                bytes: png(),
            },
            201,
        ),
        (
            "executable named .png",
            Body::Upload {
                filename: "cat.png",
                bytes: elf,
            },
            415,
        ),
        (
            "empty",
            Body::Upload {
                filename: "empty.txt",
                bytes: vec![],
            },
            422,
        ),
        (
            "too large",
            Body::Upload {
                filename: "big.txt",
                bytes: vec![b'a'; 65 * 1024],
            },
            413,
        ),
        (
            "far too large",
            Body::Upload {
                filename: "huge.txt",
                bytes: vec![b'a'; 2 << 20],
            },
            413,
        ),
        (
            "not multipart",
            Body::Raw {
                content_type: "application/octet-stream",
                bytes: png(),
            },
            415,
        ),
        (
            "no file field",
            Body::Raw {
                content_type: "multipart/form-data; boundary=X",
                bytes:
                    b"--X\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nhi\r\n--X--\r\n"
                        .to_vec(),
            },
            422,
        ),
        (
            "broken multipart",
            Body::Raw {
                content_type: "multipart/form-data; boundary=X",
                bytes: b"--X\r\nnonsense".to_vec(),
            },
            400,
        ),
    ];
    for (what, b, want) in cases {
        let (st, v) = call(&t, "POST", &path, &member, b).await;
        assert_eq!(st, want, "{what}: {v}");
        if st >= 400 {
            error_code(&v);
        }
    }
    let (st, v) = call(
        &t,
        "POST",
        &format!("{path}?comment_id=nope"),
        &member,
        Body::Upload {
            filename: "a.png",
            bytes: png(),
        },
    )
    .await;
    assert_eq!(st, 400, "{v}");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let t = TestApp::spawn().await;
    let (st, v) = call(&t, "GET", "/no/such/route", &Auth::None, Body::None).await;
    assert_eq!((st, error_code(&v).as_str()), (404, "not_found"));
    let (st, v) = call(&t, "PUT", "/session", &Auth::None, Body::None).await;
    assert_eq!((st, error_code(&v).as_str()), (405, "method_not_allowed"));
    let (st, v) = call(
        &t,
        "GET",
        "/me",
        &Auth::Token("iw_garbage".into()),
        Body::None,
    )
    .await;
    assert_eq!((st, error_code(&v).as_str()), (401, "unauthenticated"));
    let resp = t
        .http
        .get(t.api("/me"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = t
        .http
        .get(t.api("/me"))
        .header("cookie", "iw_session=short")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

/// Issue 19, finding 11: input that used to be stored or read the wrong way is refused with a
/// 4xx in the JSON error shape, with the security headers: invisible characters that disguise
/// names and titles, a key given twice (`"role":"guest","role":"owner"`), a charset other than
/// UTF-8, an absurd arrival date on the request desk, a stalled body (408), and a write token
/// making its own member leave.
#[tokio::test]
async fn sec_01_disguising_ambiguous_and_absurd_input_is_refused_with_the_security_headers() {
    let t = TestApp::spawn_with(|c| {
        c.http_limits.body_stall_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let w = t.workspace("refused").await;
    let member = t.member(&w, "leaver", ideaweave_domain::Role::Member).await;
    let slug = &w.slug;
    let send = |method: &str, path: String, content_type: &str, body: Vec<u8>, token: &str| {
        t.http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                t.api(&path),
            )
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
    };
    let check = |what: &str, r: reqwest::Response, status: u16| {
        let what = what.to_owned();
        async move {
            assert_eq!(r.status().as_u16(), status, "{what}");
            for h in [
                "content-security-policy",
                "x-content-type-options",
                "x-frame-options",
            ] {
                assert!(r.headers().contains_key(h), "{what}: no {h}");
            }
            let v: Value = r.json().await.unwrap_or(Value::Null);
            assert!(v["error"]["code"].is_string(), "{what}: {v}");
            v
        }
    };
    let json_body = |v: Value| serde_json::to_vec(&v).unwrap();

    let r = send(
        "POST",
        format!("/workspaces/{slug}/spaces"),
        "application/json",
        json_body(json!({"name": "inv\u{202E}gnp.exe", "description": "", "private": false})),
        &w.owner.token,
    )
    .send()
    .await
    .unwrap();
    let v = check("a right-to-left override in a name", r, 422).await;
    assert_eq!(v["error"]["field"], "name", "{v}");

    let r = send(
        "POST",
        format!("/workspaces/{slug}/invitations"),
        "application/json",
        br#"{"email":"twice@example.org","role":"guest","role":"owner"}"#.to_vec(),
        &w.owner.token,
    )
    .send()
    .await
    .unwrap();
    let v = check("a key given twice", r, 400).await;
    assert!(
        v["error"]["message"].as_str().unwrap().contains("twice"),
        "{v}"
    );

    let r = send(
        "POST",
        format!("/workspaces/{slug}/spaces"),
        "application/json; charset=utf-16",
        json_body(json!({"name": "utf16", "description": "", "private": false})),
        &w.owner.token,
    )
    .send()
    .await
    .unwrap();
    check("a UTF-16 charset", r, 415).await;
    let r = send(
        "POST",
        format!("/workspaces/{slug}/spaces"),
        "application/json; charset=UTF-8",
        json_body(json!({"name": "utf8", "description": "", "private": false})),
        &w.owner.token,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 201, "charset=UTF-8 is fine");

    let r = send(
        "POST",
        format!("/workspaces/{slug}/requests"),
        "application/json",
        json_body(
            json!({"kind": "access", "channel": "letter", "requester": "Dana",
                         "received_at": i64::MIN}),
        ),
        &w.owner.token,
    )
    .send()
    .await
    .unwrap();
    let v = check("an arrival date 292 million years ago", r, 422).await;
    assert_eq!(v["error"]["field"], "received_at", "{v}");

    let r = send(
        "DELETE",
        format!("/workspaces/{slug}/members/{}", member.id.0),
        "application/json",
        Vec::new(),
        &member.token,
    )
    .send()
    .await
    .unwrap();
    check("a write token making its member leave", r, 403).await;

    // A body that stops arriving: headers promise 100 bytes, 10 come.
    let addr = t.base.trim_start_matches("http://").to_owned();
    let path = format!("/api/v1/workspaces/{slug}/spaces");
    let token = w.owner.token.clone();
    let raw = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{\"name\":\"s"
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    })
    .await
    .unwrap();
    assert!(raw.starts_with("HTTP/1.1 408"), "{raw}");
    let lower = raw.to_ascii_lowercase();
    assert!(
        lower.contains("content-security-policy:") && lower.contains("\"request_timeout\""),
        "{raw}"
    );
}
