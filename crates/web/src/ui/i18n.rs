//! The UI's strings: one catalogue per language (`i18n/<lang>.txt`, `key = value` lines),
//! compiled in. English is the reference; a test keeps every catalogue complete.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;

/// One language's strings.
#[derive(Debug)]
pub struct Catalog {
    lang: &'static str,
    strings: HashMap<&'static str, &'static str>,
}

const SOURCES: &[(&str, &str)] = &[
    ("en", include_str!("../../i18n/en.txt")),
    ("de", include_str!("../../i18n/de.txt")),
];

fn parse(lang: &'static str, text: &'static str) -> Catalog {
    let strings = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    Catalog { lang, strings }
}

fn catalogs() -> &'static [Catalog] {
    static ALL: OnceLock<Vec<Catalog>> = OnceLock::new();
    ALL.get_or_init(|| SOURCES.iter().map(|(l, t)| parse(l, t)).collect())
}

impl Catalog {
    /// The string for `key`; the key itself when it is missing (a test prevents that).
    pub fn get<'a>(&self, key: &'a str) -> &'a str
    where
        'static: 'a,
    {
        self.strings.get(key).copied().unwrap_or(key)
    }

    /// `n` things in words: the `key.one` string for exactly one, `key.other` for any other
    /// count, with `{n}` replaced (`1 comment`, `3 Kommentare`).
    pub fn count(&self, key: &str, n: impl std::borrow::Borrow<i64>) -> String {
        let n = *n.borrow();
        let form = if n == 1 { "one" } else { "other" };
        let full = format!("{key}.{form}");
        let text = self.strings.get(full.as_str()).copied().unwrap_or(key);
        text.replace("{n}", &n.to_string())
    }

    /// The language code, for `<html lang>`.
    pub fn lang(&self) -> &'static str {
        self.lang
    }

    /// The catalogue for the first language of `Accept-Language` this instance speaks, or
    /// English.
    pub fn for_request(headers: &HeaderMap) -> &'static Catalog {
        let all = catalogs();
        let wanted = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        for tag in wanted.split(',') {
            let code = tag
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .split('-')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if let Some(c) = all.iter().find(|c| c.lang == code) {
                return c;
            }
        }
        &all[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_has_every_key_and_templates_use_only_known_keys() {
        let all = catalogs();
        let en = &all[0];
        assert_eq!(en.lang, "en");
        for c in all {
            for k in en.strings.keys() {
                assert!(c.strings.contains_key(k), "{} lacks {k}", c.lang);
            }
            assert_eq!(
                c.strings.len(),
                en.strings.len(),
                "{} has extra keys",
                c.lang
            );
        }
        // Every key the pages use exists: `tr.get("…")` in templates, and in the UI's code
        // every string literal in a catalogue namespace (`"idea.…"`, `"role.…"`).
        let namespaces: std::collections::HashSet<&str> = en
            .strings
            .keys()
            .filter_map(|k| k.split_once('.').map(|(ns, _)| ns))
            .collect();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources = Vec::new();
        let mut dirs = vec![root.join("templates"), root.join("src/ui")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    sources.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        let mut checked = 0;
        for (path, text) in &sources {
            for literal in text.split('"') {
                let Some((ns, rest)) = literal.split_once('.') else {
                    continue;
                };
                let is_key = namespaces.contains(ns)
                    && !rest.is_empty()
                    && !literal.ends_with(".html")
                    && literal
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.');
                if is_key {
                    checked += 1;
                    // A counted key (`tr.count("count.comments", n)`) has its forms.
                    let counted = ["one", "other"].iter().all(|form| {
                        en.strings
                            .contains_key(format!("{literal}.{form}").as_str())
                    });
                    assert!(
                        en.strings.contains_key(literal) || counted,
                        "{} uses unknown key {literal}",
                        path.display()
                    );
                }
            }
        }
        assert!(
            checked > 200,
            "only {checked} keys found: is the scan broken?"
        );
    }

    #[test]
    fn counts_take_the_singular_for_one_only() {
        let all = catalogs();
        let (en, de) = (&all[0], &all[1]);
        assert_eq!(en.count("count.comments", 1), "1 comment");
        assert_eq!(en.count("count.comments", 0), "0 comments");
        assert_eq!(en.count("count.points", -1), "-1 points");
        assert_eq!(de.count("count.comments", 1), "1 Kommentar");
        assert_eq!(de.count("count.ratings", 2), "2 Bewertungen");
    }

    #[test]
    fn accept_language_picks_a_catalogue() {
        let mut h = HeaderMap::new();
        assert_eq!(Catalog::for_request(&h).lang(), "en");
        h.insert(
            axum::http::header::ACCEPT_LANGUAGE,
            "fr-CH, de-DE;q=0.8, en;q=0.5".parse().unwrap(),
        );
        assert_eq!(Catalog::for_request(&h).lang(), "de");
        assert_eq!(Catalog::for_request(&h).get("nav.sign_out"), "Abmelden");
    }
}
