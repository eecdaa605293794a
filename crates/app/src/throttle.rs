//! Brute-force protection for sign-in (IDN-04).
//!
//! Failed attempts are counted in two buckets: the address typed (whether or not an account
//! has it, so the answer never tells) and the client's IP address. A bucket lets
//! [`ACCOUNT_FREE_FAILURES`] (or [`CLIENT_FREE_FAILURES`]) failures through; each failure after
//! that blocks it for twice as long as the one before, from [`FIRST_BLOCK_MS`] up to
//! [`LONGEST_BLOCK_MS`]. While a bucket is blocked, attempts are refused before any password
//! is checked, with the time to wait. A counter is forgotten [`FORGET_AFTER_MS`] after its last
//! failure, and the address's counter when its account signs in. The account's owner is
//! emailed when their address reaches its limit, at most once a day. Counters live in the
//! database, so every node of a cluster sees the same ones.

use ideaweave_domain::{Email, UserId};
use ideaweave_store::ThrottleRecord;

use crate::audit::ClientInfo;
use crate::mail::OutgoingMail;
use crate::sealed::account;
use crate::{App, AppError, AppResult};

/// Failures an address may have before it is slowed down.
pub const ACCOUNT_FREE_FAILURES: i64 = 5;
/// Failures one client address may have (over all the addresses it tries) before it is slowed
/// down: enough for an office behind one address.
pub const CLIENT_FREE_FAILURES: i64 = 20;
/// The first block, in milliseconds; each further failure doubles it.
pub const FIRST_BLOCK_MS: i64 = 15_000;
/// The longest block.
pub const LONGEST_BLOCK_MS: i64 = 3_600_000;
/// A counter is forgotten this long after its last failure.
pub const FORGET_AFTER_MS: i64 = 24 * 3_600_000;
/// The owner is warned at most this often.
const WARN_EVERY_MS: i64 = 24 * 3_600_000;

/// The buckets one attempt counts in.
#[derive(Debug, Clone)]
pub(crate) struct Buckets {
    account: Option<Vec<u8>>,
    client: Option<Vec<u8>>,
}

impl Buckets {
    fn all(&self) -> impl Iterator<Item = (&[u8], i64)> {
        self.account
            .as_deref()
            .map(|a| (a, ACCOUNT_FREE_FAILURES))
            .into_iter()
            .chain(self.client.as_deref().map(|c| (c, CLIENT_FREE_FAILURES)))
    }
}

/// How long a bucket with `failures` failures is blocked for (0 below its limit).
pub fn block_for_ms(failures: i64, free: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = u32::try_from(failures - free).unwrap_or(u32::MAX).min(20);
    FIRST_BLOCK_MS
        .saturating_mul(1_i64 << doublings)
        .min(LONGEST_BLOCK_MS)
}

fn retry_after(blocked_until: i64, now: i64) -> AppError {
    let ms = (blocked_until - now).max(1);
    AppError::TooManyAttempts {
        retry_after_secs: u64::try_from((ms + 999) / 1000).unwrap_or(1),
    }
}

impl App {
    /// The buckets of an attempt to sign in as `email` from `client`.
    pub(crate) fn sign_in_buckets(&self, email: &str, client: &ClientInfo) -> AppResult<Buckets> {
        let address = match Email::parse(email) {
            Ok(e) => e.as_str().to_owned(),
            Err(_) => email.trim().to_lowercase(),
        };
        Ok(Buckets {
            account: Some(
                self.keyring
                    .keyed_index(&format!("throttle:account:{address}"))?,
            ),
            ..self.client_buckets(client)?
        })
    }

    /// The bucket of an attempt that names no account (a passkey sign-in): the client's only.
    pub(crate) fn client_buckets(&self, client: &ClientInfo) -> AppResult<Buckets> {
        Ok(Buckets {
            account: None,
            client: match &client.ip {
                Some(ip) => Some(self.keyring.keyed_index(&format!("throttle:ip:{ip}"))?),
                None => None,
            },
        })
    }

    /// Refuses the attempt while any of its buckets is blocked.
    pub(crate) async fn check_throttle(&self, buckets: &Buckets) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.store.read().await?;
        let mut until = 0;
        for (bucket, _) in buckets.all() {
            if let Some(t) = tx.throttle(bucket).await? {
                until = until.max(t.blocked_until);
            }
        }
        if until > now {
            return Err(retry_after(until, now));
        }
        Ok(())
    }

    /// Counts a failed attempt in every bucket. When this failure blocks a bucket, the answer
    /// is the wait; when the address reaches its limit and belongs to `account`, its owner is
    /// told (once a day).
    pub(crate) async fn count_failure(
        &self,
        buckets: &Buckets,
        account_of_address: Option<(UserId, &[u8])>,
    ) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut blocked_until = 0;
        let mut warn = false;
        for (i, (bucket, free)) in buckets.all().enumerate() {
            let old = tx
                .throttle(bucket)
                .await?
                .filter(|t| t.last_failure_at > now - FORGET_AFTER_MS);
            let failures = old.map_or(0, |t| t.failures) + 1;
            let block = block_for_ms(failures, free);
            let mut warned_at = old.and_then(|t| t.warned_at);
            if i == 0
                && buckets.account.is_some()
                && failures >= free
                && account_of_address.is_some()
                && warned_at.is_none_or(|w| w <= now - WARN_EVERY_MS)
            {
                warn = true;
                warned_at = Some(now);
            }
            let record = ThrottleRecord {
                failures,
                first_failure_at: old.map_or(now, |t| t.first_failure_at),
                last_failure_at: now,
                blocked_until: if block > 0 { now + block } else { 0 },
                warned_at,
            };
            tx.put_throttle(bucket, record).await?;
            blocked_until = blocked_until.max(record.blocked_until);
        }
        if warn && let Some((user, sealed_email)) = account_of_address {
            let address = self
                .keyring
                .open_text(&mut tx, &account("email", user), sealed_email)
                .await?;
            if let Some(address) = address {
                self.queue_account_mail(&mut tx, &failed_sign_ins_mail(&address))
                    .await?;
            }
        }
        tx.commit().await?;
        if blocked_until > now {
            return Err(retry_after(blocked_until, now));
        }
        Ok(())
    }

    /// Forgets the address's failures once its account signed in. The client's counter stays:
    /// signing in to one's own account must not buy more guesses at others.
    pub(crate) async fn clear_account_throttle(&self, buckets: &Buckets) -> AppResult<()> {
        let Some(account) = &buckets.account else {
            return Ok(());
        };
        let mut tx = self.store.begin().await?;
        if tx.throttle(account).await?.is_some() {
            tx.clear_throttle(account).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The warning to an account whose address was tried with wrong passwords.
fn failed_sign_ins_mail(to: &str) -> OutgoingMail {
    let text = format!(
        "Someone tried to sign in to your Ideaweave account ({to}) with a wrong password \
         {ACCOUNT_FREE_FAILURES} times or more. Further attempts are slowed down.\n\n\
         If that was you, you can ignore this message, or reset your password from the sign-in \
         page. If it was not you, nobody got in: your password was not accepted. Choose a strong \
         password you use nowhere else, and turn on two-factor authentication under Account › \
         Security.\n"
    );
    let html = format!(
        "<p>Someone tried to sign in to your Ideaweave account ({}) with a wrong password \
         {ACCOUNT_FREE_FAILURES} times or more. Further attempts are slowed down.</p>\
         <p>If that was you, you can ignore this message, or reset your password from the \
         sign-in page. If it was not you, nobody got in: your password was not accepted. Choose \
         a strong password you use nowhere else, and turn on two-factor authentication under \
         Account › Security.</p>",
        crate::mail::html_escape(to)
    );
    OutgoingMail {
        to: to.to_owned(),
        subject: "Failed sign-in attempts on your Ideaweave account".into(),
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idn_04_back_off_doubles_from_the_limit_up_to_an_hour() {
        assert_eq!(block_for_ms(4, 5), 0);
        assert_eq!(block_for_ms(5, 5), 15_000);
        assert_eq!(block_for_ms(6, 5), 30_000);
        assert_eq!(block_for_ms(7, 5), 60_000);
        assert_eq!(block_for_ms(12, 5), LONGEST_BLOCK_MS.min(15_000 << 7));
        assert_eq!(block_for_ms(1_000, 5), LONGEST_BLOCK_MS);
        assert_eq!(block_for_ms(i64::MAX, 5), LONGEST_BLOCK_MS);
        assert_eq!(block_for_ms(19, 20), 0);
        assert_eq!(block_for_ms(20, 20), 15_000);
    }

    #[test]
    fn idn_04_the_wait_is_rounded_up_to_whole_seconds() {
        assert!(matches!(
            retry_after(10_500, 10_000),
            AppError::TooManyAttempts {
                retry_after_secs: 1
            }
        ));
        assert!(matches!(
            retry_after(25_001, 10_000),
            AppError::TooManyAttempts {
                retry_after_secs: 16
            }
        ));
    }
}
