//! Data-subject requests that reach a workspace by other channels (DSR-05, DSR-06): what kinds
//! there are, when an answer is due (one month, GDPR Art. 12(3)), and when admins are reminded.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::retention::DAY_MS;

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $s:literal),+ $(,)? } $what:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The name used in the API and the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    format!("unknown {} {s:?}: expected one of {}", $what, names.join(", "))
                })
            }
        }
    };
}

named_enum! {
    /// What a request asks for.
    RequestKind {
        /// A copy of one's data (Art. 15).
        Access => "access",
        /// Correction of one's data (Art. 16).
        Rectification => "rectification",
        /// Erasure (Art. 17).
        Erasure => "erasure",
        /// Restriction of processing (Art. 18).
        Restriction => "restriction",
        /// One's data in a portable format (Art. 20).
        Portability => "portability",
        /// Objection to processing (Art. 21).
        Objection => "objection",
        /// A complaint about how data is processed.
        Complaint => "complaint",
        /// An inquiry or audit by a supervisory authority or another agency.
        Authority => "authority",
    } "request kind"
}

named_enum! {
    /// How a request arrived.
    RequestChannel {
        /// By email.
        Email => "email",
        /// By letter.
        Letter => "letter",
        /// By telephone.
        Phone => "phone",
        /// In person.
        InPerson => "in_person",
        /// Through the operator of the instance, who forwarded it (DSR-06).
        Operator => "operator",
        /// Any other way.
        Other => "other",
    } "request channel"
}

named_enum! {
    /// Where a request stands.
    RequestState {
        /// Waiting for an answer.
        Open => "open",
        /// Answered by doing what was asked.
        Done => "done",
        /// Answered by refusing, with the reason recorded.
        Refused => "refused",
    } "request state"
}

impl RequestKind {
    /// Whether carrying it out must be told to those the data was shared with (Art. 19).
    pub fn needs_recipient_notices(self) -> bool {
        matches!(
            self,
            RequestKind::Rectification | RequestKind::Erasure | RequestKind::Restriction
        )
    }
}

/// Days from the Unix epoch to a civil date (proleptic Gregorian), after Howard Hinnant.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from the Unix epoch.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The day count from the Unix epoch of a civil date (UTC).
pub fn civil_days(y: i64, m: i64, d: i64) -> i64 {
    days_from_civil(y, m, d)
}

/// The civil date (year, month, day) of a day count from the Unix epoch, in UTC.
pub fn civil_date(days: i64) -> (i64, i64, i64) {
    civil_from_days(days)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)
}

/// When the answer to a request received at `received_ms` is due: one calendar month later
/// (the same day of the next month, or its last day when that month is shorter), same time of
/// day, in UTC.
pub fn answer_due(received_ms: i64) -> i64 {
    let day = received_ms.div_euclid(DAY_MS);
    let time = received_ms.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(day);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let nd = d.min(days_in_month(ny, nm));
    days_from_civil(ny, nm, nd) * DAY_MS + time
}

/// Admins are reminded this long before an answer is due.
pub const REMIND_BEFORE_MS: i64 = 7 * DAY_MS;

/// Which reminder an open request needs now, given how many were sent: the first a week before
/// it is due, the second once it is overdue. `None` when none is needed.
pub fn reminder_due(now: i64, due_at: i64, sent: u32) -> Option<Reminder> {
    if sent < 2 && now >= due_at {
        Some(Reminder::Overdue)
    } else if sent < 1 && now >= due_at - REMIND_BEFORE_MS {
        Some(Reminder::DueSoon)
    } else {
        None
    }
}

/// A reminder about an open request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reminder {
    /// Due within a week.
    DueSoon,
    /// Past its due date.
    Overdue,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i64, m: i64, d: i64) -> i64 {
        days_from_civil(y, m, d) * DAY_MS + 3_600_000
    }

    #[test]
    fn dsr_05_an_answer_is_due_one_calendar_month_later() {
        assert_eq!(answer_due(at(2026, 11, 24)), at(2026, 12, 24));
        assert_eq!(answer_due(at(2026, 12, 15)), at(2027, 1, 15));
        assert_eq!(answer_due(at(2027, 1, 31)), at(2027, 2, 28), "short month");
        assert_eq!(answer_due(at(2028, 1, 31)), at(2028, 2, 29), "leap year");
        assert_eq!(answer_due(at(2026, 3, 31)), at(2026, 4, 30));
        assert_eq!(answer_due(0), days_from_civil(1970, 2, 1) * DAY_MS);
        for day in 0..3000 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }

    #[test]
    fn dsr_05_reminders_come_a_week_before_and_once_overdue() {
        let due = at(2026, 12, 24);
        assert_eq!(reminder_due(due - 8 * DAY_MS, due, 0), None);
        assert_eq!(
            reminder_due(due - 7 * DAY_MS, due, 0),
            Some(Reminder::DueSoon)
        );
        assert_eq!(reminder_due(due - DAY_MS, due, 1), None, "sent already");
        assert_eq!(reminder_due(due, due, 1), Some(Reminder::Overdue));
        assert_eq!(
            reminder_due(due + DAY_MS, due, 0),
            Some(Reminder::Overdue),
            "a late start skips straight to overdue"
        );
        assert_eq!(reminder_due(due + 30 * DAY_MS, due, 2), None);
    }

    #[test]
    fn dsr_05_names_round_trip_and_unknown_ones_are_refused() {
        for k in RequestKind::ALL {
            assert_eq!(k.as_str().parse::<RequestKind>(), Ok(*k));
        }
        for c in RequestChannel::ALL {
            assert_eq!(c.as_str().parse::<RequestChannel>(), Ok(*c));
        }
        assert!("deletion".parse::<RequestKind>().is_err());
        assert_eq!(
            serde_json::to_string(&RequestChannel::InPerson).unwrap(),
            "\"in_person\""
        );
        assert!(RequestKind::Erasure.needs_recipient_notices());
        assert!(!RequestKind::Access.needs_recipient_notices());
    }
}
