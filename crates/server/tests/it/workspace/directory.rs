//! The members page as a directory (COL-02): found by name (admins also by address), ordered by
//! name, role, joining or last activity, paged with counts; the day each member last used the
//! workspace and each API token was last used, shown to admins only and kept to the day.

use ideaweave_domain::Role;
use ideaweave_testkit::TestApp;

use crate::content::pages::{get, get_in, person};
use crate::helpers::with_token;

const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The member names in the order the members page lists them.
fn listed(page: &str) -> Vec<String> {
    page.split("<tbody role=\"rowgroup\">")
        .nth(1)
        .unwrap_or_default()
        .split("<tr role=\"row\">")
        .skip(1)
        .filter_map(|row| {
            let cell = row.split("<td role=\"cell\" class=\"lead\">").nth(1)?;
            // The name follows its avatar, as a link to the member's page.
            let name = cell.split_once("</span>").map_or(cell, |(_, rest)| rest);
            let name = match name.strip_prefix("<a ") {
                Some(link) => link.split_once('>').map_or(link, |(_, rest)| rest),
                None => name,
            };
            Some(name.split([' ', '<']).next()?.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn col_02_admins_find_sort_and_page_members_and_see_who_is_still_active() {
    let t = TestApp::spawn().await;
    let w = t.workspace("people").await;
    let cleo = person(&t, &w, "cleo", Role::Member).await;
    let _dan = t.member(&w, "Dan", Role::Guest).await;
    // Cleo comes by; two days later Bob does, while Ada looks.
    let (st, ..) = get(&t, &cleo, "/w/people").await;
    assert_eq!(st, 200);
    t.clock.advance(2 * DAY);
    let admin = person(&t, &w, "Ada", Role::Admin).await;
    let bob = person(&t, &w, "Bob", Role::Moderator).await;
    let (_, page, _) = get(&t, &admin, "/w/people/members?sort=active").await;
    assert!(page.contains("<th scope=\"col\" role=\"columnheader\">Last active</th>"));
    assert!(page.contains(">never<"), "Bob has not come by yet");
    let (st, ..) = get(&t, &bob, "/w/people").await;
    assert_eq!(st, 200);
    let (_, page, _) = get(&t, &admin, "/w/people/members?sort=active").await;
    let order = listed(&page);
    assert_eq!(order.len(), 5, "{order:?}");
    assert_eq!(&order[..3], ["Ada", "Bob", "cleo"], "{order:?}");
    let cleo_row = page
        .split("<tr role=\"row\">")
        .find(|r| r.contains(">cleo"))
        .unwrap();
    let bob_row = page
        .split("<tr role=\"row\">")
        .find(|r| r.contains(">Bob"))
        .unwrap();
    let active_on = |row: &str| -> Option<String> {
        let cell = row.split("data-label=\"Last active\">").nth(1)?;
        cell.get(..10).map(str::to_owned)
    };
    assert!(
        active_on(cleo_row).is_some_and(|d| d.starts_with("20")),
        "{cleo_row}"
    );
    assert_ne!(active_on(cleo_row), active_on(bob_row), "two days apart");

    // Names sort without regard to case; roles highest first.
    let (_, page, _) = get(&t, &admin, "/w/people/members?sort=name").await;
    let names = listed(&page);
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted);
    let (_, page, _) = get(&t, &admin, "/w/people/members?sort=role").await;
    assert_eq!(
        listed(&page).last().map(String::as_str),
        Some("Dan"),
        "the guest is last"
    );

    // Each name has its generated avatar: initials on a colour of the name, hidden from
    // screen readers (the name is beside it).
    assert!(
        page.contains("aria-hidden=\"true\">C</span><a class=\"person\"")
            && page.contains(">cleo</a>"),
        "{page}"
    );
    assert!(page.contains("<span class=\"avatar a"));
    // Search by a part of the name, whatever its case; admins also by address.
    let (_, page, _) = get(&t, &admin, "/w/people/members?q=CLE").await;
    assert_eq!(listed(&page), ["cleo"]);
    assert!(page.contains("id=\"members-range\">1–1 of 1<"));
    assert!(
        page.contains("value=\"CLE\""),
        "the search stays in its field"
    );
    let (_, page, _) = get(&t, &admin, "/w/people/members?q=bob%40people").await;
    assert_eq!(listed(&page), ["Bob"]);
    let (_, page, _) = get_in(&t, &admin, "/w/people/members?q=nobody-here", "de").await;
    assert!(page.contains("Kein Mitglied passt.") && page.contains("href=\"/w/people/members\""));

    // Members see names and roles only: no addresses to search, no activity to sort by.
    let (_, page, _) = get(&t, &cleo, "/w/people/members?q=bob%40people&sort=active").await;
    assert!(
        listed(&page).is_empty(),
        "an address finds nobody for a member"
    );
    let (_, page, _) = get(&t, &cleo, "/w/people/members?sort=active").await;
    assert!(!page.contains("Last active") && !page.contains(">never<"));
    let names = listed(&page);
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted, "without the dates the list is by name");
    // The API tells admins the day, and nobody else.
    let (st, v) = with_token(
        &t,
        "GET",
        "/workspaces/people/members",
        &w.owner.token,
        None,
    )
    .await;
    assert_eq!(st, 200);
    let days: Vec<_> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["last_active_on"].as_i64())
        .collect();
    assert!(
        days.iter().all(|d| d % 86_400_000 == 0),
        "kept to the day: {days:?}"
    );
    assert!(days.len() >= 3, "{v}");

    // Bad sort or place in the list falls back, never fails.
    let (st, page, _) = get(&t, &admin, "/w/people/members?sort=%27;DROP&from=zzz").await;
    assert_eq!(st, 200);
    assert_eq!(listed(&page).len(), 5);
}

#[tokio::test]
async fn col_02_a_long_member_list_is_paged_with_counts() {
    let t = TestApp::spawn().await;
    let w = t.workspace("crowd").await;
    let admin = person(&t, &w, "Ada", Role::Admin).await;
    for i in 0..53 {
        t.member(&w, &format!("m{i:02}"), Role::Member).await;
    }
    // 53 + the owner + Ada = 55.
    let (_, page, _) = get(&t, &admin, "/w/crowd/members").await;
    assert_eq!(listed(&page).len(), 50);
    assert!(page.contains("1–50 of 55"));
    let next = page.split("rel=\"next\"").next().unwrap_or_default();
    assert!(
        next.ends_with("from=50\" "),
        "{}",
        &next[next.len().saturating_sub(120)..]
    );
    assert!(!page.contains("rel=\"prev\""));
    let (_, page, _) = get(&t, &admin, "/w/crowd/members?sort=name&from=50").await;
    assert_eq!(listed(&page).len(), 5);
    assert!(page.contains("51–55 of 55"));
    assert!(page.contains("rel=\"prev\"") && !page.contains("rel=\"next\""));
    // A stale link past the end says so, counts nothing, and leads back to the last page.
    let (_, page, _) = get(&t, &admin, "/w/crowd/members?from=5000").await;
    assert!(page.contains("No member matches."));
    assert!(
        !page.contains("id=\"members-range\""),
        "no '5001–5000 of 55'"
    );
    let prev = page.split("rel=\"prev\"").next().unwrap_or_default();
    assert!(
        prev.ends_with("from=50\" "),
        "{}",
        &prev[prev.len().saturating_sub(120)..]
    );
    let (st, _, _) = get(&t, &admin, "/w/crowd/members?from=18446744073709551615").await;
    assert_eq!(st, 200, "the largest place in the list is no crash");
}

#[tokio::test]
async fn col_03_the_tokens_page_says_when_each_token_was_last_used() {
    let t = TestApp::spawn().await;
    let w = t.workspace("keys").await;
    let admin = person(&t, &w, "Ada", Role::Admin).await;
    let (st, page, _) = crate::content::pages::post(
        &t,
        &admin,
        "/w/keys/tokens",
        &[
            ("csrf", &admin.csrf),
            ("name", "ci"),
            ("scope", "read"),
            ("days", "30"),
        ],
        false,
    )
    .await;
    assert_eq!(st, 200);
    assert!(
        page.contains("data-copy=\"new-secret\""),
        "the new secret has a copy button"
    );
    let secret = page
        .split("id=\"new-secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_owned();
    let (_, page, _) = get(&t, &admin, "/w/keys/tokens").await;
    assert!(
        page.contains("<th scope=\"col\" role=\"columnheader\">Last used</th>")
            && page.contains(">never<")
    );
    t.clock.advance(DAY);
    let (st, _) = with_token(&t, "GET", "/workspaces/keys", &secret, None).await;
    assert_eq!(st, 200);
    let (_, page, _) = get(&t, &admin, "/w/keys/tokens").await;
    assert!(!page.contains(">never<"), "the token was used: {page}");
}

/// The last-active and last-used days are activity data: in the person's own download while
/// kept, and forgotten with the workspace's activity period (LIF-03, DSR-01).
#[tokio::test]
async fn lif_03_last_active_days_are_in_ones_data_and_forgotten_after_the_activity_period() {
    let t = TestApp::spawn().await;
    let w = t.workspace("forget").await;
    let mia = person(&t, &w, "Mia", Role::Member).await;
    let (st, ..) = get(&t, &mia, "/w/forget").await;
    assert_eq!(st, 200);
    let r = t
        .http
        .get(t.api("/me/personal-data"))
        .header("cookie", format!("iw_session={}", mia.cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let data: serde_json::Value = r.json().await.unwrap();
    let day = data["workspaces"][0]["last_active_on"].as_i64();
    assert!(
        day.is_some_and(|d| d % 86_400_000 == 0),
        "{}",
        data["workspaces"][0]
    );

    let owner = w.as_member(&w.owner);
    t.app
        .set_retention_policy(
            &owner,
            ideaweave_domain::RetentionPolicy {
                activity_days: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let active = |v: &serde_json::Value, id: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user_id"] == id)
            .map(|m| m["last_active_on"].clone())
    };
    let (_, v) = with_token(
        &t,
        "GET",
        "/workspaces/forget/members",
        &w.owner.token,
        None,
    )
    .await;
    let mia_id = mia.user.0.to_string();
    assert!(active(&v, &mia_id).is_some_and(|d| d.is_i64()), "{v}");
    t.clock.advance(3 * DAY);
    t.app.enforce_retention().await.unwrap();
    let (_, v) = with_token(
        &t,
        "GET",
        "/workspaces/forget/members",
        &w.owner.token,
        None,
    )
    .await;
    assert_eq!(active(&v, &mia_id), Some(serde_json::Value::Null), "{v}");
}
