//! Masking of PHI-like values in text the operator chose to reveal (a message body): pure, no
//! I/O, bounded work. See docs/MASKING.md for every pattern and its limits.
//!
//! Each match is replaced by a label (`[SSN]`, `[DATE]`, `[PHONE]`, `[EMAIL]`, `[MEMBER-ID]`,
//! or the label of a JSON key's value), so the operator sees that something was there and what
//! kind of thing it was, never the value. Masking is a net under the reveal, not a guarantee:
//! free text can hold PHI no pattern knows (a name), which is why the reveal is recorded.
//!
//! The scanner is hand-written (no regular expressions): one pass over the bytes, every match
//! attempt looks at a bounded number of bytes, so the work is linear in the input. Every pattern
//! starts and ends on ASCII bytes, so slicing never splits a UTF-8 character.

/// The labels a match is replaced with.
pub const SSN: &str = "[SSN]";
pub const DATE: &str = "[DATE]";
pub const DOB: &str = "[DOB]";
pub const PHONE: &str = "[PHONE]";
pub const EMAIL: &str = "[EMAIL]";
pub const MEMBER_ID: &str = "[MEMBER-ID]";
pub const NUMBER: &str = "[NUMBER]";
pub const NAME: &str = "[NAME]";
pub const ADDRESS: &str = "[ADDRESS]";

/// JSON keys whose value is masked whatever it looks like, normalised (ASCII lowercase, `_` and
/// `-` removed), with the label of their value.
const KEYS: &[(&str, &str)] = &[
    ("memberid", MEMBER_ID),
    ("membernumber", MEMBER_ID),
    ("memberno", MEMBER_ID),
    ("subscriberid", MEMBER_ID),
    ("ssn", SSN),
    ("socialsecuritynumber", SSN),
    ("dob", DOB),
    ("dateofbirth", DOB),
    ("birthdate", DOB),
    ("email", EMAIL),
    ("phone", PHONE),
    ("phonenumber", PHONE),
];

/// Words that make a bare run of 9 digits an SSN (looked for in the 24 bytes before it).
const SSN_CONTEXT: &[&str] = &["ssn", "social"];
/// Words that make a bare run of 10 or 11 digits a phone number.
const PHONE_CONTEXT: &[&str] = &["phone", "tel", "mobile", "fax", "cell"];
/// How far back (bytes) the context words are looked for.
const CONTEXT_BYTES: usize = 24;
/// The longest JSON key and string value the key rule reads.
const MAX_KEY: usize = 40;
const MAX_VALUE: usize = 512;

/// A message body as a masked reveal shows it. A JSON body is walked as JSON: every value under
/// a PHI-like key (by what the key contains: `ssn`, `birth`, `dob`, `member…id`, `mrn`, `phone`,
/// `email`, `…name`, `address`, `zip`, …) is replaced by its label, whole arrays and objects
/// included; a string holding JSON (an SNS envelope's `Message`) is walked too; every other
/// string and number goes through [`mask`]. The result is pretty-printed. Any other body is
/// [`mask`]ed as text.
pub fn mask_body(body: &str) -> String {
    let folded = fold(body);
    match serde_json::from_str::<serde_json::Value>(&folded) {
        Ok(mut v) => {
            mask_value(&mut v, None, 0);
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| mask(&folded))
        }
        Err(_) => mask(&folded),
    }
}

/// How deep strings holding JSON are opened (an envelope in an envelope …).
const MAX_NESTED: usize = 4;

fn mask_value(v: &mut serde_json::Value, label: Option<&'static str>, nested: usize) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                mask_value(x, label.or_else(|| key_label(k)), nested);
            }
        }
        Value::Array(a) => {
            for x in a {
                mask_value(x, label, nested);
            }
        }
        Value::String(s) => {
            if let Some(l) = label {
                *s = l.to_string();
                return;
            }
            let inner = s.trim_start();
            if nested < MAX_NESTED
                && (inner.starts_with('{') || inner.starts_with('['))
                && let Ok(mut j) = serde_json::from_str::<Value>(s)
            {
                mask_value(&mut j, None, nested + 1);
                *s = j.to_string();
                return;
            }
            *s = mask(s);
        }
        Value::Number(n) => {
            let text = n.to_string();
            let masked = match label {
                Some(l) => l.to_string(),
                None => mask(&text),
            };
            if masked != text {
                *v = Value::String(masked);
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

/// The label of a JSON key whose value is PHI whatever it looks like, by what the key contains
/// (ASCII lowercase, without `_`, `-`, `.` and spaces).
fn key_label(key: &str) -> Option<&'static str> {
    let k: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    let has = |w: &str| k.contains(w);
    if has("ssn") || has("socialsecurity") {
        Some(SSN)
    } else if has("dob") || has("birth") {
        Some(DOB)
    } else if (has("member") || has("subscriber") || has("insured") || has("patient"))
        && (has("id") || has("number") || k.ends_with("no"))
        || ["mrn", "mbi", "hicn", "medicareid", "medicaidid"]
            .iter()
            .any(|w| has(w))
    {
        Some(MEMBER_ID)
    } else if has("email") {
        Some(EMAIL)
    } else if has("phone") || has("mobile") || has("fax") || k == "tel" {
        Some(PHONE)
    } else if k == "name"
        || has("firstname")
        || has("lastname")
        || has("middlename")
        || has("fullname")
        || has("givenname")
        || has("familyname")
        || has("surname")
        || (k.ends_with("name")
            && (has("patient") || has("member") || has("subscriber") || has("insured")))
    {
        Some(NAME)
    } else if has("address") || has("street") || has("zip") || has("postal") || has("city") {
        Some(ADDRESS)
    } else {
        None
    }
}

/// The text with look-alike characters made plain, so a pattern cannot be dodged with them:
/// full-width digits and letters as ASCII, dashes as `-`, spaces as ` `, and invisible format
/// characters (zero-width, bidi controls, soft hyphens) dropped. Never longer than the input.
pub fn fold(text: &str) -> std::borrow::Cow<'_, str> {
    if text.is_ascii() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let u = c as u32;
        match c {
            '\u{FF10}'..='\u{FF19}' => out.push(char::from(b'0' + (u - 0xFF10) as u8)),
            '\u{FF21}'..='\u{FF3A}' => out.push(char::from(b'A' + (u - 0xFF21) as u8)),
            '\u{FF41}'..='\u{FF5A}' => out.push(char::from(b'a' + (u - 0xFF41) as u8)),
            '\u{FF20}' => out.push('@'),
            '\u{FF0E}' => out.push('.'),
            '\u{FF0F}' => out.push('/'),
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => {
                out.push('-')
            }
            '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => {
                out.push(' ')
            }
            '\u{00AD}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}' => {}
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `text` with every PHI-like value replaced by its label (after [`fold`]). Never panics; the
/// result is at most twice as long as the input plus a few bytes (a label can be longer than a
/// tiny value).
pub fn mask(text: &str) -> String {
    let folded = fold(text);
    let text: &str = &folded;
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if let Some((end, replacement)) = match_at(b, i) {
            out.push_str(&replacement);
            i = end;
            continue;
        }
        // Copy one character (whole, when it is not ASCII).
        let len = text[i..].chars().next().map(char::len_utf8).unwrap_or(1);
        out.push_str(&text[i..i + len]);
        i += len;
    }
    out
}

/// The end of a match starting at `i` and what replaces `b[i..end]`.
fn match_at(b: &[u8], i: usize) -> Option<(usize, String)> {
    if b[i] == b'"'
        && let Some(m) = json_key(b, i)
    {
        return Some(m);
    }
    if !boundary_before(b, i) {
        // A long number glued to letters (`W123456789`, `123456789A`) is still a number.
        return long_number(b, i).map(|end| (end, NUMBER.to_string()));
    }
    let label = |end: usize, l: &str| Some((end, l.to_string()));
    if let Some(end) = email(b, i) {
        return label(end, EMAIL);
    }
    if let Some(end) = ssn(b, i) {
        return label(end, SSN);
    }
    if let Some(end) = iso_date(b, i).or_else(|| us_date(b, i)) {
        return label(end, DATE);
    }
    if let Some(end) = phone(b, i) {
        return label(end, PHONE);
    }
    if let Some(end) = member_id(b, i).or_else(|| mbi(b, i)) {
        return label(end, MEMBER_ID);
    }
    if let Some(end) = compact_date(b, i) {
        return label(end, DATE);
    }
    if let Some(end) = spaced_ssn(b, i) {
        return label(end, SSN);
    }
    digits_in_context(b, i).or_else(|| long_number(b, i).map(|end| (end, NUMBER.to_string())))
}

/// A run of 9 or more digits starting at `i` (not inside a longer run): an SSN, member, record
/// or account number in some format, whatever surrounds it.
fn long_number(b: &[u8], i: usize) -> Option<usize> {
    if !b.get(i)?.is_ascii_digit() || (i > 0 && b[i - 1].is_ascii_digit()) {
        return None;
    }
    let n = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    (n >= 9).then_some(i + n)
}

/// `YYYYMMDD` (X12's D8 dates: `DMG*D8*19800102`), years 1900–2099.
fn compact_date(b: &[u8], i: usize) -> Option<usize> {
    if !digits(b, i, 8) || !boundary_after(b, i + 8) {
        return None;
    }
    let year = number(b, i, 4);
    ((1900..=2099).contains(&year) && month_day(number(b, i + 4, 2), number(b, i + 6, 2)))
        .then_some(i + 8)
}

/// `123 45 6789`.
fn spaced_ssn(b: &[u8], i: usize) -> Option<usize> {
    (digits(b, i, 3)
        && at(b, i + 3, b' ')
        && digits(b, i + 4, 2)
        && at(b, i + 6, b' ')
        && digits(b, i + 7, 4)
        && boundary_after(b, i + 11))
    .then_some(i + 11)
}

/// A Medicare Beneficiary Identifier: 11 characters (`1EG4TE5MK73`, or `1EG4-TE5-MK73`):
/// digit, letter, letter-or-digit, digit, letter, letter-or-digit, digit, letter, letter,
/// digit, digit.
fn mbi(b: &[u8], i: usize) -> Option<usize> {
    let shape: [fn(u8) -> bool; 11] = [
        |c| c.is_ascii_digit(),
        |c| c.is_ascii_alphabetic(),
        |c| c.is_ascii_alphanumeric(),
        |c| c.is_ascii_digit(),
        |c| c.is_ascii_alphabetic(),
        |c| c.is_ascii_alphanumeric(),
        |c| c.is_ascii_digit(),
        |c| c.is_ascii_alphabetic(),
        |c| c.is_ascii_alphabetic(),
        |c| c.is_ascii_digit(),
        |c| c.is_ascii_digit(),
    ];
    let mut j = i;
    for (n, ok) in shape.iter().enumerate() {
        if (n == 4 || n == 7) && at(b, j, b'-') {
            j += 1;
        }
        if !ok(*b.get(j)?) {
            return None;
        }
        j += 1;
    }
    boundary_after(b, j).then_some(j)
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

fn boundary_before(b: &[u8], i: usize) -> bool {
    i == 0 || !is_word(b[i - 1])
}

fn boundary_after(b: &[u8], j: usize) -> bool {
    j >= b.len() || !is_word(b[j])
}

/// Exactly `n` ASCII digits at `i`.
fn digits(b: &[u8], i: usize, n: usize) -> bool {
    b.get(i..i + n)
        .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
}

fn number(b: &[u8], i: usize, n: usize) -> u32 {
    b[i..i + n]
        .iter()
        .fold(0, |a, d| a * 10 + u32::from(d - b'0'))
}

fn at(b: &[u8], i: usize, c: u8) -> bool {
    b.get(i) == Some(&c)
}

/// `123-45-6789`.
fn ssn(b: &[u8], i: usize) -> Option<usize> {
    (digits(b, i, 3)
        && at(b, i + 3, b'-')
        && digits(b, i + 4, 2)
        && at(b, i + 6, b'-')
        && digits(b, i + 7, 4)
        && boundary_after(b, i + 11))
    .then_some(i + 11)
}

fn month_day(month: u32, day: u32) -> bool {
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// `1980-02-29` (also the date of a timestamp, `1980-02-29T10:00:00Z`).
fn iso_date(b: &[u8], i: usize) -> Option<usize> {
    if !(digits(b, i, 4)
        && at(b, i + 4, b'-')
        && digits(b, i + 5, 2)
        && at(b, i + 7, b'-')
        && digits(b, i + 8, 2))
    {
        return None;
    }
    let end = i + 10;
    let next_ok = b.get(end).is_none_or(|c| !c.is_ascii_digit());
    (next_ok && month_day(number(b, i + 5, 2), number(b, i + 8, 2))).then_some(end)
}

/// `02/29/1980`, `2/9/1980`, `02-29-1980`.
fn us_date(b: &[u8], i: usize) -> Option<usize> {
    let part = |j: usize| -> Option<(u32, usize)> {
        if digits(b, j, 2) {
            Some((number(b, j, 2), j + 2))
        } else if digits(b, j, 1) {
            Some((number(b, j, 1), j + 1))
        } else {
            None
        }
    };
    // `1980/01/02`, `1980.01.02`.
    if digits(b, i, 4) && matches!(b.get(i + 4), Some(b'/' | b'.')) {
        let sep = b[i + 4];
        if digits(b, i + 5, 2) && at(b, i + 7, sep) && digits(b, i + 8, 2) {
            let end = i + 10;
            return (boundary_after(b, end) && month_day(number(b, i + 5, 2), number(b, i + 8, 2)))
                .then_some(end);
        }
    }
    let (month, j) = part(i)?;
    let sep = *b.get(j)?;
    if sep != b'/' && sep != b'-' && sep != b'.' {
        return None;
    }
    let (day, k) = part(j + 1)?;
    if !at(b, k, sep) {
        return None;
    }
    // A four-digit year, or two (`1/2/80`); day-first (`31.12.1999`) counts too.
    let year = if digits(b, k + 1, 4) {
        4
    } else if digits(b, k + 1, 2) {
        2
    } else {
        return None;
    };
    let end = k + 1 + year;
    (boundary_after(b, end) && (month_day(month, day) || month_day(day, month))).then_some(end)
}

/// `(555) 123-4567`, `555-123-4567`, `555.123.4567`, `555 123 4567`, each optionally after
/// `+1 ` / `+1-` / `1-`.
fn phone(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    if at(b, j, b'+') && at(b, j + 1, b'1') {
        j += 2;
        if matches!(b.get(j), Some(b' ' | b'-' | b'.')) {
            j += 1;
        }
    } else if at(b, j, b'1') && matches!(b.get(j + 1), Some(b'-' | b'.')) && digits(b, j + 2, 3) {
        j += 2;
    }
    let end = if at(b, j, b'(') {
        if !(digits(b, j + 1, 3) && at(b, j + 4, b')')) {
            return None;
        }
        let mut k = j + 5;
        if at(b, k, b' ') {
            k += 1;
        }
        if !(digits(b, k, 3) && matches!(b.get(k + 3), Some(b'-' | b'.')) && digits(b, k + 4, 4)) {
            return None;
        }
        k + 8
    } else {
        let sep = *b.get(j + 3)?;
        if !(digits(b, j, 3)
            && matches!(sep, b'-' | b'.' | b' ')
            && digits(b, j + 4, 3)
            && at(b, j + 7, sep)
            && digits(b, j + 8, 4))
        {
            return None;
        }
        j + 12
    };
    boundary_after(b, end).then_some(end)
}

/// A member id: 2 or 3 capital letters, an optional `-`, then 6 to 12 digits (`MBR123456789`,
/// `AB-1234567`); not inside a longer word or a hyphenated id (`CLM-SYN-123456` is a claim id).
fn member_id(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && b[i - 1] == b'-' {
        return None;
    }
    let letters = b[i..]
        .iter()
        .take(4)
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    if !(1..=3).contains(&letters) {
        return None;
    }
    let mut j = i + letters;
    if at(b, j, b'-') {
        j += 1;
    }
    let n = b[j.min(b.len())..]
        .iter()
        .take(13)
        .take_while(|c| c.is_ascii_digit())
        .count();
    ((6..=12).contains(&n) && boundary_after(b, j + n)).then_some(j + n)
}

/// A bare run of 9 digits after an SSN word, or of 10–11 digits after a phone word.
fn digits_in_context(b: &[u8], i: usize) -> Option<(usize, String)> {
    let n = b[i..]
        .iter()
        .take(12)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if !(9..=11).contains(&n) || !boundary_after(b, i + n) {
        return None;
    }
    let before: Vec<u8> = b[i.saturating_sub(CONTEXT_BYTES)..i]
        .iter()
        .map(u8::to_ascii_lowercase)
        .collect();
    let near = |words: &[&str]| {
        words
            .iter()
            .any(|w| before.windows(w.len()).any(|x| x == w.as_bytes()))
    };
    if n == 9 && near(SSN_CONTEXT) {
        Some((i + n, SSN.to_string()))
    } else if n >= 10 && near(PHONE_CONTEXT) {
        Some((i + n, PHONE.to_string()))
    } else {
        None
    }
}

/// `local@domain.tld`: the local part of letters, digits and `._%+-` (up to 64), the domain of
/// labels of letters, digits and `-` with at least one dot and a final label of 2+ letters.
fn email(b: &[u8], i: usize) -> Option<usize> {
    let local = |c: &u8| c.is_ascii_alphanumeric() || b"._%+-".contains(c);
    let n = b[i..].iter().take(65).take_while(|c| local(c)).count();
    if n == 0 || n > 64 || !at(b, i + n, b'@') {
        return None;
    }
    let start = i + n + 1;
    let domain = |c: &u8| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'-';
    let mut d = b[start.min(b.len())..]
        .iter()
        .take(256)
        .take_while(|c| domain(c))
        .count();
    // A sentence's full stop is not part of the domain.
    while d > 0 && matches!(b[start + d - 1], b'.' | b'-') {
        d -= 1;
    }
    let host = &b[start..start + d];
    let last = host.rsplit(|c| *c == b'.').next().unwrap_or_default();
    let dotted = host.contains(&b'.') && !host.starts_with(b".");
    (dotted && last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic)).then_some(start + d)
}

/// `"memberId": "SYN-000001"` (any spacing): the key is kept, its value (a string or a number)
/// becomes the key's label as a JSON string, so masked JSON stays JSON.
fn json_key(b: &[u8], i: usize) -> Option<(usize, String)> {
    let key_len = b[i + 1..]
        .iter()
        .take(MAX_KEY + 1)
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'-')
        .count();
    if key_len == 0 || key_len > MAX_KEY || !at(b, i + 1 + key_len, b'"') {
        return None;
    }
    let key: String = b[i + 1..i + 1 + key_len]
        .iter()
        .filter(|c| **c != b'_' && **c != b'-')
        .map(|c| c.to_ascii_lowercase() as char)
        .collect();
    let (_, label) = KEYS.iter().find(|(k, _)| *k == key)?;
    let mut j = i + 2 + key_len;
    let skip = |mut j: usize| {
        while j < b.len() && j < i + MAX_KEY + 32 && matches!(b[j], b' ' | b'\t' | b'\n' | b'\r') {
            j += 1;
        }
        j
    };
    j = skip(j);
    if !at(b, j, b':') {
        return None;
    }
    let value = skip(j + 1);
    let end = if at(b, value, b'"') {
        let mut k = value + 1;
        let limit = (value + 1 + MAX_VALUE).min(b.len());
        loop {
            if k >= limit {
                return None;
            }
            match b[k] {
                b'\\' => k += 2,
                b'"' => break k + 1,
                _ => k += 1,
            }
        }
    } else {
        let n = b[value.min(b.len())..]
            .iter()
            .take(MAX_VALUE)
            .take_while(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
            .count();
        if n == 0 || b[value..value + n].starts_with(b"null") {
            return None;
        }
        value + n
    };
    // Bytes up to the value are ASCII (a key, spaces, a colon): safe to keep as they are.
    let head = std::str::from_utf8(&b[i..value]).ok()?;
    Some((end, format!("{head}\"{label}\"")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kept(text: &str) {
        assert_eq!(mask(text), text, "{text:?} was changed");
    }

    #[test]
    fn ssns_dashed_and_nine_digits_after_an_ssn_word() {
        assert_eq!(mask("SSN 123-45-6789."), "SSN [SSN].");
        assert_eq!(mask("ssn: 123456789"), "ssn: [SSN]");
        assert_eq!(
            mask("Social security no 987654321"),
            "Social security no [SSN]"
        );
        // Nine digits without an SSN word, or dashed differently, or inside a longer run.
        // Nine digits without an SSN word: a long number, masked as one.
        assert_eq!(mask("order 123456789"), "order [NUMBER]");
        assert_eq!(mask("SSN 123 45 6789"), "SSN [SSN]");
        kept("123-456-78");
        kept("0123-45-67890");
        kept("A123-45-6789");
    }

    #[test]
    fn dates_iso_and_us() {
        assert_eq!(mask("born 1980-02-29"), "born [DATE]");
        assert_eq!(mask("at 2026-12-01T18:00:00Z"), "at [DATE]T18:00:00Z");
        assert_eq!(mask("DOB 02/29/1980"), "DOB [DATE]");
        assert_eq!(mask("dob 2/9/1980, ok"), "dob [DATE], ok");
        assert_eq!(mask("dob 12-31-1999"), "dob [DATE]");
        kept("1980-13-01");
        kept("1980-02-32");
        assert_eq!(mask("dob 1/2/80"), "dob [DATE]");
        assert_eq!(mask("1980/01/02 and 31.12.1999"), "[DATE] and [DATE]");
        assert_eq!(mask("DMG*D8*19800102*F~"), "DMG*D8*[DATE]*F~");
        kept("version 2/3/4");
        kept("20261301");
        kept("13/40/1999");
        kept("18:00:00");
    }

    #[test]
    fn phone_numbers() {
        for p in [
            "(555) 123-4567",
            "(555)123-4567",
            "555-123-4567",
            "555.123.4567",
            "555 123 4567",
            "+1 555 123 4567",
            "+1-555-123-4567",
            "1-555-123-4567",
        ] {
            assert_eq!(mask(&format!("call {p} now")), "call [PHONE] now", "{p}");
        }
        assert_eq!(mask("phone 5551234567"), "phone [PHONE]");
        assert_eq!(
            mask("tel:+15551234567"),
            "tel:+15551234567".replace("15551234567", "[PHONE]")
        );
        kept("555-1234");
        kept("555-123.4567");
        assert_eq!(mask("total 5551234567"), "total [NUMBER]");
    }

    #[test]
    fn email_addresses() {
        assert_eq!(mask("mail a.b+c@example.org."), "mail [EMAIL].");
        assert_eq!(mask("<jo_e@mail.example.co.uk>"), "<[EMAIL]>");
        kept("user@localhost");
        kept("@handle");
        kept("a@b.c1");
        kept("x@.com");
    }

    #[test]
    fn member_ids_by_shape() {
        assert_eq!(mask("member MBR123456789"), "member [MEMBER-ID]");
        assert_eq!(mask("id AB-1234567;"), "id [MEMBER-ID];");
        kept("CLM-SYN-123456");
        kept("MBR12345");
        kept("ABCD123456");
        kept("XMBR123456");
        assert_eq!(mask("MBR1234567890123"), "MBR[NUMBER]");
        assert_eq!(mask("mbr123456789"), "[MEMBER-ID]");
        assert_eq!(
            mask("NM1*IL*1*DOE*JOHN****MI*W123456789~"),
            "NM1*IL*1*DOE*JOHN****MI*[MEMBER-ID]~"
        );
        assert_eq!(mask("REF*SY*123456789~"), "REF*SY*[NUMBER]~");
        assert_eq!(mask("HICN 123456789A"), "HICN [NUMBER]A");
        assert_eq!(
            mask("MBI 1EG4-TE5-MK73 and 1EG4TE5MK73"),
            "MBI [MEMBER-ID] and [MEMBER-ID]"
        );
    }

    #[test]
    fn json_bodies_keyed_values_and_patterns_in_strings() {
        let body = r#"{"claimId":"CLM-SYN-000042","patient":{"memberId":"SYN-000001","member_id":987654,"dateOfBirth":"1900-01-01","ssn":"123456789","contact":"call 555-123-4567 or a@b.org"},"provider":{"npi":"0000000000"},"amountCents":45000}"#;
        let m = mask(body);
        let v: serde_json::Value = serde_json::from_str(&m).expect("masked JSON is JSON");
        assert_eq!(v["patient"]["memberId"], MEMBER_ID);
        assert_eq!(v["patient"]["member_id"], MEMBER_ID);
        assert_eq!(v["patient"]["dateOfBirth"], DOB);
        assert_eq!(v["patient"]["ssn"], SSN);
        assert_eq!(v["patient"]["contact"], "call [PHONE] or [EMAIL]");
        assert_eq!(v["claimId"], "CLM-SYN-000042");
        assert_eq!(v["provider"]["npi"], NUMBER, "ten digits: a long number");
        assert_eq!(v["amountCents"], 45000);
        // Pretty-printed JSON (as the detail pane shows it) too.
        let pretty = "{\n  \"memberId\": \"X\",\n  \"note\": \"SSN 123-45-6789\"\n}";
        let m = mask(pretty);
        assert_eq!(
            m,
            "{\n  \"memberId\": \"[MEMBER-ID]\",\n  \"note\": \"SSN [SSN]\"\n}"
        );
        // Other keys, null values, and keys that are not keys.
        kept(r#"{"member":"x","memberId":null,"note":"memberId"}"#);
    }

    /// Look-alike characters do not dodge a pattern: zero-width spaces, en dashes, full-width
    /// digits and no-break spaces are folded first.
    #[test]
    fn look_alike_characters_are_folded_before_matching() {
        assert_eq!(mask("123\u{200b}-45-6789"), "[SSN]");
        assert_eq!(mask("123\u{2013}45\u{2013}6789"), "[SSN]");
        assert_eq!(
            mask("\u{ff11}\u{ff12}\u{ff13}-\u{ff14}\u{ff15}-\u{ff16}\u{ff17}\u{ff18}\u{ff19}"),
            "[SSN]"
        );
        assert_eq!(mask("555\u{a0}010\u{a0}9999"), "[PHONE]");
        assert!(fold("x\u{ff10}\u{200b}").len() <= "x\u{ff10}\u{200b}".len());
    }

    /// A JSON body is walked as JSON: whole values under PHI-like keys (prefixed keys, arrays,
    /// objects), JSON inside strings (an SNS envelope), and patterns in every other value.
    #[test]
    fn json_bodies_are_masked_by_key_through_arrays_and_envelopes() {
        let body = r#"{"Type":"Notification","Message":"{\"memberId\":\"00012345\",\"dob\":\"19800102\",\"claimId\":\"CLM-SYN-1\"}","ssn":["123456789","234567890"],"dob":{"value":"19800102"},"patient_social_security_number":"123456789","patientDob":"1980-01-02","subscriberDateOfBirth":"x","insuredId":"A1","mrn":"77","firstName":"Jane","address":{"line1":"1 Main St","zip":"02110"},"note":"call +1 (555) 010-9999","stage":"fraud","count":3}"#;
        let v: serde_json::Value = serde_json::from_str(&mask_body(body)).expect("JSON");
        let inner: serde_json::Value =
            serde_json::from_str(v["Message"].as_str().unwrap()).expect("the envelope's JSON");
        assert_eq!(inner["memberId"], MEMBER_ID);
        assert_eq!(inner["dob"], DOB);
        assert_eq!(inner["claimId"], "CLM-SYN-1");
        assert_eq!(v["ssn"], serde_json::json!([SSN, SSN]));
        assert_eq!(v["dob"]["value"], DOB);
        assert_eq!(v["patient_social_security_number"], SSN);
        assert_eq!(v["patientDob"], DOB);
        assert_eq!(v["subscriberDateOfBirth"], DOB);
        assert_eq!(v["insuredId"], MEMBER_ID);
        assert_eq!(v["mrn"], MEMBER_ID);
        assert_eq!(v["firstName"], NAME);
        assert_eq!(v["address"]["line1"], ADDRESS);
        assert_eq!(v["address"]["zip"], ADDRESS);
        assert_eq!(v["note"], "call [PHONE]");
        assert_eq!(
            (v["stage"].as_str(), v["count"].as_i64()),
            (Some("fraud"), Some(3))
        );
        // Not JSON: masked as text.
        assert_eq!(
            mask_body("PER*IC*JOHN*TE*5550109999~"),
            "PER*IC*JOHN*TE*[NUMBER]~"
        );
    }

    #[test]
    fn non_ascii_text_is_kept_around_matches() {
        assert_eq!(mask("é 123-45-6789 ü"), "é [SSN] ü");
        kept("naïve café ✓");
    }

    proptest! {
        #[test]
        fn masking_a_body_never_panics(s in any::<String>()) {
            let _ = mask_body(&s);
        }

        #[test]
        fn masking_never_panics_and_stays_bounded(s in any::<String>()) {
            let m = mask(&s);
            prop_assert!(m.len() <= 2 * s.len() + 16, "{} -> {}", s.len(), m.len());
        }

        #[test]
        fn masking_phi_shaped_text_stays_bounded(
            s in "[0-9A-Z\"a-z:@.() /+_-]{0,400}"
        ) {
            let m = mask(&s);
            prop_assert!(m.len() <= 2 * s.len() + 16, "{} -> {}", s.len(), m.len());
        }
    }
}
