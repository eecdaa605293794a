//! The codebase's layout promises (issue 20): the use cases live in a handful of areas, the
//! routes, pages, SQL and tests use the same area names, and every source file the
//! documentation names exists, so a reader who knows a feature's area finds it in one step.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The folders directly inside `dir`.
fn folders(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_use_cases_live_in_at_most_eight_areas() {
    let app = repo().join("crates/app/src");
    let items: Vec<String> = std::fs::read_dir(&app)
        .expect("crates/app/src")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lib.rs" && n != "error.rs")
        .collect();
    assert!(
        items.len() <= 8,
        "crates/app/src holds {} items besides lib.rs and error.rs: {items:?}",
        items.len()
    );
}

#[test]
fn routes_pages_sql_and_tests_use_the_areas_of_the_use_cases() {
    let root = repo();
    let areas = folders(&root.join("crates/app/src"));
    for layer in [
        "crates/web/src/api",
        "crates/web/src/ui",
        "crates/store/src",
        "crates/server/tests/it",
    ] {
        let found = folders(&root.join(layer));
        let strangers: Vec<_> = found.difference(&areas).collect();
        assert!(
            strangers.is_empty(),
            "{layer} has folders that are not areas of crates/app/src ({areas:?}): {strangers:?}"
        );
        for must in ["identity", "content", "privacy", "trust"] {
            assert!(found.contains(must), "{layer} lacks the area {must}");
        }
    }
}

/// Every `….rs` path written in `text`.
fn cited_paths(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || "_/.-".contains(c)))
        .filter(|w| w.ends_with(".rs") && w.contains('/'))
        .map(str::to_owned)
        .collect()
}

fn markdown(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            markdown(&p, out);
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
}

#[test]
fn every_source_file_the_documentation_names_exists() {
    let root = repo();
    let mut docs = vec![root.join("README.md")];
    markdown(&root.join("docs"), &mut docs);
    let mut missing = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap_or_default();
        for cited in cited_paths(&text) {
            let candidates = [
                root.join(&cited),
                root.join("crates").join(&cited),
                root.join("crates/server/tests").join(&cited),
            ];
            if !candidates.iter().any(|c| c.exists()) {
                missing.push(format!("{}: {cited}", doc.display()));
            }
        }
    }
    assert!(missing.is_empty(), "named but missing: {missing:#?}");
}
