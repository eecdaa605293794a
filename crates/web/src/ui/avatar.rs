//! Generated avatars: a person's initials on one of eight colours chosen from their name, drawn
//! by the page itself (no image service, nothing about the person leaves the instance). The
//! colour is a class, not an inline style, so the strict page policy holds.

/// Up to two initials of a display name: the first letters of its first and last words
/// (`Mia Müller` → `MM`, `cleo` → `C`); `?` for a name without letters.
pub(crate) fn initials(name: &str) -> String {
    let mut words = name
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()));
    let first = words.next();
    let last = words.next_back();
    match (first, last) {
        (Some(f), Some(l)) => f.to_uppercase().chain(l.to_uppercase()).collect(),
        (Some(f), None) => f.to_uppercase().collect(),
        _ => "?".to_owned(),
    }
}

/// One of eight colours (0–7), the same for the same name on every page and every node.
pub(crate) fn hue(name: &str) -> u8 {
    // FNV-1a: stable across builds and machines, unlike the standard library's hasher.
    let mut h: u32 = 0x811c_9dc5;
    for b in name.trim().to_lowercase().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % 8) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_the_first_and_last_word() {
        assert_eq!(initials("Mia Müller"), "MM");
        assert_eq!(initials("Olivia van der Owner"), "OO");
        assert_eq!(initials("cleo"), "C");
        assert_eq!(initials("  "), "?");
        assert_eq!(initials("(ß) émile"), "SSÉ");
        assert_eq!(initials("ĳssel"), "Ĳ");
    }

    #[test]
    fn a_name_keeps_its_colour() {
        assert_eq!(hue("Mia Müller"), hue(" mia müller "));
        assert!((0..8).contains(&hue("anyone")));
        let spread: std::collections::HashSet<u8> = [
            "Ada", "Bob", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jo",
        ]
        .iter()
        .map(|n| hue(n))
        .collect();
        assert!(
            spread.len() >= 4,
            "names spread over the colours: {spread:?}"
        );
    }
}
