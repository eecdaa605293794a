//! COL-01: times read as their reader reads them: relative ("3 hours ago") in the reader's
//! language, the exact local time on hover, in the zone the person chose, else their browser's,
//! else the instance's default.

use ideaweave_app::Clock;
use ideaweave_domain::Role;
use ideaweave_testkit::{Session, TestApp, browser};
use jiff::tz::TimeZone;

use super::pages::{person, post, post_idea, scene};

/// The idea page as `s` reads it, in `lang`, with the browser zone cookie `tz` when given.
async fn idea_page(t: &TestApp, s: &Session, path: &str, lang: &str, tz: Option<&str>) -> String {
    let mut cookie = format!("iw_session={}", s.cookie);
    if let Some(tz) = tz {
        cookie.push_str(&format!("; tz={}", tz.replace('/', "%2F")));
    }
    browser()
        .get(format!("{}{path}", t.base))
        .header("cookie", cookie)
        .header("accept-language", lang)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The idea's posting time on its page: (exact time on hover, text shown).
fn posted(page: &str) -> (String, String) {
    let re = regex::Regex::new(
        r#"<svg[^>]*>.{0,200}?</svg><time datetime="[^"]+" title="([^"]+)">([^<]+)</time>"#,
    )
    .unwrap();
    let at = page.find("idea-title").expect("an idea page");
    let c = re.captures(&page[at..]).expect("the idea's time");
    (c[1].to_owned(), c[2].to_owned())
}

/// `ms` as `HH:MM` in `zone`.
fn clock_in(ms: i64, zone: &str) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap()
        .to_zoned_datetime(TimeZone::get(zone).unwrap())
        .strftime("%H:%M")
        .to_string()
}

#[tokio::test]
async fn col_01_times_are_relative_in_the_readers_language_and_exact_in_their_zone() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "clocks").await;
    let reader = person(&t, &sc.w, "reader", Role::Member).await;
    let (st, idea, body) = post_idea(
        &t,
        &reader,
        &sc.w.slug,
        &sc.discussion,
        &[("title", "Sun dial"), ("body", "On the square")],
        None,
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let at = t.clock.now_ms();

    // Without a choice and without a browser zone: the instance's default (UTC here).
    let (exact, shown) = posted(&idea_page(&t, &reader, &idea, "en", None).await);
    assert_eq!(shown, "just now");
    assert!(
        exact.ends_with(&format!("{} UTC", clock_in(at, "UTC"))),
        "{exact}"
    );

    // The browser's zone, from its cookie; a cookie naming no zone is ignored.
    let (exact, _) = posted(&idea_page(&t, &reader, &idea, "en", Some("Asia/Tokyo")).await);
    assert!(
        exact.ends_with(&format!("{} JST", clock_in(at, "Asia/Tokyo"))),
        "{exact}"
    );
    let (exact, _) = posted(&idea_page(&t, &reader, &idea, "en", Some("Mars/Olympus")).await);
    assert!(exact.ends_with(" UTC"), "{exact}");

    // Three hours on, in German.
    t.clock
        .advance(std::time::Duration::from_secs(3 * 3600 + 60));
    let (_, shown) = posted(&idea_page(&t, &reader, &idea, "de", None).await);
    assert_eq!(shown, "vor 3 Stunden");

    // A zone chosen in the account wins over the browser's.
    let (st, ..) = post(
        &t,
        &reader,
        "/account/time-zone",
        &[("csrf", &reader.csrf), ("time_zone", "America/New_York")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let page = idea_page(&t, &reader, "/account", "en", Some("Asia/Tokyo")).await;
    assert!(
        page.contains("<option selected>America/New_York</option>"),
        "the choice is shown"
    );
    let (exact, _) = posted(&idea_page(&t, &reader, &idea, "en", Some("Asia/Tokyo")).await);
    let zone = if exact.ends_with("EDT") { "EDT" } else { "EST" };
    assert!(
        exact.ends_with(&format!("{} {zone}", clock_in(at, "America/New_York"))),
        "{exact}"
    );

    // Back to automatic: the browser's zone again.
    let (st, ..) = post(
        &t,
        &reader,
        "/account/time-zone",
        &[("csrf", &reader.csrf), ("time_zone", "")],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let (exact, _) = posted(&idea_page(&t, &reader, &idea, "en", Some("Asia/Tokyo")).await);
    assert!(exact.ends_with(" JST"), "{exact}");
}

#[tokio::test]
async fn col_01_the_time_zone_is_the_persons_own_setting_and_only_a_real_zone() {
    let t = TestApp::spawn().await;
    let w = t.workspace("zones").await;
    let p = t.member(&w, "pat", Role::Member).await;
    let s = t
        .member_session(
            "zones",
            "sam@zones.test",
            "Sam",
            "a long enough password",
            Role::Member,
        )
        .await;
    let put = |body: serde_json::Value| {
        s.apply(browser().put(t.api("/me/time-zone")))
            .json(&body)
            .send()
    };
    let r = put(serde_json::json!({"time_zone": "Europe/Berlin"}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = s
        .apply(browser().get(t.api("/me/time-zone")))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["time_zone"], "Europe/Berlin");
    for bad in ["Mars/Olympus", "../../etc/localtime", "<script>"] {
        let r = put(serde_json::json!({"time_zone": bad})).await.unwrap();
        assert_eq!(r.status().as_u16(), 422, "{bad}");
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(e["error"]["field"], "time_zone", "{e}");
    }
    let r = put(serde_json::json!({"time_zone": null})).await.unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["time_zone"].is_null());
    // An API token acts in one workspace; the person's own settings are not its to change.
    let r = browser()
        .put(t.api("/me/time-zone"))
        .bearer_auth(&p.token)
        .json(&serde_json::json!({"time_zone": "UTC"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
}

#[tokio::test]
async fn col_01_the_instance_default_zone_applies_to_readers_who_chose_none() {
    let t = TestApp::spawn_with(|c| {
        c.time_zone = TimeZone::get("Europe/Berlin").unwrap();
    })
    .await;
    let sc = scene(&t, "berlin").await;
    let reader = person(&t, &sc.w, "reader", Role::Member).await;
    let (_, idea, _) = post_idea(
        &t,
        &reader,
        &sc.w.slug,
        &sc.discussion,
        &[("title", "Late bus"), ("body", "Runs at night")],
        None,
    )
    .await;
    let at = t.clock.now_ms();
    let (exact, _) = posted(&idea_page(&t, &reader, &idea, "de", None).await);
    let zone = if exact.ends_with("CEST") {
        "CEST"
    } else {
        "CET"
    };
    assert!(
        exact.ends_with(&format!("{} {zone}", clock_in(at, "Europe/Berlin"))),
        "{exact}"
    );
}
