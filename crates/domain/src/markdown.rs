//! Markdown rendered safely.
//!
//! Bodies are stored as the Markdown their authors typed and rendered to HTML on the way out.
//! The HTML that pulldown-cmark produces is passed through ammonia's allow-list sanitiser, so raw
//! HTML, event handlers, `javascript:` links and the like never reach a reader's browser.

use pulldown_cmark::{Options, Parser, html};

/// Renders `markdown` to sanitised HTML.
pub fn render(markdown: &str) -> String {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_TASKLISTS);
    let parser = Parser::new_ext(markdown, opts);
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow ugc"))
        .clean(&unsafe_html)
        .to_string()
}

/// A plain-text excerpt of at most `max_chars` characters, for lists.
pub fn excerpt(markdown: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for event in Parser::new(markdown) {
        if let pulldown_cmark::Event::Text(t) | pulldown_cmark::Event::Code(t) = event {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            out.push_str(&t);
        }
        if out.chars().count() > max_chars {
            break;
        }
    }
    if out.chars().count() > max_chars {
        let cut: String = out.chars().take(max_chars.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn renders_markdown() {
        assert!(render("**bold**").contains("<strong>bold</strong>"));
    }

    #[test]
    fn strips_script_handlers_and_js_links() {
        let payloads = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "<svg onload=alert(1)>",
            "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
        ];
        for p in payloads {
            let out = render(p).to_lowercase();
            for bad in [
                "<script",
                "onerror",
                "javascript:",
                "<svg",
                "onload",
                "data:text",
                "<iframe",
            ] {
                assert!(!out.contains(bad), "{p:?} rendered as {out:?}");
            }
        }
    }

    #[test]
    fn excerpt_is_plain_and_bounded() {
        let e = super::excerpt("# Title\n\nSome *long* text here", 12);
        assert!(e.chars().count() <= 12, "{e}");
        assert!(!e.contains('*'));
    }
}
