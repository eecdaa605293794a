//! Small formatting helpers for pages: dates, sizes, waits, query strings.

/// Percent-encodes everything but unreserved characters (RFC 3986), for a query value.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A count as a badge shows it: the number, or "99+" beyond it.
pub(crate) fn badge_count(n: i64) -> String {
    if n > 99 {
        "99+".to_owned()
    } else {
        n.to_string()
    }
}

/// The civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Unix milliseconds of the end of a `YYYY-MM-DD` day (UTC), for a deadline field.
pub(crate) fn end_of_day(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(1970..=9999).contains(&y) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm, the inverse of `civil`).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days + 1) * 86_400_000 - 1)
}

/// The UTC day of a Unix-milliseconds time as `YYYY-MM-DD`, the value of a date field.
pub(crate) fn day(ms: i64) -> String {
    let (y, m, d) = civil(ms.div_euclid(1000).div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The same time as an HTML `datetime` attribute value.
pub(crate) fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, mo, d) = civil(secs.div_euclid(86_400));
    let in_day = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        in_day / 3600,
        (in_day % 3600) / 60,
        in_day % 60
    )
}

/// A byte count for people: `812 B`, `4.2 KB`, `18.0 MB`.
pub(crate) fn size(bytes: i64) -> String {
    // Binary units, named as such: upload limits are set in powers of two (10 MiB), and
    // "10.5 MB" for that reads as a different limit.
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if v.fract() == 0.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A wait of `secs` seconds in the reader's language (`3 Minuten`), rounded up as the API's
/// message rounds it.
pub(crate) fn wait(tr: &crate::ui::i18n::Catalog, secs: u64) -> String {
    use ideaweave_app::WaitUnit;
    let (n, unit) = ideaweave_app::rounded_wait(secs);
    let key = match (unit, n == 1) {
        (WaitUnit::Second, true) => "wait.second",
        (WaitUnit::Second, false) => "wait.seconds",
        (WaitUnit::Minute, true) => "wait.minute",
        (WaitUnit::Minute, false) => "wait.minutes",
        (WaitUnit::Hour, true) => "wait.hour",
        (WaitUnit::Hour, false) => "wait.hours",
    };
    tr.get(key).replace("{n}", &n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_end_with_their_day() {
        assert_eq!(end_of_day("1970-01-01"), Some(86_399_999));
        assert_eq!(end_of_day("2000-03-01"), Some(951_955_199_999));
        assert_eq!(end_of_day("2026-13-01"), None);
        assert_eq!(end_of_day("yesterday"), None);
        assert_eq!(end_of_day("2026-01"), None);
    }

    #[test]
    fn a_deadline_field_shows_the_day_it_ends() {
        for d in ["1970-01-01", "2000-02-29", "2026-12-31", "9999-12-31"] {
            let ms = end_of_day(d).expect("a date");
            assert_eq!(day(ms), d);
        }
    }

    #[test]
    fn dates_and_sizes_read_well() {
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(4_300), "4.2 KiB");
        assert_eq!(size(10 * 1024 * 1024), "10 MiB");
        assert_eq!(size(18_000_000), "17.2 MiB");
        assert_eq!(url_encode("/w/demo?a=b c"), "%2Fw%2Fdemo%3Fa%3Db%20c");
    }
}
