//! Icons: one inline SVG sprite (`templates/partials/icons.html`) in every page, each icon a
//! `<symbol>` that pages draw with `<use href="#icon-…">`. Nothing is fetched from elsewhere, no
//! web font is needed, and the strict page policy holds (no inline style or script). Icons are
//! decorative: the words beside them carry the meaning, so screen readers skip them.

/// The markup that draws the sprite's icon `name`, for templates (`{{ self.icon("home")|safe }}`).
/// Safe as markup: callers pass literal names from the templates, checked against the sprite
/// by a test, never input.
pub(crate) fn markup(name: &str) -> String {
    format!(
        "<svg class=\"icon\" aria-hidden=\"true\" focusable=\"false\"><use href=\"#icon-{name}\"></use></svg>"
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    const SPRITE: &str = include_str!("../../templates/partials/icons.html");

    /// The names between `start` and the next `"` wherever `start` occurs in `text`.
    fn names_after(text: &str, start: &str) -> Vec<String> {
        text.split(start)
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_owned)
            .collect()
    }

    fn templates(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                templates(&path, out);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                out.push((path.display().to_string(), text));
            }
        }
    }

    /// Every template of the crate, with its path.
    fn all_templates() -> Vec<(String, String)> {
        let mut files = Vec::new();
        templates(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"),
            &mut files,
        );
        files
    }

    #[test]
    fn every_icon_a_template_draws_is_in_the_sprite_once() {
        let ids = names_after(SPRITE, "<symbol id=\"icon-");
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "an icon is defined twice: {ids:?}");
        let files = all_templates();
        assert!(files.len() > 10, "templates found: {}", files.len());
        let mut used = BTreeSet::new();
        for (file, text) in &files {
            for name in names_after(text, "self.icon(\"") {
                assert!(
                    unique.contains(&name),
                    "{file} draws the icon {name:?}, which the sprite lacks"
                );
                used.insert(name);
            }
        }
        let unused: Vec<_> = unique
            .iter()
            .filter(|id| !used.contains(id.as_str()))
            .collect();
        assert!(unused.is_empty(), "icons no page draws: {unused:?}");
    }

    /// The sprite's ids share each page with the page's own: a form field called `i-file` once
    /// made `#i-file` find the icon instead of the field.
    #[test]
    fn no_element_of_a_page_has_an_id_of_the_sprite() {
        let ids: BTreeSet<String> = names_after(SPRITE, "<symbol id=\"").into_iter().collect();
        let files = all_templates();
        for (file, text) in files.iter().filter(|(f, _)| !f.ends_with("icons.html")) {
            for id in names_after(text, " id=\"") {
                assert!(
                    !ids.contains(&id),
                    "{file} has an element with the icon's id {id}"
                );
            }
            assert!(
                !text.contains(" id=\"icon-"),
                "{file}: ids beginning with icon- are the sprite's"
            );
        }
    }

    #[test]
    fn an_icon_is_hidden_from_screen_readers_and_points_into_the_sprite() {
        let m = super::markup("home");
        assert!(m.contains("aria-hidden=\"true\""));
        assert!(m.contains("href=\"#icon-home\""));
    }
}
