//! Brute-force protection for sign-in (IDN-04).
//!
//! Failed attempts are counted in two buckets: the address typed (whether or not an account
//! has it, so the answer never tells) and the client's IP address. A bucket lets
//! [`ACCOUNT_FREE_FAILURES`] (or [`CLIENT_FREE_FAILURES`], plus [`FAILURES_PER_REGULAR`] for
//! every account that signed in from that client lately) failures through; each failure after
//! that blocks it for twice as long as the one before, from [`FIRST_BLOCK_MS`] up to
//! [`LONGEST_BLOCK_MS`]. Every attempt is counted before it is checked (so parallel requests
//! cannot slip through together) and taken back when it succeeds. While a bucket is blocked,
//! attempts are refused before any password is checked, with the time to wait. A counter is
//! forgotten [`FORGET_AFTER_MS`] after its last attempt, and the address's counter when its
//! account signs in. The account's owner is
//! emailed when their address reaches its limit, at most once a day. Counters live in the
//! database, so every node of a cluster sees the same ones.

use ideaweave_domain::{Email, UserId};

use crate::platform::mail::OutgoingMail;
use crate::trust::audit::ClientInfo;
use crate::{App, AppError, AppResult};

/// Failures an address may have before it is slowed down.
pub const ACCOUNT_FREE_FAILURES: i64 = 5;
/// Failures one client address may have (over all the addresses it tries) before it is slowed
/// down: enough for an office behind one address.
pub const CLIENT_FREE_FAILURES: i64 = 20;
/// Further failures a client may have for each account that signed in from it lately
/// ([`REGULARS_FOR_MS`]): the client's allowance is proportional to the people behind it.
pub const FAILURES_PER_REGULAR: i64 = 5;
/// The most failures any client may have before it is slowed down, however many people sign
/// in from it.
pub const CLIENT_MOST_FREE_FAILURES: i64 = 250;
/// How long a successful sign-in counts towards its client's allowance.
pub const REGULARS_FOR_MS: i64 = 30 * 24 * 3_600_000;
/// The first block, in milliseconds; each further failure doubles it.
pub const FIRST_BLOCK_MS: i64 = 15_000;
/// The longest block.
pub const LONGEST_BLOCK_MS: i64 = 3_600_000;
/// A counter is forgotten this long after its last failure.
pub const FORGET_AFTER_MS: i64 = 24 * 3_600_000;
/// The owner is warned at most this often.
const WARN_EVERY_MS: i64 = 24 * 3_600_000;

/// Password-reset requests one address may make before it is slowed down (each sends a mail).
pub const RESET_ADDRESS_FREE: i64 = 3;
/// Password-reset requests one client may make, over all addresses, before it is slowed down.
pub const RESET_CLIENT_FREE: i64 = 10;

/// The buckets one attempt counts in, with how many attempts each lets through.
#[derive(Debug, Clone)]
pub(crate) struct Buckets {
    account: Option<Vec<u8>>,
    client: Option<Vec<u8>>,
    account_free: i64,
    client_free: i64,
    /// Whether the client's allowance grows with the accounts that sign in from it (sign-in;
    /// not password resets, where every request sends a mail).
    client_grows: bool,
}

impl Buckets {
    /// The client's bucket alone: what an attempt past the address's block counts in.
    pub(crate) fn client_only(&self) -> Buckets {
        Buckets {
            account: None,
            ..self.clone()
        }
    }

    /// Every bucket with its allowance, the client's grown by `regulars` accounts that signed
    /// in from it lately.
    fn all_with(&self, regulars: i64) -> impl Iterator<Item = (&[u8], i64)> {
        let client_free = if self.client_grows {
            client_allowance(self.client_free, regulars)
        } else {
            self.client_free
        };
        self.account
            .as_deref()
            .map(|a| (a, self.account_free))
            .into_iter()
            .chain(self.client.as_deref().map(move |c| (c, client_free)))
    }

    fn all(&self) -> impl Iterator<Item = (&[u8], i64)> {
        self.all_with(0)
    }
}

/// An attempt counted before it was checked, with the blocks it set in advance (lifted again
/// when it turns out right).
#[derive(Debug)]
pub(crate) struct Attempt {
    buckets: Buckets,
    blocks_set: Vec<(Vec<u8>, i64)>,
}

impl Attempt {
    /// This attempt, settled as one of `buckets` (an attempt past the address's block, counted
    /// by the client only, that proved the account's owner: its success clears the address).
    pub(crate) fn settled_as(self, buckets: &Buckets) -> Attempt {
        Attempt {
            buckets: buckets.clone(),
            ..self
        }
    }
}

/// The failures a client may have before it is slowed down: `base`, and
/// [`FAILURES_PER_REGULAR`] more for each of the `regulars` accounts that signed in from it
/// lately, up to [`CLIENT_MOST_FREE_FAILURES`].
pub fn client_allowance(base: i64, regulars: i64) -> i64 {
    base.saturating_add(regulars.max(0).saturating_mul(FAILURES_PER_REGULAR))
        .min(CLIENT_MOST_FREE_FAILURES.max(base))
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

/// The counter a client address counts in: the address itself for IPv4, its /64 network for
/// IPv6 (one subscriber gets a whole /64, and could otherwise take a new address per guess).
fn client_label(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!(
                "throttle:ip6:{:x}:{:x}:{:x}:{:x}::/64",
                s[0], s[1], s[2], s[3]
            )
        }
        Ok(std::net::IpAddr::V6(v6)) => format!(
            "throttle:ip:{}",
            v6.to_ipv4_mapped()
                .map_or_else(|| v6.to_string(), |v4| v4.to_string())
        ),
        _ => format!("throttle:ip:{ip}"),
    }
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
                Some(ip) => Some(self.keyring.keyed_index(&client_label(ip))?),
                None => None,
            },
            account_free: ACCOUNT_FREE_FAILURES,
            client_free: CLIENT_FREE_FAILURES,
            client_grows: true,
        })
    }

    /// The buckets of a password-reset request for `email` from `client` (issue 19, finding
    /// 9): counted by the address asked for, whether or not an account has it, so the answer
    /// never tells; and by the client. Every request counts: each one sends a mail.
    pub(crate) fn reset_buckets(&self, email: &Email, client: &ClientInfo) -> AppResult<Buckets> {
        Ok(Buckets {
            account: Some(
                self.keyring
                    .keyed_index(&format!("throttle:reset:{}", email.as_str()))?,
            ),
            client: match &client.ip {
                Some(ip) => Some(
                    self.keyring
                        .keyed_index(&format!("reset:{}", client_label(ip)))?,
                ),
                None => None,
            },
            account_free: RESET_ADDRESS_FREE,
            client_free: RESET_CLIENT_FREE,
            client_grows: false,
        })
    }

    /// Counts an attempt in every bucket before its password or code is checked, or refuses it
    /// while any bucket is blocked. Counting first, in one statement per bucket, means that
    /// requests sent in parallel cannot all slip through before the first one's failure is
    /// counted: the attempt that reaches a bucket's limit blocks it at once, and later ones
    /// wait. Settle the attempt with [`App::attempt_failed`] or [`App::attempt_succeeded`]; an
    /// attempt left unsettled stays counted.
    pub(crate) async fn begin_attempt(&self, buckets: &Buckets) -> AppResult<Attempt> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let regulars = match &buckets.client {
            Some(client) if buckets.client_grows => {
                tx.regulars_of(client, now - REGULARS_FOR_MS).await?
            }
            _ => 0,
        };
        let mut refused_until = 0;
        let mut counts = Vec::new();
        for (bucket, free) in buckets.all_with(regulars) {
            match tx
                .reserve_attempt(bucket, now, now - FORGET_AFTER_MS)
                .await?
            {
                Some(n) => counts.push((bucket, free, n)),
                None => {
                    let until = tx
                        .throttle(bucket)
                        .await?
                        .map_or(now + 1, |t| t.blocked_until);
                    refused_until = refused_until.max(until);
                }
            }
        }
        if refused_until > now {
            // Nothing of this attempt is counted: the transaction is dropped.
            return Err(retry_after(refused_until, now));
        }
        let mut blocks_set = Vec::new();
        for (bucket, free, n) in counts {
            let block = block_for_ms(n, free);
            if block > 0 {
                tx.block_bucket(bucket, now + block).await?;
                blocks_set.push((bucket.to_vec(), now + block));
            }
        }
        tx.commit().await?;
        Ok(Attempt {
            buckets: buckets.clone(),
            blocks_set,
        })
    }

    /// Lifts the blocks `attempt` set in advance, where nobody moved them since.
    async fn lift_own_blocks(
        &self,
        tx: &mut ideaweave_store::Tx,
        attempt: &Attempt,
    ) -> AppResult<()> {
        for (bucket, until) in &attempt.blocks_set {
            tx.lift_own_block(bucket, *until).await?;
        }
        Ok(())
    }

    /// Settles a failed attempt: when the address reached its limit and belongs to an account
    /// (`account_of_address`: the account and its sealed address), its owner is told (once a
    /// day). When this attempt blocked a bucket, the answer is the wait.
    pub(crate) async fn attempt_failed(
        &self,
        buckets: &Buckets,
        account_of_address: Option<(UserId, &[u8])>,
    ) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut blocked_until = 0;
        for (bucket, _) in buckets.all() {
            if let Some(t) = tx.throttle(bucket).await? {
                blocked_until = blocked_until.max(t.blocked_until);
            }
        }
        if let (Some(bucket), Some((user, sealed_email))) = (&buckets.account, account_of_address) {
            let at_limit = tx
                .throttle(bucket)
                .await?
                .is_some_and(|t| t.failures >= ACCOUNT_FREE_FAILURES);
            if at_limit
                && tx.mark_warned(bucket, now, now - WARN_EVERY_MS).await?
                && let Some(address) = self.account_address(&mut tx, user, sealed_email).await?
            {
                self.queue_account_mail(&mut tx, &failed_sign_ins_mail(address.as_str()))
                    .await?;
            }
        }
        tx.commit().await?;
        if blocked_until > now {
            return Err(retry_after(blocked_until, now));
        }
        Ok(())
    }

    /// Forgets the failures counted against `email`'s address: its owner proved they read the
    /// mailbox (a password reset), so a block set by someone else's guesses must not keep them
    /// out (issue 19, finding 8).
    pub(crate) async fn forget_address_failures(
        &self,
        tx: &mut ideaweave_store::Tx,
        email: &Email,
    ) -> AppResult<()> {
        let bucket = self
            .keyring
            .keyed_index(&format!("throttle:account:{}", email.as_str()))?;
        tx.clear_throttle(&bucket).await?;
        Ok(())
    }

    /// Settles a successful attempt: the address's count is forgotten; the client's attempt is
    /// taken back (its block stays: signing in to one's own account must not buy guesses at
    /// others).
    pub(crate) async fn attempt_succeeded(&self, attempt: &Attempt) -> AppResult<()> {
        let buckets = &attempt.buckets;
        let mut tx = self.store.begin().await?;
        self.lift_own_blocks(&mut tx, attempt).await?;
        if let Some(account) = &buckets.account {
            tx.clear_throttle(account).await?;
        }
        if let Some(client) = &buckets.client {
            tx.release_attempt(client).await?;
        }
        if let (Some(account), Some(client), true) =
            (&buckets.account, &buckets.client, buckets.client_grows)
        {
            tx.remember_regular(client, account, self.now()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Settles the password step of a sign-in whose second factor is still to come: the
    /// client's attempt is taken back; the address's stays counted until the second factor is
    /// given, so that a known password does not buy unlimited challenges.
    pub(crate) async fn attempt_pending(&self, attempt: &Attempt) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        self.lift_own_blocks(&mut tx, attempt).await?;
        if let Some(client) = &attempt.buckets.client {
            tx.release_attempt(client).await?;
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
        crate::platform::mail::html_escape(to)
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
    fn idn_04_a_clients_allowance_grows_with_its_regulars_up_to_a_ceiling() {
        assert_eq!(client_allowance(CLIENT_FREE_FAILURES, 0), 20);
        assert_eq!(client_allowance(CLIENT_FREE_FAILURES, 1), 25);
        assert_eq!(client_allowance(CLIENT_FREE_FAILURES, 30), 170);
        assert_eq!(
            client_allowance(CLIENT_FREE_FAILURES, 10_000),
            CLIENT_MOST_FREE_FAILURES
        );
        assert_eq!(client_allowance(CLIENT_FREE_FAILURES, i64::MAX), 250);
        assert_eq!(client_allowance(CLIENT_FREE_FAILURES, -3), 20);
    }

    #[test]
    fn idn_04_ipv6_clients_count_per_64_network() {
        assert_eq!(
            client_label("2001:db8:1:2:aaaa::1"),
            client_label("2001:db8:1:2:bbbb:cccc:dddd:eeee")
        );
        assert_ne!(
            client_label("2001:db8:1:2::1"),
            client_label("2001:db8:1:3::1")
        );
        assert_eq!(client_label("192.0.2.7"), "throttle:ip:192.0.2.7");
        assert_eq!(client_label("::ffff:192.0.2.7"), "throttle:ip:192.0.2.7");
        assert_ne!(client_label("192.0.2.7"), client_label("192.0.2.8"));
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
