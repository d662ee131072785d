//! phi-console's own settings: `~/.config/phi-console/config.toml` (path overridable), with
//! defaults and per-profile overrides. Unknown keys and bad values are errors naming the file,
//! the line and the key.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Settings that apply to one profile (every field optional in the file).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProfileSettingsFile {
    pub read_only: Option<bool>,
    pub require_reason: Option<bool>,
    pub step_up_minutes: Option<i64>,
    pub idle_lock_minutes: Option<i64>,
    pub theme: Option<String>,
    /// Marks a production account: the header shows it in red, always.
    pub production: Option<bool>,
    pub audit_dir: Option<PathBuf>,
    /// KMS HMAC key (id, ARN or alias) that seals the audit log.
    pub audit_hmac_key: Option<String>,
    /// SNS topic that receives a copy of every audit record.
    pub audit_topic_arn: Option<String>,
    /// SNS topic that receives a notice of every audit seal (seq, chain head, no PHI): a
    /// witness of the log outside the host.
    pub audit_witness_topic: Option<String>,
    pub restore_role_arn: Option<String>,
    /// A restore test's check: a program and its arguments, run with the restored resource's
    /// ARN in `$PHI_DRILL_RESOURCE_ARN`; exit 0 means validated (docs/DR-DRILLS.md).
    pub restore_check_command: Option<Vec<String>>,
    /// Removes what a restore test created (same environment as the check).
    pub restore_cleanup_command: Option<Vec<String>>,
    /// The recovery time objective a restore test outside a runbook is measured against
    /// (minutes, 1 to 10,080; a runbook's tests carry their own).
    pub restore_rto_minutes: Option<i64>,
    /// The recovery point objective (minutes, 1 to 525,600).
    pub restore_rpo_minutes: Option<i64>,
    /// Times in the console's detail panes in UTC instead of the local time zone.
    pub utc: Option<bool>,
    /// Message attributes whose values a peek shows (the others show only their names).
    pub safe_attributes: Option<Vec<String>>,
    /// Posture: the longest automatic KMS rotation period that passes (days, 90–2560).
    pub max_rotation_days: Option<i32>,
    /// Posture: the recovery point objective of protected resources (hours, 1–8760).
    pub rpo_hours: Option<i64>,
    /// Posture: a restore of each protected resource must have completed within this many
    /// days (1–3650).
    pub restore_test_days: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    #[serde(default)]
    pub defaults: ProfileSettingsFile,
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileSettingsFile>,
}

/// The effective settings of one profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileSettings {
    pub read_only: bool,
    pub require_reason: bool,
    pub step_up_minutes: i64,
    pub idle_lock_minutes: i64,
    pub theme: String,
    pub production: bool,
    pub audit_dir: Option<PathBuf>,
    pub audit_hmac_key: Option<String>,
    pub audit_topic_arn: Option<String>,
    pub audit_witness_topic: Option<String>,
    pub restore_role_arn: Option<String>,
    pub restore_check_command: Option<Vec<String>>,
    pub restore_cleanup_command: Option<Vec<String>>,
    pub restore_rto_minutes: Option<i64>,
    pub restore_rpo_minutes: Option<i64>,
    pub utc: bool,
    /// Message attributes whose values a peek shows ([`DEFAULT_SAFE_ATTRIBUTES`] unless set).
    pub safe_attributes: Vec<String>,
    /// Posture limits (defaults 365 days, 24 hours, 30 days).
    pub max_rotation_days: i32,
    pub rpo_hours: i64,
    pub restore_test_days: i64,
}

/// The message attributes whose values a peek shows when a profile sets none: identifiers and
/// codes a pipeline attaches, never free text.
pub const DEFAULT_SAFE_ATTRIBUTES: &[&str] = &["claim_id", "error_code", "stage"];
/// At most this many safe attributes, each at most this long (SQS allows 10 attributes per
/// message, names of up to 256 characters).
pub const MAX_SAFE_ATTRIBUTES: usize = 32;
pub const MAX_SAFE_ATTRIBUTE_LEN: usize = 256;

/// Whether a message attribute's value may be shown under `safe` (the profile's
/// `safe_attributes`). Names compare without case, `_` or `-`, so `error_code` covers
/// `errorCode` and `Error-Code` (but `stage` does not cover `failedStage`).
pub fn attribute_is_safe(safe: &[String], name: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let name = norm(name);
    safe.iter().any(|s| norm(s) == name)
}

/// A command is a program and its arguments: at least the program, at most 32 items of at
/// most 1,024 characters, no control characters.
pub fn check_command(v: &[String]) -> Result<(), String> {
    if v.first().is_none_or(|p| p.trim().is_empty()) {
        return Err(
            "an empty command; give the program and its arguments, e.g. [\"/usr/local/bin/check-restore\", \"--fast\"]".into(),
        );
    }
    if v.len() > 32 {
        return Err(format!("{} items; at most 32", v.len()));
    }
    if v.iter()
        .any(|a| a.len() > 1024 || a.chars().any(char::is_control))
    {
        return Err(
            "an argument is longer than 1,024 characters or has control characters; shorten it"
                .into(),
        );
    }
    Ok(())
}

fn check_safe_attributes(v: &[String]) -> Result<(), String> {
    if v.len() > MAX_SAFE_ATTRIBUTES {
        return Err(format!(
            "{} names; at most {MAX_SAFE_ATTRIBUTES} attribute names",
            v.len()
        ));
    }
    for name in v {
        if name.trim().is_empty() {
            return Err("an empty attribute name; remove it".into());
        }
        if name.trim() != name {
            return Err(format!(
                "'{}' has spaces around it and would match no attribute; remove the spaces",
                crate::sanitize::clean(name)
            ));
        }
        if name.chars().all(|c| c == '_' || c == '-') {
            return Err(format!(
                "'{}' is no attribute name (names compare without '_' and '-'); remove it",
                crate::sanitize::clean(name)
            ));
        }
        if name.chars().count() > MAX_SAFE_ATTRIBUTE_LEN {
            return Err(format!(
                "an attribute name of {} characters; at most {MAX_SAFE_ATTRIBUTE_LEN}",
                name.chars().count()
            ));
        }
        if name
            .chars()
            .any(|c| c.is_control() || crate::sanitize::is_unsafe(c))
        {
            return Err(format!(
                "'{}' holds a control character; attribute names are plain text",
                crate::sanitize::clean(name)
            ));
        }
    }
    Ok(())
}

impl Default for ProfileSettings {
    fn default() -> Self {
        ProfileSettings {
            read_only: false,
            require_reason: true,
            step_up_minutes: 5,
            idle_lock_minutes: 15,
            theme: "default".into(),
            production: false,
            audit_dir: None,
            audit_hmac_key: None,
            audit_topic_arn: None,
            audit_witness_topic: None,
            restore_role_arn: None,
            restore_check_command: None,
            restore_cleanup_command: None,
            restore_rto_minutes: None,
            restore_rpo_minutes: None,
            utc: false,
            safe_attributes: DEFAULT_SAFE_ATTRIBUTES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            max_rotation_days: 365,
            rpo_hours: 24,
            restore_test_days: 30,
        }
    }
}

/// The largest settings file read (the real ones are a few hundred bytes).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("{file}: cannot read: {message}")]
    Read { file: String, message: String },
    #[error(
        "{file}: no such settings file: check the path given to --config, or leave --config out to use the default file ({default})"
    )]
    Missing { file: String, default: String },
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
}

/// The default settings path: `$XDG_CONFIG_HOME/phi-console/config.toml` or
/// `~/.config/phi-console/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("phi-console").join("config.toml"))
}

/// The settings a command runs with: the file given with `--config`, which must exist, else
/// the default file, which may be absent (empty settings).
pub fn load_selected(explicit: Option<&Path>) -> Result<SettingsFile, SettingsError> {
    match explicit {
        Some(p) if !p.exists() => Err(SettingsError::Missing {
            file: crate::validate::shown(&p.display().to_string()),
            default: default_path()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|| "~/.config/phi-console/config.toml".into()),
        }),
        Some(p) => SettingsFile::load(p),
        None => match default_path() {
            Some(p) => SettingsFile::load(&p),
            None => Ok(SettingsFile::default()),
        },
    }
}

impl SettingsFile {
    /// Loads a settings file; a missing file is empty settings.
    pub fn load(path: &Path) -> Result<SettingsFile, SettingsError> {
        match crate::validate::read_bounded(path, MAX_FILE_BYTES) {
            Ok(text) => Self::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SettingsFile::default()),
            Err(e) => Err(SettingsError::Read {
                file: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    pub fn parse(text: &str, file: &str) -> Result<SettingsFile, SettingsError> {
        let parsed: SettingsFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            SettingsError::Invalid {
                file: file.to_string(),
                line,
                message: e.message().to_string(),
            }
        })?;
        parsed.validate(text, file)?;
        Ok(parsed)
    }

    fn validate(&self, text: &str, file: &str) -> Result<(), SettingsError> {
        let mut sections: Vec<(String, &ProfileSettingsFile)> =
            vec![("defaults".into(), &self.defaults)];
        sections.extend(
            self.profiles
                .iter()
                .map(|(k, v)| (format!("profiles.{k}"), v)),
        );
        for (section, s) in sections {
            let err = |key: &str, message: String| SettingsError::Invalid {
                file: file.to_string(),
                line: find_key_line(text, &section, key),
                message: format!("{section}.{key}: {message}"),
            };
            if let Some(m) = s.step_up_minutes
                && !(1..=60).contains(&m)
            {
                return Err(err(
                    "step_up_minutes",
                    format!("{m} is out of range; expected 1 to 60 minutes"),
                ));
            }
            for (key, value, max) in [
                ("restore_rto_minutes", s.restore_rto_minutes, 10_080),
                ("restore_rpo_minutes", s.restore_rpo_minutes, 525_600),
            ] {
                if let Some(m) = value
                    && !(1..=max).contains(&m)
                {
                    return Err(err(
                        key,
                        format!("{m} is out of range; expected 1 to {max} minutes"),
                    ));
                }
            }
            if let Some(m) = s.idle_lock_minutes
                && !(1..=240).contains(&m)
            {
                return Err(err(
                    "idle_lock_minutes",
                    format!("{m} is out of range; expected 1 to 240 minutes"),
                ));
            }
            if let Some(t) = &s.theme
                && let Err(e) = crate::validate::theme_name(t)
            {
                return Err(err("theme", e.0));
            }
            for (key, service, v) in [
                ("restore_role_arn", "iam", &s.restore_role_arn),
                ("audit_topic_arn", "sns", &s.audit_topic_arn),
                ("audit_witness_topic", "sns", &s.audit_witness_topic),
            ] {
                if let Some(a) = v
                    && let Err(e) = crate::validate::arn_of(service, a)
                {
                    return Err(err(key, e.0));
                }
            }
            if let Some(k) = &s.audit_hmac_key
                && let Err(e) = crate::validate::kms_key(k)
            {
                return Err(err("audit_hmac_key", e.0));
            }
            if let Some(d) = &s.audit_dir
                && let Err(e) = crate::validate::audit_dir(d)
            {
                return Err(err("audit_dir", e.0));
            }
            if let Some(v) = &s.safe_attributes
                && let Err(e) = check_safe_attributes(v)
            {
                return Err(err("safe_attributes", e));
            }
            if let Some(d) = s.max_rotation_days
                && !(90..=2560).contains(&d)
            {
                return Err(err(
                    "max_rotation_days",
                    format!(
                        "{d} is out of range; expected 90 to 2560 days (KMS's rotation periods)"
                    ),
                ));
            }
            if let Some(h) = s.rpo_hours
                && !(1..=8760).contains(&h)
            {
                return Err(err(
                    "rpo_hours",
                    format!("{h} is out of range; expected 1 to 8760 hours"),
                ));
            }
            if let Some(d) = s.restore_test_days
                && !(1..=3650).contains(&d)
            {
                return Err(err(
                    "restore_test_days",
                    format!("{d} is out of range; expected 1 to 3650 days"),
                ));
            }
            for (key, v) in [
                ("restore_check_command", &s.restore_check_command),
                ("restore_cleanup_command", &s.restore_cleanup_command),
            ] {
                if let Some(v) = v
                    && let Err(e) = check_command(v)
                {
                    return Err(err(key, e));
                }
            }
        }
        Ok(())
    }

    /// The effective settings of `profile`: built-in defaults, then `[defaults]`, then
    /// `[profiles.<name>]`.
    pub fn for_profile(&self, profile: &str) -> ProfileSettings {
        let mut out = ProfileSettings::default();
        for layer in [Some(&self.defaults), self.profiles.get(profile)]
            .into_iter()
            .flatten()
        {
            if let Some(v) = layer.read_only {
                out.read_only = v;
            }
            if let Some(v) = layer.require_reason {
                out.require_reason = v;
            }
            if let Some(v) = layer.step_up_minutes {
                out.step_up_minutes = v;
            }
            if let Some(v) = layer.idle_lock_minutes {
                out.idle_lock_minutes = v;
            }
            if let Some(v) = layer.restore_rto_minutes {
                out.restore_rto_minutes = Some(v);
            }
            if let Some(v) = layer.restore_rpo_minutes {
                out.restore_rpo_minutes = Some(v);
            }
            if let Some(v) = &layer.theme {
                out.theme = v.clone();
            }
            if let Some(v) = layer.production {
                out.production = v;
            }
            if let Some(v) = &layer.audit_dir {
                out.audit_dir = Some(v.clone());
            }
            if let Some(v) = &layer.audit_hmac_key {
                out.audit_hmac_key = Some(v.clone());
            }
            if let Some(v) = &layer.audit_topic_arn {
                out.audit_topic_arn = Some(v.clone());
            }
            if let Some(v) = &layer.audit_witness_topic {
                out.audit_witness_topic = Some(v.clone());
            }
            if let Some(v) = &layer.restore_role_arn {
                out.restore_role_arn = Some(v.clone());
            }
            if let Some(v) = &layer.restore_check_command {
                out.restore_check_command = Some(v.clone());
            }
            if let Some(v) = &layer.restore_cleanup_command {
                out.restore_cleanup_command = Some(v.clone());
            }
            if let Some(v) = layer.utc {
                out.utc = v;
            }
            if let Some(v) = &layer.safe_attributes {
                out.safe_attributes = v.clone();
            }
            if let Some(v) = layer.max_rotation_days {
                out.max_rotation_days = v;
            }
            if let Some(v) = layer.rpo_hours {
                out.rpo_hours = v;
            }
            if let Some(v) = layer.restore_test_days {
                out.restore_test_days = v;
            }
        }
        out
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line of `key` inside `[section]` (0 when not found).
fn find_key_line(text: &str, section: &str, key: &str) -> usize {
    let mut in_section = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            let name = t
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .replace('"', "");
            in_section = name == section;
        } else if in_section && t.split('=').next().map(str::trim) == Some(key) {
            return i + 1;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_objectives_are_read_and_checked() {
        let f = SettingsFile::parse(
            "[defaults]\nrestore_rto_minutes = 60\n[profiles.p]\nrestore_rpo_minutes = 1440\n",
            "c.toml",
        )
        .unwrap();
        let p = f.for_profile("p");
        assert_eq!(
            (p.restore_rto_minutes, p.restore_rpo_minutes),
            (Some(60), Some(1440))
        );
        let e = SettingsFile::parse("[profiles.p]\nrestore_rto_minutes = 0\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("c.toml:2") && e.contains("expected 1 to 10080 minutes"),
            "{e}"
        );
    }

    #[test]
    fn layers_merge() {
        let s = SettingsFile::parse(
            "[defaults]\nstep_up_minutes = 10\n\n[profiles.prod]\nread_only = true\nproduction = true\ntheme = \"high-contrast\"\n",
            "c.toml",
        )
        .unwrap();
        let prod = s.for_profile("prod");
        assert!(prod.read_only && prod.production);
        assert_eq!(prod.step_up_minutes, 10);
        assert_eq!(prod.theme, "high-contrast");
        let dev = s.for_profile("dev");
        assert!(!dev.read_only);
        assert_eq!(dev.idle_lock_minutes, 15);
    }

    #[test]
    fn posture_limits_default_merge_and_are_checked() {
        let d = SettingsFile::default().for_profile("x");
        assert_eq!(
            (d.max_rotation_days, d.rpo_hours, d.restore_test_days),
            (365, 24, 30)
        );
        let s = SettingsFile::parse(
            "[defaults]\nrpo_hours = 12\n[profiles.prod]\nmax_rotation_days = 180\nrestore_test_days = 7\n",
            "c.toml",
        )
        .unwrap();
        let p = s.for_profile("prod");
        assert_eq!(
            (p.max_rotation_days, p.rpo_hours, p.restore_test_days),
            (180, 12, 7)
        );
        for (text, key, line) in [
            (
                "[defaults]\nmax_rotation_days = 30\n",
                "max_rotation_days",
                2,
            ),
            ("[profiles.p]\n\nrpo_hours = 0\n", "rpo_hours", 3),
            (
                "[defaults]\nrestore_test_days = 9999\n",
                "restore_test_days",
                2,
            ),
        ] {
            let e = SettingsFile::parse(text, "c.toml").unwrap_err().to_string();
            assert!(e.starts_with(&format!("c.toml:{line}:")), "{e}");
            assert!(e.contains(key) && e.contains("expected"), "{e}");
        }
    }

    #[test]
    fn utc_is_off_by_default_and_set_per_profile() {
        let s = SettingsFile::parse("[profiles.prod]\nutc = true\n", "c.toml").unwrap();
        assert!(s.for_profile("prod").utc);
        assert!(!s.for_profile("dev").utc, "local time unless asked");
        let e = SettingsFile::parse("[defaults]\nutc = \"yes\"\n", "c.toml").unwrap_err();
        assert!(e.to_string().starts_with("c.toml:2:"), "{e}");
    }

    #[test]
    fn unknown_keys_and_bad_values_name_file_line_and_key() {
        let e = SettingsFile::parse(
            "[defaults]\nread_only = true\nreadonly = true\n",
            "/etc/c.toml",
        )
        .unwrap_err();
        let m = e.to_string();
        assert!(m.starts_with("/etc/c.toml:3:"), "{m}");
        assert!(m.contains("readonly"), "{m}");
        let e =
            SettingsFile::parse("[profiles.prod]\n\nstep_up_minutes = 0\n", "c.toml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.toml:3: profiles.prod.step_up_minutes: 0 is out of range; expected 1 to 60 minutes"
        );
        let e = SettingsFile::parse("[defaults]\nread_only = \"yes\"\n", "c.toml").unwrap_err();
        assert!(e.to_string().starts_with("c.toml:2:"), "{e}");
    }

    #[test]
    fn safe_attributes_default_are_set_per_profile_and_checked() {
        let s = SettingsFile::parse(
            "[profiles.prod]\nsafe_attributes = [\"errorCode\"]\n",
            "c.toml",
        )
        .unwrap();
        let prod = s.for_profile("prod").safe_attributes;
        assert_eq!(prod, vec!["errorCode".to_string()]);
        let dev = s.for_profile("dev").safe_attributes;
        assert_eq!(dev, vec!["claim_id", "error_code", "stage"]);
        assert!(attribute_is_safe(&dev, "errorCode"));
        assert!(attribute_is_safe(&dev, "Claim-Id"));
        assert!(!attribute_is_safe(&dev, "errorMessage"));
        assert!(!attribute_is_safe(&dev, "failedStage"));
        assert!(!attribute_is_safe(&prod, "stage"));
        assert!(!attribute_is_safe(&[], "x"));
        let many = (0..40)
            .map(|i| format!("\"a{i}\""))
            .collect::<Vec<_>>()
            .join(", ");
        for (text, want) in [
            (
                format!("[defaults]\nsafe_attributes = [{many}]\n"),
                "at most 32",
            ),
            (
                format!("[defaults]\nsafe_attributes = [\"{}\"]\n", "x".repeat(300)),
                "at most 256",
            ),
            (
                "[defaults]\nsafe_attributes = [\"a\\u001b[2J\"]\n".to_string(),
                "control character",
            ),
            (
                "[defaults]\nsafe_attributes = [\" \"]\n".to_string(),
                "empty",
            ),
            (
                "[defaults]\nsafe_attributes = [\" stage\"]\n".to_string(),
                "remove the spaces",
            ),
            (
                "[defaults]\nsafe_attributes = [\"-\"]\n".to_string(),
                "no attribute name",
            ),
        ] {
            let e = SettingsFile::parse(&text, "c.toml")
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("c.toml:2: defaults.safe_attributes: ") && e.contains(want),
                "{e}"
            );
            assert!(!e.contains('\u{1b}'), "{e}");
        }
        let e = SettingsFile::parse("[defaults]\nsafe_attributes = \"stage\"\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2:"), "{e}");
    }

    #[test]
    fn a_missing_file_is_empty_settings() {
        let s = SettingsFile::load(Path::new("/nonexistent/phi/config.toml")).unwrap();
        assert_eq!(s.for_profile("x"), ProfileSettings::default());
    }

    #[test]
    fn a_missing_file_given_explicitly_is_an_error_naming_it() {
        let e = load_selected(Some(Path::new("/nonexistent/phi/config.toml"))).unwrap_err();
        let m = e.to_string();
        assert!(
            m.starts_with("/nonexistent/phi/config.toml: no such settings file")
                && m.contains("--config"),
            "{m}"
        );
        let d = tempfile::tempdir().unwrap();
        let e = load_selected(Some(d.path())).unwrap_err().to_string();
        assert!(e.contains("directory"), "{e}");
        let e = load_selected(Some(Path::new("/dev/zero")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("larger than"), "{e}");
    }

    #[test]
    fn values_are_checked_with_a_fix() {
        for (text, want) in [
            (
                "[defaults]\naudit_dir = \"logs\"\n",
                "defaults.audit_dir: audit directory 'logs' is relative",
            ),
            ("[defaults]\naudit_dir = \"~/a\"\n", "`~` is not expanded"),
            (
                "[defaults]\ntheme = \"../x\"\n",
                "defaults.theme: '../x' is not a theme name",
            ),
            (
                "[profiles.p]\nrestore_role_arn = \"arn:aws:sns:us-east-1:123456789012:t\"\n",
                "expected an iam ARN",
            ),
            (
                "[profiles.p]\naudit_topic_arn = \"topic\"\n",
                "not a valid ARN",
            ),
            (
                "[profiles.p]\naudit_hmac_key = \"alias/a b\"\n",
                "profiles.p.audit_hmac_key",
            ),
        ] {
            let e = SettingsFile::parse(text, "c.toml").unwrap_err().to_string();
            assert!(
                e.starts_with("c.toml:2:") && e.contains(want),
                "{text}: {e}"
            );
        }
        assert!(SettingsFile::parse("[defaults]\naudit_dir = \"/var/log/a\"\n", "c").is_ok());
    }
}
