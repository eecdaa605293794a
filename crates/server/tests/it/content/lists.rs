//! COL-01: a discussion's list says where a page stands among how many ("26–50 of 60"), goes to
//! the previous and next page, and narrows to one's own ideas and to days.

use ideaweave_domain::Role;
use ideaweave_testkit::TestApp;
use ideaweave_testkit::client::models::NewIdea;
use serde_json::Value;

use super::pages::{get, get_in, person, scene};

#[tokio::test]
async fn col_01_lists_page_with_counts_and_filter_by_author_and_day() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "paged").await;
    let slug = sc.w.slug.clone();
    let reader = person(&t, &sc.w, "reader", Role::Member).await;
    let writer = t.member(&sc.w, "writer", Role::Member).await;
    let d: ideaweave_domain::DiscussionId = sc.discussion.parse().unwrap();
    for n in 0..60 {
        t.client(&writer)
            .post_idea(&slug, d, &NewIdea::new(&format!("Idea number {n:02}"), "b"))
            .await
            .expect(201);
    }
    let list = format!("/w/{slug}/discussions/{}", sc.discussion);
    let (_, page, _) = get(&t, &reader, &format!("{list}?sort=newest")).await;
    assert!(page.contains("1–25 of 60"), "{page}");
    assert!(!page.contains("rel=\"prev\""));
    let next = format!(
        "/w/{slug}/discussions/{}?sort=newest&#38;page=2",
        sc.discussion
    );
    assert!(
        page.contains(&format!("href=\"{next}\" rel=\"next\"")),
        "{page}"
    );
    let (_, page, _) = get(&t, &reader, &format!("{list}?sort=newest&page=3")).await;
    assert!(
        page.contains("51–60 of 60") && page.contains("Idea number 00"),
        "{}",
        page.split("<main").nth(1).unwrap_or(&page)
    );
    assert!(page.contains("rel=\"prev\"") && !page.contains("rel=\"next\""));
    let (_, de, _) = get_in(&t, &reader, &format!("{list}?sort=newest&page=2"), "de").await;
    assert!(de.contains("26–50 von 60"), "{de}");
    // A page past the end (an old link) leads to the last page.
    let (st, _, h) = get(&t, &reader, &format!("{list}?sort=newest&page=99")).await;
    assert_eq!(st, 303);
    assert!(
        h["location"].to_str().unwrap().ends_with("&page=3"),
        "{h:?}"
    );

    // Only my ideas: the reader has none, the writer all.
    let (_, page, _) = get(&t, &reader, &format!("{list}?mine=1")).await;
    assert!(!page.contains("Idea number"));
    // Days: today holds all sixty; a day long past none; a reversed range is said at the field.
    let today = {
        let v: Value = t
            .client(&writer)
            .get(&format!(
                "/workspaces/{slug}/discussions/{}/ideas?limit=1",
                sc.discussion
            ))
            .await
            .expect(200);
        assert_eq!(v["total"], 60);
        let ms = v["items"][0]["created_at"].as_i64().unwrap();
        let days = ms.div_euclid(86_400_000);
        // Back to a civil date through the API's own filter: since/until of that day.
        (days * 86_400_000, days * 86_400_000 + 86_399_999)
    };
    let v: Value = t
        .client(&writer)
        .get(&format!(
            "/workspaces/{slug}/discussions/{}/ideas?mine=true&since={}&until={}",
            sc.discussion, today.0, today.1
        ))
        .await
        .expect(200);
    assert_eq!(v["total"], 60);
    let v: Value = t
        .client(&reader)
        .get(&format!(
            "/workspaces/{slug}/discussions/{}/ideas?mine=true",
            sc.discussion
        ))
        .await
        .expect(200);
    assert_eq!(v["total"], 0);
    let r = t
        .client(&reader)
        .get::<Value>(&format!(
            "/workspaces/{slug}/discussions/{}/ideas?since=10&until=5",
            sc.discussion
        ))
        .await;
    assert_eq!(r.status, 422);
    let r = t
        .client(&reader)
        .get::<Value>(&format!(
            "/workspaces/{slug}/discussions/{}/ideas?offset=5&cursor=abc",
            sc.discussion
        ))
        .await;
    assert_eq!(r.status, 422);
    let (_, page, _) = get(
        &t,
        &reader,
        &format!("{list}?from=2000-01-01&to=2000-01-31"),
    )
    .await;
    assert!(!page.contains("Idea number"));
    let (st, page, _) = get(
        &t,
        &reader,
        &format!("{list}?from=2000-02-01&to=2000-01-01"),
    )
    .await;
    assert_eq!(st, 200);
    assert!(
        page.contains("id=\"f-date-error\">The first day is after the last."),
        "{page}"
    );
    let (_, page, _) = get(&t, &reader, &format!("{list}?from=yesterday")).await;
    assert!(page.contains("id=\"f-date-error\""));
}

#[tokio::test]
async fn col_01_the_day_filter_is_the_readers_day_in_their_zone() {
    let t = TestApp::spawn().await;
    let sc = scene(&t, "zoned-days").await;
    let slug = sc.w.slug.clone();
    let reader = person(&t, &sc.w, "reader", Role::Member).await;
    let d: ideaweave_domain::DiscussionId = sc.discussion.parse().unwrap();
    t.client(&sc.w.owner)
        .post_idea(&slug, d, &NewIdea::new("Posted at the date line", "b"))
        .await
        .expect(201);
    let v: Value = t
        .client(&sc.w.owner)
        .get(&format!("/workspaces/{slug}/discussions/{d}/ideas?limit=1"))
        .await
        .expect(200);
    let at = v["items"][0]["created_at"].as_i64().unwrap();
    // A zone where the idea's local day differs from its UTC day, whatever the hour.
    let hour = at.rem_euclid(86_400_000) / 3_600_000;
    let (zone, offset_h) = if hour >= 10 {
        ("Pacific/Kiritimati", 14)
    } else {
        ("Pacific/Pago_Pago", -11)
    };
    let date = |ms: i64| {
        let days = ms.div_euclid(86_400_000);
        let (y, m, d) = ideaweave_domain::requests::civil_date(days);
        format!("{y:04}-{m:02}-{d:02}")
    };
    let (utc_day, local_day) = (date(at), date(at + offset_h * 3_600_000));
    assert_ne!(utc_day, local_day);
    let (st, _, _) = super::pages::post(
        &t,
        &reader,
        "/account/time-zone",
        &[("csrf", &reader.csrf), ("time_zone", zone)],
        false,
    )
    .await;
    assert_eq!(st, 303);
    let list = format!("/w/{slug}/discussions/{}", sc.discussion);
    let (_, page, _) = get(
        &t,
        &reader,
        &format!("{list}?from={local_day}&to={local_day}"),
    )
    .await;
    assert!(
        page.contains("Posted at the date line"),
        "{zone} {local_day}: {page}"
    );
    let (_, page, _) = get(&t, &reader, &format!("{list}?from={utc_day}&to={utc_day}")).await;
    assert!(
        !page.contains("Posted at the date line"),
        "{zone} {utc_day}"
    );
}
