//! The request desk (DSR-05, DSR-06): admins record data-subject requests, complaints and
//! authority inquiries that reached the workspace by other channels; each is due one month
//! after receipt, with reminders to the workspace's admins a week before and once overdue; they
//! act on it from the desk (an erasure, the person's data) and answer it, and a rectification,
//! erasure or restriction carried out is notified to those the data was shared with (Art. 19).
//! Requests that reach the operator are forwarded here and to the owners by email, and never
//! answered by the operator (DSR-06).

use ideaweave_domain::policy::Action;
use ideaweave_domain::requests::{Reminder, answer_due, reminder_due};
use ideaweave_domain::*;
use ideaweave_store::{NewRequest, RequestRow, Tx};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::platform::mail::{OutgoingMail, plain_mail, utc_date};
use crate::platform::sealed::{Column, column};
use crate::platform::sealed::{ERASED, at};
use crate::trust::audit::{AuditAction, AuditEvent, ClientInfo, Outcome, Target, Who};
use crate::{App, AppError, AppResult, ErasureInput, Member};

/// Most recipients one answer may notify.
const MAX_NOTICES: usize = 20;

/// A request to record.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    pub kind: RequestKind,
    pub channel: RequestChannel,
    /// Who asked, as they gave it (a name and an address).
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub requester: String,
    /// The member concerned, when it is one.
    #[serde(default)]
    pub subject_id: Option<UserId>,
    /// What is asked, in your words.
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub details: String,
    /// When it arrived (Unix milliseconds); now when left out. Not in the future.
    #[serde(default)]
    pub received_at: Option<i64>,
}

/// The answer to a request.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    /// `done` or `refused`.
    pub state: RequestState,
    /// What was done, or why it was refused.
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    pub resolution: String,
    /// For a rectification, erasure or restriction carried out: the addresses of those the
    /// data was shared with, who are told of it (Art. 19).
    #[serde(default)]
    pub notify: Vec<String>,
}

/// An Art. 19 notice sent.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoticeView {
    pub recipient: String,
    pub sent_at: i64,
}

/// A request on the desk.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestView {
    pub id: RequestId,
    pub kind: RequestKind,
    pub channel: RequestChannel,
    pub requester: String,
    /// The member concerned, if known (and not erased since).
    pub subject_id: Option<UserId>,
    pub details: String,
    pub received_at: i64,
    /// When the answer is due: one month after receipt.
    pub due_at: i64,
    /// Open past its due date.
    pub overdue: bool,
    pub state: RequestState,
    pub resolution: Option<String>,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<UserId>,
    /// Who recorded it; `None` when the operator forwarded it.
    pub recorded_by: Option<UserId>,
    /// Forwarded by the operator of the instance (DSR-06).
    pub forwarded_by_operator: bool,
    /// Reminders sent to the admins so far (0–2).
    pub reminders: i32,
    pub notices: Vec<NoticeView>,
}

/// A request the operator received, to forward to a workspace (DSR-06).
#[derive(Debug, Clone)]
pub struct ForwardedRequest {
    pub kind: RequestKind,
    pub requester: String,
    pub details: String,
    /// When the operator received it (Unix milliseconds); now when `None`.
    pub received_at: Option<i64>,
}

/// The personal data of one person in one workspace, for answering an access or portability
/// request from the desk.
#[derive(Debug, Serialize)]
pub struct WorkspacePersonalData {
    pub format: &'static str,
    pub generated_at: i64,
    pub request: Uuid,
    pub workspace: crate::privacy::personal_data::WorkspaceData,
}

fn parse<T: std::str::FromStr<Err = String>>(what: &str, s: &str) -> AppResult<T> {
    s.parse()
        .map_err(|e: String| AppError::internal_from(format!("reading a stored {what}"), e))
}

impl App {
    async fn request_view(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        r: RequestRow,
    ) -> AppResult<RequestView> {
        let text = |c: Column| at(ws, c, r.id);
        let mut notices = Vec::new();
        for (id, recipient, sent_at) in tx.workspace(ws).notices(r.id).await? {
            notices.push(NoticeView {
                recipient: self
                    .open_text(
                        tx,
                        &at(ws, column::PRIVACY_NOTICES_RECIPIENT, id),
                        &recipient,
                    )
                    .await?,
                sent_at,
            });
        }
        let state: RequestState = parse("request state", &r.state)?;
        Ok(RequestView {
            requester: self
                .open_text(tx, &text(column::PRIVACY_REQUESTS_REQUESTER), &r.requester)
                .await?,
            details: self
                .open_text(tx, &text(column::PRIVACY_REQUESTS_DETAILS), &r.details)
                .await?,
            resolution: match &r.resolution {
                Some(sealed) => Some(
                    self.open_text(tx, &text(column::PRIVACY_REQUESTS_RESOLUTION), sealed)
                        .await?,
                ),
                None => None,
            },
            id: RequestId(r.id),
            kind: parse("request kind", &r.kind)?,
            channel: parse("request channel", &r.channel)?,
            subject_id: r.subject_id.map(UserId),
            received_at: r.received_at,
            due_at: r.due_at,
            overdue: state == RequestState::Open && self.now() > r.due_at,
            state,
            resolved_at: r.resolved_at,
            resolved_by: r.resolved_by.map(UserId),
            forwarded_by_operator: r.channel == "operator" && r.recorded_by.is_none(),
            recorded_by: r.recorded_by.map(UserId),
            reminders: r.reminders,
            notices,
        })
    }

    /// Records a request that reached the workspace (admins).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn record_request(&self, m: &Member, input: RequestInput) -> AppResult<RequestView> {
        m.allow(Action::ManageSettings)?;
        m.refuse_support()?;
        if input.channel == RequestChannel::Operator {
            return Err(AppError::invalid(
                "channel",
                "only the operator forwards requests; choose how it reached you",
            ));
        }
        let requester = Requester::parse(&input.requester)?;
        let details = RequestDetails::parse(&input.details)?;
        let now = self.now();
        let received = check_received("received_at", input.received_at, now)?;
        let mut tx = self.store.begin().await?;
        if let Some(subject) = input.subject_id {
            let mut repo = tx.workspace(m.workspace);
            if repo.member(subject).await?.is_none() && repo.dek_of(Some(subject)).await?.is_none()
            {
                return Err(AppError::invalid(
                    "subject_id",
                    "is neither a member nor someone whose contributions this workspace keeps",
                ));
            }
        }
        let id = self
            .insert_request(
                &mut tx,
                m.workspace,
                input.kind,
                input.channel,
                &requester,
                input.subject_id,
                &details,
                received,
                Some(m.actor.user),
            )
            .await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::RequestRecorded,
            Target::Thing("request", id),
            json!({"kind": input.kind, "channel": input.channel, "received_at": received}),
        )
        .await?;
        let row = tx
            .workspace(m.workspace)
            .request(id)
            .await?
            .ok_or(AppError::NotFound("request"))?;
        let view = self.request_view(&mut tx, m.workspace, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_request(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        kind: RequestKind,
        channel: RequestChannel,
        requester: &Requester,
        subject: Option<UserId>,
        details: &RequestDetails,
        received: i64,
        recorded_by: Option<UserId>,
    ) -> AppResult<Uuid> {
        let now = self.now();
        let id = Uuid::now_v7();
        let mut repo = tx.workspace(ws);
        let key = self.keyring.data_key(&mut repo, None, now).await?;
        let requester = key.seal_text(
            ws,
            column::PRIVACY_REQUESTS_REQUESTER,
            id,
            requester.as_str(),
        )?;
        let details = key.seal_text(ws, column::PRIVACY_REQUESTS_DETAILS, id, details.as_str())?;
        repo.insert_request(
            NewRequest {
                id,
                kind: kind.as_str(),
                channel: channel.as_str(),
                requester: &requester,
                subject_id: subject.map(|s| s.0),
                details: &details,
                received_at: received,
                due_at: answer_due(received),
                recorded_by: recorded_by.map(|u| u.0),
            },
            now,
        )
        .await?;
        Ok(id)
    }

    /// The workspace's requests: open ones by due date, then answered ones (admins).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn requests(&self, m: &Member) -> AppResult<Vec<RequestView>> {
        m.allow(Action::ManageSettings)?;
        m.refuse_support()?;
        let mut tx = self.store.read().await?;
        let rows = tx.workspace(m.workspace).requests().await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.request_view(&mut tx, m.workspace, r).await?);
        }
        Ok(out)
    }

    /// One request (admins).
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn request(&self, m: &Member, RequestId(id): RequestId) -> AppResult<RequestView> {
        m.allow(Action::ManageSettings)?;
        m.refuse_support()?;
        let mut tx = self.store.read().await?;
        let row = tx
            .workspace(m.workspace)
            .request(id)
            .await?
            .ok_or(AppError::NotFound("request"))?;
        self.request_view(&mut tx, m.workspace, row).await
    }

    /// Answers a request (admins). A rectification, erasure or restriction carried out is told
    /// to every address in `notify` by email (Art. 19), and each notice is recorded.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn resolve_request(
        &self,
        m: &Member,
        RequestId(id): RequestId,
        input: ResolveInput,
    ) -> AppResult<RequestView> {
        m.allow(Action::ManageSettings)?;
        m.refuse_support()?;
        if input.state == RequestState::Open {
            return Err(AppError::invalid("state", "must be done or refused"));
        }
        let resolution = RequestResolution::parse(&input.resolution)?;
        let current = self.request(m, RequestId(id)).await?;
        if current.state != RequestState::Open {
            return Err(AppError::Conflict(
                "this request was answered already".into(),
            ));
        }
        if !input.notify.is_empty()
            && (!current.kind.needs_recipient_notices() || input.state != RequestState::Done)
        {
            return Err(AppError::invalid(
                "notify",
                "only a rectification, erasure or restriction carried out is notified to recipients",
            ));
        }
        if input.notify.len() > MAX_NOTICES {
            return Err(AppError::invalid(
                "notify",
                format!("at most {MAX_NOTICES} recipients"),
            ));
        }
        let recipients = input
            .notify
            .iter()
            .map(|e| {
                Email::parse(e.trim()).map_err(|_| {
                    AppError::invalid("notify", format!("{e:?} is not an email address"))
                })
            })
            .collect::<AppResult<Vec<_>>>()?;
        let now = self.now();
        let ws = m.workspace;
        let mut tx = self.store.begin().await?;
        let key = self
            .keyring
            .data_key(&mut tx.workspace(ws), None, now)
            .await?;
        let sealed = key.seal_text(
            ws,
            column::PRIVACY_REQUESTS_RESOLUTION,
            id,
            resolution.as_str(),
        )?;
        if !tx
            .workspace(ws)
            .resolve_request(id, input.state.as_str(), &sealed, m.actor.user.0, now)
            .await?
        {
            return Err(AppError::Conflict(
                "this request was answered already".into(),
            ));
        }
        let workspace = self.workspace_display_name(&mut tx, ws).await?;
        for r in &recipients {
            let notice = Uuid::now_v7();
            let sealed_to =
                key.seal_text(ws, column::PRIVACY_NOTICES_RECIPIENT, notice, r.as_str())?;
            tx.workspace(ws)
                .insert_notice(id, notice, &sealed_to, now)
                .await?;
            self.queue_mail(
                &mut tx,
                ws,
                &recipient_notice(r.as_str(), &workspace, current.kind, id, now),
            )
            .await?;
        }
        self.audit_by(
            &mut tx,
            m,
            AuditAction::RequestResolved,
            Target::Thing("request", id),
            json!({
                "kind": current.kind,
                "state": input.state,
                "on_time": now <= current.due_at,
                "notices": recipients.len(),
            }),
        )
        .await?;
        let row = tx
            .workspace(ws)
            .request(id)
            .await?
            .ok_or(AppError::NotFound("request"))?;
        let view = self.request_view(&mut tx, ws, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Carries out an erasure request from the desk: erases its person in `mode` (see
    /// [`App::erase_person`]); the admin then answers the request.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn erase_for_request(
        &self,
        m: &Member,
        RequestId(id): RequestId,
        input: ErasureInput,
    ) -> AppResult<crate::ErasureReport> {
        let r = self.request(m, RequestId(id)).await?;
        if r.kind != RequestKind::Erasure || r.state != RequestState::Open {
            return Err(AppError::Conflict(
                "only an open erasure request is carried out this way".into(),
            ));
        }
        let subject = r.subject_id.ok_or_else(|| {
            AppError::Conflict(
                "this request names no member; erase them from the members page".into(),
            )
        })?;
        self.erase_person(m, subject, input).await
    }

    /// The person's data in this workspace, to answer an access or portability request
    /// (admins); recorded as `request.data_prepared`.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn personal_data_for_request(
        &self,
        m: &Member,
        RequestId(id): RequestId,
    ) -> AppResult<WorkspacePersonalData> {
        let r = self.request(m, RequestId(id)).await?;
        if !matches!(r.kind, RequestKind::Access | RequestKind::Portability) {
            return Err(AppError::Conflict(
                "only an access or portability request is answered with the person's data".into(),
            ));
        }
        let subject = r.subject_id.ok_or_else(|| {
            AppError::Conflict("this request names no member whose data could be gathered".into())
        })?;
        let mut tx = self.store.begin().await?;
        let held = tx
            .workspaces_holding(subject)
            .await?
            .into_iter()
            .find(|h| h.workspace_id == m.workspace)
            .ok_or(AppError::NotFound("person"))?;
        let workspace = self.workspace_data(&mut tx, subject, held).await?;
        self.audit_by(
            &mut tx,
            m,
            AuditAction::RequestDataPrepared,
            Target::Thing("request", id),
            json!({"kind": r.kind}),
        )
        .await?;
        tx.commit().await?;
        Ok(WorkspacePersonalData {
            format: "ideaweave.workspace-personal-data/1",
            generated_at: self.now(),
            request: id,
            workspace,
        })
    }

    /// Forwards a request that reached the operator to a workspace (DSR-06): it is recorded on
    /// the desk (channel `operator`) and every owner is emailed at once. The operator records
    /// and forwards; nothing lets the operator answer it.
    #[tracing::instrument(skip_all)]
    pub async fn forward_request(&self, slug: &str, f: ForwardedRequest) -> AppResult<Uuid> {
        let ws = self.workspace_id(slug).await?;
        let requester = Requester::parse(&f.requester)?;
        let details = RequestDetails::parse(&f.details)?;
        let now = self.now();
        let received = check_received("received", f.received_at, now)?;
        let mut tx = self.store.begin().await?;
        let id = self
            .insert_request(
                &mut tx,
                ws,
                f.kind,
                RequestChannel::Operator,
                &requester,
                None,
                &details,
                received,
                None,
            )
            .await?;
        let workspace = self.workspace_display_name(&mut tx, ws).await?;
        for to in self.member_addresses(&mut tx, ws, &[Role::Owner]).await? {
            let mail = forwarded_mail(
                &to,
                &workspace,
                slug,
                &f,
                &requester,
                &details,
                received,
                &self.settings.public_url,
                id,
            );
            self.queue_mail(&mut tx, ws, &mail).await?;
        }
        self.audit(
            &mut tx,
            AuditEvent {
                workspace: Some(ws),
                actor: Who::Operator,
                action: AuditAction::RequestForwarded,
                target: Target::Thing("request", id),
                outcome: Outcome::Success,
                client: &ClientInfo::console(),
                facts: json!({"kind": f.kind, "received_at": received}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Emails the workspace's admins about open requests due within a week or overdue, once
    /// each (called by the hourly job); returns how many reminders were queued.
    #[tracing::instrument(skip_all)]
    pub async fn remind_requests(&self) -> AppResult<u64> {
        let now = self.now();
        let mut sent = 0;
        for w in self.store.read().await?.list_workspaces().await? {
            let mut tx = self.store.begin().await?;
            let due = tx
                .workspace(w.id)
                .requests_to_remind(now + ideaweave_domain::requests::REMIND_BEFORE_MS)
                .await?;
            if due.is_empty() {
                continue;
            }
            let workspace = self.workspace_display_name(&mut tx, w.id).await?;
            let admins = self
                .member_addresses(&mut tx, w.id, &[Role::Owner, Role::Admin])
                .await?;
            for r in due {
                let Some(reminder) =
                    reminder_due(now, r.due_at, u32::try_from(r.reminders).unwrap_or(2))
                else {
                    continue;
                };
                let kind: RequestKind = parse("request kind", &r.kind)?;
                let count = match reminder {
                    Reminder::DueSoon => 1,
                    Reminder::Overdue => 2,
                };
                // Moved first: a node that finds it moved already sends nothing.
                if !tx
                    .workspace(w.id)
                    .set_request_reminders(r.id, count)
                    .await?
                {
                    continue;
                }
                for to in &admins {
                    let mail = reminder_mail(
                        to,
                        &workspace,
                        &w.slug,
                        kind,
                        r.id,
                        r.due_at,
                        reminder,
                        &self.settings.public_url,
                    );
                    self.queue_mail(&mut tx, w.id, &mail).await?;
                    sent += 1;
                }
            }
            tx.commit().await?;
        }
        Ok(sent)
    }

    /// What erasing a person does to the requests about them: what they say of the person is
    /// replaced by `[erased]`, the link to them dropped (DSR-03).
    pub(crate) async fn redact_requests_about(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        person: UserId,
    ) -> AppResult<()> {
        let ids = tx.workspace(ws).requests_about(person.0).await?;
        if ids.is_empty() {
            return Ok(());
        }
        let key = self
            .keyring
            .data_key(&mut tx.workspace(ws), None, self.now())
            .await?;
        for id in ids {
            let row = tx
                .workspace(ws)
                .request(id)
                .await?
                .ok_or(AppError::NotFound("request"))?;
            let requester = key.seal_text(ws, column::PRIVACY_REQUESTS_REQUESTER, id, ERASED)?;
            let details = key.seal_text(ws, column::PRIVACY_REQUESTS_DETAILS, id, ERASED)?;
            let resolution = match row.resolution {
                Some(_) => {
                    Some(key.seal_text(ws, column::PRIVACY_REQUESTS_RESOLUTION, id, ERASED)?)
                }
                None => None,
            };
            tx.workspace(ws)
                .redact_request(id, &requester, &details, resolution.as_deref())
                .await?;
        }
        Ok(())
    }
}

fn recipient_notice(
    to: &str,
    workspace: &str,
    kind: RequestKind,
    id: Uuid,
    now: i64,
) -> OutgoingMail {
    let what = match kind {
        RequestKind::Rectification => "a rectification",
        RequestKind::Erasure => "an erasure",
        _ => "a restriction of processing",
    };
    plain_mail(
        to,
        format!("Notice under GDPR Art. 19: {what} by {workspace}"),
        format!(
            "{workspace} informs you that {what} of personal data it shared with you was carried out on {} \
             (reference {id}).\n\nPlease apply it to the copies of that data you hold.",
            utc_date(now)
        ),
    )
}

#[allow(clippy::too_many_arguments)]
fn forwarded_mail(
    to: &str,
    workspace: &str,
    slug: &str,
    f: &ForwardedRequest,
    requester: &Requester,
    details: &RequestDetails,
    received: i64,
    public_url: &str,
    id: Uuid,
) -> OutgoingMail {
    plain_mail(
        to,
        format!(
            "A {} request about {workspace} reached the operator",
            f.kind
        ),
        format!(
            "The operator of this Ideaweave instance received a {} request concerning your workspace {workspace} \
             on {}, from: {}.\n\n{}\n\nThe operator does not answer it: you, as the controller, do. It is on your \
             request desk, due {}: {public_url}/w/{slug}/requests/{id}",
            f.kind,
            utc_date(received),
            requester.as_str(),
            details.as_str(),
            utc_date(answer_due(received)),
        ),
    )
}

#[allow(clippy::too_many_arguments)]
fn reminder_mail(
    to: &str,
    workspace: &str,
    slug: &str,
    kind: RequestKind,
    id: Uuid,
    due: i64,
    reminder: Reminder,
    public_url: &str,
) -> OutgoingMail {
    let (subject, lead) = match reminder {
        Reminder::DueSoon => (
            format!("Due {}: a {kind} request in {workspace}", utc_date(due)),
            format!(
                "A {kind} request in {workspace} must be answered by {}.",
                utc_date(due)
            ),
        ),
        Reminder::Overdue => (
            format!("Overdue: a {kind} request in {workspace}"),
            format!(
                "A {kind} request in {workspace} was due on {} and is still open.",
                utc_date(due)
            ),
        ),
    };
    plain_mail(
        to,
        subject,
        format!("{lead}\n\nAnswer it on the request desk: {public_url}/w/{slug}/requests/{id}"),
    )
}

/// When a request arrived (Unix ms), `now` when not given: not in the future, and not more
/// than ten years back (a request older than its answer's deadline by a decade is a typo, and
/// an absurd date would make its due date overflow).
fn check_received(field: &'static str, given: Option<i64>, now: i64) -> AppResult<i64> {
    const TEN_YEARS_MS: i64 = 3_653 * 86_400_000;
    let received = given.unwrap_or(now);
    if received > now.saturating_add(60_000) {
        return Err(AppError::invalid(field, "cannot be in the future"));
    }
    if received < now.saturating_sub(TEN_YEARS_MS) {
        return Err(AppError::invalid(
            field,
            "must be within the last ten years",
        ));
    }
    Ok(received)
}
