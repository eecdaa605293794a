//! Markdown rendered safely.
//!
//! Bodies are stored as the Markdown their authors typed and rendered to HTML on the way out.
//! Safety comes from what the renderer is allowed to emit, not from cleaning its output
//! afterwards: raw HTML in the Markdown is shown as the text it is (escaped like any other text),
//! so the only tags in the output are the ones pulldown-cmark writes for Markdown constructs,
//! whose text and attribute values it escapes; and link and image addresses are kept only when
//! they are relative or use `http`, `https` or `mailto`, so `javascript:`, `data:` and the like
//! never reach a reader's browser. Links get `rel="noopener noreferrer nofollow ugc"`.
//!
//! Cleaning the output with an HTML sanitiser (ammonia) did the same at a third of the idea
//! page's time: it parses every body again as HTML (BENCHMARKS.md).

use pulldown_cmark::{
    CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, TextMergeStream, html,
};
use pulldown_cmark_escape::{escape_href, escape_html};

/// What links carry: no access to our window, no referrer, no endorsement, user content.
const LINK_REL: &str = "noopener noreferrer nofollow ugc";

/// Whether a link or image address may be emitted: relative, or one of the allowed schemes.
/// The scheme is read as a browser reads it, after dropping the ASCII tabs, newlines and other
/// control characters and spaces that browsers ignore there (`java\tscript:` is `javascript:`).
fn allowed_url(url: &str) -> bool {
    let seen: String = url
        .chars()
        .filter(|c| !(c.is_ascii_control() || *c == ' '))
        .take_while(|c| !matches!(c, '/' | '?' | '#'))
        .collect();
    match seen.split_once(':') {
        None => true,
        Some((scheme, _)) => ["http", "https", "mailto"]
            .iter()
            .any(|allowed| scheme.eq_ignore_ascii_case(allowed)),
    }
}

/// What became of a link or image that is open, so that its end is treated like its start.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opened {
    /// A link written as our own `<a …>`: its end writes `</a>`.
    Link,
    /// An image kept as it is: pulldown-cmark writes its text as the `alt` attribute.
    Image,
    /// A link or image whose address is not allowed, or a link inside an image's text: it is
    /// left out, its text stays.
    Dropped,
}

/// The events one event becomes: none, itself, or a text split around bare web addresses.
/// An enum rather than a vector, so that the common cases allocate nothing.
enum Out<'a> {
    None,
    One(Event<'a>),
    Many(std::vec::IntoIter<Event<'a>>),
}

impl<'a> Iterator for Out<'a> {
    type Item = Event<'a>;
    fn next(&mut self) -> Option<Event<'a>> {
        match std::mem::replace(self, Out::None) {
            Out::None => None,
            Out::One(e) => Some(e),
            Out::Many(mut it) => {
                let e = it.next();
                *self = Out::Many(it);
                e
            }
        }
    }
}

/// The opening tag of a link we write, its address escaped.
fn link_tag(href: &str, title: &str) -> String {
    let mut tag = String::with_capacity(href.len() + title.len() + 64);
    tag.push_str("<a href=\"");
    // Writing to a String cannot fail.
    let _ = escape_href(&mut tag, href);
    if !title.is_empty() {
        tag.push_str("\" title=\"");
        let _ = escape_html(&mut tag, title);
    }
    tag.push_str("\" rel=\"");
    tag.push_str(LINK_REL);
    tag.push_str("\">");
    tag
}

/// Where the next bare `http://` or `https://` address in `text` starts and ends: it starts
/// a word, runs to the next space or angle bracket, and leaves out the punctuation that ends a
/// sentence around it (a closing parenthesis only when it has no opening one in the address).
fn next_address(text: &str) -> Option<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find("http") {
        let start = from + found;
        let rest = &lower[start..];
        let scheme = if rest.starts_with("https://") {
            8
        } else if rest.starts_with("http://") {
            7
        } else {
            from = start + 4;
            continue;
        };
        let starts_word = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '/' || c == '@'));
        let mut end = text[start..]
            .find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
            .map_or(text.len(), |n| start + n);
        while let Some(last) = text[..end].chars().next_back() {
            let unbalanced = last == ')'
                && text[start..end].matches('(').count() < text[start..end].matches(')').count();
            if matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' | '_') || unbalanced {
                end -= last.len_utf8();
            } else {
                break;
            }
        }
        if starts_word && end > start + scheme {
            return Some((start, end));
        }
        from = start + scheme;
    }
    None
}

/// A text with its bare web addresses made links (`<https://…>` and `[…](…)` are links
/// already); `None` when it has none.
fn linked_addresses(text: CowStr<'_>) -> Option<Vec<Event<'_>>> {
    let mut rest: &str = &text;
    next_address(rest)?;
    let mut out = Vec::new();
    while let Some((start, end)) = next_address(rest) {
        if start > 0 {
            out.push(Event::Text(CowStr::from(rest[..start].to_owned())));
        }
        let address = &rest[start..end];
        out.push(Event::InlineHtml(CowStr::from(link_tag(address, ""))));
        out.push(Event::Text(CowStr::from(address.to_owned())));
        out.push(Event::InlineHtml(CowStr::Borrowed("</a>")));
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        out.push(Event::Text(CowStr::from(rest.to_owned())));
    }
    Some(out)
}

/// The events of `markdown` with raw HTML turned into text, links written with their `rel` and
/// disallowed addresses dropped (the link's text stays; an image becomes its text), and bare
/// web addresses in ordinary text made links.
///
/// Links and images nest (an autolink in a link's text, a link in an image's description), so
/// what each start became is kept on a stack and its end follows it: every `<a>` written is
/// closed, and an image's description holds text only, never our markup.
fn safe_events(markdown: &str) -> impl Iterator<Item = Event<'_>> {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_TASKLISTS);
    let mut open: Vec<Opened> = Vec::new();
    let mut in_code_block = false;
    // Adjacent texts are one (the parser splits at `_` and `*`), so an address is seen whole.
    TextMergeStream::new(Parser::new_ext(markdown, opts)).flat_map(move |event| {
        let kept = match event {
            Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
            Event::Start(Tag::CodeBlock(_)) => {
                in_code_block = true;
                Some(event)
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code_block = false;
                Some(event)
            }
            Event::Text(text) if open.is_empty() && !in_code_block => {
                return match linked_addresses(text.clone()) {
                    Some(events) => Out::Many(events.into_iter()),
                    None => Out::One(Event::Text(text)),
                };
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            }) => {
                let href = match link_type {
                    LinkType::Email => format!("mailto:{dest_url}"),
                    _ => dest_url.into_string(),
                };
                if open.contains(&Opened::Image) || !allowed_url(&href) {
                    open.push(Opened::Dropped);
                    return Out::None;
                }
                open.push(Opened::Link);
                Some(Event::InlineHtml(CowStr::from(link_tag(&href, &title))))
            }
            Event::End(TagEnd::Link) => match open.pop() {
                Some(Opened::Link) => Some(Event::InlineHtml(CowStr::Borrowed("</a>"))),
                _ => None,
            },
            Event::Start(Tag::Image { ref dest_url, .. }) => {
                if allowed_url(dest_url) {
                    open.push(Opened::Image);
                    Some(event)
                } else {
                    open.push(Opened::Dropped);
                    None
                }
            }
            Event::End(TagEnd::Image) => match open.pop() {
                Some(Opened::Image) => Some(event),
                _ => None,
            },
            other => Some(other),
        };
        match kept {
            Some(e) => Out::One(e),
            None => Out::None,
        }
    })
}

/// Text escaped for HTML, safe in an element's content and in a quoted attribute.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders `markdown` to HTML that is safe to put in a page as it is.
pub fn render(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, safe_events(markdown));
    out
}

/// A plain-text excerpt of at most `max_chars` characters, for lists.
pub fn excerpt(markdown: &str, max_chars: usize) -> String {
    let out = words(markdown, max_chars.saturating_mul(2).saturating_add(16));
    if out.chars().count() > max_chars {
        let cut: String = out.chars().take(max_chars.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    } else {
        out
    }
}

/// The words of a Markdown text without its markup, whole: what search indexes and shows in
/// its snippets.
pub fn plain_text(markdown: &str) -> String {
    words(markdown, usize::MAX)
}

/// The text of `markdown`'s words, single-spaced, read until about `enough` characters.
fn words(markdown: &str, enough: usize) -> String {
    let mut out = String::new();
    let mut chars = 0usize;
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => {
                chars += t.chars().count();
                out.push_str(&t);
            }
            // Words of different lines, paragraphs or list items stay apart; the words of a
            // bold or linked phrase run on (`**by**` in "racks **by** the" is one word).
            Event::SoftBreak | Event::HardBreak => {
                chars += 1;
                out.push(' ');
            }
            Event::End(tag)
                if !matches!(
                    tag,
                    TagEnd::Emphasis
                        | TagEnd::Strong
                        | TagEnd::Strikethrough
                        | TagEnd::Link
                        | TagEnd::Image
                ) =>
            {
                chars += 1;
                out.push(' ');
            }
            _ => {}
        }
        if chars > enough {
            break;
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn col_01_bare_web_addresses_become_links_outside_code_and_links() {
        let html = super::render(
            "See https://example.org/a_(b)/c. and (http://x.test/y), not ftp://z or xhttps://q",
        );
        assert!(
            html.contains("<a href=\"https://example.org/a_(b)/c\" rel=\"noopener noreferrer nofollow ugc\">https://example.org/a_(b)/c</a>."),
            "{html}"
        );
        assert!(html.contains("(<a href=\"http://x.test/y\" rel=\"noopener noreferrer nofollow ugc\">http://x.test/y</a>)"), "{html}");
        assert!(
            !html.contains("href=\"ftp") && !html.contains("href=\"https://q"),
            "{html}"
        );
        let code = super::render(
            "`https://a.test` and\n\n    https://b.test\n\n[t](https://c.test) <https://d.test>",
        );
        assert_eq!(code.matches("<a ").count(), 2, "{code}");
        let hostile = super::render("https://e.test/\"onmouseover=alert(1)");
        assert!(
            hostile.contains("<a href=\"https://e.test/\" rel=")
                && hostile.contains("</a>\"onmouseover"),
            "the address ends at the quote, which stays text: {hostile}"
        );
        assert!(
            super::render("https://").contains("https://")
                && !super::render("https://").contains("<a")
        );
    }

    #[test]
    fn excerpts_are_the_words_with_single_spaces() {
        use super::excerpt;
        assert_eq!(
            excerpt("Two racks **by** the door", 100),
            "Two racks by the door"
        );
        assert_eq!(excerpt("a\nb\n\n- c\n- d", 100), "a b c d");
        assert_eq!(excerpt("**bold**word `code`", 100), "boldword code");
        assert_eq!(excerpt("abcdef ghij", 5), "abcd…");
        assert_eq!(excerpt("", 5), "");
    }

    #[test]
    fn renders_markdown() {
        assert!(render("**bold**").contains("<strong>bold</strong>"));
    }

    /// Every tag in `html`, lower-cased, as `<name attr...>` up to its closing bracket.
    fn tags(html: &str) -> Vec<String> {
        html.split('<')
            .skip(1)
            .filter_map(|t| t.split_once('>').map(|(tag, _)| tag.to_lowercase()))
            .collect()
    }

    #[test]
    fn raw_html_is_shown_as_text_and_never_becomes_a_tag() {
        let payloads = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<svg onload=alert(1)>",
            "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<div>\n<script>alert(1)</script>\n</div>",
            "text <b onmouseover=alert(1)>bold</b>",
            "<!-- <script>alert(1)</script> -->",
            "<style>body{display:none}</style>",
            "```\n</code><script>alert(1)</script>\n```",
            "```\"><script>alert(1)</script>\nx\n```",
        ];
        for p in payloads {
            let out = render(p);
            for tag in tags(&out) {
                let name = tag
                    .trim_start_matches('/')
                    .split([' ', '/'])
                    .next()
                    .unwrap_or("");
                assert!(
                    ["p", "pre", "code", "a", "strong", "em"].contains(&name),
                    "{p:?} produced the tag <{tag}> in {out:?}"
                );
                assert!(!tag.contains(" on"), "{p:?}: handler in <{tag}>");
            }
            assert!(!out.contains("<script"), "{p:?} rendered as {out:?}");
        }
        assert_eq!(
            render("<script>alert(1)</script>").trim(),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert!(render("a <b>b</b>").contains("a &lt;b&gt;b&lt;/b&gt;"));
    }

    #[test]
    fn only_relative_and_web_and_mail_addresses_are_linked() {
        for bad in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](java\tscript:alert(1))",
            "[x](<java\nscript:alert(1)>)",
            "[x](\u{1}javascript:alert(1))",
            "[x](javascript&#58;alert(1))",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "[x](vbscript:msgbox)",
            "<javascript:alert(1)>",
            "[x][r]\n\n[r]: javascript:alert(1)",
            "![x](javascript:alert(1))",
            "![x](data:image/svg+xml,<svg onload=alert(1)>)",
        ] {
            let out = render(bad);
            let lower = out.to_lowercase();
            assert!(!lower.contains("href"), "{bad:?} linked: {out:?}");
            assert!(!lower.contains("<img"), "{bad:?} kept an image: {out:?}");
            assert!(
                out.contains('x') || bad.starts_with('<'),
                "{bad:?} lost its text: {out:?}"
            );
        }
        for (good, href) in [
            (
                "[x](https://example.org/a?b=1&c=2)",
                "https://example.org/a?b=1&amp;c=2",
            ),
            ("[x](http://example.org)", "http://example.org"),
            ("[x](mailto:a@example.org)", "mailto:a@example.org"),
            ("<a@example.org>", "mailto:a@example.org"),
            ("<https://example.org>", "https://example.org"),
            ("[x](/w/demo/ideas/1)", "/w/demo/ideas/1"),
            ("[x](#top)", "#top"),
            ("[x](page?q=a:b)", "page?q=a:b"),
        ] {
            let out = render(good);
            assert!(
                out.contains(&format!(
                    "<a href=\"{href}\" rel=\"noopener noreferrer nofollow ugc\">"
                )),
                "{good:?} rendered as {out:?}"
            );
            assert!(out.contains("</a>"));
        }
        let titled = render("[x](https://example.org \"say \\\"hi\\\" <b>\")");
        assert!(
            titled.contains("title=\"say &quot;hi&quot; &lt;b&gt;\""),
            "{titled}"
        );
        assert!(render("![alt](/files/a.png)").contains("<img src=\"/files/a.png\" alt=\"alt\""));
    }

    /// Whether every `<a>`, `<strong>`, `<em>` and `<del>` opened in `html` is closed in order.
    fn balanced(html: &str) -> bool {
        let mut stack = Vec::new();
        for tag in tags(html) {
            let closing = tag.starts_with('/');
            let name = tag
                .trim_start_matches('/')
                .split([' ', '/'])
                .next()
                .unwrap_or("")
                .to_owned();
            if !["a", "strong", "em", "del"].contains(&name.as_str()) {
                continue;
            }
            if closing {
                if stack.pop() != Some(name) {
                    return false;
                }
            } else {
                stack.push(name);
            }
        }
        stack.is_empty()
    }

    /// Links inside images and images inside links: whatever is dropped, nothing is left open
    /// to take over the page's markup that follows, and descriptions hold text only.
    #[test]
    fn nested_links_and_images_leave_nothing_open() {
        for p in [
            "![[![m](/m.png)](https://evil.example)](javascript:x)",
            "![**![m](/m.png)**](javascript:x)",
            "![*![m](/m.png)*](javascript:x)",
            "![~~![m](/m.png)~~](javascript:x)",
            "![![a](/ok.png) b](javascript:x)",
            "![![a](javascript:x)](javascript:y)",
            "[<javascript:a>](javascript:b)",
            "[<https://a.example> t](javascript:x)",
            "[<javascript:a> <https://b.example>](/ok)",
            "[<https://a.example>](/b)",
            "[![i](/i.png)](https://ok.example)",
            "[![i](javascript:x)](https://ok.example)",
            "![[x](/y)](/i.png) after **bold**",
        ] {
            let out = render(p);
            assert!(balanced(&out), "{p:?} left a tag open: {out:?}");
            let lower = out.to_lowercase();
            assert!(
                !lower.contains("href=\"javascript") && !lower.contains("src=\"javascript"),
                "{p:?}: {out:?}"
            );
            assert!(
                !out.contains("&lt;a"),
                "{p:?}: our markup in a description: {out:?}"
            );
        }
        assert!(
            render("![[x](/y)](/i.png)").contains("<img src=\"/i.png\" alt=\"x\""),
            "a link in a description is its text"
        );
        assert!(render("![![a](javascript:x)](javascript:y)").contains('a'));
    }

    #[test]
    fn attributes_and_code_info_strings_cannot_break_out() {
        for (p, bad) in [
            ("[x](<a\" onmouseover=\"alert(1)>)", "onmouseover=\""),
            ("[x](/a'onmouseover=alert(1))", "'onmouseover"),
            ("```js\" onload=\"x\ncode\n```", "onload=\""),
            ("# T {#x onclick=alert(1)}", "onclick=\""),
            ("| a |\n|:-:|\n| <img src=x onerror=alert(1)> |", "<img"),
            (
                "- [x] <input autofocus onfocus=alert(1)>",
                "<input autofocus",
            ),
        ] {
            let out = render(p);
            assert!(!out.contains(bad), "{p:?} gave {out:?}");
        }
        let titled = render("[x](/a 'it\\'s \"q\" <b>')");
        assert!(
            titled.contains("&quot;q&quot;") && titled.contains("&lt;b&gt;"),
            "{titled}"
        );
        for p in [
            "[x][r]\n\n[r]: <javascript:alert(1)> \"t\"",
            "<javascript:alert(1)@example.com>",
            "[x](javascript&colon;alert(1))",
            "[x](\u{a0}javascript:alert(1))",
        ] {
            let out = render(p);
            assert!(
                !out.contains("href=\"javascript") && !out.contains("href=\"\u{a0}javascript"),
                "{p:?} gave {out:?}"
            );
        }
    }

    #[test]
    fn huge_or_deeply_nested_input_renders_without_panicking() {
        for p in [
            "![".repeat(20_000),
            "[".repeat(20_000),
            format!("{}x", "> ".repeat(5_000)),
            "*a".repeat(20_000),
            "[![".repeat(5_000),
        ] {
            let out = render(&p);
            assert!(balanced(&out));
        }
    }

    #[test]
    fn tables_strikethrough_and_task_lists_still_render() {
        let out = render("| a |\n|---|\n| b |\n\n~~gone~~\n\n- [x] done");
        assert!(
            out.contains("<table>") && out.contains("<td>b</td>"),
            "{out}"
        );
        assert!(out.contains("<del>gone</del>"), "{out}");
        assert!(out.contains("type=\"checkbox\""), "{out}");
    }

    #[test]
    fn excerpt_is_plain_and_bounded() {
        let e = super::excerpt("# Title\n\nSome *long* text here", 12);
        assert!(e.chars().count() <= 12, "{e}");
        assert!(!e.contains('*'));
    }
}
