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

/// `text` with every PHI-like value replaced by its label. Never panics; the result is at most
/// twice as long as the input plus a few bytes (a label can be longer than a tiny value).
pub fn mask(text: &str) -> String {
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
        return None;
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
    if let Some(end) = member_id(b, i) {
        return label(end, MEMBER_ID);
    }
    digits_in_context(b, i)
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
    let (month, j) = part(i)?;
    let sep = *b.get(j)?;
    if sep != b'/' && sep != b'-' {
        return None;
    }
    let (day, k) = part(j + 1)?;
    if !at(b, k, sep) || !digits(b, k + 1, 4) {
        return None;
    }
    let end = k + 5;
    (boundary_after(b, end) && month_day(month, day)).then_some(end)
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
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    if !(2..=3).contains(&letters) {
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
        kept("order 123456789");
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
        kept("version 2/3/45");
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
        kept("total 5551234567");
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
        kept("MBR1234567890123");
        kept("mbr123456789");
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
        assert_eq!(v["provider"]["npi"], "0000000000");
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

    #[test]
    fn non_ascii_text_is_kept_around_matches() {
        assert_eq!(mask("é 123-45-6789 ü"), "é [SSN] ü");
        kept("naïve café ✓");
    }

    proptest! {
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
