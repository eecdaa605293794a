//! Which backups to keep (BAK-03): everything younger than `keep_within`, and beyond that the
//! newest backup of each of the last `keep_daily` days and `keep_weekly` weeks that have one.
//! The newest backup is always kept, whatever the settings.

use std::collections::HashSet;

const DAY_MS: i64 = 86_400_000;

/// The retention settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Keep every backup younger than this (default 30 days).
    pub keep_within_ms: i64,
    /// Beyond that, keep the newest backup of this many days.
    pub keep_daily: u32,
    /// Beyond that, keep the newest backup of this many weeks.
    pub keep_weekly: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            keep_within_ms: 30 * DAY_MS,
            keep_daily: 0,
            keep_weekly: 0,
        }
    }
}

/// The backups (`(name, taken at, Unix ms)`) that `retention` no longer keeps at `now`.
pub fn select_expired(backups: &[(String, i64)], now: i64, retention: &Retention) -> Vec<String> {
    let mut sorted: Vec<&(String, i64)> = backups.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    let mut keep: HashSet<&str> = HashSet::new();
    if let Some(newest) = sorted.first() {
        keep.insert(&newest.0);
    }
    let mut days = HashSet::new();
    let mut weeks = HashSet::new();
    for (name, at) in &sorted {
        if now - at < retention.keep_within_ms {
            keep.insert(name);
            continue;
        }
        let day = at.div_euclid(DAY_MS);
        // Weeks start on Monday: day 0 (1970-01-01) was a Thursday.
        let week = (day + 3).div_euclid(7);
        if days.len() < retention.keep_daily as usize && days.insert(day) {
            keep.insert(name);
        }
        if weeks.len() < retention.keep_weekly as usize && weeks.insert(week) {
            keep.insert(name);
        }
    }
    sorted
        .into_iter()
        .filter(|(n, _)| !keep.contains(n.as_str()))
        .map(|(n, _)| n.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backups(days_ago: &[f64], now: i64) -> Vec<(String, i64)> {
        days_ago
            .iter()
            .map(|d| (format!("b{d}"), now - (d * DAY_MS as f64) as i64))
            .collect()
    }

    #[test]
    fn bak_03_thirty_days_are_kept_by_default() {
        let now = 40_000 * DAY_MS;
        let b = backups(&[0.1, 1.0, 29.9, 30.1, 45.0], now);
        let mut gone = select_expired(&b, now, &Retention::default());
        gone.sort();
        assert_eq!(gone, vec!["b30.1", "b45"]);
    }

    #[test]
    fn bak_03_daily_and_weekly_counts_keep_the_newest_of_each_period() {
        let now = 40_000 * DAY_MS + DAY_MS / 2;
        let r = Retention {
            keep_within_ms: DAY_MS,
            keep_daily: 2,
            keep_weekly: 2,
        };
        // Three backups a day for 20 days.
        let ages: Vec<f64> = (0..60).map(|i| i as f64 / 3.0 + 0.01).collect();
        let b = backups(&ages, now);
        let gone: HashSet<String> = select_expired(&b, now, &r).into_iter().collect();
        let kept: Vec<&(String, i64)> = b.iter().filter(|x| !gone.contains(&x.0)).collect();
        // Within a day: 3; the newest of two more days; the newest of two weeks (one of which
        // may coincide with a daily one).
        assert!(kept.len() >= 5 && kept.len() <= 7, "{kept:?}");
        assert!(kept.iter().all(|k| now - k.1 < 15 * DAY_MS));
    }

    #[test]
    fn bak_03_the_newest_backup_is_never_pruned() {
        let now = 40_000 * DAY_MS;
        let b = backups(&[100.0, 200.0], now);
        assert_eq!(select_expired(&b, now, &Retention::default()), vec!["b200"]);
        assert!(select_expired(&[], now, &Retention::default()).is_empty());
    }
}
