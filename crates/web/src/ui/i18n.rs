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

    /// The string for a key built at run time (`audit.label.<action>`); empty when it is
    /// missing (tests check that every key built this way exists in every catalogue).
    pub fn lookup(&self, key: &str) -> &'static str {
        self.strings.get(key).copied().unwrap_or("")
    }

    /// `n` things in words: the `key.one` string for exactly one, `key.other` for any other
    /// count, with `{n}` replaced (`1 comment`, `3 Kommentare`).
    pub fn count(&self, key: &str, n: impl std::borrow::Borrow<i64>) -> String {
        let n = *n.borrow();
        let form = if n == 1 { "one" } else { "other" };
        let full = format!("{key}.{form}");
        let text = self.strings.get(full.as_str()).copied().unwrap_or(key);
        text.replace("{n}", &self.number(n))
    }

    /// Where a page of a list stands: `26–50 of 1,204` (`26–50 von 1.204`).
    pub fn range(
        &self,
        first: impl std::borrow::Borrow<i64>,
        last: impl std::borrow::Borrow<i64>,
        total: impl std::borrow::Borrow<i64>,
    ) -> String {
        self.get("list.range")
            .replace("{first}", &self.number(*first.borrow()))
            .replace("{last}", &self.number(*last.borrow()))
            .replace("{total}", &self.number(*total.borrow()))
    }

    /// A whole number with the language's thousands separator (`1,204`, `1.204`).
    pub fn number(&self, n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let sep = self.get("number.group");
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 * sep.len() + 1);
        if n < 0 {
            out.push('-');
        }
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(sep);
            }
            out.push(c);
        }
        out
    }

    /// A message of the application (a refused input, a conflict) in this language. As with
    /// gettext, the English text is the key: numbers and quoted values in it become `{1}`,
    /// `{2}`… (`must be at most {1} characters (got {2})`), so one entry serves every value,
    /// and the catalogue line is `problem: <pattern> = <translation>`. A message whose start
    /// is listed as `problem-start: <start> = …` (it ends in advice from a library, in
    /// English) is replaced whole. English, or a message without an entry, stays as it is.
    pub fn problem(&self, english: &str) -> String {
        if self.lang == "en" {
            return english.to_owned();
        }
        let (pattern, values) = message_pattern(english);
        if let Some(t) = self.strings.get(format!("problem: {pattern}").as_str()) {
            return fill(t, &values);
        }
        for (key, text) in &self.strings {
            if let Some(start) = key.strip_prefix("problem-start: ")
                && english.starts_with(start)
            {
                return (*text).to_owned();
            }
        }
        english.to_owned()
    }

    /// The label of an input field named as the API names it (`title` → `Titel`), for
    /// messages about it; the name itself where the catalogue has none.
    pub fn field(&self, name: &str) -> String {
        let key = format!("field.{name}");
        match self.strings.get(key.as_str()) {
            Some(label) => (*label).to_owned(),
            None => name.to_owned(),
        }
    }

    /// The message of a refused input, in this language: `Titel: darf nicht leer sein`.
    pub fn input_problem(&self, e: &ideaweave_app::AppError) -> String {
        match e {
            ideaweave_app::AppError::Invalid(v) => {
                format!("{}: {}", self.field(&v.field), self.problem(&v.message))
            }
            other => self.problem(&other.to_string()),
        }
    }

    /// `text` between this language's quotation marks (“…” in English, „…“ in German).
    pub fn quoted(&self, text: &str) -> String {
        format!(
            "{}{text}{}",
            self.get("quote.open"),
            self.get("quote.close")
        )
    }

    /// The language code, for `<html lang>`.
    /// The catalogue of language `lang` (`en`, `de`), if this instance speaks it.
    pub fn for_lang(lang: &str) -> Option<&'static Catalog> {
        catalogs().iter().find(|c| c.lang == lang)
    }

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

/// A message with its numbers and quoted values replaced by `{1}`, `{2}`…, and those values.
fn message_pattern(message: &str) -> (String, Vec<String>) {
    let mut pattern = String::with_capacity(message.len());
    let mut values = Vec::new();
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut value = String::from(c);
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                value.push(d);
                chars.next();
            }
            values.push(value);
            pattern.push_str(&format!("{{{}}}", values.len()));
        } else if c == '"' {
            let mut value = String::from('"');
            for d in chars.by_ref() {
                value.push(d);
                if d == '"' {
                    break;
                }
            }
            values.push(value);
            pattern.push_str(&format!("{{{}}}", values.len()));
        } else {
            pattern.push(c);
        }
    }
    (pattern, values)
}

/// A translation with `{1}`, `{2}`… replaced by `values`.
fn fill(template: &str, values: &[String]) -> String {
    let mut out = template.to_owned();
    for (i, v) in values.iter().enumerate() {
        out = out.replace(&format!("{{{}}}", i + 1), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file under these folders of this crate, with its text.
    fn sources_under(folders: &[&str]) -> Vec<(std::path::PathBuf, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources = Vec::new();
        let mut dirs: Vec<_> = folders.iter().map(|f| root.join(f)).collect();
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
        sources
    }

    #[test]
    fn every_catalogue_has_every_key_and_templates_use_only_known_keys() {
        let all = catalogs();
        let en = &all[0];
        assert_eq!(en.lang, "en");
        // Application messages are keyed by their English text, so English has no entries
        // for them (see `Catalog::problem`).
        let is_message = |k: &&&str| k.starts_with("problem: ") || k.starts_with("problem-start: ");
        for c in all {
            for k in en.strings.keys() {
                assert!(c.strings.contains_key(k), "{} lacks {k}", c.lang);
            }
            assert_eq!(
                c.strings.keys().filter(|k| !is_message(k)).count(),
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
        let sources = sources_under(&["templates", "src/ui"]);
        let mut checked = 0;
        for (path, text) in &sources {
            for literal in text.split('"') {
                let Some((ns, rest)) = literal.split_once('.') else {
                    continue;
                };
                let is_key = namespaces.contains(ns)
                    && !rest.is_empty()
                    && ![".html", ".css", ".js"]
                        .iter()
                        .any(|ext| literal.ends_with(ext))
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
    fn application_messages_read_in_german_whatever_their_values() {
        let de = &catalogs()[1];
        assert_eq!(de.problem("must not be empty"), "darf nicht leer sein");
        assert_eq!(
            de.problem("must be at most 200 characters (got 250)"),
            "darf höchstens 200 Zeichen lang sein (eingegeben: 250)"
        );
        assert_eq!(
            de.problem("tag \"a b\" may contain only letters, digits, - and _"),
            "Schlagwort \"a b\" darf nur Buchstaben, Ziffern, - und _ enthalten"
        );
        assert!(
            de.problem(
                "is too easy to guess (this is a top-10 common password): Add another word or two."
            )
            .starts_with("ist zu leicht zu erraten")
        );
        assert_eq!(de.problem("no entry for this"), "no entry for this");
        assert_eq!(
            catalogs()[0].problem("must not be empty"),
            "must not be empty"
        );
        let e = ideaweave_app::AppError::Invalid(ideaweave_domain::ValidationError::new(
            "title",
            "must not be empty",
        ));
        assert_eq!(de.input_problem(&e), "Titel: darf nicht leer sein");
        // The sign-in set-up's refusals, values and library words included.
        assert_eq!(
            de.problem("\"corp\" is not a domain name"),
            "\"corp\" ist kein Domänenname"
        );
        assert_eq!(
            de.problem("is larger than 256 KiB"),
            "sind größer als 256 KiB"
        );
        assert!(
            de.problem(
                "the identity provider at https://x.test could not be read: error sending request"
            )
            .starts_with("Der Identitätsanbieter")
        );
        assert!(
            de.problem("is stronger than how you signed in (password); sign in that way first")
                .starts_with("ist stärker")
        );
    }

    #[test]
    fn the_pages_own_refusals_read_in_german() {
        // Every refusal the web layer writes itself with a literal field and message (a form
        // value it could not read) has a German field label and a German message.
        let de = &catalogs()[1];
        let mut found = 0;
        for (path, text) in sources_under(&["src/ui"]) {
            for call in text.split("AppError::invalid(").skip(1) {
                // The first two arguments, when both are string literals.
                let mut parts = call.splitn(5, '"');
                let (Some(before), Some(field), Some(between), Some(message)) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                if !before.trim().is_empty() || between.trim() != "," {
                    continue;
                }
                found += 1;
                assert_ne!(
                    de.field(field),
                    field,
                    "{}: no German label field.{field}",
                    path.display()
                );
                assert_ne!(
                    de.problem(message),
                    message,
                    "{}: no German for {message:?}",
                    path.display()
                );
            }
        }
        assert!(
            found > 15,
            "only {found} refusals found: is the scan broken?"
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
        assert_eq!(en.count("count.ideas", 1204), "1,204 ideas");
        assert_eq!(de.count("count.ideas", 1204), "1.204 Ideen");
    }

    #[test]
    fn every_audit_action_has_a_label_in_every_language() {
        for c in catalogs() {
            for a in ideaweave_app::AuditAction::ALL {
                let key = format!("audit.label.{}", a.as_str());
                assert!(!c.lookup(&key).is_empty(), "{} lacks {key}", c.lang);
            }
        }
    }

    #[test]
    fn numbers_are_grouped_by_thousands_in_the_readers_way() {
        let all = catalogs();
        let (en, de) = (&all[0], &all[1]);
        assert_eq!(en.number(0), "0");
        assert_eq!(en.number(999), "999");
        assert_eq!(en.number(1000), "1,000");
        assert_eq!(en.number(-1_234_567), "-1,234,567");
        assert_eq!(de.number(1_204), "1.204");
        assert_eq!(en.number(i64::MIN), "-9,223,372,036,854,775,808");
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
