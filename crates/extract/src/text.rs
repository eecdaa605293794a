//! The text read so far, bounded.

use crate::Unreadable;

/// Text gathered from a file, never longer than its limit.
pub(crate) struct Text {
    out: String,
    max: usize,
}

impl Text {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            out: String::new(),
            max,
        }
    }

    /// Appends `s`; fails once the text would exceed the limit.
    pub(crate) fn push(&mut self, s: &str) -> Result<(), Unreadable> {
        if self.out.len().saturating_add(s.len()) > self.max {
            return Err(Unreadable::TextTooLong);
        }
        self.out.push_str(s);
        Ok(())
    }

    /// Separates words, unless they already are.
    pub(crate) fn space(&mut self) -> Result<(), Unreadable> {
        match self.out.chars().last() {
            None => Ok(()),
            Some(c) if c.is_whitespace() => Ok(()),
            Some(_) => self.push(" "),
        }
    }

    /// Ends a paragraph, cell or page, unless one just ended.
    pub(crate) fn end_block(&mut self) -> Result<(), Unreadable> {
        match self.out.chars().last() {
            None | Some('\n') => Ok(()),
            Some(_) => self.push("\n"),
        }
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_beyond_the_limit_is_refused_not_cut() {
        let mut t = Text::new(10);
        assert_eq!(t.push("0123456789"), Ok(()));
        assert_eq!(t.push("a"), Err(Unreadable::TextTooLong));
        assert_eq!(t.finish(), "0123456789");
    }

    #[test]
    fn blocks_and_spaces_are_not_doubled() {
        let mut t = Text::new(100);
        t.end_block().unwrap();
        t.push("a").unwrap();
        t.space().unwrap();
        t.space().unwrap();
        t.end_block().unwrap();
        t.push("b").unwrap();
        t.end_block().unwrap();
        t.end_block().unwrap();
        assert_eq!(t.finish(), "a \nb\n");
    }
}
