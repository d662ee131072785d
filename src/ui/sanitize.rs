//! Text from AWS (names, tags, policies, message attributes, event JSON) is untrusted: strip
//! control characters and escape sequences before it reaches the terminal.

use std::borrow::Cow;

/// Replaces every control character (C0, DEL, C1) with a visible `�`-free placeholder and
/// drops nothing silently: an ESC becomes `␛`, other controls `·`. Tabs become a space.
/// Newlines are kept only when `multiline` is set (detail panes), never in table cells.
pub fn clean_with(s: &str, multiline: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c, multiline)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| match c {
                '\t' => ' ',
                '\n' if multiline => '\n',
                '\u{1b}' => '␛',
                c if is_unsafe(c, multiline) => '·',
                c => c,
            })
            .collect(),
    )
}

fn is_unsafe(c: char, multiline: bool) -> bool {
    (c.is_control() && !(multiline && c == '\n'))
        // Bidirectional overrides and isolates can make text display differently from what it is.
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// One line of untrusted text for a table cell or header.
pub fn clean(s: &str) -> Cow<'_, str> {
    clean_with(s, false)
}

/// Multi-line untrusted text for a detail pane.
pub fn clean_block(s: &str) -> Cow<'_, str> {
    clean_with(s, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_never_pass() {
        let hostile = "q\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J\u{9b}31m\r\u{8}name\u{202e}gnp.exe";
        let out = clean(hostile);
        assert!(!out.chars().any(|c| c.is_control()), "{out:?}");
        assert!(!out.contains('\u{202e}'));
        assert!(out.contains("␛]52;c;ZXZpbA=="));
        assert_eq!(clean("plain-queue.fifo"), Cow::Borrowed("plain-queue.fifo"));
        assert_eq!(clean_block("a\nb\u{1b}c"), "a\nb␛c");
        assert_eq!(clean("a\nb"), "a·b");
    }
}
