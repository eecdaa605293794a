//! The control catalogue in the repository (`docs/controls.md`) and the code agree: every
//! control id that code, tests or docs cite has an entry; every test named after a control
//! names it with its number; and every entry that says it is built or partial lists tests that
//! exist. An auditor reading the catalogue can run exactly the tests it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const FAMILIES: &[&str] = &[
    "COL", "ACC", "IDN", "ENC", "AUD", "DSR", "LIF", "BAK", "OPS", "SUP", "ANA", "TRU", "REL",
    "SEC",
];

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One catalogue entry: its status and the tests it names.
struct Entry {
    status: String,
    tests: Vec<String>,
}

fn catalogue() -> BTreeMap<String, Entry> {
    let text = std::fs::read_to_string(repository().join("docs/controls.md"))
        .expect("docs/controls.md exists");
    let mut entries = BTreeMap::new();
    let mut current: Option<(String, Entry)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("### ") {
            if let Some((id, e)) = current.take() {
                entries.insert(id, e);
            }
            let id = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            current = Some((
                id,
                Entry {
                    status: String::new(),
                    tests: Vec::new(),
                },
            ));
        } else if let Some((_, e)) = current.as_mut() {
            if let Some(s) = line.strip_prefix("**Status.**") {
                e.status = s.trim().to_owned();
            } else if let Some(t) = line.strip_prefix("**Tests.**") {
                e.tests = t.split('`').skip(1).step_by(2).map(str::to_owned).collect();
            }
        }
    }
    if let Some((id, e)) = current {
        entries.insert(id, e);
    }
    entries
}

/// Every text file of the repository the project writes (no build output, no node modules).
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | "node_modules" | ".git" | "pydeps") {
                sources(&path, out);
            }
        } else if [".rs", ".md", ".mjs", ".py", ".html", ".sql"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            out.push(path);
        }
    }
}

/// Control ids written as `ENC-04` in `text`.
fn cited_ids(text: &str, out: &mut BTreeSet<String>) {
    let bytes = text.as_bytes();
    for (i, window) in bytes.windows(6).enumerate() {
        let word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let word_end = bytes.get(i + 6).is_none_or(|c| !c.is_ascii_alphanumeric());
        let family = std::str::from_utf8(&window[..3]).unwrap_or_default();
        if word_start
            && word_end
            && FAMILIES.contains(&family)
            && window[3] == b'-'
            && window[4..].iter().all(u8::is_ascii_digit)
        {
            out.insert(String::from_utf8_lossy(window).into_owned());
        }
    }
}

/// Test and function names after `fn ` in `text`.
fn function_names(text: &str, out: &mut BTreeSet<String>) {
    for part in text.split("fn ").skip(1) {
        let name: String = part
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
}

/// The controls a test's name says it proves (`acc_01_acc_02_…` → ACC-01, ACC-02), or an error
/// when it starts with a family but no number.
fn controls_named(test: &str) -> Option<Result<Vec<String>, String>> {
    let family = test.get(..3)?.to_ascii_uppercase();
    if !FAMILIES.contains(&family.as_str()) || test.as_bytes().get(3) != Some(&b'_') {
        return None;
    }
    let mut ids = Vec::new();
    let mut rest = test;
    while let (Some(f), Some(n)) = (rest.get(..3), rest.get(4..6)) {
        let f = f.to_ascii_uppercase();
        if FAMILIES.contains(&f.as_str())
            && rest.as_bytes().get(3) == Some(&b'_')
            && n.bytes().all(|b| b.is_ascii_digit())
            && rest.as_bytes().get(6) == Some(&b'_')
        {
            ids.push(format!("{f}-{n}"));
            rest = &rest[7..];
        } else {
            break;
        }
    }
    Some(if ids.is_empty() {
        Err(format!(
            "{test} starts with a control family but names no control number"
        ))
    } else {
        Ok(ids)
    })
}

#[test]
fn the_control_catalogue_lists_every_cited_control_and_the_tests_it_names_exist() {
    let entries = catalogue();
    assert!(entries.len() >= 40, "{} entries", entries.len());
    let mut files = Vec::new();
    for dir in ["crates", "tests", "docs", "xtask"] {
        sources(&repository().join(dir), &mut files);
    }
    files.push(repository().join("README.md"));
    let mut cited = BTreeSet::new();
    let mut functions = BTreeSet::new();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        cited_ids(&text, &mut cited);
        if f.extension().is_some_and(|e| e == "rs") {
            function_names(&text, &mut functions);
        }
    }
    let mut problems = Vec::new();
    for f in &functions {
        match controls_named(f) {
            Some(Ok(ids)) => cited.extend(ids),
            Some(Err(e)) => problems.push(e),
            None => {}
        }
    }
    for id in &cited {
        if !entries.contains_key(id) {
            problems.push(format!(
                "{id} is cited but has no entry in docs/controls.md"
            ));
        }
    }
    for (id, e) in &entries {
        match e.status.as_str() {
            "built" | "partial" => {
                if e.tests.is_empty() {
                    problems.push(format!("{id} is {} but names no test", e.status));
                }
                for t in &e.tests {
                    if !functions.contains(t) {
                        problems.push(format!("{id} names the test {t}, which does not exist"));
                    }
                }
            }
            "planned" => {}
            other => problems.push(format!("{id} has the status {other:?}")),
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn control_names_in_test_names_are_read_as_written() {
    assert_eq!(
        controls_named("acc_01_acc_02_authorisation_matrix"),
        Some(Ok(vec!["ACC-01".into(), "ACC-02".into()]))
    );
    assert!(matches!(controls_named("col_mail_waits"), Some(Err(_))));
    assert_eq!(controls_named("collect_ids"), None);
    let mut ids = BTreeSet::new();
    cited_ids("(ENC-04, AUD-01) but not UTF-16 or XENC-04", &mut ids);
    assert_eq!(ids.into_iter().collect::<Vec<_>>(), ["AUD-01", "ENC-04"]);
}
