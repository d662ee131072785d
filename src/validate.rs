//! Checks for values that come from outside — flags, the settings file, AWS profiles, typed
//! targets — made at the edge, before any file is opened or any call is made. Each error says
//! what is wrong and how to fix it; the value it echoes is shortened and its control, format
//! and bidi characters are written as `\u{…}` escapes (a 100,000-character argument gives a
//! one-line message).

use std::path::{Path, PathBuf};

/// The longest region name accepted (the longest real one is about 15 characters).
pub const MAX_REGION_LEN: usize = 32;
/// The longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// The longest ARN accepted (IAM's limit for most ARNs is 2048).
pub const MAX_ARN_LEN: usize = 2048;
/// The longest theme name accepted.
pub const MAX_NAME_LEN: usize = 64;
/// How much of a bad value an error message shows.
const SHOWN_CHARS: usize = 60;

/// A value that cannot be used; the message names the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// `value` as an error message shows it: at most 60 characters, control/format/bidi characters
/// escaped, and the length when it was cut.
pub fn shown(value: &str) -> String {
    shown_max(value, SHOWN_CHARS)
}

/// [`shown`] with another length limit (for longer texts such as a parser's own message).
pub fn shown_max(value: &str, max: usize) -> String {
    let mut out = String::new();
    for c in value.chars().take(max) {
        if c.is_control() || is_format(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    let n = value.chars().count();
    if n > max {
        out.push_str(&format!("… ({n} characters)"));
    }
    out
}

/// Invisible characters that reorder or hide text (bidi controls, zero-width, separators).
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// A clap value parser from one of this module's checks. clap's own message for a failed
/// check would echo the whole raw value (100,000 characters, escapes included); this one says
/// only the check's message, which shows the value shortened and escaped.
#[derive(Clone, Copy)]
pub struct Checked<T>(pub fn(&str) -> Result<T, Invalid>);

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Checked<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let name = arg.map_or_else(|| "the value".to_string(), |a| a.to_string());
        let fail = |msg: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for {name}: {msg}\n"),
            )
            .with_cmd(cmd)
        };
        let Some(text) = value.to_str() else {
            return Err(fail(format!(
                "'{}' is not UTF-8 text",
                shown(&value.to_string_lossy())
            )));
        };
        (self.0)(text).map_err(|e| fail(e.0))
    }
}

/// The fastest emulated clock: a million emulated seconds per real second.
pub const MAX_CLOCK_SCALE: f64 = 1_000_000.0;

/// `emulator serve --clock-scale`: emulated seconds per real second, from 0 (stopped: a
/// manual clock) to a million.
pub fn clock_scale(value: &str) -> Result<f64, Invalid> {
    let max = MAX_CLOCK_SCALE;
    let fix = format!(
        "give a number from 0 (a stopped clock, stepped by tests) through 1 (real time) to {max} (emulated seconds per real second), e.g. --clock-scale 60"
    );
    match value.trim().parse::<f64>() {
        Ok(f) if f.is_finite() && (0.0..=max).contains(&f) => Ok(f),
        Ok(_) => Err(Invalid(format!("{} is out of range: {fix}", shown(value)))),
        Err(_) => Err(Invalid(format!(
            "'{}' is not a number: {fix}",
            shown(value)
        ))),
    }
}

/// A whole number of days (`key rotation --period`); the range is the guard's to check, so
/// the CLI and the console say the same thing about it.
pub fn days(value: &str) -> Result<i32, Invalid> {
    value.trim().parse::<i32>().map_err(|_| {
        Invalid(format!(
            "'{}' is not a whole number of days: give the days between automatic rotations, 90 to 2560, e.g. --period 365",
            shown(value)
        ))
    })
}

/// A profile name (`--profile`): a section of ~/.aws/config that is also safe as the audit
/// log's file name — at most 128 of `A-Z a-z 0-9 . _ -`, not starting with `.` (the audit
/// log's own rule, `audit::writer::check_profile_name`).
pub fn profile_name(value: &str) -> Result<String, Invalid> {
    let ok = !value.is_empty()
        && !value.starts_with('.')
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !ok {
        return Err(Invalid(format!(
            "'{}' is not a usable profile name: use the name of a profile in ~/.aws/config made of letters, digits, '.', '_' and '-' (at most 128, not starting with '.')",
            shown(value)
        )));
    }
    Ok(value.to_string())
}

/// An AWS region name: `us-east-1`, `eu-west-2`, `cn-north-1`, `us-gov-west-1`,
/// `us-isob-east-1`, `eusc-de-east-1` (lowercase letters in two to four hyphenated words, then
/// a number).
pub fn region(value: &str) -> Result<String, Invalid> {
    let fix =
        "use an AWS region name such as us-east-1 or eu-west-2 (see `aws ec2 describe-regions`)";
    if value.is_empty() {
        return Err(Invalid(format!("the region is empty: {fix}")));
    }
    if value.chars().count() > MAX_REGION_LEN {
        return Err(Invalid(format!(
            "region '{}' is too long (at most {MAX_REGION_LEN} characters): {fix}",
            shown(value)
        )));
    }
    let parts: Vec<&str> = value.split('-').collect();
    let words = &parts[..parts.len() - 1];
    let number = parts[parts.len() - 1];
    let ok = (2..=4).contains(&words.len())
        && (2..=4).contains(&words[0].len())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return Err(Invalid(format!(
            "'{}' is not an AWS region name: {fix}",
            shown(value)
        )));
    }
    Ok(value.to_string())
}

/// The AWS partition a region belongs to (`aws`, `aws-cn`, `aws-us-gov`, …).
pub fn partition_of(region: &str) -> &'static str {
    const PREFIXES: &[(&str, &str)] = &[
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("eusc-", "aws-eusc"),
    ];
    PREFIXES
        .iter()
        .find(|(p, _)| region.starts_with(p))
        .map_or("aws", |(_, part)| part)
}

/// The partitions AWS has.
pub const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// A partition's name for people.
pub fn partition_name(partition: &str) -> &'static str {
    match partition {
        "aws" => "AWS commercial",
        "aws-cn" => "AWS China",
        "aws-us-gov" => "AWS GovCloud (US)",
        "aws-eusc" => "AWS European Sovereign Cloud",
        "aws-iso" | "aws-iso-b" | "aws-iso-e" | "aws-iso-f" => "an AWS isolated region",
        _ => "an unknown partition",
    }
}

/// An endpoint URL (`--endpoint-url`, `endpoint_url` in a profile): `http://` or `https://`,
/// a host, an optional port; no credentials, query or fragment.
pub fn endpoint_url(value: &str) -> Result<String, Invalid> {
    let example = "e.g. https://kms.us-east-1.amazonaws.com, a VPC endpoint's https:// URL, or the emulator's http://127.0.0.1:PORT";
    let bad = |why: &str| {
        Invalid(format!(
            "endpoint URL '{}' {why}: give an http:// or https:// URL with a host ({example})",
            shown(value)
        ))
    };
    if value.is_empty() {
        return Err(bad("is empty"));
    }
    if value.chars().count() > MAX_URL_LEN {
        return Err(bad(&format!(
            "is too long (at most {MAX_URL_LEN} characters)"
        )));
    }
    if value
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || is_format(c))
    {
        return Err(bad("contains spaces or control characters"));
    }
    let Some((scheme, rest)) = value.split_once("://") else {
        return Err(bad("has no scheme"));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(bad(&format!("has the scheme '{}'", shown(scheme))));
    }
    if rest.contains(['?', '#']) {
        return Err(bad("has a query or fragment"));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad(
            "carries user info (never put credentials in a URL; they come from the profile)",
        ));
    }
    // An endpoint's path never holds '@': one there is user info put in the wrong place.
    if rest.contains('@') {
        return Err(bad(
            "contains '@' (an endpoint URL has no user info; credentials come from the profile)",
        ));
    }
    let uri: http::Uri = value.parse().map_err(|_| bad("is not a valid URL"))?;
    let host = uri.host().unwrap_or_default();
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
    };
    if !host_ok {
        return Err(bad(&format!("has an invalid host '{}'", shown(host))));
    }
    let port = match uri.authority().map(|a| a.as_str()) {
        Some(a) if a.ends_with(']') => None,
        Some(a) => a.rsplit_once(':').map(|(_, p)| p),
        None => None,
    };
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(0) => return Err(bad("has port 0")),
            Ok(_) => {}
            Err(_) => return Err(bad(&format!("has an invalid port '{}'", shown(p)))),
        }
    }
    Ok(value.to_string())
}

/// A theme name (`--theme`, `theme` in the settings file): a built-in theme or the stem of a
/// file in the themes directory — letters, digits, `-` and `_` only, so it cannot name a path.
pub fn theme_name(value: &str) -> Result<String, Invalid> {
    let ok = !value.is_empty()
        && value.len() <= MAX_NAME_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(Invalid(format!(
            "'{}' is not a theme name: use default, high-contrast, light or monochrome, or the name (letters, digits, - and _, at most {MAX_NAME_LEN}) of a file in ~/.config/phi-console/themes/ without .toml",
            shown(value)
        )));
    }
    Ok(value.to_string())
}

/// An audit directory (`--audit-dir`, `audit_dir` in the settings file): absolute, so that the
/// log does not move with the directory phi-console is started from.
pub fn audit_dir(value: &Path) -> Result<PathBuf, Invalid> {
    let text = value.to_string_lossy();
    if text.is_empty() {
        return Err(Invalid(
            "the audit directory is empty: give an absolute path such as /var/log/phi-console/audit"
                .into(),
        ));
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(Invalid(format!(
            "audit directory '{}' contains control characters: give an absolute path such as /var/log/phi-console/audit",
            shown(&text)
        )));
    }
    if !value.is_absolute() {
        let tilde = if text.starts_with('~') {
            " (`~` is not expanded here: write your home directory out)"
        } else {
            ""
        };
        return Err(Invalid(format!(
            "audit directory '{}' is relative{tilde}: give an absolute path such as /var/log/phi-console/audit, so the audit log does not depend on the directory phi-console is started from",
            shown(&text)
        )));
    }
    Ok(value.to_path_buf())
}

/// clap value parser for `--audit-dir`.
pub fn audit_dir_arg(value: &str) -> Result<PathBuf, Invalid> {
    audit_dir(Path::new(value))
}

/// A KMS key as the operator names it: an alias (`alias/claims-costs`), a key id, or a key or
/// alias ARN.
pub fn kms_key(value: &str) -> Result<String, Invalid> {
    let fix = "name the key by its alias (alias/claims-costs), its key id, or its ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)";
    let v = value.trim();
    if v.is_empty() {
        return Err(Invalid(format!("no key was named: {fix}")));
    }
    if v.chars().any(|c| c.is_control() || is_format(c)) {
        return Err(Invalid(format!(
            "key '{}' contains control characters: {fix}",
            shown(v)
        )));
    }
    if v.starts_with("arn:") {
        let arn = Arn::parse(v)?;
        if arn.service != "kms" {
            return Err(Invalid(format!(
                "'{}' is a {} ARN, not a KMS key: {fix}",
                shown(v),
                arn.service
            )));
        }
        let rest = arn
            .resource
            .strip_prefix("key/")
            .or_else(|| arn.resource.strip_prefix("alias/"));
        if arn.region.is_empty() || arn.account.len() != 12 || rest.is_none_or(str::is_empty) {
            return Err(Invalid(format!(
                "'{}' is not a KMS key or alias ARN: {fix}",
                shown(v)
            )));
        }
        return Ok(v.to_string());
    }
    if let Some(name) = v.strip_prefix("alias/") {
        let ok = !name.is_empty()
            && name.len() <= 250
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'));
        if !ok {
            return Err(Invalid(format!(
                "'{}' is not a KMS alias (alias/ then up to 250 letters, digits, /, _ and -): {fix}",
                shown(v)
            )));
        }
        return Ok(v.to_string());
    }
    let ok = v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !ok {
        return Err(Invalid(format!(
            "'{}' is not a KMS key id (letters, digits and -, like 1234abcd-12ab-34cd-56ef-1234567890ab): {fix}",
            shown(v)
        )));
    }
    Ok(v.to_string())
}

/// An ARN of one service (`restore_role_arn` is `iam`, `audit_topic_arn` is `sns`).
pub fn arn_of(service: &str, value: &str) -> Result<Arn, Invalid> {
    let arn = Arn::parse(value)?;
    if arn.service != service {
        return Err(Invalid(format!(
            "'{}' is a {} ARN; expected an {service} ARN (arn:aws:{service}:…)",
            shown(value),
            arn.service
        )));
    }
    Ok(arn)
}

/// Reads a small text file (settings, keymap, theme, fault rules) without trusting its size:
/// at most `max` bytes are read, so `/dev/zero` or a huge file fails fast in bounded memory.
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<String> {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    // Opened with O_NONBLOCK, so a named pipe nobody writes to does not hang the open; then
    // read blocking again (a pipe with no writer reads as empty; `<(…)` still works).
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    // SAFETY: fcntl on a descriptor this function owns, changing only its status flags.
    unsafe {
        let fd = file.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is a directory, not a file",
        ));
    }
    let mut buf = Vec::new();
    file.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("it is larger than {max} bytes; is this the right file?"),
        ));
    }
    String::from_utf8(buf).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "it is not UTF-8 text; save it as UTF-8",
        )
    })
}

/// An ARN, split: `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

impl std::fmt::Display for Arn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

impl Arn {
    /// Parses an ARN strictly: a known partition, a service, an empty or valid region (in
    /// that partition), an empty or 12-digit account (or `aws` for AWS-owned resources), a
    /// resource; no control characters; at most [`MAX_ARN_LEN`].
    pub fn parse(value: &str) -> Result<Arn, Invalid> {
        let shape = "an ARN looks like arn:aws:kms:us-east-1:123456789012:key/…";
        let bad = |why: String| Invalid(format!("'{}' is not a valid ARN: {why}", shown(value)));
        if value.len() > MAX_ARN_LEN {
            return Err(bad(format!("it is longer than {MAX_ARN_LEN} characters")));
        }
        if value.chars().any(|c| c.is_control() || is_format(c)) {
            return Err(bad("it contains control characters".into()));
        }
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" {
            return Err(bad(shape.to_string()));
        }
        let (partition, service, region_part, account, resource) =
            (parts[1], parts[2], parts[3], parts[4], parts[5]);
        if !PARTITIONS.contains(&partition) {
            return Err(bad(format!(
                "unknown partition '{}' (expected one of {}); {shape}",
                shown(partition),
                PARTITIONS.join(", ")
            )));
        }
        if service.is_empty()
            || !service
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(bad(format!(
                "the service '{}' is not valid; {shape}",
                shown(service)
            )));
        }
        if !region_part.is_empty() {
            region(region_part).map_err(|e| bad(e.0))?;
            let expected = partition_of(region_part);
            if expected != partition {
                return Err(bad(format!(
                    "region {region_part} is in partition {expected}, not {partition}"
                )));
            }
        }
        if !(account.is_empty()
            || account == "aws"
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
        {
            return Err(bad(format!(
                "the account '{}' is not 12 digits; {shape}",
                shown(account)
            )));
        }
        if resource.is_empty() {
            return Err(bad(format!("it names no resource; {shape}")));
        }
        Ok(Arn {
            partition: partition.into(),
            service: service.into(),
            region: region_part.into(),
            account: account.into(),
            resource: resource.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for r in [
            "us-east-1",
            "eu-west-2",
            "ap-southeast-7",
            "cn-north-1",
            "us-gov-west-1",
            "us-isob-east-1",
            "eu-isoe-west-1",
            "eusc-de-east-1",
            "mx-central-1",
        ] {
            assert_eq!(region(r).as_deref(), Ok(r), "{r}");
        }
        for r in [
            "",
            "US-EAST-1",
            "us_east_1",
            "useast1",
            "us-east",
            "us-east-",
            "-us-east-1",
            "us--east-1",
            "us-east-123",
            "us-east-1\n",
            "u-east-1",
            "us-east-1 ",
            "us-east-1/../x",
        ] {
            let e = region(r).unwrap_err().to_string();
            assert!(e.contains("such as us-east-1"), "{r:?}: {e}");
        }
        let long = "a".repeat(100_000);
        let e = region(&long).unwrap_err().to_string();
        assert!(e.contains("too long") && e.len() < 400, "{e}");
    }

    #[test]
    fn partitions() {
        assert_eq!(partition_of("us-east-1"), "aws");
        assert_eq!(partition_of("cn-northwest-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-east-1"), "aws-us-gov");
        assert_eq!(partition_of("us-iso-east-1"), "aws-iso");
        assert_eq!(partition_of("us-isob-east-1"), "aws-iso-b");
        assert_eq!(partition_of("eu-isoe-west-1"), "aws-iso-e");
    }

    #[test]
    fn endpoint_urls() {
        for u in [
            "http://127.0.0.1:4566",
            "https://kms.us-east-1.amazonaws.com",
            "https://vpce-0a1b-abc.kms.us-east-1.vpce.amazonaws.com/",
            "http://[::1]:8080",
            "HTTP://localhost",
        ] {
            assert_eq!(endpoint_url(u).as_deref(), Ok(u), "{u}");
        }
        for (u, why) in [
            ("", "is empty"),
            ("ftp://example.com", "scheme 'ftp'"),
            ("file:///etc/passwd", "scheme 'file'"),
            ("127.0.0.1:4566", "no scheme"),
            ("http://", "http:// or https://"),
            ("http://:80", "http:// or https://"),
            ("http://host:0", "port 0"),
            ("http://host:99999", "http:// or https://"),
            ("http://host:abc", "http:// or https://"),
            ("http://user:pw@host", "user info"),
            ("http://a/@", "contains '@'"),
            ("http://host/pw@evil", "contains '@'"),
            ("http://host/?a=b", "query"),
            ("http://ho st", "spaces"),
            ("http://host\u{1b}[2J", "control"),
            ("http://exa$mple.com", "invalid host"),
        ] {
            let e = endpoint_url(u).unwrap_err().to_string();
            assert!(
                e.contains(why) && e.contains("http:// or https://"),
                "{u:?}: {e}"
            );
            assert!(!e.contains('\u{1b}'), "{e}");
        }
    }

    #[test]
    fn arns() {
        let a = Arn::parse("arn:aws:kms:us-east-1:123456789012:key/k1").unwrap();
        assert_eq!(a.partition, "aws");
        assert_eq!(a.resource, "key/k1");
        assert_eq!(a.to_string(), "arn:aws:kms:us-east-1:123456789012:key/k1");
        assert!(Arn::parse("arn:aws-cn:kms:cn-north-1:123456789012:key/k1").is_ok());
        assert!(Arn::parse("arn:aws:iam::123456789012:role/R").is_ok());
        assert!(Arn::parse("arn:aws:s3:::bucket/a:b:c").is_ok());
        for (a, why) in [
            ("arn:aws:kms", "looks like"),
            ("nra:aws:kms:us-east-1:123456789012:key/k", "looks like"),
            (
                "arn:aws-mars:kms:us-east-1:123456789012:key/k",
                "unknown partition",
            ),
            ("arn:aws:KMS:us-east-1:123456789012:key/k", "service"),
            ("arn:aws:kms:us-east-1:1234:key/k", "12 digits"),
            ("arn:aws:kms:us-east-1:123456789012:", "no resource"),
            (
                "arn:aws:kms:cn-north-1:123456789012:key/k",
                "partition aws-cn",
            ),
            (
                "arn:aws-cn:kms:us-east-1:123456789012:key/k",
                "partition aws, not aws-cn",
            ),
            ("arn:aws:kms:Mars:123456789012:key/k", "region name"),
            ("arn:aws:kms:us-east-1:123456789012:key/\u{0}", "control"),
        ] {
            let e = Arn::parse(a).unwrap_err().to_string();
            assert!(e.contains(why), "{a:?}: {e}");
        }
    }

    #[test]
    fn kms_keys() {
        for k in [
            "alias/claims-costs",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "mrk-1234abcd12ab34cd56ef1234567890ab",
            "arn:aws:kms:us-east-1:123456789012:key/k1",
            "arn:aws-cn:kms:cn-north-1:123456789012:alias/x",
        ] {
            assert!(kms_key(k).is_ok(), "{k}");
        }
        for k in [
            "",
            "  ",
            "alias/",
            "alias/a b",
            "key\u{0}",
            "../../etc",
            "arn:aws:sqs:us-east-1:123456789012:q",
            "arn:aws:kms:us-east-1:123456789012:grant/x",
            "arn:aws:kms::123456789012:key/x",
            &"k".repeat(100),
        ] {
            let e = kms_key(k).unwrap_err().to_string();
            assert!(e.contains("alias/claims-costs"), "{k:?}: {e}");
        }
    }

    #[test]
    fn bounded_reads() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, "x".repeat(11)).unwrap();
        assert!(read_bounded(&p, 11).is_ok());
        let e = read_bounded(&p, 10).unwrap_err();
        assert!(e.to_string().contains("larger than 10 bytes"), "{e}");
        assert!(
            read_bounded(d.path(), 10)
                .unwrap_err()
                .to_string()
                .contains("directory")
        );
        std::fs::write(&p, b"\xff\xfe").unwrap();
        assert!(
            read_bounded(&p, 10)
                .unwrap_err()
                .to_string()
                .contains("UTF-8")
        );
        // A named pipe nobody writes to: read as empty at once, never a hang.
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(read_bounded(&fifo, 10).unwrap(), "");
        let e = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(e.to_string().contains("larger than"), "{e}");
    }

    #[test]
    fn audit_dirs_must_be_absolute() {
        assert!(audit_dir(Path::new("/var/log/x")).is_ok());
        let e = audit_dir(Path::new("logs")).unwrap_err().to_string();
        assert!(e.contains("relative") && e.contains("absolute path"), "{e}");
        let e = audit_dir(Path::new("~/audit")).unwrap_err().to_string();
        assert!(e.contains("`~` is not expanded"), "{e}");
        assert!(audit_dir(Path::new("")).is_err());
    }

    #[test]
    fn theme_names_cannot_be_paths() {
        assert!(theme_name("high-contrast").is_ok());
        for t in ["", "../x", "a/b", "x.toml", &"t".repeat(65), "dark\u{1b}"] {
            let e = theme_name(t).unwrap_err().to_string();
            assert!(e.contains("not a theme name"), "{e}");
        }
    }

    #[test]
    fn shown_values_are_short_and_escaped() {
        assert_eq!(shown("a\u{1b}b\u{202e}"), "a\\u{1b}b\\u{202e}");
        let s = shown(&"x".repeat(1000));
        assert!(s.ends_with("… (1000 characters)") && s.len() < 100, "{s}");
    }
}
