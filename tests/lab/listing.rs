//! The views' CLI twins (`queue list`, `topic list`, `key list`, `vault list`, `point list`,
//! `job list`, `events`) against the claims emulator: each document's schema, field by field
//! and type by type (docs/CLI.md gives the same table); read-only allowed; the table output
//! sanitised; completions and the man page.

use crate::common::*;
use phi_console::emulator::Emulator;
use serde_json::Value;

/// JSON types: s string, n number, b bool, a array, and `?` for "or null".
fn type_ok(v: &Value, t: &str) -> bool {
    let (t, nullable) = t.strip_suffix('?').map_or((t, false), |t| (t, true));
    (nullable && v.is_null())
        || match t {
            "s" => v.is_string(),
            "n" => v.is_number(),
            "b" => v.is_boolean(),
            "a" => v.is_array(),
            _ => false,
        }
}

/// A listing: its command, the field holding its items, and each item's fields with types.
type Schema = (
    &'static [&'static str],
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The documented schema of each listing (docs/CLI.md).
const SCHEMAS: &[Schema] = &[
    (
        &["queue", "list"],
        "queues",
        &[
            ("name", "s"),
            ("arn", "s"),
            ("url", "s"),
            ("type", "s"),
            ("visible", "n"),
            ("in_flight", "n"),
            ("delayed", "n"),
            ("is_dlq", "b"),
            ("dlq", "s?"),
            ("max_receive_count", "n?"),
            ("sources", "a"),
            ("encryption", "s"),
            ("tls_only", "b?"),
            ("retention_seconds", "n?"),
            ("created", "s?"),
        ],
    ),
    (
        &["topic", "list"],
        "topics",
        &[
            ("name", "s"),
            ("arn", "s"),
            ("type", "s"),
            ("kms_key", "s?"),
            ("data_protection", "b"),
            ("subscriptions", "n"),
            ("subscription_protocols", "a"),
        ],
    ),
    (
        &["key", "list"],
        "keys",
        &[
            ("id", "s"),
            ("arn", "s"),
            ("aliases", "a"),
            ("state", "s"),
            ("spec", "s"),
            ("usage", "s"),
            ("managed", "s"),
            ("rotation", "b?"),
            ("period_days", "n?"),
            ("next_rotation", "s?"),
            ("deletion_date", "s?"),
            ("created", "s?"),
        ],
    ),
    (
        &["vault", "list"],
        "vaults",
        &[
            ("name", "s"),
            ("arn", "s"),
            ("recovery_points", "n"),
            ("locked", "b"),
            ("min_retention_days", "n?"),
            ("max_retention_days", "n?"),
            ("lock_date", "s?"),
            ("encryption_key", "s?"),
            ("created", "s?"),
        ],
    ),
    (
        &["point", "list"],
        "recovery_points",
        &[
            ("arn", "s"),
            ("vault", "s"),
            ("resource", "s"),
            ("resource_arn", "s"),
            ("resource_type", "s"),
            ("status", "s"),
            ("created", "s?"),
            ("completed", "s?"),
            ("size_bytes", "n?"),
            ("encryption_key", "s?"),
            ("last_restore", "s?"),
            ("delete_at", "s?"),
            ("age_hours", "n?"),
        ],
    ),
    (
        &["job", "list"],
        "jobs",
        &[
            ("kind", "s"),
            ("id", "s"),
            ("status", "s"),
            ("resource_type", "s"),
            ("resource", "s?"),
            ("vault", "s?"),
            ("recovery_point_arn", "s?"),
            ("created", "s?"),
            ("completed", "s?"),
            ("message", "s?"),
        ],
    ),
    (
        &["events"],
        "events",
        &[
            ("id", "s"),
            ("time", "s?"),
            ("name", "s"),
            ("source", "s"),
            ("username", "s?"),
            ("read_only", "b?"),
            ("access_key", "s?"),
            ("resources", "a"),
            ("request_id", "s?"),
            ("source_identity", "s?"),
            ("mfa_authenticated", "b?"),
        ],
    ),
];

struct Bin(DemoBin);

impl Bin {
    fn new(emu: &Emulator) -> Bin {
        Bin(DemoBin::new(emu, ""))
    }
    fn run(&self, emu: &Emulator, args: &[&str]) -> (i32, String, String) {
        self.0.run_with_code(emu, args)
    }
}

#[test]
fn every_listing_has_its_documented_schema_and_reads_only() {
    let emu = claims();
    let bin = Bin::new(&emu);
    let trail_before = emu.with_world(|w| w.trail.events.len());
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/CLI.md")).unwrap();
    for (cmd, items, fields) in SCHEMAS {
        // Read-only is allowed: these only read.
        let mut args: Vec<&str> = vec!["--read-only"];
        args.extend_from_slice(cmd);
        args.push("--json");
        let (code, out, err) = bin.run(&emu, &args);
        assert_eq!(code, 0, "{cmd:?}: {err}");
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{cmd:?}: {e}: {out}"));
        assert_eq!(v["account"], "123456789012");
        assert_eq!(v["profile"], "demo");
        let list = v[*items]
            .as_array()
            .unwrap_or_else(|| panic!("{cmd:?}: no {items}: {v}"));
        assert!(!list.is_empty(), "{cmd:?}: the claims account has {items}");
        for item in list {
            let obj = item.as_object().unwrap();
            let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            keys.sort_unstable();
            let mut want: Vec<&str> = fields.iter().map(|(f, _)| *f).collect();
            want.sort_unstable();
            assert_eq!(keys, want, "{cmd:?}: exactly the documented fields");
            for (f, t) in *fields {
                assert!(
                    type_ok(&item[*f], t),
                    "{cmd:?}.{f}: {} is not {t}",
                    item[*f]
                );
            }
        }
        for (f, _) in *fields {
            assert!(
                docs.contains(&format!("`{f}`")),
                "docs/CLI.md documents {cmd:?}.{f}"
            );
        }
        // The table: a header, one line per item.
        let mut args: Vec<&str> = cmd.to_vec();
        args.push("--read-only");
        let (code, table, err) = bin.run(&emu, &args);
        assert_eq!(code, 0, "{err}");
        assert!(table.lines().count() > list.len(), "{cmd:?}: {table}");
    }
    // Nothing changed in the account: only reads (and the MFA session) were made.
    let writes: Vec<String> = emu.with_world(|w| {
        w.trail.events[trail_before..]
            .iter()
            .filter(|e| !e.read_only && e.event_source != "sts.amazonaws.com")
            .map(|e| e.event_name.clone())
            .collect()
    });
    assert!(writes.is_empty(), "{writes:?}");
}

#[test]
fn filters_narrow_the_lists() {
    let emu = claims();
    let bin = Bin::new(&emu);
    let (_, out, _) = bin.run(&emu, &["queue", "list", "--dlq", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let dlqs = v["queues"].as_array().unwrap();
    assert!(!dlqs.is_empty() && dlqs.iter().all(|q| q["is_dlq"] == true));
    let (_, out, _) = bin.run(
        &emu,
        &["events", "--name", "StartMessageMoveTask", "--json"],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let evs = v["events"].as_array().unwrap();
    assert!(!evs.is_empty() && evs.iter().all(|e| e["name"] == "StartMessageMoveTask"));
    let (_, out, _) = bin.run(&emu, &["events", "--max", "3", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["events"].as_array().unwrap().len(), 3);
    let (code, _, err) = bin.run(&emu, &["events", "--since", "yesterday"]);
    assert_eq!(code, 1);
    assert!(err.contains("7d"), "the fix is named: {err}");
    let (_, out, _) = bin.run(&emu, &["vault", "list", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let vault = v["vaults"][0]["name"].as_str().unwrap().to_string();
    let (_, out, _) = bin.run(&emu, &["point", "list", "--vault", &vault, "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let points = v["recovery_points"].as_array().unwrap();
    assert!(points.iter().all(|p| p["vault"] == vault.as_str()));
}

#[test]
fn completions_and_the_man_page_come_from_the_command_line_definition() {
    use clap::CommandFactory;
    for shell in ["bash", "zsh", "fish"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_phi-console"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut want = Vec::new();
        let s: clap_complete::Shell = shell.parse().unwrap();
        clap_complete::generate(
            s,
            &mut phi_console::cli::Cli::command(),
            "phi-console",
            &mut want,
        );
        assert_eq!(
            out.stdout, want,
            "{shell}: clap's script, unchanged by the sanitiser"
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("redrive") && text.contains("cancel-redrive"),
            "{shell}"
        );
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_phi-console"))
        .arg("man")
        .output()
        .unwrap();
    assert!(out.status.success());
    let man = String::from_utf8(out.stdout).unwrap();
    assert!(man.contains(".TH phi-console 1"), "{man}");
    for sub in ["queue", "key", "events", "completions"] {
        assert!(man.contains(sub), "the man page lists {sub}");
    }
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_phi-console"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("possible values"));
}
