//! @mentions (COL-04): naming a member in an idea or a comment tells them.
//!
//! People type `@` and a member's display name (`Thanks @Mia Müller!`). When the text is saved,
//! each such name is stored as a token holding the member's id, `@{0190…}`, never the name:
//! the page shows the name the person has *now*, and once they are erased the mention names
//! nobody. For editing, tokens are written back as `@Name`. Names match case-insensitively, the
//! longest member name that follows the `@` wins, and the name must end where a word ends; an
//! `@` inside a word or an address (an email address, `https://social.example/@max`) or a code
//! span is not a mention: it must start the text or follow a space, an opening bracket, a quote
//! or a comma. Two members with the same name are
//! told apart by nothing in the text: the first one listed is meant.

use uuid::Uuid;

use crate::UserId;

/// How a stored mention starts: `@{`, then the member's id, then `}`.
const OPEN: &str = "@{";
/// The length of a token: `@{` + 36 + `}`.
const TOKEN_LEN: usize = 2 + 36 + 1;

/// A member who can be mentioned.
#[derive(Debug, Clone, Copy)]
pub struct Mentionable<'a> {
    pub id: UserId,
    pub name: &'a str,
}

/// The member id of the token at the start of `s`, if one is there.
fn token_at(s: &str) -> Option<UserId> {
    let rest = s.strip_prefix(OPEN)?;
    let id = rest.get(..36)?;
    if rest.get(36..37)? != "}" {
        return None;
    }
    Uuid::parse_str(id).ok().map(UserId)
}

/// True when `c` continues a word (so a name cannot end before it).
fn wordy(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether an `@` after `c` may start a mention: at the start of the text, after a space, or
/// after an opening bracket, a quote or a comma. Not inside a word or an address
/// (`max@example.org`, `https://social.example/@max`) or a code span.
fn may_start(before: Option<char>) -> bool {
    before.is_none_or(|c| {
        c.is_whitespace() || matches!(c, '(' | '"' | '\'' | ',' | ';' | '«' | '„' | '“')
    })
}

/// `text` with every `@Name` of one of `people` stored as a token, and whom it mentions, each
/// once, in the order they first appear. Tokens already in the text stay when they name one
/// of `people`; others are left as plain text (`@{…}` of nobody here mentions nobody).
pub fn resolve(text: &str, people: &[Mentionable<'_>]) -> (String, Vec<UserId>) {
    let mut out = String::with_capacity(text.len());
    let mut mentioned: Vec<UserId> = Vec::new();
    let note = |id: UserId, mentioned: &mut Vec<UserId>| {
        if !mentioned.contains(&id) {
            mentioned.push(id);
        }
    };
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        if at > 0 {
            before = rest[..at].chars().next_back();
        }
        let here = &rest[at..];
        if !may_start(before) {
            out.push('@');
            rest = &here[1..];
            before = Some('@');
            continue;
        }
        if let Some(id) = token_at(here) {
            if people.iter().any(|p| p.id == id) {
                note(id, &mut mentioned);
            }
            out.push_str(&here[..TOKEN_LEN]);
            rest = &here[TOKEN_LEN..];
            before = Some('}');
            continue;
        }
        let after = &here[1..];
        let best = people
            .iter()
            .filter(|p| !p.name.trim().is_empty())
            .filter_map(|p| {
                let name = p.name.trim();
                let head = after.get(..name.len())?;
                let ends = after[name.len()..].chars().next().is_none_or(|c| !wordy(c));
                (head.to_lowercase() == name.to_lowercase() && ends).then_some((p.id, name.len()))
            })
            .max_by_key(|(_, len)| *len);
        match best {
            Some((id, len)) => {
                note(id, &mut mentioned);
                out.push_str(&format!("{OPEN}{}}}", id.0));
                rest = &after[len..];
                before = Some('}');
            }
            None => {
                out.push('@');
                rest = after;
                before = Some('@');
            }
        }
    }
    out.push_str(rest);
    (out, mentioned)
}

/// Whom stored text mentions, each once, in order.
pub fn mentioned(text: &str) -> Vec<UserId> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        let here = &rest[at..];
        match token_at(here) {
            Some(id) => {
                if !out.contains(&id) {
                    out.push(id);
                }
                rest = &here[TOKEN_LEN..];
            }
            None => rest = &here[OPEN.len()..],
        }
    }
    out
}

/// Stored text with each token's member id replaced by `to(id)`: an imported text, whose
/// people have other ids here.
pub fn remap(text: &str, mut to: impl FnMut(UserId) -> UserId) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        let here = &rest[at..];
        match token_at(here) {
            Some(id) => {
                out.push_str(&format!("{OPEN}{}}}", to(id).0));
                rest = &here[TOKEN_LEN..];
            }
            None => {
                out.push_str(OPEN);
                rest = &here[OPEN.len()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Stored text with its tokens written as `@Name` (for editing, excerpts and plain text);
/// `name_of` answers each mentioned member's name.
pub fn display(text: &str, mut name_of: impl FnMut(UserId) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        let here = &rest[at..];
        match token_at(here) {
            Some(id) => {
                out.push('@');
                out.push_str(&name_of(id));
                rest = &here[TOKEN_LEN..];
            }
            None => {
                out.push_str(OPEN);
                rest = &here[OPEN.len()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Rendered HTML with each token outside a tag shown as the member's name, marked as a
/// mention: `<span class="mention">@Name</span>` (the name escaped here). `name_of` answers the
/// name, or `None` for someone no longer in the workspace, who is shown as `@` and `gone`.
pub fn mark(html: &str, gone: &str, mut name_of: impl FnMut(UserId) -> Option<String>) -> String {
    if !html.contains(OPEN) {
        return html.to_owned();
    }
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        let Some(c) = rest.chars().next() else { break };
        if in_tag {
            in_tag = c != '>';
        } else if c == '<' {
            in_tag = true;
        } else if let Some(id) = token_at(rest) {
            let name = name_of(id).unwrap_or_else(|| gone.to_owned());
            out.push_str(&format!(
                "<span class=\"mention\">@{}</span>",
                crate::markdown::escape_text(&name)
            ));
            i += TOKEN_LEN;
            continue;
        }
        out.push(c);
        i += c.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people() -> (UserId, UserId, UserId) {
        (UserId::new(), UserId::new(), UserId::new())
    }

    #[test]
    fn col_04_names_become_tokens_longest_first_and_not_inside_words() {
        let (mia, mia_m, max) = people();
        let list = [
            Mentionable {
                id: mia,
                name: "Mia",
            },
            Mentionable {
                id: mia_m,
                name: "Mia Müller",
            },
            Mentionable {
                id: max,
                name: "max",
            },
        ];
        let (text, who) = resolve("Thanks @mia müller and @Max, cc @Mia.", &list);
        assert_eq!(
            text,
            format!(
                "Thanks @{{{}}} and @{{{}}}, cc @{{{}}}.",
                mia_m.0, max.0, mia.0
            )
        );
        assert_eq!(who, vec![mia_m, max, mia]);
        let typed = "mail max@example.org or @Maxim or @nobody, https://social.example/@max `@max` [@max](x)";
        let (text, who) = resolve(typed, &list);
        assert_eq!(
            text, typed,
            "no mention in an address, a word or a code span"
        );
        assert!(who.is_empty());
        let (text, who) = resolve("(@max) \"@max\"", &list);
        assert_eq!(who, vec![max]);
        assert!(!text.contains("@max"), "{text}");
        let other = UserId::new();
        let moved = remap(&format!("a @{{{}}} b @{{x}}", max.0), |_| other);
        assert_eq!(moved, format!("a @{{{}}} b @{{x}}", other.0));
        // Saved again, the tokens stay and still mention; a token of a stranger mentions nobody.
        let stranger = UserId::new();
        let again = format!("{text} @{{{}}} @{{{}}}", max.0, stranger.0);
        let (kept, who) = resolve(&again, &list);
        assert_eq!(kept, again);
        assert_eq!(who, vec![max]);
        assert_eq!(mentioned(&again), vec![max, stranger]);
    }

    #[test]
    fn col_04_tokens_read_as_names_and_are_marked_only_outside_tags() {
        let (mia, gone, _) = people();
        let stored = format!("Hi @{{{}}} and @{{{}}} @{{broken}}", mia.0, gone.0);
        let shown = display(&stored, |id| {
            if id == mia {
                "Mia <M>".into()
            } else {
                "former member".into()
            }
        });
        assert_eq!(shown, "Hi @Mia <M> and @former member @{broken}");
        let html = format!(
            "<p>Hi @{{{0}}} <a href=\"https://x.test/@{{{0}}}\">x</a> @{{{1}}}</p>",
            mia.0, gone.0
        );
        let marked = mark(&html, "former member", |id| {
            (id == mia).then(|| "Mia <M>".to_owned())
        });
        assert_eq!(
            marked,
            format!(
                "<p>Hi <span class=\"mention\">@Mia &lt;M&gt;</span> <a href=\"https://x.test/@{{{}}}\">x</a> <span class=\"mention\">@former member</span></p>",
                mia.0
            ),
            "a token inside an attribute stays as it is; someone gone is named as such"
        );
    }
}
