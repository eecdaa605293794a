//! Email over SMTP with lettre: the [`Mailer`] the outbox sends through, the task that sends
//! what is due, and the task that queues members' daily notification digests (COL-04).

use secrecy::ExposeSecret;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use ideaweave_app::{App, Mailer, OutgoingMail};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailConfig, SmtpTls};

/// Sends through one SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for the configured server; fails only on a sender address that does not parse.
    pub fn new(c: &MailConfig) -> anyhow::Result<Self> {
        let from: Mailbox = c
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("mail.from {:?} is not an address: {e}", c.from))?;
        let builder = match c.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host),
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&c.host)?,
        };
        let mut builder = builder.port(c.port).timeout(Some(Duration::from_secs(30)));
        if let Some(creds) = &c.credentials {
            builder = builder.credentials(Credentials::new(
                creds.user.clone(),
                creds.password.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(
        &'a self,
        mail: &'a OutgoingMail,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let to: Mailbox = mail
                .to
                .parse()
                .map_err(|e| format!("the recipient {:?} is not an address: {e}", mail.to))?;
            let message = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(&mail.subject)
                .multipart(MultiPart::alternative_plain_html(
                    mail.text.clone(),
                    mail.html.clone(),
                ))
                .map_err(|e| format!("cannot build the message: {e}"))?;
            self.transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

/// How often a running server sends what is due in the outbox.
pub const SEND_EVERY: Duration = Duration::from_secs(5);

/// Sends due mail every `every`, for as long as the runtime runs.
pub fn spawn_mail_sender(app: App, mailer: SmtpMailer, every: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match app.send_due_mail(&mailer, 50).await {
                Ok(round) if round.sent + round.retrying + round.given_up > 0 => {
                    tracing::info!(?round, "outbox round");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "the outbox could not be read"),
            }
        }
    });
}

/// How often a running server looks for notification digests that are due. A member's digest
/// is due once their oldest waiting item is [`ideaweave_app::DIGEST_AFTER`] old, so it goes out
/// at most this much later.
pub const DIGESTS_EVERY: Duration = Duration::from_secs(5 * 60);

/// Queues the notification digests that are due every `every`, for as long as the runtime
/// runs; the mail sender then delivers them. Several nodes may do this at once: taking a
/// member's items claims them.
pub fn spawn_digests(app: App, every: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match app.send_due_digests(200).await {
                Ok(round) if round.digests + round.dropped > 0 => {
                    tracing::info!(?round, "notification digests");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "notification digests could not be queued"),
            }
        }
    });
}
