//! Hostile text for the "no escape sequence reaches any output" tests, shared by both test
//! binaries (tests/lab and tests/audit.rs include this file), and the one check of output
//! bytes: [`assert_no_escape`]. The check is written independently of `phi_console::sanitize`,
//! so a gap in the sanitiser's set is not repeated here.
#![allow(dead_code)]

/// One planted sample of every class of sequence, by name.
pub const CLASSES: &[(&str, &str)] = &[
    ("CSI", "\u{1b}[2J\u{1b}[31m\u{1b}[1;1H"),
    ("OSC title", "\u{1b}]0;pwned\u{7}"),
    ("OSC 52 clipboard", "\u{1b}]52;c;ZXZpbA==\u{1b}\\"),
    ("DCS", "\u{1b}P1$r0m\u{1b}\\"),
    ("APC", "\u{1b}_apc\u{1b}\\"),
    ("PM", "\u{1b}^pm\u{1b}\\"),
    ("SOS", "\u{1b}Xsos\u{1b}\\"),
    ("C1 CSI", "\u{9b}2J\u{9b}31m"),
    ("C1 OSC/DCS/ST", "\u{9d}0;t\u{9c}\u{90}d\u{9c}\u{85}"),
    ("cursor and erase", "\r\u{8}\u{7f}\u{7}\u{0}"),
    (
        "bidi",
        "\u{202e}gnp.exe\u{202a}\u{202b}\u{202c}\u{202d}\u{2066}\u{2067}\u{2068}\u{2069}\u{200e}\u{200f}\u{61c}",
    ),
    ("separators", "a\u{2028}b\u{2029}c"),
];

/// Every class in one string (what most tests plant), between `<<` and `>>`.
pub fn all() -> String {
    let mut s = String::from("<<");
    for (_, sample) in CLASSES {
        s.push_str(sample);
    }
    s.push_str(">>");
    s
}

/// Bytes that are not UTF-8, including a raw 8-bit CSI (0x9b) and OSC (0x9d), for byte
/// sources (an audit log on disk).
pub const INVALID_UTF8: &[u8] = b"<<\xff\x9b2J\x9d0;t\x07\xc3>>";

/// What may never be in output: ESC and every other C0 control except the newline, DEL, C1
/// controls, bidi embeddings/overrides/isolates/marks, and the line/paragraph separators.
pub fn forbidden(c: char) -> bool {
    (c.is_control() && c != '\n')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{61c}' | '\u{2028}' | '\u{2029}'
        )
}

/// Fails if `bytes` (what a program printed, or a rendered screen) hold anything that a
/// terminal would act on: bytes that are not UTF-8 (a raw 0x80–0x9f byte outside a UTF-8
/// sequence is an 8-bit C1 control to a terminal not in UTF-8 mode), ESC, C0 (but `\n`), DEL,
/// C1, bidi controls or line/paragraph separators.
#[track_caller]
pub fn assert_no_escape(what: &str, bytes: &[u8]) {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.valid_up_to();
            let end = (at + 8).min(bytes.len());
            panic!(
                "{what}: output is not UTF-8 at byte {at}: {:02x?}\n{}",
                &bytes[at..end],
                String::from_utf8_lossy(bytes)
            );
        }
    };
    for (line_no, line) in text.split('\n').enumerate() {
        if let Some(c) = line.chars().find(|c| forbidden(*c)) {
            panic!(
                "{what}: {c:?} reached the output on line {}: {line:?}",
                line_no + 1
            );
        }
    }
}

/// Fails unless the planted text was shown (sanitised): the test would otherwise pass on an
/// output that never included it.
#[track_caller]
pub fn assert_shown(what: &str, output: &str) {
    assert!(
        output.contains("␛]52;c;ZXZpbA=="),
        "{what}: the planted text is not in the output at all:\n{output}"
    );
}

/// Fails unless the output names the planted value in some form (sanitised, or escaped as
/// `\u{1b}` by a message that quotes it): for typed arguments that are refused.
#[track_caller]
pub fn assert_named(what: &str, output: &str) {
    assert!(
        output.contains("<<") && output.contains(">>")
            || output.contains("<<") && output.contains('…'),
        "{what}: the typed value is not named:\n{output}"
    );
}
