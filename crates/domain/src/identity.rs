//! Rules of identity (IDN-01, IDN-02): how strong a password must be, and how strongly a person
//! signed in.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::values::{Password, ValidationError};

/// How strongly a session's person proved who they are. Ordered: a workspace that asks for
/// `Mfa` also lets in `Passkey`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AuthLevel {
    /// A password (or a single-sign-on provider that reported nothing stronger).
    Password,
    /// A password and a second factor (authenticator code or recovery code).
    Mfa,
    /// A passkey: phishing-resistant, with user verification.
    Passkey,
}

impl AuthLevel {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthLevel::Password => "password",
            AuthLevel::Mfa => "mfa",
            AuthLevel::Passkey => "passkey",
        }
    }
}

impl fmt::Display for AuthLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthLevel {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "password" => Ok(AuthLevel::Password),
            "mfa" => Ok(AuthLevel::Mfa),
            "passkey" => Ok(AuthLevel::Passkey),
            _ => Err(ValidationError::new(
                "level",
                "must be password, mfa or passkey",
            )),
        }
    }
}

/// The 20,000 most common breached passwords (see `data/README.md`), lowercased.
fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../data/common-passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// The forms of a password that are checked against the block lists: itself lowercased, with
/// digits and symbols stripped from its ends, and with common letter substitutions undone.
/// `Summer2024!` and `P@ssw0rd123` are refused because `summer` and `password` are common.
fn guessable_forms(password: &str) -> Vec<String> {
    let lower = password.to_lowercase();
    let stripped = lower.trim_matches(|c: char| !c.is_alphabetic()).to_owned();
    let unleet: String = lower
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | '!' => 'i',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            other => other,
        })
        .collect();
    let unleet_stripped = {
        let mut core = lower.as_str();
        core = core.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '@' && c != '$');
        core = core.trim_end_matches(|c: char| c.is_ascii_digit() || "!?.#*-_ ".contains(c));
        core.chars()
            .map(|c| match c {
                '0' => 'o',
                '1' => 'i',
                '3' => 'e',
                '4' | '@' => 'a',
                '5' | '$' => 's',
                '7' => 't',
                other => other,
            })
            .collect::<String>()
    };
    let mut forms = vec![lower, stripped, unleet, unleet_stripped];
    forms.retain(|f| !f.is_empty());
    forms.dedup();
    forms
}

/// What makes a new password acceptable beyond its length (IDN-01): not on the bundled list of
/// common breached passwords or the operator's own list, in any of its guessable forms, and
/// estimated by zxcvbn as safely unguessable (score 3 of 4: about 10^8 guesses or more, which
/// Argon2id makes an offline attack on a stolen hash impractical for).
#[derive(Debug, Clone, Default)]
pub struct PasswordPolicy {
    /// The operator's additional refused passwords, lowercased.
    extra: HashSet<String>,
}

impl PasswordPolicy {
    /// The lowest zxcvbn score accepted.
    pub const MIN_SCORE: u8 = 3;

    /// A policy with the operator's own refused passwords added (one per line; blank lines and
    /// lines starting with `#` are skipped).
    pub fn with_blocklist(text: &str) -> Self {
        Self {
            extra: text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_lowercase)
                .collect(),
        }
    }

    /// How many passwords the operator added.
    pub fn extra_len(&self) -> usize {
        self.extra.len()
    }

    /// Checks a new password. `personal` holds what an attacker would try first for this
    /// person (their address, name, the workspace's name): a password built from it is weak.
    pub fn check(&self, password: &Password, personal: &[&str]) -> Result<(), ValidationError> {
        let refuse = |why: &str| Err(ValidationError::new("password", why));
        let pw = password.expose();
        for form in guessable_forms(pw) {
            if common_passwords().contains(form.as_str()) || self.extra.contains(&form) {
                return refuse(
                    "is one of the passwords most often seen in data breaches; choose another \
                     (a few unrelated words make a strong one)",
                );
            }
        }
        let joined: Vec<String> = personal
            .iter()
            .map(|p| p.chars().filter(|c| c.is_alphanumeric()).collect())
            .collect();
        let inputs: Vec<&str> = personal
            .iter()
            .flat_map(|p| p.split(|c: char| c == '@' || c == '.' || c.is_whitespace()))
            .chain(personal.iter().copied())
            .chain(joined.iter().map(String::as_str))
            .chain(["ideaweave"])
            .filter(|p| p.chars().count() >= 3)
            .collect();
        // zxcvbn's work grows with length; past 100 characters a password is strong anyway
        // unless its start is weak, which the start shows.
        let head: String = pw.chars().take(100).collect();
        let estimate = zxcvbn::zxcvbn(&head, &inputs);
        if (estimate.score() as u8) < Self::MIN_SCORE {
            let mut why = String::from("is too easy to guess");
            if let Some(feedback) = estimate.feedback() {
                if let Some(warning) = feedback.warning() {
                    why.push_str(&format!(" ({warning})"));
                }
                let tips: Vec<String> = feedback
                    .suggestions()
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                if !tips.is_empty() {
                    why.push_str(": ");
                    why.push_str(&tips.join(" "));
                }
            } else {
                why.push_str(": add another word or two; uncommon words are better");
            }
            return refuse(&why);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pw: &str) -> Result<(), ValidationError> {
        PasswordPolicy::default().check(
            &Password::parse(pw).unwrap(),
            &["alice@example.org", "Alice Example"],
        )
    }

    #[test]
    fn idn_01_common_breached_passwords_are_refused_in_their_guessable_forms() {
        for pw in [
            "passwordpassword",
            "password1234",
            "P@ssw0rd12345",
            "Summer2024!!!",
            "qwertyuiop123",
            "1234567890ab",
            "iloveyou12345",
            "!!Football2023",
        ] {
            let e = check(pw).expect_err(pw);
            assert_eq!(e.field, "password", "{pw}");
        }
        assert!(common_passwords().len() > 19_000);
    }

    #[test]
    fn idn_01_weak_passwords_are_refused_with_advice() {
        for pw in [
            "aaaaaaaaaaaaaaaa",
            "abcdefghijklmnop",
            "alice@example.org",
            "aliceexample2024",
            "zxcvbnmasdfghjkl",
        ] {
            let e = check(pw).expect_err(pw);
            assert!(
                e.message.contains("guess") || e.message.contains("breaches"),
                "{pw}: {}",
                e.message
            );
        }
        let e = check("aaaaaaaaaaaaaaaa").unwrap_err();
        assert!(
            e.message.len() > "is too easy to guess".len(),
            "{}",
            e.message
        );
    }

    #[test]
    fn idn_01_strong_passwords_pass() {
        for pw in [
            "a long enough password",
            "correct horse battery staple",
            "tilted-maple-orbit-91",
            "Wq8#zL2!pV9$kR4m",
            // The demo's and the benchmark's passwords (crates/app/src/demo.rs).
            "lantern-orchard-demo",
            "bench-owner-lantern-77",
        ] {
            check(pw).unwrap_or_else(|e| panic!("{pw}: {}", e.message));
        }
    }

    #[test]
    fn idn_01_the_operators_list_is_refused_too() {
        let policy = PasswordPolicy::with_blocklist("# ours\nOrbital Kestrel Nine\n\n");
        assert_eq!(policy.extra_len(), 1);
        let pw = Password::parse("orbital kestrel nine").unwrap();
        assert!(policy.check(&pw, &[]).is_err());
        assert!(PasswordPolicy::default().check(&pw, &[]).is_ok());
    }

    #[test]
    fn idn_02_auth_levels_are_ordered_and_round_trip() {
        assert!(AuthLevel::Password < AuthLevel::Mfa && AuthLevel::Mfa < AuthLevel::Passkey);
        for l in [AuthLevel::Password, AuthLevel::Mfa, AuthLevel::Passkey] {
            assert_eq!(l.as_str().parse::<AuthLevel>().unwrap(), l);
        }
        assert!("admin".parse::<AuthLevel>().is_err());
    }
}
