//! `cargo xtask bench search`: search's figures in BENCHMARKS.md (COL-05).
//!
//! Seeds a workspace of 100,000 ideas, 300,000 comments and 1,000 uploaded Markdown notes
//! (`--quick`: a tenth) with the release build, rebuilds its search index offline with
//! `ideaweave search reindex` (timed: the full reindex and documents per second), reads the
//! sealed index's size from `search status` next to the sealed content's (database and files),
//! then serves it and loads the search endpoint with four kinds of query: `wrk` at full speed
//! for the peak rate, `oha` at half that rate for latency without coordinated omission, several
//! rounds each, medians and ranges reported. The same runs with the benchmark-only build whose
//! cipher does not encrypt show what sealing costs; the two builds are measured alternately.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::bench::{
    Figures, binary, build_noop, env_for, load, machine, median, noop_binary, rss_mb, seed_args,
    start_binary, today,
};
use crate::{Result, root, run, step};

pub(crate) const SEARCH_START: &str = "<!-- search:start -->";
pub(crate) const SEARCH_END: &str = "<!-- search:end -->";

/// The queries loaded: what each is, and `q` as sent (URL-encoded). The seeded titles are
/// "<verb> <object> <qualifier>" from fixed lists, so each query matches a known share of the
/// ideas.
const QUERIES: &[(&str, &str)] = &[
    ("one word (`energy`)", "energy"),
    ("two words (`office energy`)", "office%20energy"),
    ("phrase (`\"energy use\"`)", "%22energy%20use%22"),
    ("prefix (`onboard*`)", "onboard%2A"),
];

/// What one build showed.
struct BuildRun {
    label: &'static str,
    reindex_secs: f64,
    documents: u64,
    sealed_index_bytes: u64,
    content_bytes: u64,
    idle_rss_mb: f64,
    /// Per query, one set of figures per round.
    queries: Vec<Vec<Figures>>,
}

/// Bytes of the files under `dir` whose names pass `keep`.
fn size_under(dir: &std::path::Path, keep: &dyn Fn(&str) -> bool) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                size_under(&p, keep)
            } else if keep(&e.file_name().to_string_lossy()) {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            } else {
                0
            }
        })
        .sum()
}

/// The `documents` and `sealed KiB` columns of workspace `bench` in `search status`.
fn index_figures(bin: &std::path::Path, dir: &std::path::Path) -> Result<(u64, u64)> {
    let mut cmd = Command::new(bin);
    cmd.args(["search", "status"])
        .env("IW_INSECURE_NOOP_CIPHER_FOR_BENCHMARKS", "1");
    env_for(&mut cmd, dir, &None);
    let out = cmd.output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let row = text
        .lines()
        .find(|l| l.starts_with("bench "))
        .ok_or_else(|| format!("no row for bench in search status:\n{text}"))?;
    let cols: Vec<&str> = row.split_whitespace().collect();
    let num = |i: usize| cols.get(i).and_then(|v| v.parse::<u64>().ok());
    match (num(3), num(4)) {
        (Some(docs), Some(kib)) => Ok((docs, kib * 1024)),
        _ => Err(format!("cannot read search status: {row}")),
    }
}

/// A build's workspace, seeded and ready to be indexed.
struct Prepared {
    label: &'static str,
    bin: std::path::PathBuf,
    dir: std::path::PathBuf,
    token: String,
}

fn prepare(
    label: &'static str,
    bin: &std::path::Path,
    size: (usize, usize, usize),
) -> Result<Prepared> {
    let (ideas, comments, files) = size;
    let dir = root()
        .join("target")
        .join("bench")
        .join(format!("search-{}", label.replace(' ', "-")));
    step(&format!(
        "{label}: seeding {ideas} ideas, {comments} comments and {files} files"
    ));
    let started = Instant::now();
    let (token, _) = seed_args(
        bin,
        &dir,
        &None,
        &[
            "--ideas".into(),
            ideas.to_string(),
            "--comments".into(),
            comments.to_string(),
            "--files".into(),
            files.to_string(),
        ],
    )?;
    println!("seeded in {:.0} s", started.elapsed().as_secs_f64());
    Ok(Prepared {
        label,
        bin: bin.to_owned(),
        dir,
        token,
    })
}

/// Rebuilds the build's index from its database; the seconds it took.
fn reindex(p: &Prepared) -> Result<f64> {
    step(&format!("{}: full reindex from the database", p.label));
    let started = Instant::now();
    let mut cmd = Command::new(&p.bin);
    cmd.args(["search", "reindex", "--workspace", "bench"])
        .env("IW_INSECURE_NOOP_CIPHER_FOR_BENCHMARKS", "1");
    env_for(&mut cmd, &p.dir, &None);
    run(&mut cmd)?;
    let secs = started.elapsed().as_secs_f64();
    println!("{}: reindexed in {secs:.1} s", p.label);
    Ok(secs)
}

/// A build's server with its index open.
struct Served {
    _server: crate::bench::Server,
    pid: u32,
    base: String,
    auth: String,
    idle_rss_mb: f64,
}

fn serve(p: &Prepared) -> Result<Served> {
    let server = start_binary(&p.bin, &p.dir, &None)?;
    let pid = server.child.id();
    let base = format!(
        "http://127.0.0.1:{}/api/v1/workspaces/bench/search?limit=20&q=",
        server.port
    );
    let auth = format!("Authorization: Bearer {}", p.token);
    // The first search opens the sealed index into memory.
    let mut ready = false;
    for _ in 0..600 {
        let out = Command::new("curl")
            .args(["-s", "-H", &auth, &format!("{base}energy")])
            .output()
            .map_err(|e| e.to_string())?;
        if String::from_utf8_lossy(&out.stdout).contains("\"ready\":true") {
            ready = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    if !ready {
        return Err(format!(
            "{}: the index did not open within 5 minutes",
            p.label
        ));
    }
    std::thread::sleep(Duration::from_millis(500));
    Ok(Served {
        idle_rss_mb: rss_mb(pid),
        _server: server,
        pid,
        base,
        auth,
    })
}

/// Measures both builds side by side, so that the machine's drift over the run (it varies by
/// a factor of two here) falls on both alike: the reindexes run sealed, open, open, sealed
/// (each build's mean is reported);
/// both servers run at once, and each round of each query loads one then the other, the order
/// swapped every round.
fn measure_both(
    builds: [(&'static str, &std::path::Path); 2],
    size: (usize, usize, usize),
    rounds: usize,
    secs: u64,
    oha: &std::path::Path,
) -> Result<[BuildRun; 2]> {
    let prepared = [
        prepare(builds[0].0, builds[0].1, size)?,
        prepare(builds[1].0, builds[1].1, size)?,
    ];
    let mut reindex_secs: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for i in [0, 1, 1, 0] {
        reindex_secs[i].push(reindex(&prepared[i])?);
    }
    let mut figures = Vec::new();
    for p in &prepared {
        let (documents, sealed_index_bytes) = index_figures(&p.bin, &p.dir)?;
        // The index's own files are named `search-…`.
        let content_bytes = size_under(&p.dir, &|name| !name.starts_with("search-"));
        println!(
            "{}: {documents} documents; sealed index {} MiB",
            p.label,
            sealed_index_bytes / (1024 * 1024)
        );
        figures.push((documents, sealed_index_bytes, content_bytes));
    }
    let served = [serve(&prepared[0])?, serve(&prepared[1])?];
    let mut queries: [Vec<Vec<Figures>>; 2] = [Vec::new(), Vec::new()];
    for (name, q) in QUERIES {
        let mut runs: [Vec<Figures>; 2] = [Vec::new(), Vec::new()];
        for round in 0..rounds {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for i in order {
                let s = &served[i];
                println!("{}: {name}, round {}", prepared[i].label, round + 1);
                runs[i].push(load(&format!("{}{q}", s.base), &s.auth, secs, oha, s.pid)?);
            }
        }
        let [a, b] = runs;
        queries[0].push(a);
        queries[1].push(b);
    }
    let [q0, q1] = queries;
    let [r0, r1] = reindex_secs;
    let run_of = |i: usize, queries: Vec<Vec<Figures>>, reindex: Vec<f64>| {
        let (documents, sealed_index_bytes, content_bytes) = figures[i];
        BuildRun {
            label: prepared[i].label,
            // The mean: with the runs in ABBA order it cancels a steady drift.
            reindex_secs: reindex.iter().sum::<f64>() / reindex.len().max(1) as f64,
            documents,
            sealed_index_bytes,
            content_bytes,
            idle_rss_mb: served[i].idle_rss_mb,
            queries,
        }
    };
    Ok([run_of(0, q0, r0), run_of(1, q1, r1)])
}

/// Median and range of one figure over rounds, as `median (min–max)`.
fn spread(runs: &[Figures], f: impl Fn(&Figures) -> f64, digits: usize) -> String {
    let v: Vec<f64> = runs.iter().map(&f).collect();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "{:.*} ({:.*}–{:.*})",
        digits,
        median(v.clone()),
        digits,
        lo,
        digits,
        hi
    )
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Measures both builds and writes the section.
pub(crate) fn search_section(quick: bool, oha: &std::path::Path) -> Result<String> {
    let size = if quick {
        (10_000, 30_000, 100)
    } else {
        (100_000, 300_000, 1_000)
    };
    let (rounds, secs) = if quick { (3, 5) } else { (5, 10) };
    step("release builds: real cipher and benchmark-only no-op cipher");
    run(Command::new(env!("CARGO")).args(["build", "--release", "-p", "ideaweave-server"]))?;
    build_noop()?;
    let [sealed, open] = measure_both(
        [("sealed", &binary()), ("sealing off", &noop_binary())],
        size,
        rounds,
        secs,
        oha,
    )?;

    let (ideas, comments, files) = size;
    let mut md = format!(
        "{SEARCH_START}\n## Search (COL-05)\n\n\
         Measured {} on {}, the load generator on the same machine. A workspace of {ideas} ideas, \
         {comments} comments and {files} uploaded Markdown notes (about 5 KB each, their text read \
         by the text reader) on SQLite; `GET /api/v1/workspaces/bench/search?limit=20&q=…` with a \
         bearer token. Peak: `wrk -t2 -c32 -d{secs}s`; half rate: `oha -q <peak/2> -c32 -z{secs}s \
         --latency-correction`. {rounds} rounds per query: median (lowest–highest); the sealed and \
         the no-op builds run side by side, their rounds alternating and the reindexes run \
         sealed, no-op, no-op, sealed (mean of two), so drift of the machine falls on both. \
         Reproduce with `cargo xtask bench search`{}.\n\n",
        today(),
        machine(),
        if quick {
            " (these figures: `--quick`, a tenth of the size)"
        } else {
            ""
        }
    );
    for run in [&sealed, &open] {
        md.push_str(&format!(
            "### {}\n\n| query | peak req/s | p50 / p99 at peak (ms) | half rate (req/s) | p50 / p99 at half rate (ms) |\n\
             |---|---:|---:|---:|---:|\n",
            if run.label == "sealed" {
                "Sealed (the release build)"
            } else {
                "Sealing off (benchmark-only `insecure-noop-cipher` build)"
            }
        ));
        for ((name, _), runs) in QUERIES.iter().zip(&run.queries) {
            md.push_str(&format!(
                "| {name} | {} | {} / {} | {} | {} / {} |\n",
                spread(runs, |f| f.peak_rps, 0),
                spread(runs, |f| f.peak_p50_ms, 2),
                spread(runs, |f| f.peak_p99_ms, 2),
                spread(runs, |f| f.half_rate as f64, 0),
                spread(runs, |f| f.half_p50_ms, 2),
                spread(runs, |f| f.half_p99_ms, 2),
            ));
        }
        let peak_rss = run
            .queries
            .iter()
            .flatten()
            .map(|f| f.load_rss_mb)
            .fold(0.0, f64::max);
        md.push_str(&format!(
            "\nFull reindex from the database: {} documents in {:.1} s ({:.0} documents/s), files' \
             text read in child processes included. Sealed index: {:.1} MiB, next to {:.1} MiB of \
             sealed content (database and files). Resident memory with the index open: {:.1} MB \
             idle, {peak_rss:.1} MB at most under load.\n\n",
            run.documents,
            run.reindex_secs,
            run.documents as f64 / run.reindex_secs.max(0.001),
            mib(run.sealed_index_bytes),
            mib(run.content_bytes),
            run.idle_rss_mb,
        ));
    }
    let one_word = |r: &BuildRun| median(r.queries[0].iter().map(|f| f.peak_rps).collect());
    let half_p99 = median(sealed.queries[0].iter().map(|f| f.half_p99_ms).collect());
    let cost = (1.0 - one_word(&sealed) / one_word(&open)) * 100.0;
    let reindex_cost = (sealed.reindex_secs / open.reindex_secs.max(0.001) - 1.0) * 100.0;
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    md.push_str(&format!(
        "### Against the targets\n\n\
         - At least 2,000 req/s for one word: {:.0} req/s, {}.\n\
         - p99 under 20 ms at half that rate: {half_p99:.2} ms, {}.\n\
         - Sealing costs at most 15%: one-word searches {cost:.1}% slower, {}; the full reindex \
         {reindex_cost:.1}% slower, {}.\n\n\
         Searches open no sealed value: the index is opened (unsealed) into memory once per node \
         and kept in a bounded cache (`search.cache_mb`), and each page of results is checked \
         against the database (still there, not deleted) in one statement. Sealing is paid when \
         the index's files are written and opened, and when the indexer opens items' text.\n\
         {SEARCH_END}\n",
        one_word(&sealed),
        verdict(one_word(&sealed) >= 2000.0),
        verdict(half_p99 < 20.0),
        verdict(cost <= 15.0),
        verdict(reindex_cost <= 15.0),
    ));
    Ok(md)
}
