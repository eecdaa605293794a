//! Demo and benchmark data.
//!
//! `serve --demo` seeds, once, a workspace that shows every feature: spaces open and private,
//! challenges with rating criteria, a few hundred ideas in several stages, threaded comments,
//! votes and ratings from several members. The content is generated deterministically so every
//! demo looks the same.

use ideaweave_domain::policy::Actor;
use ideaweave_domain::*;

use crate::platform::sealed::column;
use crate::*;
use crate::{App, AppError, AppResult, ClientInfo, CreatedWorkspace, Member};

/// The demo workspace's slug.
pub const DEMO_SLUG: &str = "demo";
/// A second, small workspace: another customer on the same instance, whose owner must see
/// nothing of the demo workspace (and the demo's members nothing of it).
pub const NEIGHBOUR_SLUG: &str = "harbour";
/// Its owner's login.
pub const NEIGHBOUR_OWNER: &str = "owner@harbour.ideaweave.test";
/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "lantern-orchard-demo";

/// The password of a benchmark workspace's owner (`admin seed-benchmark`), so the page
/// benchmarks can sign in like a browser.
pub const BENCH_PASSWORD: &str = "bench-owner-lantern-77";

/// A demo account to print at start.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub email: String,
    pub role: Role,
    /// The slug of the workspace the role is in.
    pub workspace: &'static str,
}

/// A small deterministic generator (xorshift), so the demo needs no randomness source.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const PEOPLE: [(&str, &str, Role); 9] = [
    ("owner@demo.ideaweave.test", "Olivia Owner", Role::Owner),
    ("admin@demo.ideaweave.test", "Adam Admin", Role::Admin),
    (
        "moderator@demo.ideaweave.test",
        "Mona Moderator",
        Role::Moderator,
    ),
    ("mia@demo.ideaweave.test", "Mia Member", Role::Member),
    ("max@demo.ideaweave.test", "Max Müller", Role::Member),
    ("noor@demo.ideaweave.test", "Noor Haddad", Role::Member),
    ("kenji@demo.ideaweave.test", "Kenji Sato", Role::Member),
    ("lena@demo.ideaweave.test", "Lena Berg", Role::Member),
    ("guest@demo.ideaweave.test", "Gus Guest", Role::Guest),
];

const VERBS: &[&str] = &[
    "Automate",
    "Simplify",
    "Rethink",
    "Share",
    "Measure",
    "Pilot",
    "Open up",
    "Streamline",
    "Reward",
    "Digitise",
];
const OBJECTS: &[&str] = &[
    "onboarding checklists",
    "the expense process",
    "customer feedback loops",
    "meeting-free Fridays",
    "office energy use",
    "internal documentation",
    "supplier reviews",
    "the release calendar",
    "mentoring pairs",
    "support handovers",
    "travel booking",
    "team retrospectives",
];
const QUALIFIERS: &[&str] = &[
    "for new hires",
    "across sites",
    "with a weekly digest",
    "in one place",
    "by default",
    "for remote teams",
    "using templates",
    "with clear owners",
];
const BODIES: &[&str] = &[
    "Today this takes **too many steps** and nobody owns it. A small pilot would show whether it helps.",
    "We could start with one team, measure the time saved for a month, and then decide.\n\n- low cost\n- easy to undo",
    "Several people mentioned this in the last survey. It would make the work *visible* and easier to plan.",
    "A lightweight version needs no new tools: a shared page and a clear owner are enough to begin.",
];
const COMMENTS: &[&str] = &[
    "Love this, we tried something similar in my last team and it worked well.",
    "How would we measure success here?",
    "+1, but we should check the budget first.",
    "Could we combine this with the other idea about templates?",
    "I'd be happy to help run a pilot.",
    "Good point. Maybe start small and review after a month.",
];
const TAGS: &[&str] = &[
    "quick-win",
    "people",
    "process",
    "sustainability",
    "tooling",
    "cost",
];

fn acting(ws: WorkspaceId, user: UserId, role: Role) -> Member {
    Member {
        client: ClientInfo::console(),
        reauth_at: None,
        support: None,
        workspace: ws,
        slug: DEMO_SLUG.to_owned(),
        actor: Actor {
            user,
            role,
            scope: None,
        },
    }
}

impl App {
    /// Seeds the demo workspace unless it exists. Returns the logins to print, or `None` when
    /// the demo was already there.
    #[tracing::instrument(skip_all)]
    pub async fn seed_demo(&self) -> AppResult<Option<Vec<DemoLogin>>> {
        if self
            .store
            .read()
            .await?
            .workspace_by_slug(DEMO_SLUG)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let mut users = Vec::new();
        for (email, name, role) in PEOPLE {
            let existing = self
                .account_by_email(&mut self.store.read().await?, &Email::parse(email)?)
                .await?;
            let id = match existing {
                Some(u) => u.id,
                None => {
                    self.create_user(email, name, Some(DEMO_PASSWORD), false)
                        .await?
                        .0
                        .id
                }
            };
            users.push((id, role));
        }
        let ws = match self
            .create_workspace(DEMO_SLUG, "Acme Innovation Lab", PEOPLE[0].0)
            .await?
        {
            CreatedWorkspace::OwnerAdded { id } => id,
            CreatedWorkspace::OwnerInvited { .. } => {
                return Err(AppError::internal("demo owner account missing"));
            }
        };
        for (email, _, role) in &PEOPLE[1..] {
            self.add_member(DEMO_SLUG, email, *role).await?;
        }
        let owner = acting(ws, users[0].0, Role::Owner);
        let mut criteria = Vec::new();
        for name in ["Impact", "Feasibility", "Cost efficiency"] {
            criteria.push(
                self.create_criterion(
                    &owner,
                    NamedItemInput {
                        name: name.into(),
                        position: None,
                    },
                )
                .await?
                .id,
            );
        }
        let stages: Vec<StageId> = self
            .workspace(&owner)
            .await?
            .stages
            .into_iter()
            .map(|s| s.id)
            .collect();
        let spaces = [
            (
                "Product",
                "Ideas for what we build and how customers experience it.",
                false,
            ),
            (
                "Operations",
                "How we work: processes, tools, offices.",
                false,
            ),
            (
                "Leadership",
                "Strategy topics for the leadership circle.",
                true,
            ),
        ];
        let discussions_per_space: [[(&str, DiscussionKind); 2]; 3] = [
            [
                (
                    "How can we make onboarding faster?",
                    DiscussionKind::Challenge,
                ),
                ("Customer feedback", DiscussionKind::Topic),
            ],
            [
                ("Cut our carbon footprint by 20%", DiscussionKind::Challenge),
                ("Better meetings", DiscussionKind::Topic),
            ],
            [
                ("Next year's strategic bets", DiscussionKind::Challenge),
                ("Open questions", DiscussionKind::Topic),
            ],
        ];
        let mut discussions = Vec::new();
        for ((name, description, private), ds) in spaces.into_iter().zip(discussions_per_space) {
            let space = self
                .create_space(
                    &owner,
                    SpaceInput {
                        name: name.into(),
                        description: description.into(),
                        private,
                    },
                )
                .await?;
            if private {
                self.add_space_member(
                    &owner,
                    space.id,
                    SpaceMemberInput {
                        user_id: users[2].0,
                    },
                )
                .await?;
            } else if name == "Product" {
                self.add_space_member(
                    &owner,
                    space.id,
                    SpaceMemberInput {
                        user_id: users[8].0,
                    },
                )
                .await?;
            }
            for (title, kind) in ds {
                let challenge = kind == DiscussionKind::Challenge;
                let d = self
                    .create_discussion(
                        &owner,
                        space.id,
                        DiscussionInput {
                            kind,
                            title: title.into(),
                            description: format!(
                                "Share your ideas on **{title}**. Vote for the ones you like best."
                            ),
                            deadline: None,
                            criteria: if challenge {
                                criteria.clone()
                            } else {
                                Vec::new()
                            },
                        },
                    )
                    .await?;
                discussions.push((d.id, challenge, private));
            }
        }
        let mut dice = Dice(0x5eed_1dea_u64);
        let contributors: Vec<(UserId, Role)> = users
            .iter()
            .copied()
            .filter(|(_, r)| *r >= Role::Member)
            .collect();
        for n in 0..300usize {
            let (discussion, challenge, private) = discussions[n % discussions.len()];
            let pool: Vec<(UserId, Role)> = contributors
                .iter()
                .copied()
                .filter(|(_, r)| !private || *r >= Role::Moderator)
                .collect();
            let (author, role) = pool[dice.below(pool.len())];
            let who = acting(ws, author, role);
            let title = format!(
                "{} {} {}",
                dice.pick(VERBS),
                dice.pick(OBJECTS),
                dice.pick(QUALIFIERS)
            );
            let tags = (0..dice.below(3))
                .map(|_| dice.pick(TAGS).to_owned())
                .collect();
            let idea = self
                .create_idea(
                    &who,
                    discussion,
                    IdeaInput {
                        title,
                        body: dice.pick(BODIES).into(),
                        tags,
                    },
                )
                .await?;
            let id = idea.summary.id;
            for (voter, vrole) in pool.iter().copied() {
                if dice.below(3) == 0 {
                    continue;
                }
                let direction = if dice.below(5) == 0 {
                    VoteDirection::Down
                } else {
                    VoteDirection::Up
                };
                self.vote(&acting(ws, voter, vrole), id, VoteInput { direction })
                    .await?;
                if challenge && dice.below(2) == 0 {
                    for c in &criteria {
                        let value = 1 + dice.below(5) as i64;
                        self.rate(&acting(ws, voter, vrole), id, *c, RatingInput { value })
                            .await?;
                    }
                }
            }
            let mut parent = None;
            for _ in 0..dice.below(4) {
                let (commenter, crole) = pool[dice.below(pool.len())];
                let c = self
                    .create_comment(
                        &acting(ws, commenter, crole),
                        id,
                        CommentInput {
                            body: dice.pick(COMMENTS).into(),
                            parent_id: parent,
                        },
                    )
                    .await?;
                parent = if dice.below(2) == 0 { Some(c.id) } else { None };
            }
            let stage = stages[dice.below(stages.len().min(4))];
            if stage != stages[0] {
                self.set_stage(
                    &acting(ws, users[2].0, Role::Moderator),
                    id,
                    StageInput { stage_id: stage },
                )
                .await?;
            }
        }
        self.create_user(NEIGHBOUR_OWNER, "Hana Harbour", Some(DEMO_PASSWORD), false)
            .await?;
        self.create_workspace(NEIGHBOUR_SLUG, "Harbour Logistics", NEIGHBOUR_OWNER)
            .await?;
        let mut logins: Vec<DemoLogin> = PEOPLE
            .iter()
            .map(|(email, _, role)| DemoLogin {
                email: (*email).to_owned(),
                role: *role,
                workspace: DEMO_SLUG,
            })
            .collect();
        logins.push(DemoLogin {
            email: NEIGHBOUR_OWNER.to_owned(),
            role: Role::Owner,
            workspace: NEIGHBOUR_SLUG,
        });
        Ok(Some(logins))
    }

    /// Creates a workspace `slug` with one open discussion holding `ideas` ideas, each with a few
    /// votes, `comments` comments and `files` uploaded Markdown notes spread over them, for load
    /// tests. Returns a token of its owner with `scope` (read, unless the benchmark writes) and
    /// the discussion's id.
    #[tracing::instrument(skip_all)]
    pub async fn seed_benchmark(
        &self,
        slug: &str,
        ideas: usize,
        comments: usize,
        files: usize,
        scope: TokenScope,
    ) -> AppResult<(String, DiscussionId)> {
        let email = format!("owner@{slug}.bench.ideaweave.test");
        let (owner, _) = self
            .create_user(&email, "Bench Owner", Some(BENCH_PASSWORD), false)
            .await?;
        let ws = match self.create_workspace(slug, "Benchmark", &email).await? {
            CreatedWorkspace::OwnerAdded { id } => id,
            CreatedWorkspace::OwnerInvited { .. } => {
                return Err(AppError::internal("benchmark owner missing"));
            }
        };
        let m = Member {
            client: ClientInfo::console(),
            reauth_at: None,
            support: None,
            workspace: ws,
            slug: slug.to_owned(),
            actor: Actor {
                user: owner.id,
                role: Role::Owner,
                scope: None,
            },
        };
        let space = self
            .create_space(
                &m,
                SpaceInput {
                    name: "Load".into(),
                    description: String::new(),
                    private: false,
                },
            )
            .await?;
        let d = self
            .create_discussion(
                &m,
                space.id,
                DiscussionInput {
                    kind: DiscussionKind::Topic,
                    title: "Load test".into(),
                    description: String::new(),
                    deadline: None,
                    criteria: vec![],
                },
            )
            .await?;
        let stage = self
            .workspace(&m)
            .await?
            .stages
            .first()
            .map(|s| s.id)
            .ok_or_else(|| AppError::internal("workspace has no stages"))?;
        let mut dice = Dice(0xbe_9c4u64);
        let mut done = 0;
        let keep_ids = comments > 0 || files > 0;
        let mut idea_ids = Vec::with_capacity(if keep_ids { ideas } else { 0 });
        while done < ideas {
            let batch = (ideas - done).min(2000);
            let mut tx = self.store.begin().await?;
            let mut repo = tx.workspace(ws);
            for _ in 0..batch {
                let title = IdeaTitle::parse(&format!(
                    "{} {} {}",
                    dice.pick(VERBS),
                    dice.pick(OBJECTS),
                    dice.pick(QUALIFIERS)
                ))?;
                let body = IdeaBody::parse(dice.pick(BODIES))?;
                let excerpt = markdown::excerpt(body.as_str(), 280);
                let tags = [Tag::parse(dice.pick(TAGS))?];
                let id = IdeaId::new();
                if keep_ids {
                    idea_ids.push(id);
                }
                let now = self.now();
                let (summary, body, tag_index) = self
                    .seal_idea(
                        &mut repo,
                        owner.id,
                        id,
                        &title,
                        body.as_str(),
                        &excerpt,
                        &tags,
                        now,
                    )
                    .await?;
                repo.insert_idea(
                    ideaweave_store::NewIdea {
                        id,
                        discussion: d.id,
                        author: owner.id,
                        summary: &summary,
                        body: &body,
                        tag_index: &tag_index,
                        stage,
                        hot: ranking::hot_score(0, now),
                    },
                    now,
                )
                .await?;
                if dice.below(2) == 0 {
                    repo.upsert_vote(id, owner.id, if dice.below(4) == 0 { -1 } else { 1 }, now)
                        .await?;
                    repo.recount_idea(id).await?;
                }
            }
            tx.commit().await?;
            done += batch;
            // Fresh statistics between batches keep the planner from keeping plans made for
            // empty tables (on PostgreSQL the load slowed to 90 ideas/s without this).
            self.store.analyze().await?;
        }
        // Comments, spread evenly over the ideas (for the export benchmark, LIF-01).
        let mut done = 0;
        while done < comments && !idea_ids.is_empty() {
            let batch = (comments - done).min(2000);
            let mut tx = self.store.begin().await?;
            let mut repo = tx.workspace(ws);
            let now = self.now();
            let key = self
                .keyring
                .data_key(&mut repo, Some(owner.id), now)
                .await?;
            for n in 0..batch {
                let idea = idea_ids[(done + n) % idea_ids.len()];
                let id = CommentId::new();
                let body = key.seal_text(ws, column::COMMENTS_BODY, id.0, dice.pick(BODIES))?;
                repo.insert_comment(id, idea, None, owner.id, &body, now)
                    .await?;
            }
            tx.commit().await?;
            done += batch;
        }
        // Files (the search benchmark, COL-05): Markdown notes of a few kilobytes, uploaded like
        // any file, so their text is read by the text reader when the workspace is indexed.
        for n in 0..files {
            let Some(idea) = idea_ids.get(n % idea_ids.len().max(1)).copied() else {
                break;
            };
            let text = (0..24)
                .map(|_| dice.pick(BODIES))
                .collect::<Vec<_>>()
                .join("\n\n");
            let body = futures_util::stream::iter([Ok(bytes::Bytes::from(text))]);
            self.upload(&m, idea, None, &format!("notes-{n}.md"), body)
                .await?;
        }
        let token = self
            .mint_token(
                ws,
                owner.id,
                TokenInput {
                    name: "benchmark".into(),
                    scope,
                    expires_in_days: None,
                },
                crate::Who::Operator,
                &ClientInfo::console(),
            )
            .await?;
        Ok((token.secret, d.id))
    }
}

impl App {
    /// Appends `n` synthetic operator events to the audit log, `batch` per transaction, for
    /// benchmarks (`cargo xtask bench audit`). Returns the seconds spent appending.
    #[tracing::instrument(skip_all)]
    pub async fn seed_audit_entries(
        &self,
        n: u64,
        batch: u64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> AppResult<f64> {
        let batch = batch.max(1);
        let client = ClientInfo::console();
        let started = std::time::Instant::now();
        let mut done = 0;
        while done < n {
            let count = batch.min(n - done);
            let events = (0..count)
                .map(|_| crate::AuditEvent {
                    workspace: None,
                    actor: crate::Who::Operator,
                    action: crate::AuditAction::KeysMasterRotated,
                    target: crate::Target::Thing("benchmark", uuid::Uuid::now_v7()),
                    outcome: crate::Outcome::Success,
                    client: &client,
                    facts: serde_json::json!({"synthetic": true}),
                })
                .collect();
            let mut tx = self.store.begin().await?;
            self.audit_batch(&mut tx, events).await?;
            tx.commit().await?;
            done += count;
            progress(done);
        }
        Ok(started.elapsed().as_secs_f64())
    }
}

/// What generating audit proofs costs at the log's current size (`cargo xtask bench audit`).
#[derive(Debug, Clone, Copy)]
pub struct AuditProofTiming {
    /// Entries in the log.
    pub size: u64,
    /// Mean milliseconds to build an inclusion proof file.
    pub inclusion_ms: f64,
    /// Bytes of the largest inclusion proof file sampled (JSON).
    pub inclusion_bytes: usize,
    /// Hashes in that proof.
    pub inclusion_hashes: usize,
    /// Mean milliseconds to build a consistency proof file from the first signed checkpoint.
    pub consistency_ms: f64,
    /// Bytes of a consistency proof file (JSON).
    pub consistency_bytes: usize,
}

impl App {
    /// Times `samples` inclusion proofs of entries spread over the log and as many consistency
    /// proofs from its first signed checkpoint to a fresh one.
    #[tracing::instrument(skip_all)]
    pub async fn time_audit_proofs(&self, samples: u64) -> AppResult<AuditProofTiming> {
        let note = self.sign_audit_checkpoint().await?;
        let cp = self
            .audit_verifier_key()?
            .verify(&note)
            .map_err(|e| AppError::internal(e.to_string()))?;
        let size = cp.size;
        let first = {
            let mut tx = self.store.read().await?;
            tx.audit_checkpoints()
                .await?
                .first()
                .map(|c| c.size as u64)
                .unwrap_or(size)
        };
        let samples = samples.max(1);
        let json =
            |p: &ideaweave_audit::ProofFile| serde_json::to_vec(p).map(|v| v.len()).unwrap_or(0);
        let started = std::time::Instant::now();
        let mut largest: Option<(usize, ideaweave_audit::ProofFile)> = None;
        for i in 0..samples {
            let p = self.audit_inclusion_proof(size * i / samples).await?;
            let len = json(&p);
            if largest.as_ref().is_none_or(|(l, _)| len > *l) {
                largest = Some((len, p));
            }
        }
        let inclusion_ms = started.elapsed().as_secs_f64() * 1000.0 / samples as f64;
        let (_, inclusion) = largest.ok_or_else(|| AppError::internal("no proof"))?;
        let started = std::time::Instant::now();
        let mut consistency = None;
        for _ in 0..samples {
            consistency = Some(self.audit_consistency_proof(first, Some(size)).await?);
        }
        let consistency_ms = started.elapsed().as_secs_f64() * 1000.0 / samples as f64;
        let hashes = match &inclusion {
            ideaweave_audit::ProofFile::Inclusion { proof, .. } => proof.len(),
            _ => 0,
        };
        Ok(AuditProofTiming {
            size,
            inclusion_ms,
            inclusion_bytes: json(&inclusion),
            inclusion_hashes: hashes,
            consistency_ms,
            consistency_bytes: consistency.as_ref().map(json).unwrap_or(0),
        })
    }
}
