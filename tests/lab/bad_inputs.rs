//! R4: the real binary on bad inputs — flags, values, regions, URLs, ARNs, keys, periods,
//! profiles, settings/keymap/theme/fault files, audit files, emulator arguments, huge values,
//! escapes, NULs in files, a closed stdout. Every case must end without a panic, with the exit
//! status it should have, and with a message that names the fix (a specific phrase per case).
//!
//! The cases are one table ([`cases`]): one line each. Arguments may use `@D` (the fixture
//! directory), `@CLOSED` (an http URL of a closed 127.0.0.1 port), `@BUSY` (a port in use) and
//! `@LONG` (100,000 characters). No case needs the network or an emulator.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a case must end.
#[derive(Clone, Copy, Debug, PartialEq)]
enum End {
    /// This exit code.
    Code(i32),
    /// Ended by its closed stdout: SIGPIPE (status 141 in a shell).
    Pipe,
}

#[derive(Clone, Debug)]
struct Case {
    args: Vec<String>,
    env: Vec<(String, String)>,
    closed_stdout: bool,
    end: End,
    /// A phrase the output must contain (the fix, or what is wrong); "" for closed-stdout cases
    /// that end silently.
    says: String,
}

fn case(args: &[&str], code: i32, says: &str) -> Case {
    Case {
        args: args.iter().map(|s| s.to_string()).collect(),
        env: Vec::new(),
        closed_stdout: false,
        end: End::Code(code),
        says: says.to_string(),
    }
}

impl Case {
    fn env(mut self, k: &str, v: &str) -> Case {
        self.env.push((k.into(), v.into()));
        self
    }
    fn closed(mut self) -> Case {
        self.closed_stdout = true;
        self
    }
    fn pipe(mut self) -> Case {
        self.closed_stdout = true;
        self.end = End::Pipe;
        self
    }
}

const KEY: &[&str] = &["key", "rotate", "alias/claims-costs", "--on-demand"];

fn key(extra: &[&str], code: i32, says: &str) -> Case {
    let mut a = KEY.to_vec();
    a.extend_from_slice(extra);
    case(&a, code, says)
}

fn rotate(target: &str, code: i32, says: &str) -> Case {
    case(
        &["key", "rotate", target, "--on-demand", "--profile", "demo"],
        code,
        says,
    )
}

fn period(p: &str, code: i32, says: &str) -> Case {
    let arg = format!("--period={p}");
    case(
        &[
            "key",
            "rotation",
            "alias/claims-costs",
            "--enable",
            &arg,
            "--profile",
            "demo",
        ],
        code,
        says,
    )
}

fn settings(file: &str, says: &str) -> Case {
    let path = format!("@D/cfg/{file}");
    key(&["--profile", "demo", "--config", &path], 1, says)
}

fn keymap(dir: &str, says: &str) -> Case {
    case(&["--demo"], 1, says).env("XDG_CONFIG_HOME", &format!("@D/{dir}"))
}

fn theme(name: &str, says: &str) -> Case {
    case(&["--demo", "--theme", name], 1, says).env("XDG_CONFIG_HOME", "@D/themes")
}

fn faults(file: &str, says: &str) -> Case {
    case(&["emulator", "serve", "--faults", file], 1, says)
}

fn verify(file: &str, code: i32, says: &str) -> Case {
    case(&["audit", "verify", file, "--offline"], code, says)
}

const REGION_FIX: &str = "use an AWS region name such as us-east-1";
const URL_FIX: &str = "give an http:// or https:// URL with a host";
const PROFILE_FIX: &str = "use the name of a profile in ~/.aws/config";
const KEY_FIX: &str = "name the key by its alias (alias/claims-costs)";
const THEME_FIX: &str = "use default, high-contrast, light or monochrome";
const DIR_FIX: &str = "give an absolute path such as /var/log/phi-console/audit";
const PERIOD_FIX: &str = "between 90 and 2,560 days";
const CLOCK_FIX: &str = "give a number from 0 (a stopped clock";

/// The table. One line, one bad input (kept one per line: rustfmt would spread them out).
#[rustfmt::skip]
fn cases() -> Vec<Case> {
    vec![
        // ---- flags and subcommands (clap: exit 2) ----
        case(&["frobnicate"], 2, "unrecognized subcommand 'frobnicate'"),
        case(&["--frob"], 2, "unexpected argument '--frob'"),
        case(&["key"], 2, "Usage: phi-console key"),
        case(&["key", "rotate"], 2, "required arguments were not provided"),
        case(&["key", "rotate", "alias/x"], 2, "--on-demand"),
        case(&["key", "rotation", "alias/x"], 2, "--enable"),
        case(&["key", "rotation", "alias/x", "--enable", "--disable"], 2, "cannot be used with"),
        case(&["key", "rotation", "alias/x", "--disable", "--period", "90"], 2, "cannot be used with"),
        case(&["key", "rotate", "alias/x", "--on-demand", "--frob"], 2, "unexpected argument '--frob'"),
        case(&["audit"], 2, "Usage: phi-console audit"),
        case(&["audit", "frob"], 2, "unrecognized subcommand 'frob'"),
        case(&["audit", "export", "--format", "xml"], 2, "[possible values: json, csv]"),
        case(&["emulator"], 2, "Usage: phi-console emulator"),
        case(&["emulator", "serve", "--port", "70000"], 2, "70000 is not in 0..=65535"),
        case(&["emulator", "serve", "--port", "-1"], 2, "unexpected argument '-1'"),
        case(&["emulator", "serve", "--port", "http"], 2, "invalid value 'http' for '--port <PORT>'"),
        case(&["emulator", "serve", "--scenario", "mars"], 2, "[possible values: claims, empty]"),
        case(&["emulator", "serve", "--seed", "-5"], 2, "unexpected argument '-5'"),
        case(&["emulator", "serve", "--seed", "99999999999999999999999"], 2, "invalid value"),
        case(&["--demo", "--demo"], 2, "cannot be used multiple times"),
        // ---- emulator serve --clock-scale ----
        case(&["emulator", "serve", "--clock-scale", "1e308"], 2, CLOCK_FIX),
        case(&["emulator", "serve", "--clock-scale", "inf"], 2, CLOCK_FIX),
        case(&["emulator", "serve", "--clock-scale", "nan"], 2, CLOCK_FIX),
        case(&["emulator", "serve", "--clock-scale=-1"], 2, CLOCK_FIX),
        case(&["emulator", "serve", "--clock-scale", "fast"], 2, "'fast' is not a number"),
        case(&["emulator", "serve", "--clock-scale", ""], 2, "'' is not a number"),
        case(&["emulator", "serve", "--clock-scale", "1000001"], 2, CLOCK_FIX),
        case(&["emulator", "serve", "--clock-scale", "@LONG"], 2, "(100000 characters)"),
        // ---- --region (global, before or after the subcommand) ----
        case(&["--region", "", "audit", "show"], 2, "the region is empty"),
        case(&["--region", "us_east_1", "audit", "show"], 2, REGION_FIX),
        case(&["audit", "show", "--region", "US-EAST-1"], 2, REGION_FIX),
        case(&["--region", "us-east-1; rm -rf /", "audit", "show"], 2, REGION_FIX),
        case(&["--region", "@LONG", "audit", "show"], 2, "is too long (at most 32 characters)"),
        case(&["--region", "us-east-1\n", "audit", "show"], 2, "us-east-1\\u{a}"),
        case(&["--region", "us\u{1b}[2J", "audit", "show"], 2, "us\\u{1b}[2J"),
        case(&["--region", "../../etc", "audit", "show"], 2, REGION_FIX),
        case(&["--region", "us-east-1234", "--demo"], 2, REGION_FIX),
        key(&["--region", "eu west 1"], 2, REGION_FIX),
        key(&["--region", "\u{202e}1-tsae-su"], 2, "\\u{202e}"),
        // ---- --endpoint-url ----
        key(&["--endpoint-url", "ftp://example.com"], 2, "has the scheme 'ftp'"),
        key(&["--endpoint-url", "127.0.0.1:4566"], 2, "has no scheme"),
        key(&["--endpoint-url", "http://"], 2, URL_FIX),
        key(&["--endpoint-url", "http://host:99999"], 2, "invalid port '99999'"),
        key(&["--endpoint-url", "http://host:0"], 2, "has port 0"),
        key(&["--endpoint-url", "http://user:pw@host"], 2, "never put credentials in a URL"),
        key(&["--endpoint-url", "file:///etc/passwd"], 2, "has the scheme 'file'"),
        key(&["--endpoint-url", "@LONG"], 2, "is too long"),
        key(&["--endpoint-url", "http://ho st"], 2, "contains spaces or control characters"),
        key(&["--endpoint-url", "javascript:alert(1)"], 2, "has no scheme"),
        key(&["--endpoint-url", ""], 2, "is empty"),
        key(&["--endpoint-url", "http://host/?x=1"], 2, "has a query or fragment"),
        case(&["emulator", "totp", "--endpoint-url", "gopher://x"], 2, URL_FIX),
        // A global option the lab cannot use is refused, never silently ignored.
        case(&["--read-only", "emulator", "serve"], 1, "--read-only has no effect on `phi-console emulator serve`"),
        case(&["emulator", "serve", "--profile", "prod", "--region", "eu-west-1"], 1, "--profile, --region have no effect"),
        case(&["emulator", "totp", "--profile", "prod"], 1, "drop it"),
        case(&["--endpoint-url", "http://exa$mple.com", "--demo"], 2, "invalid host"),
        // ---- --profile ----
        key(&["--profile", ""], 2, PROFILE_FIX),
        key(&["--profile", "../../etc/passwd"], 2, PROFILE_FIX),
        key(&["--profile", ".hidden"], 2, "not starting with '.'"),
        key(&["--profile", "@LONG"], 2, "(100000 characters)"),
        key(&["--profile", "p\u{1b}]0;owned\u{7}"], 2, "p\\u{1b}]0;owned\\u{7}"),
        case(&["audit", "show", "--profile", "a/b"], 2, PROFILE_FIX),
        key(&["--profile", "ghost"], 1, "profile 'ghost' is not in the AWS config files"),
        // ---- AWS profiles that are themselves wrong ----
        key(&["--profile", "badregion"], 1, "expected a region name like eu-west-1"),
        key(&["--profile", "badurl"], 1, "has the scheme 'ftp'"),
        key(&["--profile", "noregion"], 1, "expected a region name like eu-west-1").env("AWS_REGION", "Mars"),
        key(&["--profile", "plain"], 1, "endpoint_url = 'not a url'").env("AWS_ENDPOINT_URL", "not a url"),
        key(&["--profile", "loop1"], 1, "profiles form a loop: loop1 -> loop2 -> loop1"),
        key(&["--profile", "ghostsrc"], 1, "source_profile 'ghost'"),
        key(&["--profile", "baddur"], 1, "expected a number of seconds between 900 and 129600"),
        key(&["--profile", "badmfa"], 1, "expected an ARN like arn:aws:iam::123456789012"),
        key(&["--profile", "badrole"], 1, "role_arn = 'not-an-arn' is not valid"),
        key(&["--profile", "nocreds"], 1, "set aws_access_key_id/aws_secret_access_key"),
        key(&["--profile", "plain"], 1, "cannot read the AWS config files").env("AWS_CONFIG_FILE", "@D/aws/broken"),
        // ---- the key named ----
        rotate("", 1, "no key was named"),
        rotate("   ", 1, "no key was named"),
        rotate("alias/", 1, KEY_FIX),
        rotate("alias/a b", 1, "is not a KMS alias"),
        rotate("alias/x\u{1b}[2J", 1, "alias/x\\u{1b}[2J"),
        rotate("../../etc/passwd", 1, "is not a KMS key id"),
        rotate("@LONG", 1, "(100000 characters)"),
        rotate("arn:aws:kms", 1, "an ARN looks like arn:aws:kms:us-east-1:123456789012:key/"),
        rotate("arn:aws:sqs:us-east-1:123456789012:claims", 1, "is a sqs ARN, not a KMS key"),
        rotate("arn:aws:kms:us-east-1:12345:key/k", 1, "is not 12 digits"),
        rotate("arn:aws-mars:kms:us-east-1:123456789012:key/k", 1, "unknown partition 'aws-mars'"),
        rotate("arn:aws:kms:us-east-1:123456789012:grant/g", 1, "is not a KMS key or alias ARN"),
        rotate("arn:aws-cn:kms:us-east-1:123456789012:key/k", 1, "region us-east-1 is in partition aws, not aws-cn"),
        // ---- another partition or region: refused before any code is asked or call made ----
        rotate("arn:aws-cn:kms:cn-north-1:123456789012:key/k", 1, "is in partition aws-cn (AWS China)"),
        rotate("arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/k", 1, "use a profile of that partition (e.g. region us-gov-west-1)"),
        rotate("arn:aws-iso:kms:us-iso-east-1:123456789012:key/k", 1, "is in partition aws-iso"),
        rotate("arn:aws:kms:eu-west-1:123456789012:key/k", 1, "pass --region eu-west-1"),
        case(&["key", "rotate", "arn:aws:kms:us-east-1:123456789012:key/k", "--on-demand", "--profile", "demo", "--region", "cn-north-1"], 1, "is in partition aws (AWS commercial)"),
        // ---- rotation periods ----
        period("89", 1, PERIOD_FIX),
        period("2561", 1, PERIOD_FIX),
        period("-5", 1, PERIOD_FIX),
        period("0", 1, PERIOD_FIX),
        period("abc", 2, "is not a whole number of days"),
        period("99999999999", 2, "e.g. --period 365"),
        period("1.5", 2, "is not a whole number of days"),
        // ---- --config and the settings file ----
        key(&["--profile", "demo", "--config", "/nonexistent/config.toml"], 1, "no such settings file: check the path given to --config"),
        case(&["--config", "/nonexistent/config.toml"], 1, "no such settings file"),
        case(&["audit", "show", "--config", "/nonexistent/config.toml"], 1, "no such settings file"),
        key(&["--profile", "demo", "--config", "@D"], 1, "it is a directory, not a file"),
        key(&["--profile", "demo", "--config", "/dev/zero"], 1, "it is larger than 1048576 bytes"),
        settings("huge.toml", "it is larger than 1048576 bytes"),
        settings("latin1.toml", "save it as UTF-8"),
        settings("unknown-key.toml", "unknown-key.toml:2: unknown field `readonly`"),
        settings("unknown-section.toml", "unknown field `default`, expected `defaults` or `profiles`"),
        settings("bad-type.toml", "invalid type: string \"yes\", expected a boolean"),
        settings("step-up.toml", "expected 1 to 60 minutes"),
        settings("idle-lock.toml", "expected 1 to 240 minutes"),
        settings("bigint.toml", "bigint.toml:2"),
        settings("theme.toml", "'../x' is not a theme name"),
        settings("relative-dir.toml", "audit directory 'logs' is relative"),
        settings("tilde-dir.toml", "`~` is not expanded here"),
        settings("role-arn.toml", "'role' is not a valid ARN"),
        settings("topic-arn.toml", "expected an sns ARN"),
        settings("hmac-key.toml", "profiles.demo.audit_hmac_key"),
        settings("syntax.toml", "syntax.toml:1"),
        settings("nul.toml", "nul.toml:2"),
        settings("escape.toml", "escape.toml:1"),
        settings("profiles-type.toml", "expected a map"),
        settings("profile-key.toml", "unknown field `foo`"),
        // ---- audit directory ----
        key(&["--profile", "demo", "--audit-dir", "relative"], 2, DIR_FIX),
        key(&["--profile", "demo", "--audit-dir", "~/audit"], 2, "`~` is not expanded here"),
        key(&["--profile", "demo", "--audit-dir", ""], 2, "the audit directory is empty"),
        key(&["--profile", "demo"], 1, "audit directory 'rel' is relative").env("PHI_CONSOLE_AUDIT_DIR", "rel"),
        // ---- read-only, MFA, the network ----
        key(&["--profile", "demo", "--read-only"], 1, "read-only mode: kms:RotateKeyOnDemand changes the account"),
        key(&["--read-only", "--profile", "plain", "--json"], 1, "read_only"),
        key(&["--profile", "demo"], 1, "no MFA code was entered for profile 'demo'"),
        key(&["--profile", "plain", "--endpoint-url", "@CLOSED"], 1, "check the network, the region and the endpoint URL"),
        // ---- keymap and theme files ----
        keymap("k-layer", "unknown layer [frob] (expected browse, input, help, or actions.VIEW)"),
        keymap("k-action", "[browse] unknown action 'fly'"),
        keymap("k-key", "[browse] quit: unknown key 'hyper-q'"),
        keymap("k-syntax", "keymap.toml: unclosed table"),
        keymap("k-type", "write a list of keys"),
        keymap("k-dir", "it is a directory, not a file"),
        keymap("k-nul", "keymap.toml"),
        keymap("k-huge", "it is larger than 1048576 bytes"),
        theme("unknown", "unknown field `sparkle`"),
        theme("colour", "foreground = 'glitter' is not a colour name or #rrggbb"),
        theme("missing", "missing field"),
        theme("syntax", "syntax.toml"),
        theme("dir", "it is a directory, not a file"),
        theme("neon", "theme 'neon' not found"),
        case(&["--theme", "../x"], 2, THEME_FIX),
        case(&["--theme", ""], 2, THEME_FIX),
        case(&["--theme", "a.toml"], 2, THEME_FIX),
        case(&["--demo", "--config", "@D/cfg/neon.toml"], 1, "theme 'neon' not found"),
        // ---- audit files ----
        verify("/nonexistent/log.jsonl", 2, "cannot read the audit log /nonexistent/log.jsonl"),
        verify("@D", 2, "cannot read the audit log"),
        verify("@D/audit/garbage.jsonl", 1, "line 1"),
        verify("@D/audit/binary.jsonl", 1, "line 1"),
        verify("@D/audit/truncated.jsonl", 1, "line 1"),
        verify("@D/audit/edited.jsonl", 1, "line 2"),
        case(&["audit", "verify", "@D/audit/good.jsonl", "--seal-key-file", "/nonexistent"], 2, "--seal-key-file: cannot read /nonexistent"),
        case(&["audit", "verify", "@D/audit/good.jsonl", "--seal-key-file", "@D/audit/garbage.jsonl"], 2, "does not hold 64 hex digits"),
        case(&["audit", "show", "@D/audit/good.jsonl", "--since", "garbage"], 1, "use RFC 3339, YYYY-MM-DD, or an age like 30m, 12h, 7d"),
        case(&["audit", "show", "@D/audit/good.jsonl", "--since", "99999999999d"], 1, "--since"),
        case(&["audit", "export", "@D/audit/garbage.jsonl"], 1, "the log does not verify"),
        case(&["audit", "show", "/nonexistent/log.jsonl"], 1, "/nonexistent/log.jsonl"),
        // ---- emulator serve and totp ----
        faults("/nonexistent/faults.toml", "give --faults a TOML file of [[rule]] tables"),
        faults("@D", "it is a directory, not a file"),
        faults("/dev/zero", "it is larger than 1048576 bytes"),
        faults("@D/faults/type.toml", "expected a sequence"),
        faults("@D/faults/unknown.toml", "unknown field `foo`"),
        faults("@D/faults/rate.toml", "error_rate and batch_failure_rate must be between 0 and 1"),
        faults("@D/faults/service.toml", "unknown service 'ec2' (use sts, sqs, sns, kms, backup or cloudtrail)"),
        faults("@D/faults/status.toml", "error_status = 42: use 500 or 503"),
        faults("@D/faults/latency.toml", "must be at most 600000 (10 minutes)"),
        faults("@D/faults/throttle.toml", "throttle_rate = -1: use a number of requests per second above 0"),
        case(&["emulator", "serve", "--port", "@BUSY"], 1, "choose another --port, or 0 for any free port"),
        case(&["emulator", "totp", "--endpoint-url", "@CLOSED"], 1, "is `phi-console emulator serve` running?"),
        case(&["emulator", "totp", "--endpoint-url", "https://127.0.0.1:9"], 1, "use its http:// URL"),
        case(&["emulator", "totp", "ghost"], 1, "only the demo device"),
        // ---- the log filter ----
        case(&["emulator", "totp"], 0, "set it like PHI_CONSOLE_LOG=info").env("PHI_CONSOLE_LOG", "aws=loud"),
        case(&["emulator", "totp"], 0, "\\u{1b}[2J").env("PHI_CONSOLE_LOG", "x=\u{1b}[2J"),
        // ---- a closed stdout ----
        case(&["--help"], 0, "").pipe(),
        case(&["--version"], 0, "").pipe(),
        case(&["key", "--help"], 0, "").pipe(),
        case(&["audit", "show", "@D/audit/good.jsonl"], 0, "").pipe(),
        case(&["audit", "show", "@D/audit/good.jsonl", "--json"], 0, "").pipe(),
        case(&["audit", "export", "@D/audit/good.jsonl", "--format", "csv"], 0, "").pipe(),
        case(&["audit", "verify", "@D/audit/good.jsonl", "--offline"], 3, "").pipe(),
        case(&["emulator", "totp"], 0, "").pipe(),
        case(&["--frob"], 2, "unexpected argument '--frob'").closed(),
        rotate("alias/a b", 1, "is not a KMS alias").closed(),
        key(&["--profile", "demo", "--json"], 1, "").closed(),
        case(&["--demo"], 1, "cannot put the terminal in raw mode").closed(),
    ]
}

fn write(path: &Path, content: impl AsRef<[u8]>) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(path, content).unwrap();
}

const THEME_OK: &str = "name = \"x\"\nbackground = \"black\"\nforeground = \"white\"\naccent = \"cyan\"\nselection_bg = \"blue\"\nselection_fg = \"white\"\nwarning = \"yellow\"\ndanger = \"red\"\nproduction_marker = \"red\"\nmuted = \"gray\"\n";

/// The fixture directory: AWS profiles, settings, keymaps, themes, fault files, audit logs.
fn fixtures(d: &Path) {
    write(
        &d.join("aws/config"),
        "[profile demo]\nregion = us-east-1\nmfa_serial = arn:aws:iam::123456789012:mfa/op\n\
         [profile plain]\nregion = us-east-1\n\
         [profile noregion]\n\
         [profile badregion]\nregion = Mars\n\
         [profile badurl]\nregion = us-east-1\nendpoint_url = ftp://example.com\n\
         [profile loop1]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = loop2\n\
         [profile loop2]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = loop1\n\
         [profile ghostsrc]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = ghost\n\
         [profile baddur]\nregion = us-east-1\nduration_seconds = forever\n\
         [profile badmfa]\nregion = us-east-1\nmfa_serial = arn:aws:iam::12:mfa/x\n\
         [profile badrole]\nrole_arn = not-an-arn\nsource_profile = plain\n\
         [profile nocreds]\nregion = us-east-1\n",
    );
    let creds: String = [
        "demo",
        "plain",
        "noregion",
        "badregion",
        "badurl",
        "baddur",
        "badmfa",
    ]
    .iter()
    .map(|p| format!("[{p}]\naws_access_key_id = AKIATESTKEY\naws_secret_access_key = x\n"))
    .collect();
    write(&d.join("aws/credentials"), creds);
    write(
        &d.join("aws/broken"),
        "[profile plain\nregion = us-east-1\n",
    );

    let cfg = d.join("cfg");
    write(&cfg.join("huge.toml"), "#".repeat(2 << 20));
    write(&cfg.join("latin1.toml"), b"# caf\xe9\n[defaults]\n");
    write(
        &cfg.join("unknown-key.toml"),
        "[defaults]\nreadonly = true\n",
    );
    write(
        &cfg.join("unknown-section.toml"),
        "[default]\nread_only = true\n",
    );
    write(
        &cfg.join("bad-type.toml"),
        "[defaults]\nread_only = \"yes\"\n",
    );
    write(
        &cfg.join("step-up.toml"),
        "[defaults]\nstep_up_minutes = 0\n",
    );
    write(
        &cfg.join("idle-lock.toml"),
        "[profiles.demo]\nidle_lock_minutes = 99999\n",
    );
    write(
        &cfg.join("bigint.toml"),
        "[defaults]\nstep_up_minutes = 99999999999999999999\n",
    );
    write(&cfg.join("theme.toml"), "[defaults]\ntheme = \"../x\"\n");
    write(&cfg.join("neon.toml"), "[defaults]\ntheme = \"neon\"\n");
    write(
        &cfg.join("relative-dir.toml"),
        "[defaults]\naudit_dir = \"logs\"\n",
    );
    write(
        &cfg.join("tilde-dir.toml"),
        "[defaults]\naudit_dir = \"~/audit\"\n",
    );
    write(
        &cfg.join("role-arn.toml"),
        "[profiles.demo]\nrestore_role_arn = \"role\"\n",
    );
    write(
        &cfg.join("topic-arn.toml"),
        "[profiles.demo]\naudit_topic_arn = \"arn:aws:iam::123456789012:role/R\"\n",
    );
    write(
        &cfg.join("hmac-key.toml"),
        "[profiles.demo]\naudit_hmac_key = \"alias/a b\"\n",
    );
    write(&cfg.join("syntax.toml"), "[defaults\n");
    write(&cfg.join("nul.toml"), "[defaults]\nread_only = true\0\n");
    write(&cfg.join("escape.toml"), "\"\u{1b}[2J\" = 1\n");
    write(&cfg.join("profiles-type.toml"), "profiles = 5\n");
    write(&cfg.join("profile-key.toml"), "[profiles.demo]\nfoo = 1\n");

    for (dir, text) in [
        ("k-layer", "[frob]\nquit = [\"q\"]\n"),
        ("k-action", "[browse]\nfly = [\"q\"]\n"),
        ("k-key", "[browse]\nquit = [\"hyper-q\"]\n"),
        ("k-syntax", "[browse\n"),
        ("k-type", "[browse]\nquit = 5\n"),
        ("k-nul", "[browse]\nquit = [\"q\0\"]\n"),
    ] {
        write(&d.join(dir).join("phi-console/keymap.toml"), text);
    }
    write(
        &d.join("k-huge/phi-console/keymap.toml"),
        " ".repeat(2 << 20),
    );
    std::fs::create_dir_all(d.join("k-dir/phi-console/keymap.toml")).unwrap();

    let themes = d.join("themes/phi-console/themes");
    write(
        &themes.join("unknown.toml"),
        format!("{THEME_OK}sparkle = \"yes\"\n"),
    );
    write(
        &themes.join("colour.toml"),
        THEME_OK.replace("foreground = \"white\"", "foreground = \"glitter\""),
    );
    write(&themes.join("missing.toml"), "name = \"x\"\n");
    write(&themes.join("syntax.toml"), "name = \n");
    std::fs::create_dir_all(themes.join("dir.toml")).unwrap();

    let faults = d.join("faults");
    write(&faults.join("type.toml"), "rule = 5\n");
    write(&faults.join("unknown.toml"), "[[rule]]\nfoo = 1\n");
    write(&faults.join("rate.toml"), "[[rule]]\nerror_rate = 2.0\n");
    write(
        &faults.join("service.toml"),
        "[[rule]]\nservice = \"ec2\"\n",
    );
    write(&faults.join("status.toml"), "[[rule]]\nerror_status = 42\n");
    write(
        &faults.join("latency.toml"),
        "[[rule]]\nlatency_ms = 18446744073709551615\n",
    );
    write(
        &faults.join("throttle.toml"),
        "[[rule]]\nthrottle_rate = -1.0\n",
    );

    // A real log (sessions start and end), and damaged copies of it.
    // The log's directory is made by the log itself (private, 0700).
    let audit = d.join("audit");
    let good = audit.join("good.jsonl");
    {
        use phi_console::audit::{AuditConfig, AuditLog, SessionEvent};
        let log = AuditLog::open(AuditConfig::new(&good)).unwrap();
        for _ in 0..20 {
            log.session(SessionEvent::Start, serde_json::json!({ "mode": "cli" }))
                .unwrap();
            log.session(SessionEvent::End, serde_json::json!({ "mode": "cli" }))
                .unwrap();
        }
        log.close().unwrap();
    }
    let text = std::fs::read_to_string(&good).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[1] = lines[1].replacen("\"cli\"", "\"tui\"", 1);
    write(&audit.join("edited.jsonl"), lines.join("\n") + "\n");
    write(&audit.join("garbage.jsonl"), "hello, I am not a record\n");
    write(&audit.join("binary.jsonl"), b"\0\0\xff\xfe\x1b[2J\n");
    write(&audit.join("truncated.jsonl"), "{\"v\":1,");
}

/// A pipe whose reading end is already closed: every write to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two new descriptors; the read end is closed at once and the write end
    // is owned by the OwnedFd (close-on-exec, so no other child inherits it).
    unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
        libc::close(fds[0]);
        Stdio::from(OwnedFd::from_raw_fd(fds[1]))
    }
}

struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

const LIMIT: Duration = Duration::from_secs(20);

fn run(c: &Case, d: &Path, i: usize, subst: &dyn Fn(&str) -> String) -> Result<Outcome, String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_phi-console"));
    cmd.args(c.args.iter().map(|a| subst(a)))
        .env("HOME", d.join("home"))
        .env("AWS_CONFIG_FILE", d.join("aws/config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", d.join("aws/credentials"))
        .env("XDG_CONFIG_HOME", d.join("xdg"))
        .env("XDG_STATE_HOME", d.join("state").join(i.to_string()));
    for v in [
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "PHI_CONSOLE_LOG",
        "PHI_CONSOLE_AUDIT_DIR",
        "NO_COLOR",
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in &c.env {
        cmd.env(k, subst(v));
    }
    cmd.stdin(Stdio::null()).stderr(Stdio::piped());
    if c.closed_stdout {
        cmd.stdout(closed_pipe());
    } else {
        cmd.stdout(Stdio::piped());
    }
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let pid = child.id();
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut o = Vec::new();
        let mut e = Vec::new();
        let reader = std::thread::spawn(move || {
            if let Some(s) = out.as_mut() {
                let _ = s.read_to_end(&mut o);
            }
            o
        });
        if let Some(s) = err.as_mut() {
            let _ = s.read_to_end(&mut e);
        }
        let o = reader.join().unwrap_or_default();
        let status = child.wait();
        let _ = tx.send((status, o, e));
    });
    let (status, o, e) = match rx.recv_timeout(LIMIT) {
        Ok(x) => x,
        Err(_) => {
            // SAFETY: kill(2) on the child's pid, which has not been reaped yet.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            return Err(format!("did not finish within {LIMIT:?}"));
        }
    };
    let status = status.map_err(|e| format!("wait: {e}"))?;
    Ok(Outcome {
        code: status.code(),
        signal: status.signal(),
        stdout: String::from_utf8_lossy(&o).into_owned(),
        stderr: String::from_utf8_lossy(&e).into_owned(),
        took: start.elapsed(),
    })
}

fn check(c: &Case, o: &Outcome) -> Vec<String> {
    let mut bad = Vec::new();
    let all = format!("{}{}", o.stdout, o.stderr);
    if all.contains("panicked") || o.code == Some(101) {
        bad.push("PANICKED".to_string());
    }
    if matches!(o.signal, Some(s) if s != libc::SIGPIPE) {
        bad.push(format!("killed by signal {:?}", o.signal));
    }
    match c.end {
        End::Code(n) if o.code != Some(n) => bad.push(format!(
            "exit {:?} (signal {:?}), wanted {n}",
            o.code, o.signal
        )),
        End::Pipe if !(o.signal == Some(libc::SIGPIPE) || o.code == Some(141)) => bad.push(
            format!("exit {:?} (signal {:?}), wanted SIGPIPE", o.code, o.signal),
        ),
        _ => {}
    }
    if !all.contains(&c.says) {
        bad.push(format!("does not say {:?}", c.says));
    }
    if let Some(ch) = o.stderr.chars().find(|&ch| {
        (ch.is_control() && ch != '\n' && ch != '\t') || ('\u{202a}'..='\u{202e}').contains(&ch)
    }) {
        bad.push(format!("raw control character {ch:?} in stderr"));
    }
    if o.stderr.len() > 4096 {
        bad.push(format!(
            "stderr is {} bytes: not a clear message",
            o.stderr.len()
        ));
    }
    bad
}

#[test]
fn r4_bad_inputs_get_a_clear_message_and_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    fixtures(&d);
    // A closed port: bound, then released.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let long = "a".repeat(100_000);
    let dstr = d.display().to_string();
    let subst = move |s: &str| {
        s.replace("@D", &dstr)
            .replace("@CLOSED", &closed)
            .replace("@BUSY", &busy_port)
            .replace("@LONG", &long)
    };

    let cases = cases();
    assert!(
        cases.len() >= 130,
        "R4 asks for at least 130 cases, the table has {}",
        cases.len()
    );
    // Two at a time (the machine is shared); each case is independent.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(c) = cases.get(i) else { break };
                    let r = run(c, &d, i, &subst);
                    results.lock().unwrap().push((i, r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);

    let mut failures = Vec::new();
    let mut slowest = (Duration::ZERO, 0);
    for (i, r) in &results {
        let c = &cases[*i];
        let shown: Vec<String> = c
            .args
            .iter()
            .map(|a| {
                a.chars()
                    .take(60)
                    .collect::<String>()
                    .escape_debug()
                    .to_string()
            })
            .collect();
        match r {
            Err(e) => failures.push(format!("#{i} {shown:?}: {e}")),
            Ok(o) => {
                if o.took > slowest.0 {
                    slowest = (o.took, *i);
                }
                let bad = check(c, o);
                if !bad.is_empty() {
                    failures.push(format!(
                        "#{i} {shown:?} env {:?}: {}\n    exit {:?} signal {:?}\n    stderr: {}\n    stdout: {}",
                        c.env,
                        bad.join("; "),
                        o.code,
                        o.signal,
                        o.stderr.chars().take(600).collect::<String>().escape_debug(),
                        o.stdout.chars().take(300).collect::<String>().escape_debug(),
                    ));
                }
            }
        }
    }
    drop(busy);
    eprintln!(
        "R4: {} bad inputs, {} failing; slowest #{} took {:?}",
        cases.len(),
        failures.len(),
        slowest.1,
        slowest.0
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// `emulator totp --endpoint-url URL` reads the answer of whatever listens there: a server
/// that never stops sending (a mistyped port) gets a clear message, in bounded memory, not an
/// ever-growing buffer.
#[test]
fn totp_against_an_endless_server_stops_with_a_message() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0usize;
        // Until the client hangs up (or 1 GiB: the client never stopped reading).
        while sent < (1 << 30) && s.write_all(&chunk).is_ok() {
            sent += chunk.len();
        }
        sent
    });
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_phi-console"))
        .args(["emulator", "totp", "--endpoint-url"])
        .arg(format!("http://127.0.0.1:{port}"))
        .env("HOME", dir.path())
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env_remove("PHI_CONSOLE_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let sent = server.join().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not the emulator's control endpoint (check --endpoint-url)"),
        "{stderr}"
    );
    assert!(sent < 1 << 30, "the client read 1 GiB without stopping");
}
