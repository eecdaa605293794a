//! Times as their reader reads them: in the reader's time zone and language, relative where
//! that reads better ("3 hours ago"), with the exact local time a hover away.
//!
//! The zone is the one the person chose in their account; without a choice, the one their
//! browser reports (a cookie `enhance.js` sets, so pages work the same without JavaScript,
//! just in the default zone); without either, the instance's `pages.time_zone`.

use std::fmt;

use axum::http::HeaderMap;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::ui::i18n::Catalog;

/// The cookie in which `enhance.js` keeps the browser's time zone (an IANA name).
pub(crate) const ZONE_COOKIE: &str = "tz";

/// The zone a time zone name names, if it names one. Only names from the time zone database
/// are taken: a cookie or a form holds text anyone can write.
pub(crate) fn named_zone(name: &str) -> Option<TimeZone> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-+".contains(&b));
    if !valid {
        return None;
    }
    TimeZone::get(name).ok()
}

/// The browser's zone, from [`ZONE_COOKIE`].
fn browser_zone(headers: &HeaderMap) -> Option<TimeZone> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == ZONE_COOKIE)
        .and_then(|(_, v)| {
            named_zone(
                &v.replace("%2F", "/")
                    .replace("%2f", "/")
                    .replace("%2B", "+")
                    .replace("%2b", "+"),
            )
        })
}

/// The zone a reader reads times in: their choice, else their browser's, else `default`.
pub(crate) fn reader_zone(
    chosen: Option<&str>,
    headers: &HeaderMap,
    default: &TimeZone,
) -> TimeZone {
    chosen
        .and_then(named_zone)
        .or_else(|| browser_zone(headers))
        .unwrap_or_else(|| default.clone())
}

/// Every zone a person may choose, by name.
pub(crate) fn zone_names() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.to_string())
        .filter(|n| {
            n.contains('/')
                && !n.starts_with("Etc/")
                && !n.starts_with("posix/")
                && !n.starts_with("right/")
        })
        .collect();
    names.push("UTC".to_owned());
    names.sort();
    names.dedup();
    names
}

/// A time on a page: shown relative, the exact local time on hover, machine-readable in
/// `datetime`. Displays as the whole `<time>` element, for templates (`{{ m|safe }}`): every
/// part is escaped.
#[derive(Debug, Clone)]
pub(crate) struct Moment {
    pub iso: String,
    pub exact: String,
    pub relative: String,
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ideaweave_domain::markdown::escape_text as esc;
        write!(
            f,
            "<time datetime=\"{}\" title=\"{}\">{}</time>",
            esc(&self.iso),
            esc(&self.exact),
            esc(&self.relative)
        )
    }
}

/// A reader's clock: their zone, their language, and the time now.
#[derive(Debug, Clone)]
pub(crate) struct ReaderClock {
    pub zone: TimeZone,
    pub now: i64,
}

impl ReaderClock {
    fn zoned(&self, ms: i64) -> jiff::ZonedDateTime {
        Timestamp::from_millisecond(ms)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned_datetime(self.zone.clone())
    }

    /// The reader's day `date` (a date field's `YYYY-MM-DD`) as its first and last millisecond
    /// in the reader's zone: a filter "from 3 March" starts at the reader's midnight, not at
    /// UTC's. `None` for anything else, or a day before 1970.
    pub fn day_span(&self, date: &str) -> Option<(i64, i64)> {
        let date = date.trim();
        // Exactly what a date field sends: the parser would also take `20260329` or a time.
        let shape = date.len() == 10
            && date.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shape {
            return None;
        }
        let day: jiff::civil::Date = date.parse().ok()?;
        if day.year() < 1970 {
            return None;
        }
        let start = |d: jiff::civil::Date| {
            d.to_zoned_datetime(self.zone.clone())
                .and_then(|z| z.start_of_day())
                .map(|z| z.timestamp().as_millisecond())
                .ok()
        };
        Some((start(day)?, start(day.tomorrow().ok()?)? - 1))
    }

    /// Today in the reader's zone, as a date field holds it (`YYYY-MM-DD`).
    pub fn today(&self) -> String {
        self.zoned(self.now).date().to_string()
    }

    /// The day in the reader's language: `7 Dec 2026`, `7. Dez. 2026`.
    pub fn date(&self, tr: &Catalog, ms: i64) -> String {
        let z = self.zoned(ms);
        let month = tr
            .get("time.months")
            .split(' ')
            .nth(usize::try_from(z.month() - 1).unwrap_or(0))
            .unwrap_or("")
            .to_owned();
        tr.get("time.date")
            .replace("{d}", &z.day().to_string())
            .replace("{month}", &month)
            .replace("{y}", &z.year().to_string())
    }

    /// The exact local time in the reader's language, with the zone's abbreviation:
    /// `7 Dec 2026, 09:05 CET`.
    pub fn exact(&self, tr: &Catalog, ms: i64) -> String {
        let z = self.zoned(ms);
        tr.get("time.exact")
            .replace("{date}", &self.date(tr, ms))
            .replace("{time}", &format!("{:02}:{:02}", z.hour(), z.minute()))
            .replace("{zone}", &z.strftime("%Z").to_string())
    }

    /// How long ago (or how far ahead) `ms` is, in words: `just now`, `3 hours ago`, `in 2
    /// days`, `yesterday`; beyond a week, the date.
    pub fn relative(&self, tr: &Catalog, ms: i64) -> String {
        const MINUTE: i64 = 60_000;
        const HOUR: i64 = 60 * MINUTE;
        const DAY: i64 = 24 * HOUR;
        let delta = self.now - ms;
        let span = delta.abs();
        let (n, unit) = if span < MINUTE {
            return tr.get("time.now").to_owned();
        } else if span < HOUR {
            (span / MINUTE, "minute")
        } else if span < DAY {
            (span / HOUR, "hour")
        } else if span < 7 * DAY {
            // Days count as the calendar turns in the reader's zone: "yesterday" is the day
            // before today, whatever the hour.
            let days = i64::from(
                (self.zoned(self.now).date() - self.zoned(ms).date())
                    .get_days()
                    .abs(),
            );
            if days == 1 && delta > 0 {
                return tr.get("time.yesterday").to_owned();
            }
            (days.max(1), "day")
        } else {
            return self.date(tr, ms);
        };
        let key = format!("time.{}_{unit}", if delta >= 0 { "ago" } else { "in" });
        tr.count(&key, n)
    }

    /// A time to show relative, with its exact local time on hover.
    pub fn moment(&self, tr: &Catalog, ms: i64) -> Moment {
        Moment {
            iso: crate::ui::format::iso(ms),
            exact: self.exact(tr, ms),
            relative: self.relative(tr, ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-07 09:05 UTC.
    const NOW: i64 = 1_796_634_300_000;

    fn clock(zone: &str) -> ReaderClock {
        ReaderClock {
            zone: named_zone(zone).expect("a zone"),
            now: NOW,
        }
    }

    #[test]
    fn times_are_told_in_the_readers_zone_and_language() {
        let en = Catalog::for_lang("en").expect("English");
        let de = Catalog::for_lang("de").expect("German");
        assert_eq!(
            clock("Europe/Berlin").exact(en, NOW),
            "7 Dec 2026, 10:05 CET"
        );
        assert_eq!(
            clock("Europe/Berlin").exact(de, NOW),
            "7. Dez. 2026, 10:05 CET"
        );
        assert_eq!(clock("UTC").exact(en, NOW), "7 Dec 2026, 09:05 UTC");
        // A time late in the UTC day is on the next day in Tokyo.
        let late = NOW + 14 * 3_600_000;
        assert_eq!(clock("Asia/Tokyo").date(en, late), "8 Dec 2026");
        assert_eq!(
            clock("America/New_York").exact(en, NOW),
            "7 Dec 2026, 04:05 EST"
        );
    }

    #[test]
    fn a_typed_day_is_the_readers_day() {
        // 2026-03-29: Berlin moves its clocks at 02:00, so the day has 23 hours.
        let berlin = clock("Europe/Berlin");
        let (start, end) = berlin.day_span("2026-03-29").unwrap();
        assert_eq!(
            start, 1_774_738_800_000,
            "midnight in Berlin is 23:00 UTC the day before"
        );
        assert_eq!(end - start + 1, 23 * 3_600_000);
        let utc = clock("UTC");
        let (start, end) = utc.day_span(" 2026-03-29 ").unwrap();
        assert_eq!((start, end), (1_774_742_400_000, 1_774_828_799_999));
        for bad in [
            "",
            "2026-02-30",
            "29.03.2026",
            "1969-12-31",
            "2026-3-29x",
            "20260329",
            "2026-03-29T10:00",
            "2026-03-29[UTC]",
        ] {
            assert_eq!(utc.day_span(bad), None, "{bad}");
        }
        // At 08:00 in Tokyo it is still the day before in UTC.
        let tokyo = ReaderClock {
            zone: named_zone("Asia/Tokyo").unwrap(),
            now: 1_774_742_400_000 - 3_600_000,
        };
        assert_eq!(tokyo.today(), "2026-03-29");
        assert_eq!(
            ReaderClock {
                now: tokyo.now,
                ..clock("UTC")
            }
            .today(),
            "2026-03-28"
        );
    }

    #[test]
    fn recent_times_read_as_how_long_ago() {
        let en = Catalog::for_lang("en").expect("English");
        let de = Catalog::for_lang("de").expect("German");
        let c = clock("UTC");
        assert_eq!(c.relative(en, NOW - 20_000), "just now");
        assert_eq!(c.relative(en, NOW - 60_000), "1 minute ago");
        assert_eq!(c.relative(de, NOW - 3 * 3_600_000), "vor 3 Stunden");
        assert_eq!(c.relative(en, NOW - 26 * 3_600_000), "yesterday");
        assert_eq!(c.relative(en, NOW - 3 * 86_400_000), "3 days ago");
        assert_eq!(c.relative(en, NOW + 2 * 86_400_000 + 1), "in 2 days");
        assert_eq!(c.relative(de, NOW + 5 * 60_000), "in 5 Minuten");
        assert_eq!(c.relative(en, NOW - 30 * 86_400_000), "7 Nov 2026");
    }

    #[test]
    fn only_real_zone_names_are_taken() {
        assert!(named_zone("Europe/Berlin").is_some());
        for bad in [
            "",
            "Mars/Olympus",
            "../../etc/passwd",
            "Europe/Berlin\n",
            "<script>",
        ] {
            assert!(named_zone(bad).is_none(), "{bad:?}");
        }
        let mut h = HeaderMap::new();
        h.insert("cookie", "a=b; tz=Asia%2FTokyo".parse().expect("a header"));
        let utc = TimeZone::UTC;
        assert_eq!(reader_zone(None, &h, &utc).iana_name(), Some("Asia/Tokyo"));
        assert_eq!(
            reader_zone(Some("Europe/Paris"), &h, &utc).iana_name(),
            Some("Europe/Paris")
        );
        h.insert("cookie", "tz=Nowhere%2FLand".parse().expect("a header"));
        assert_eq!(reader_zone(None, &h, &utc).iana_name(), Some("UTC"));
        assert!(zone_names().iter().any(|n| n == "Europe/Berlin"));
    }

    #[test]
    fn a_moment_is_one_escaped_time_element() {
        let m = clock("UTC").moment(Catalog::for_lang("en").expect("English"), NOW - 7_200_000);
        assert_eq!(
            m.to_string(),
            "<time datetime=\"2026-12-07T07:05:00Z\" title=\"7 Dec 2026, 07:05 UTC\">2 hours ago</time>"
        );
    }
}
