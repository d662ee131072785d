//! One rule for every byte phi-console prints (docs/SANITISING.md).
//!
//! Text from AWS (names, tags, descriptions, policies, message attributes, CloudTrail events,
//! error messages), from the audit log and from the command line is untrusted. Before it reaches
//! a terminal, a file or a pipe, every *unsafe* character ([`is_unsafe`]) is made harmless:
//!
//! - plain text and the TUI ([`clean`], [`clean_block`], [`SafeWriter`]): replaced by a visible
//!   placeholder (`␛` for ESC, a space for a tab, `·` for the rest); nothing is dropped silently;
//! - CSV ([`csv_cell`]): the same, then RFC 4180 quoting, and a leading `'` on a cell that a
//!   spreadsheet would run as a formula;
//! - JSON ([`to_json_string`], [`to_json_line`], [`escape_json_text`]): the data is kept, every
//!   unsafe character is written as a `\uXXXX` escape, so the output itself is plain printable
//!   text and parsing it gives back the original string.
//!
//! Invalid UTF-8 from byte sources is replaced visibly (`�`, [`clean_bytes`]).

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, PrettyFormatter};
use std::borrow::Cow;
use std::io::{self, Write};

/// The unsafe set: what may never reach an output as itself.
///
/// - C0 controls (U+0000–U+001F, incl. ESC, CR, BS, BEL, tab and newline), DEL (U+007F) and
///   C1 controls (U+0080–U+009F, incl. the 8-bit CSI U+009B and OSC U+009D): they start escape
///   sequences or move the cursor;
/// - bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and marks
///   (U+200E, U+200F, U+061C): text displays in another order than it is;
/// - line and paragraph separators (U+2028, U+2029): some terminals and editors break lines on
///   them, others leave stray cells;
/// - invisible format characters that make two different strings look the same: zero-width
///   space, non-joiner and joiner (U+200B–U+200D), word joiner and invisible operators
///   (U+2060–U+2064), deprecated format controls (U+206A–U+206F), the byte order mark /
///   zero-width no-break space (U+FEFF), soft hyphen (U+00AD), Mongolian vowel separator
///   (U+180E), combining grapheme joiner (U+034F), Hangul fillers (U+115F, U+1160, U+3164,
///   U+FFA0), interlinear annotation controls (U+FFF9–U+FFFB) and tag characters
///   (U+E0000–U+E007F, invisible "ASCII smuggling").
///
/// A newline is unsafe in a one-line context; [`clean_block`] keeps it.
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{200e}' | '\u{200f}' | '\u{061c}'
        | '\u{2028}' | '\u{2029}'
        | '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}' | '\u{206a}'..='\u{206f}'
        | '\u{feff}' | '\u{00ad}' | '\u{180e}' | '\u{034f}'
        | '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}'
        | '\u{fff9}'..='\u{fffb}' | '\u{e0000}'..='\u{e007f}')
}

fn unsafe_in(c: char, multiline: bool) -> bool {
    is_unsafe(c) && !(multiline && c == '\n')
}

/// The visible stand-in for an unsafe character.
fn placeholder(c: char) -> char {
    match c {
        '\u{1b}' => '␛',
        '\t' => ' ',
        _ => '·',
    }
}

/// Replaces every unsafe character with a visible placeholder; newlines are kept only when
/// `multiline` is set (detail panes, blocks of output), never in table cells or one-liners.
pub fn clean_with(s: &str, multiline: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| unsafe_in(c, multiline)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if unsafe_in(c, multiline) {
                    placeholder(c)
                } else {
                    c
                }
            })
            .collect(),
    )
}

/// One line of untrusted text (a table cell, a header, a one-line message).
pub fn clean(s: &str) -> Cow<'_, str> {
    clean_with(s, false)
}

/// Multi-line untrusted text (a detail pane, a block of output): newlines kept.
pub fn clean_block(s: &str) -> Cow<'_, str> {
    clean_with(s, true)
}

/// Untrusted bytes as multi-line text: invalid UTF-8 becomes `�`, then [`clean_block`].
pub fn clean_bytes(b: &[u8]) -> String {
    clean_block(&String::from_utf8_lossy(b)).into_owned()
}

/// One CSV cell: [`clean`] (so a cell is always one line), a leading `'` when a spreadsheet
/// would take the cell for a formula (it starts with `=`, `+`, `-`, `@`, a tab or a CR, also
/// after leading spaces), and RFC 4180 quoting when it holds `,` or `"` (or starts or ends with
/// a space, which some readers trim).
pub fn csv_cell(s: &str) -> String {
    let formula = s.starts_with(['\t', '\r'])
        || s.trim_start().starts_with(['=', '+', '-', '@'])
        || s.trim_start()
            .starts_with(['\u{ff1d}', '\u{ff0b}', '\u{ff0d}', '\u{ff20}']);
    let mut cell = clean(s).into_owned();
    if formula {
        cell.insert(0, '\'');
    }
    if cell.contains([',', '"']) || cell.starts_with(' ') || cell.ends_with(' ') {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

/// One CSV record (no line end): every cell through [`csv_cell`].
pub fn csv_row<S: AsRef<str>>(cells: &[S]) -> String {
    cells
        .iter()
        .map(|c| csv_cell(c.as_ref()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Writes `c` as a JSON `\uXXXX` escape (a surrogate pair above the BMP).
fn push_json_escape(out: &mut Vec<u8>, c: char) {
    let mut units = [0u16; 2];
    for u in c.encode_utf16(&mut units) {
        out.extend_from_slice(format!("\\u{u:04x}").as_bytes());
    }
}

/// A serde_json formatter that writes every unsafe character of a string as a `\uXXXX`
/// escape (serde_json itself escapes only C0 controls, `"` and `\`).
pub struct SafeFormatter<F>(pub F);

impl<F: Formatter> Formatter for SafeFormatter<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if !fragment.chars().any(is_unsafe) {
            return w.write_all(fragment.as_bytes());
        }
        let mut out = Vec::with_capacity(fragment.len() + 12);
        for c in fragment.chars() {
            if is_unsafe(c) {
                push_json_escape(&mut out, c);
            } else {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
        w.write_all(&out)
    }
    fn write_char_escape<W: ?Sized + Write>(&mut self, w: &mut W, e: CharEscape) -> io::Result<()> {
        self.0.write_char_escape(w, e)
    }
    fn write_raw_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        w.write_all(escape_json_text(fragment).as_bytes())
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

fn serialize_with<T: Serialize + ?Sized, F: Formatter>(
    v: &T,
    formatter: F,
) -> serde_json::Result<String> {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, SafeFormatter(formatter));
    v.serialize(&mut ser)?;
    // The serializer writes UTF-8 (every string it got was a `str`); lossy never replaces here.
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Pretty JSON of any serializable value, every unsafe character escaped (`\u001b`, `\u202e`).
pub fn to_json_pretty<T: Serialize + ?Sized>(v: &T) -> serde_json::Result<String> {
    serialize_with(v, PrettyFormatter::new())
}

/// Compact (one-line) JSON of any serializable value, every unsafe character escaped.
pub fn to_json_compact<T: Serialize + ?Sized>(v: &T) -> serde_json::Result<String> {
    serialize_with(v, CompactFormatter)
}

/// Pretty JSON of a value, every unsafe character escaped: what every `--json` output prints.
pub fn to_json_string(v: &Value) -> String {
    // A `Value` always serializes (string keys, no fallible Serialize impls).
    to_json_pretty(v).unwrap_or_else(|e| unserializable(&e))
}

fn unserializable(e: &serde_json::Error) -> String {
    let message = serde_json::to_string(&clean(&e.to_string())).unwrap_or_default();
    format!("{{\"error\":{message}}}")
}

/// One-line JSON of a value (JSON Lines), every unsafe character escaped.
pub fn to_json_line(v: &Value) -> String {
    to_json_compact(v).unwrap_or_else(|e| unserializable(&e))
}

/// JSON text made safe to print without re-serializing it (records shown as stored): every
/// unsafe character becomes a `\uXXXX` escape, except the whitespace `\n` (kept) and `\t`/`\r`
/// (a space). In valid JSON an unsafe character other than that whitespace can only be inside
/// a string, where the escape means the same character, so the data is unchanged.
pub fn escape_json_text(json: &str) -> String {
    let mut out = Vec::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '\n' => out.push(b'\n'),
            '\t' | '\r' => out.push(b' '),
            c if is_unsafe(c) => push_json_escape(&mut out, c),
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How many bytes at the end of `b` start a UTF-8 sequence that is not complete yet.
fn incomplete_utf8_tail(b: &[u8]) -> usize {
    for i in 1..=b.len().min(3) {
        let byte = b[b.len() - i];
        if byte & 0xc0 == 0x80 {
            continue;
        }
        let need = match byte {
            0xf0..=0xff => 4,
            0xe0..=0xef => 3,
            0xc0..=0xdf => 2,
            _ => 1,
        };
        return if need > i { i } else { 0 };
    }
    0
}

/// A writer that passes everything through [`clean_block`]: stdout and stderr of every
/// command go through one, so no escape sequence reaches the terminal whatever is printed.
/// Output is buffered to the end of each line (or [`Write::flush`], for prompts), so a
/// character split across writes is kept whole; invalid UTF-8 is shown as `�`.
pub struct SafeWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

/// Above this many buffered bytes without a newline, text is written out anyway.
const MAX_PENDING: usize = 16 * 1024;

impl<W: Write> SafeWriter<W> {
    pub fn new(inner: W) -> Self {
        SafeWriter {
            inner,
            pending: Vec::new(),
        }
    }

    /// Writes out the buffered text, but for `keep` bytes at its end.
    fn emit(&mut self, keep: usize) -> io::Result<()> {
        let n = self.pending.len() - keep;
        if n == 0 {
            return Ok(());
        }
        let text = clean_bytes(&self.pending[..n]);
        self.pending.drain(..n);
        self.inner.write_all(text.as_bytes())
    }
}

impl<W: Write> Write for SafeWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(last_nl) = self.pending.iter().rposition(|&b| b == b'\n') {
            self.emit(self.pending.len() - last_nl - 1)?;
        }
        if self.pending.len() > MAX_PENDING {
            self.emit(incomplete_utf8_tail(&self.pending))?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit(incomplete_utf8_tail(&self.pending))?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for SafeWriter<W> {
    fn drop(&mut self) {
        // An incomplete character at the very end is shown as `�`.
        let _ = self.emit(0);
        let _ = self.inner.flush();
    }
}

/// The process's stdout, sanitised: the only way to it outside the TUI's terminal.
pub fn stdout() -> SafeWriter<io::Stdout> {
    SafeWriter::new(io::stdout())
}

/// Redraws one status line on stderr when it is a terminal: a carriage return and "erase
/// line" (the only control sequence written outside the TUI), then `text` sanitised to one
/// line, flushed. Nothing when stderr is not a terminal.
pub fn redraw_status(text: &str) {
    use std::io::Write as _;
    if !stderr_is_terminal() {
        return;
    }
    let mut e = io::stderr().lock();
    let _ = write!(e, "\r\x1b[2K{}", clean(text));
    let _ = e.flush();
}

/// Whether stderr is a terminal (progress lines are drawn only there).
pub fn stderr_is_terminal() -> bool {
    std::io::IsTerminal::is_terminal(&io::stderr())
}

/// The process's stderr, sanitised: the only way to it.
pub fn stderr() -> SafeWriter<io::Stderr> {
    SafeWriter::new(io::stderr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every class of hostile text: CSI, OSC (title, OSC 52 clipboard), DCS, APC, PM, SOS,
    /// 8-bit CSI/OSC, cursor moves, bidi, separators, zero-width and tag characters.
    const HOSTILE: &[&str] = &[
        "\u{1b}[2J\u{1b}[31mred",
        "\u{1b}]0;pwned title\u{7}",
        "\u{1b}]52;c;ZXZpbA==\u{1b}\\",
        "\u{1b}P1$r0m\u{1b}\\",
        "\u{1b}_apc\u{1b}\\",
        "\u{1b}^pm\u{1b}\\",
        "\u{1b}Xsos\u{1b}\\",
        "\u{9b}31m\u{9d}0;t\u{9c}\u{90}dcs\u{9c}",
        "a\rb\u{8}c\u{7f}d\u{0}e\u{85}f",
        "own\u{202e}gnp.exe\u{2066}x\u{2069}\u{200f}\u{200e}\u{61c}",
        "line\u{2028}sep\u{2029}para",
        "zero\u{200b}width\u{feff}\u{2060}\u{00ad}\u{e0041}\u{e007f}",
    ];

    fn assert_safe(out: &str, allow_newline: bool) {
        for c in out.chars() {
            assert!(
                !is_unsafe(c) || (allow_newline && c == '\n'),
                "{c:?} in {out:?}"
            );
        }
    }

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
        assert_eq!(clean("a\tb"), "a b");
        assert_eq!(clean("a\u{2028}b\u{2029}c"), "a·b·c");
        for h in HOSTILE {
            assert_safe(&clean(h), false);
            assert_safe(&clean_block(h), true);
        }
    }

    #[test]
    fn text_people_use_is_kept() {
        for s in [
            "claims-intake.fifo",
            "Schlüssel für Ansprüche — 請求",
            "é (e + combining acute: e\u{301})",
            "emoji 🔑 and a variation selector ❤\u{fe0f}",
            "Arabic مفتاح and Hebrew מפתח",
        ] {
            assert_eq!(clean(s), Cow::Borrowed(s));
        }
    }

    #[test]
    fn invalid_utf8_is_replaced_visibly() {
        let out = clean_bytes(b"ok \xff\x9b31m \xc3");
        assert!(out.contains('\u{fffd}'));
        assert!(!out.contains('\u{9b}'));
        assert_safe(&out, true);
    }

    #[test]
    fn csv_cells_are_one_line_quoted_and_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        for f in ["+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "  =1", "＝1"] {
            assert!(
                csv_cell(f).trim_start_matches('"').starts_with('\''),
                "{f:?}"
            );
        }
        assert_eq!(csv_cell("a\nb\u{1b}[2J"), "a·b␛[2J");
        assert_eq!(csv_row(&["1", "x,y", "=1"]), "1,\"x,y\",'=1");
    }

    #[test]
    fn json_keeps_the_data_and_escapes_the_unsafe() {
        let v = serde_json::json!({ "d\u{202e}": HOSTILE, "n": 1, "nested": [{"k": "\u{85}"}] });
        for out in [to_json_string(&v), to_json_line(&v)] {
            assert!(out.is_ascii() || !out.chars().any(is_unsafe), "{out}");
            assert_safe(&out, true);
            assert!(out.contains("\\u001b[2J"), "{out}");
            assert!(out.contains("\\u202e"), "{out}");
            assert!(out.contains("\\udb40\\udc41"), "{out}");
            let back: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(back, v);
        }
        assert!(!to_json_line(&v).contains('\n'));
        // Stored JSON shown as it is: same data, safe text.
        let stored = serde_json::to_string(&v).unwrap();
        assert!(
            stored.contains('\u{202e}'),
            "serde_json alone does not escape bidi"
        );
        let shown = escape_json_text(&stored);
        assert_safe(&shown, false);
        assert_eq!(serde_json::from_str::<Value>(&shown).unwrap(), v);
    }

    #[test]
    fn the_writer_cleans_lines_and_prompts_and_keeps_split_characters() {
        let mut buf = Vec::new();
        {
            let mut w = SafeWriter::new(&mut buf);
            write!(w, "Type \u{1b}]0;x\u{7} to confirm: ").unwrap();
            w.flush().unwrap();
            // '␛' (3 bytes) and '€' split across writes.
            let euro = "€".as_bytes();
            w.write_all(&euro[..1]).unwrap();
            w.flush().unwrap();
            w.write_all(&euro[1..]).unwrap();
            writeln!(w, " \u{9b}2J\u{2028}end").unwrap();
            w.write_all(b"raw \xff\x9b bytes").unwrap();
        }
        let out = String::from_utf8(buf).unwrap();
        assert_eq!(
            out,
            "Type ␛]0;x· to confirm: € ·2J·end\nraw \u{fffd}\u{fffd} bytes"
        );
    }

    #[test]
    fn a_long_line_is_written_in_bounded_pieces() {
        let mut buf = Vec::new();
        {
            let mut w = SafeWriter::new(&mut buf);
            let s = "é".repeat(MAX_PENDING);
            w.write_all(s.as_bytes()).unwrap();
            assert!(w.pending.len() <= 3);
        }
        assert_eq!(buf.len(), 2 * MAX_PENDING);
    }

    /// Every print in src/ goes through this module: no `println!`/`eprintln!`/`print!`/
    /// `eprint!`, and no raw `std::io::stdout()`/`stderr()` outside the allowed places (this
    /// module; the TUI's terminal handle in app/mod.rs, which ratatui draws sanitised cells on;
    /// the emulator's own server log).
    #[test]
    fn every_print_in_src_goes_through_the_sanitiser() {
        fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, files);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    files.push(p);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&root, &mut files);
        assert!(files.len() > 20, "src/ was found");
        let allowed = ["sanitize.rs", "app/mod.rs", "emulator/"];
        let needles = [
            "println!(",
            "print!(",
            "io::stdout()",
            "io::stderr()",
            "dbg!(",
        ];
        let mut found = Vec::new();
        for f in files {
            let rel = f
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if allowed
                .iter()
                .any(|a| rel == *a || (a.ends_with('/') && rel.starts_with(a)))
            {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            for (i, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for n in needles {
                    if line.contains(n) {
                        found.push(format!("src/{rel}:{}: {}", i + 1, line.trim()));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "print through crate::sanitize (stdout()/stderr()/clean/to_json_string), not raw:\n{}",
            found.join("\n")
        );
    }

    fn hostile_string() -> impl Strategy<Value = String> {
        // Arbitrary strings, weighted towards the unsafe set and escape-sequence starts.
        let unsafe_chars = prop::sample::select(vec![
            '\u{1b}',
            '\u{7}',
            '\u{9b}',
            '\u{9d}',
            '\u{90}',
            '\u{9c}',
            '\u{85}',
            '\r',
            '\n',
            '\t',
            '\u{0}',
            '\u{7f}',
            '\u{202e}',
            '\u{2066}',
            '\u{200f}',
            '\u{61c}',
            '\u{2028}',
            '\u{2029}',
            '\u{200b}',
            '\u{feff}',
            '\u{e0041}',
            '[',
            ']',
            ';',
            '"',
            '\\',
            ',',
            '=',
        ]);
        let piece = prop_oneof![
            any::<char>().prop_map(String::from),
            unsafe_chars.prop_map(String::from),
            prop::sample::select(HOSTILE.to_vec()).prop_map(String::from),
            "[a-z]{0,4}",
        ];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn no_unsafe_character_survives_any_output(s in hostile_string()) {
            assert_safe(&clean(&s), false);
            assert_safe(&clean_block(&s), true);
            let cell = csv_cell(&s);
            assert_safe(&cell, false);
            prop_assert!(!cell.contains('\n'));
            let v = serde_json::json!({ s.clone(): [s.clone(), {"k": s.clone()}] });
            for out in [to_json_string(&v), to_json_line(&v)] {
                assert_safe(&out, true);
                prop_assert_eq!(&serde_json::from_str::<Value>(&out).unwrap(), &v);
            }
            let stored = escape_json_text(&serde_json::to_string(&v).unwrap());
            assert_safe(&stored, false);
            prop_assert_eq!(&serde_json::from_str::<Value>(&stored).unwrap(), &v);
        }

        #[test]
        fn no_unsafe_character_survives_the_writer(
            bytes in prop::collection::vec(any::<u8>(), 0..200),
            s in hostile_string(),
            cut in 0usize..64,
        ) {
            let mut input = s.into_bytes();
            input.extend_from_slice(&bytes);
            let mut buf = Vec::new();
            {
                let mut w = SafeWriter::new(&mut buf);
                let cut = cut.min(input.len());
                w.write_all(&input[..cut]).unwrap();
                w.flush().unwrap();
                w.write_all(&input[cut..]).unwrap();
            }
            let out = String::from_utf8(buf);
            prop_assert!(out.is_ok(), "the writer's output is always UTF-8");
            assert_safe(&out.unwrap_or_default(), true);
        }
    }
}
