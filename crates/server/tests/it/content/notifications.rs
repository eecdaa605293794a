//! COL-04 end to end, over real SMTP (aiosmtpd on loopback): comments, replies and stage
//! changes email the people concerned as they prefer (instant, daily digest, off); people who
//! may not see the idea any more, removed and erased members are told nothing and lose what
//! waited; and what waits to be sent holds no plaintext (ENC-01).

use std::time::Duration;

use ideaweave_app::{DIGEST_AFTER, EXCERPT_CHARS, MailRound, NotificationPreference};
use ideaweave_domain::{Role, TokenScope};
use ideaweave_server::mail::SmtpMailer;
use ideaweave_testkit::{Person, TestApp, TestSmtp, TestWorkspace, decode_quoted_printable};
use serde_json::json;

use crate::helpers::{open_discussion, with_token};

/// A running application that mails to its own SMTP server, with a workspace.
struct World {
    smtp: TestSmtp,
    t: TestApp,
    w: TestWorkspace,
}

impl World {
    async fn new(slug: &str) -> Self {
        let smtp = TestSmtp::start().await;
        let t = TestApp::spawn_with(|c| c.mail = Some(smtp.config())).await;
        let w = t.workspace(slug).await;
        Self { smtp, t, w }
    }

    async fn member(&self, name: &str) -> Person {
        self.t.member(&self.w, name, Role::Member).await
    }

    /// `author` posts an idea in `discussion`; returns its id.
    async fn idea(&self, author: &Person, discussion: &str, title: &str) -> String {
        let (st, v) = with_token(
            &self.t,
            "POST",
            &format!("/workspaces/{}/discussions/{discussion}/ideas", self.w.slug),
            &author.token,
            Some(json!({"title": title, "body": "The idea's body, never mailed."})),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// `who` comments on `idea` (replying to `parent`); returns the comment's id.
    async fn comment(&self, who: &Person, idea: &str, body: &str, parent: Option<&str>) -> String {
        let (st, v) = with_token(
            &self.t,
            "POST",
            &format!("/workspaces/{}/ideas/{idea}/comments", self.w.slug),
            &who.token,
            Some(json!({"body": body, "parent_id": parent})),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// The owner moves `idea` to the stage named `stage`.
    async fn move_to(&self, idea: &str, stage: &str) {
        let (st, ws) = with_token(
            &self.t,
            "GET",
            &format!("/workspaces/{}", self.w.slug),
            &self.w.owner.token,
            None,
        )
        .await;
        assert_eq!(st, 200);
        let id = ws["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == stage)
            .unwrap_or_else(|| panic!("no stage {stage} in {ws}"))["id"]
            .clone();
        let (st, v) = with_token(
            &self.t,
            "PUT",
            &format!("/workspaces/{}/ideas/{idea}/stage", self.w.slug),
            &self.w.owner.token,
            Some(json!({"stage_id": id})),
        )
        .await;
        assert_eq!(st, 200, "{v}");
    }

    /// `who` chooses a preference through the API.
    async fn prefer(&self, who: &Person, p: &str) {
        let path = format!("/workspaces/{}/me/notifications", self.w.slug);
        let (st, v) = with_token(
            &self.t,
            "PUT",
            &path,
            &who.token,
            Some(json!({"preference": p})),
        )
        .await;
        assert_eq!((st, &v), (200, &json!({"preference": p})));
        let (st, v) = with_token(&self.t, "GET", &path, &who.token, None).await;
        assert_eq!((st, v), (200, json!({"preference": p})));
    }

    /// Sends what the outbox holds to the SMTP server.
    async fn deliver(&self) -> MailRound {
        let mailer = SmtpMailer::new(&self.smtp.config()).unwrap();
        let round = self.t.app.send_due_mail(&mailer, 100).await.unwrap();
        assert_eq!((round.retrying, round.given_up), (0, 0), "{round:?}");
        round
    }

    async fn waiting(&self) -> i64 {
        self.t.app.outbox_counts().await.unwrap().waiting
    }

    async fn pending(&self) -> i64 {
        self.t.app.pending_notifications().await.unwrap()
    }

    /// Every message that reached `to`, decoded.
    fn mails_to(&self, to: &str) -> Vec<Mail> {
        self.smtp
            .messages()
            .into_iter()
            .filter(|m| m.lines().any(|l| l.starts_with("To:") && l.contains(to)))
            .map(|m| Mail::parse(&m))
            .collect()
    }

    fn idea_url(&self, idea: &str) -> String {
        format!(
            "{}/w/{}/ideas/{idea}",
            self.t.config.public_url, self.w.slug
        )
    }

    /// Asserts that none of `needles` is in the database's bytes (file, WAL, or a dump).
    fn assert_sealed(&self, needles: &[&str]) {
        let stored = self.t.database_bytes();
        assert!(!stored.is_empty());
        for n in needles {
            let found: Vec<&String> = stored
                .iter()
                .filter(|(_, b)| b.windows(n.len()).any(|w| w == n.as_bytes()))
                .map(|(name, _)| name)
                .collect();
            assert!(found.is_empty(), "{n:?} is stored in clear in {found:?}");
        }
    }
}

/// A received message: its subject, and its plain-text and HTML parts.
struct Mail {
    subject: String,
    text: String,
    html: String,
}

impl Mail {
    fn parse(raw: &str) -> Self {
        let subject = raw
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_owned();
        let decoded = decode_quoted_printable(raw).replace("\r\n", "\n");
        let html_at = decoded
            .find("Content-Type: text/html")
            .unwrap_or_else(|| panic!("no HTML part in {decoded}"));
        let text_at = decoded
            .find("Content-Type: text/plain")
            .unwrap_or_else(|| panic!("no text part in {decoded}"));
        assert!(text_at < html_at, "the text part comes first");
        Self {
            subject,
            text: decoded[text_at..html_at].to_owned(),
            html: decoded[html_at..].to_owned(),
        }
    }

    fn says(&self, s: &str) -> bool {
        self.text.contains(s)
    }
}

/// A comment longer than the excerpt, whose end must not be mailed.
fn long_comment(start: &str, tail: &str) -> String {
    let filler = "word ".repeat(60);
    format!("{start} {filler}{tail}")
}

#[tokio::test]
async fn col_04_a_comment_emails_the_ideas_author_at_once_with_the_link_and_an_excerpt() {
    let x = World::new("instant").await;
    let d = open_discussion(&x.t, &x.w.slug, &x.w.owner.token).await;
    let ann = x.member("ann").await;
    let bob = x.member("bob").await;
    let idea = x.idea(&ann, &d, "Fish & <chips> on Fridays").await;

    // The author commenting on her own idea is told nothing.
    x.comment(&ann, &idea, "My own remark", None).await;
    assert_eq!(x.waiting().await, 0);

    let body = long_comment("zqexcerptstart <b>bold</b> & more", "zqcommenttail");
    assert!(body.chars().count() > EXCERPT_CHARS + 50);
    x.comment(&bob, &idea, &body, None).await;
    assert_eq!(x.waiting().await, 1, "one email, to the idea's author");
    // Queued in the outbox, sealed: neither the address, the title nor the comment in clear.
    x.assert_sealed(&[
        &ann.email,
        "zqexcerptstart",
        "Fish & <chips>",
        "zqcommenttail",
    ]);

    assert_eq!(x.deliver().await.sent, 1);
    let mails = x.mails_to(&ann.email);
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert!(m.subject.contains("New comment on"), "{}", m.subject);
    assert!(
        m.says("bob commented on your idea \"Fish & <chips> on Fridays\""),
        "{}",
        m.text
    );
    assert!(m.says(&x.idea_url(&idea)), "{}", m.text);
    assert!(m.says("zqexcerptstart"), "an excerpt: {}", m.text);
    assert!(
        !m.says("zqcommenttail"),
        "only an excerpt of the comment is mailed"
    );
    assert!(!m.says("never mailed"), "nothing of the idea's body");
    assert!(
        m.html.contains(&format!("href=\"{}\"", x.idea_url(&idea))),
        "{}",
        m.html
    );
    assert!(
        m.html.contains("Fish &amp; &lt;chips&gt; on Fridays"),
        "{}",
        m.html
    );
    assert!(!m.html.contains("<chips>") && !m.html.contains("<b>bold"));
    assert!(!m.html.contains("zqcommenttail"));
    assert!(
        x.mails_to(&bob.email).is_empty(),
        "the commenter is not told"
    );
}

#[tokio::test]
async fn col_04_a_reply_emails_the_author_of_the_comment_it_answers() {
    let x = World::new("replies").await;
    let d = open_discussion(&x.t, &x.w.slug, &x.w.owner.token).await;
    let (ann, bob, cat) = (
        x.member("ann").await,
        x.member("bob").await,
        x.member("cat").await,
    );
    let idea = x.idea(&ann, &d, "Bike racks").await;
    let bobs = x.comment(&bob, &idea, "Where would they go?", None).await;
    x.deliver().await;
    assert_eq!(x.mails_to(&ann.email).len(), 1);

    // Bob answering himself tells only the idea's author.
    x.comment(&bob, &idea, "By the door, I think.", Some(&bobs))
        .await;
    assert_eq!(x.waiting().await, 1);
    x.deliver().await;
    assert!(x.mails_to(&bob.email).is_empty());

    x.comment(&cat, &idea, "Next to the bins.", Some(&bobs))
        .await;
    assert_eq!(
        x.waiting().await,
        2,
        "the parent's author and the idea's author"
    );
    x.deliver().await;
    let to_bob = x.mails_to(&bob.email);
    assert_eq!(to_bob.len(), 1);
    assert!(
        to_bob[0].subject.contains("New reply to your comment"),
        "{}",
        to_bob[0].subject
    );
    assert!(to_bob[0].says("cat replied to your comment on \"Bike racks\""));
    assert!(to_bob[0].says("Next to the bins."));
    assert!(to_bob[0].says(&x.idea_url(&idea)));
    assert_eq!(x.mails_to(&ann.email).len(), 3);
    assert!(x.mails_to(&cat.email).is_empty());

    // A reply to the idea's author's own comment tells her once, as a reply.
    let anns = x.comment(&ann, &idea, "Thanks!", None).await;
    x.comment(&bob, &idea, "You're welcome.", Some(&anns)).await;
    assert_eq!(x.waiting().await, 1);
    x.deliver().await;
    let to_ann = x.mails_to(&ann.email);
    assert_eq!(to_ann.len(), 4);
    assert!(to_ann.iter().any(|m| m.says("bob replied to your comment")));
}

#[tokio::test]
async fn col_04_a_stage_change_emails_the_ideas_author() {
    let x = World::new("stages").await;
    let d = open_discussion(&x.t, &x.w.slug, &x.w.owner.token).await;
    let ann = x.member("ann").await;
    let idea = x.idea(&ann, &d, "Solar panels").await;
    x.move_to(&idea, "Selected").await;
    assert_eq!(x.waiting().await, 1);
    // Moving it to the stage it is in changes nothing and tells nobody.
    x.move_to(&idea, "Selected").await;
    assert_eq!(x.waiting().await, 1);
    x.deliver().await;
    let mails = x.mails_to(&ann.email);
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].subject.contains("moved to Selected"),
        "{}",
        mails[0].subject
    );
    assert!(
        mails[0].says("Owner moved your idea \"Solar panels\" to the stage \"Selected\""),
        "{}",
        mails[0].text
    );
    assert!(mails[0].says(&x.idea_url(&idea)));

    // The owner moving their own idea is told nothing.
    let own = x.idea(&x.w.owner, &d, "Owner's idea").await;
    x.move_to(&own, "Selected").await;
    assert_eq!(x.waiting().await, 0);
}

#[tokio::test]
async fn col_04_off_sends_and_records_nothing_and_the_preference_is_each_members_own() {
    let x = World::new("quiet").await;
    let d = open_discussion(&x.t, &x.w.slug, &x.w.owner.token).await;
    let (ann, bob) = (x.member("ann").await, x.member("bob").await);
    let path = format!("/workspaces/{}/me/notifications", x.w.slug);
    let (st, v) = with_token(&x.t, "GET", &path, &ann.token, None).await;
    assert_eq!(
        (st, v),
        (200, json!({"preference": "instant"})),
        "instant by default"
    );

    let idea = x.idea(&ann, &d, "Quiet idea").await;
    x.prefer(&ann, "daily").await;
    x.comment(&bob, &idea, "Pending for the digest", None).await;
    assert_eq!(x.pending().await, 1);
    x.prefer(&ann, "off").await;
    assert_eq!(
        x.pending().await,
        0,
        "turning notifications off drops what waited"
    );
    x.comment(&bob, &idea, "Anyone there?", None).await;
    x.move_to(&idea, "Selected").await;
    assert_eq!((x.waiting().await, x.pending().await), (0, 0));
    x.t.clock.advance(DIGEST_AFTER * 2);
    assert_eq!(x.t.app.send_due_digests(100).await.unwrap().digests, 0);
    x.deliver().await;
    assert!(x.mails_to(&ann.email).is_empty());

    // Ann's choice is hers alone: Bob still hears of comments on his ideas.
    let (st, v) = with_token(&x.t, "GET", &path, &bob.token, None).await;
    assert_eq!((st, v), (200, json!({"preference": "instant"})));
    let bobs = x.idea(&bob, &d, "Loud idea").await;
    x.comment(&ann, &bobs, "Hello", None).await;
    assert_eq!(x.waiting().await, 1);

    // A read-only token cannot change it; a bad value is refused.
    let read = x.t.token(&ann.email, &x.w.slug, TokenScope::Read).await;
    let (st, _) = with_token(&x.t, "GET", &path, &read, None).await;
    assert_eq!(st, 200);
    let (st, v) = with_token(
        &x.t,
        "PUT",
        &path,
        &read,
        Some(json!({"preference": "instant"})),
    )
    .await;
    assert_eq!(st, 403, "{v}");
    let (st, v) = with_token(
        &x.t,
        "PUT",
        &path,
        &ann.token,
        Some(json!({"preference": "weekly"})),
    )
    .await;
    assert_eq!(st, 422, "{v}");
    let m = x.w.as_member(&ann);
    assert_eq!(
        x.t.app.notification_preference(&m).await.unwrap(),
        NotificationPreference::Off
    );
}

#[tokio::test]
async fn col_04_daily_items_wait_for_one_digest_a_day_that_lists_them_all() {
    let x = World::new("digest").await;
    let d = open_discussion(&x.t, &x.w.slug, &x.w.owner.token).await;
    let (ann, bob, cat) = (
        x.member("ann").await,
        x.member("bob").await,
        x.member("cat").await,
    );
    x.prefer(&ann, "daily").await;
    let first = x.idea(&ann, &d, "Rooftop garden").await;
    let second = x.idea(&ann, &d, "Quiet room").await;
    x.comment(&bob, &first, "zqdigestcanary: what about water?", None)
        .await;
    let anns = x.comment(&ann, &second, "I'd love this.", None).await;
    x.comment(&cat, &second, "Me too", Some(&anns)).await;
    x.move_to(&first, "Under review").await;
    assert_eq!(x.waiting().await, 0, "no instant email");
    assert_eq!(x.pending().await, 3);
    x.assert_sealed(&["zqdigestcanary", &ann.email, "Rooftop garden"]);

    assert_eq!(x.t.app.send_due_digests(100).await.unwrap().digests, 0);
    x.t.clock.advance(DIGEST_AFTER - Duration::from_secs(3600));
    assert_eq!(
        x.t.app.send_due_digests(100).await.unwrap().digests,
        0,
        "not before a day has passed"
    );
    x.t.clock.advance(Duration::from_secs(2 * 3600));
    let round = x.t.app.send_due_digests(100).await.unwrap();
    assert_eq!((round.digests, round.items, round.dropped), (1, 3, 0));
    assert_eq!(x.pending().await, 0, "sent items are deleted");
    assert_eq!(x.waiting().await, 1);
    x.assert_sealed(&["zqdigestcanary", &ann.email, "Rooftop garden"]);
    assert_eq!(x.t.app.send_due_digests(100).await.unwrap().digests, 0);

    x.deliver().await;
    let mails = x.mails_to(&ann.email);
    assert_eq!(mails.len(), 1, "one digest");
    let m = &mails[0];
    assert!(m.subject.contains("digest: 3 updates"), "{}", m.subject);
    for line in [
        "bob commented on your idea \"Rooftop garden\"",
        "zqdigestcanary: what about water?",
        "cat replied to your comment on \"Quiet room\"",
        "Owner moved your idea \"Rooftop garden\" to the stage \"Under review\"",
    ] {
        assert!(m.says(line), "{line:?} missing from {}", m.text);
    }
    assert!(m.says(&x.idea_url(&first)) && m.says(&x.idea_url(&second)));
    assert!(m.html.contains(&format!("href=\"{}\"", x.idea_url(&first))));
    for p in [&bob, &cat, &x.w.owner] {
        assert!(x.mails_to(&p.email).is_empty());
    }

    // The next item starts the next day's wait.
    x.comment(&bob, &first, "One more thing", None).await;
    x.t.clock.advance(DIGEST_AFTER - Duration::from_secs(60));
    assert_eq!(x.t.app.send_due_digests(100).await.unwrap().digests, 0);
    x.t.clock.advance(Duration::from_secs(120));
    assert_eq!(x.t.app.send_due_digests(100).await.unwrap().items, 1);
}

#[tokio::test]
async fn col_04_an_author_who_can_no_longer_see_a_private_space_is_told_nothing() {
    let x = World::new("private").await;
    let (ann, bob) = (x.member("ann").await, x.member("bob").await);
    let owner = x.w.as_member(&x.w.owner);
    let space =
        x.t.app
            .create_space(
                &owner,
                ideaweave_app::SpaceInput {
                    name: "Board room".into(),
                    description: String::new(),
                    private: true,
                },
            )
            .await
            .unwrap();
    for p in [&ann, &bob] {
        x.t.app
            .add_space_member(
                &owner,
                space.id,
                ideaweave_app::SpaceMemberInput { user_id: p.id },
            )
            .await
            .unwrap();
    }
    let (st, d) = with_token(
        &x.t,
        "POST",
        &format!("/workspaces/{}/spaces/{}/discussions", x.w.slug, space.id),
        &x.w.owner.token,
        Some(json!({"kind": "topic", "title": "Secrets", "description": ""})),
    )
    .await;
    assert_eq!(st, 201, "{d}");
    let d = d["id"].as_str().unwrap().to_owned();
    let idea = x.idea(&ann, &d, "Merger plans").await;
    x.comment(&bob, &idea, "Listed: Ann hears of this", None)
        .await;
    assert_eq!(x.waiting().await, 1);
    x.deliver().await;
    assert_eq!(x.mails_to(&ann.email).len(), 1);

    // Unlisted, Ann no longer sees the space: neither comments nor stage changes reach her.
    x.t.app
        .remove_space_member(&owner, space.id, ann.id)
        .await
        .unwrap();
    x.comment(&bob, &idea, "Unlisted: Ann must not read this", None)
        .await;
    x.move_to(&idea, "Selected").await;
    assert_eq!(x.waiting().await, 0);

    // Items that waited for her digest are left out once she cannot see the space.
    x.t.app
        .add_space_member(
            &owner,
            space.id,
            ideaweave_app::SpaceMemberInput { user_id: ann.id },
        )
        .await
        .unwrap();
    x.prefer(&ann, "daily").await;
    x.comment(&bob, &idea, "Waiting: Ann must not read this either", None)
        .await;
    assert_eq!(x.pending().await, 1);
    x.t.app
        .remove_space_member(&owner, space.id, ann.id)
        .await
        .unwrap();
    x.t.clock.advance(DIGEST_AFTER + Duration::from_secs(60));
    let round = x.t.app.send_due_digests(100).await.unwrap();
    assert_eq!((round.digests, round.dropped), (0, 1), "{round:?}");
    assert_eq!((x.pending().await, x.waiting().await), (0, 0));
    x.deliver().await;
    let mails = x.mails_to(&ann.email);
    assert_eq!(mails.len(), 1);
    assert!(!mails.iter().any(|m| m.says("must not read")));
}

#[tokio::test]
async fn col_04_removed_and_erased_members_are_told_nothing_and_lose_what_waited() {
    let x = World::new("leavers").await;
    let d = open_discussion(&x.t, &x.w.slug, &x.w.owner.token).await;
    let owner = x.w.as_member(&x.w.owner);
    let (ann, bob, cat, dan) = (
        x.member("ann").await,
        x.member("bob").await,
        x.member("cat").await,
        x.member("dan").await,
    );
    let anns = x.idea(&ann, &d, "Ann's idea").await;
    let cats = x.idea(&cat, &d, "Cat's idea").await;
    let dans = x.idea(&dan, &d, "Dan's idea").await;
    x.prefer(&ann, "daily").await;
    x.prefer(&cat, "daily").await;
    x.comment(&bob, &anns, "For Ann's digest", None).await;
    x.comment(&bob, &cats, "For Cat's digest", None).await;
    assert_eq!(x.pending().await, 2);

    // Removed: what waited goes with the membership, and nothing more is recorded or sent.
    x.t.app.remove_member(&owner, ann.id).await.unwrap();
    x.t.app.remove_member(&owner, dan.id).await.unwrap();
    assert_eq!(x.pending().await, 1);
    x.comment(&bob, &anns, "Ann has left", None).await;
    x.comment(&bob, &dans, "Dan has left", None).await;
    x.move_to(&dans, "Selected").await;
    assert_eq!((x.waiting().await, x.pending().await), (0, 1));

    // Erased: what waited is deleted, and nothing more is recorded.
    x.t.app.shred_member_data(x.w.id, cat.id).await.unwrap();
    assert_eq!(x.pending().await, 0);
    x.comment(&bob, &cats, "Cat was erased", None).await;
    x.move_to(&cats, "Selected").await;
    assert_eq!((x.waiting().await, x.pending().await), (0, 0));

    // An erased actor's words are erased from digests too: the item was sealed with their key.
    let eve = x.member("eve").await;
    let fay = x.member("fay").await;
    let eves = x.idea(&eve, &d, "Eve's idea").await;
    x.prefer(&eve, "daily").await;
    x.comment(&fay, &eves, "zqerasedactor words", None).await;
    assert_eq!(x.pending().await, 1);
    x.t.app.shred_member_data(x.w.id, fay.id).await.unwrap();

    x.t.clock.advance(DIGEST_AFTER * 2);
    let round = x.t.app.send_due_digests(100).await.unwrap();
    assert_eq!((round.digests, round.dropped), (0, 1), "{round:?}");
    assert_eq!(x.pending().await, 0);
    x.deliver().await;
    for p in [&ann, &cat, &dan, &eve] {
        assert!(x.mails_to(&p.email).is_empty(), "{} was told", p.email);
    }
}

#[tokio::test]
async fn col_04_without_a_mail_server_nothing_is_recorded() {
    let t = TestApp::spawn().await;
    let w = t.workspace("nomailnotify").await;
    let d = open_discussion(&t, &w.slug, &w.owner.token).await;
    let ann = t.member(&w, "ann", Role::Member).await;
    let bob = t.member(&w, "bob", Role::Member).await;
    let (st, _) = with_token(
        &t,
        "PUT",
        &format!("/workspaces/{}/me/notifications", w.slug),
        &ann.token,
        Some(json!({"preference": "daily"})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, idea) = with_token(
        &t,
        "POST",
        &format!("/workspaces/{}/discussions/{d}/ideas", w.slug),
        &ann.token,
        Some(json!({"title": "T"})),
    )
    .await;
    assert_eq!(st, 201);
    let (st, _) = with_token(
        &t,
        "POST",
        &format!(
            "/workspaces/{}/ideas/{}/comments",
            w.slug,
            idea["id"].as_str().unwrap()
        ),
        &bob.token,
        Some(json!({"body": "Hi"})),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(t.app.pending_notifications().await.unwrap(), 0);
    assert_eq!(t.app.outbox_counts().await.unwrap().waiting, 0);
}
