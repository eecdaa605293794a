//! Retention (LIF-03): how long a workspace keeps what it no longer needs.
//!
//! Three kinds of data expire, each after its own number of days, set per workspace:
//!
//! - **activity data**: where requests came from (IP address, browser), kept with audit events;
//! - **deleted content**: ideas and comments that were deleted (moderators can restore them until
//!   then), with their files, links, votes and ratings;
//! - **stale invitations**: invitations that expired or were revoked and were never accepted
//!   (they hold the invitee's email address).
//!
//! A scheduled job applies the policy; it decides nothing here but the cut-off times.

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// One day in milliseconds, the unit of every period.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The longest period a workspace may set: ten years. Longer is indistinguishable from "forever"
/// and would make the policy meaningless.
pub const MAX_DAYS: u32 = 3650;

/// A workspace's retention periods, in days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RetentionPolicy {
    /// Days that activity data (IP address, browser) is kept. Default 90.
    #[schema(minimum = 1, maximum = 3650)]
    pub activity_days: u32,
    /// Days that deleted ideas and comments are kept (restorable) before they are purged.
    /// Default 30.
    #[schema(minimum = 1, maximum = 3650)]
    pub deleted_days: u32,
    /// Days that expired or revoked invitations are kept. Default 7.
    #[schema(minimum = 1, maximum = 3650)]
    pub invitation_days: u32,
}

/// The periods as they arrive: an object with exactly these fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFields {
    activity_days: u32,
    deleted_days: u32,
    invitation_days: u32,
}

/// Only a JSON object reads as a policy. serde's derived form also takes a bare list of three
/// numbers, which would let `[1, 2, 3]` through as a policy nobody meant to set.
impl<'de> Deserialize<'de> for RetentionPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectOnly;
        impl<'de> serde::de::Visitor<'de> for ObjectOnly {
            type Value = RetentionPolicy;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object with activity_days, deleted_days and invitation_days")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RetentionPolicy, A::Error> {
                let f =
                    PolicyFields::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(RetentionPolicy {
                    activity_days: f.activity_days,
                    deleted_days: f.deleted_days,
                    invitation_days: f.invitation_days,
                })
            }
        }
        d.deserialize_map(ObjectOnly)
    }
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            activity_days: 90,
            deleted_days: 30,
            invitation_days: 7,
        }
    }
}

impl RetentionPolicy {
    /// Checks every period is between one day and [`MAX_DAYS`], naming the field that is not.
    pub fn validated(self) -> Result<Self, ValidationError> {
        for (field, days) in [
            ("activity_days", self.activity_days),
            ("deleted_days", self.deleted_days),
            ("invitation_days", self.invitation_days),
        ] {
            if !(1..=MAX_DAYS).contains(&days) {
                return Err(ValidationError::new(
                    field,
                    format!("must be between 1 and {MAX_DAYS} days"),
                ));
            }
        }
        Ok(self)
    }

    /// The cut-offs at `now` (Unix milliseconds): data of each kind older than its cut-off is
    /// due for purging.
    pub fn cutoffs(&self, now: i64) -> RetentionCutoffs {
        let before = |days: u32| now.saturating_sub(i64::from(days) * DAY_MS);
        RetentionCutoffs {
            activity_before: before(self.activity_days),
            deleted_before: before(self.deleted_days),
            invitations_before: before(self.invitation_days),
        }
    }
}

/// Times (Unix milliseconds) before which each kind of data has expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionCutoffs {
    pub activity_before: i64,
    pub deleted_before: i64,
    pub invitations_before: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_those_promised() {
        let p = RetentionPolicy::default();
        assert_eq!(
            (p.activity_days, p.deleted_days, p.invitation_days),
            (90, 30, 7)
        );
        assert_eq!(p.validated(), Ok(p));
    }

    #[test]
    fn periods_outside_one_day_to_ten_years_are_refused_by_name() {
        let zero = RetentionPolicy {
            deleted_days: 0,
            ..RetentionPolicy::default()
        };
        assert_eq!(zero.validated().unwrap_err().field, "deleted_days");
        let long = RetentionPolicy {
            invitation_days: MAX_DAYS + 1,
            ..RetentionPolicy::default()
        };
        assert_eq!(long.validated().unwrap_err().field, "invitation_days");
    }

    #[test]
    fn cutoffs_are_whole_days_before_now() {
        let c = RetentionPolicy::default().cutoffs(100 * DAY_MS);
        assert_eq!(c.activity_before, 10 * DAY_MS);
        assert_eq!(c.deleted_before, 70 * DAY_MS);
        assert_eq!(c.invitations_before, 93 * DAY_MS);
        // No overflow at the edges of time.
        let early = RetentionPolicy::default().cutoffs(i64::MIN + 1);
        assert_eq!(early.activity_before, i64::MIN);
    }
}
