//! Idea ranking.
//!
//! "Trending" uses a decay-free hot score in the manner of link aggregators: the logarithm of the
//! net score plus the creation time divided by a constant. Newer ideas start higher, and it takes
//! ten times the votes to outrank an idea `HALF_DAY_SECONDS`·2 younger. Because the score only
//! changes when a vote changes, it is stored and indexed, and listing by trend is an index scan
//! however large a workspace grows, with no periodic recomputation job.

/// Seconds of age that weigh as much as a tenfold difference in net votes.
pub const TREND_SECONDS: f64 = 45_000.0;

/// The trending score of an idea created at `created_ms` (Unix milliseconds) with `net` votes.
pub fn hot_score(net: i64, created_ms: i64) -> f64 {
    let order = (net.unsigned_abs().max(1) as f64).log10();
    let sign = net.signum() as f64;
    let seconds = created_ms as f64 / 1000.0 - 1_700_000_000.0;
    // Rounded to 7 decimals so that both databases store and compare exactly the same value.
    let raw = sign * order + seconds / TREND_SECONDS;
    (raw * 1e7).round() / 1e7
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_votes_rank_higher_at_equal_age() {
        assert!(hot_score(10, 1_800_000_000_000) > hot_score(1, 1_800_000_000_000));
        assert!(hot_score(-5, 1_800_000_000_000) < hot_score(0, 1_800_000_000_000));
    }

    #[test]
    fn newer_ranks_higher_at_equal_votes() {
        assert!(hot_score(3, 1_800_000_100_000) > hot_score(3, 1_800_000_000_000));
    }
}
