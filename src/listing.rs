//! The views' non-interactive twins, for scripts: `phi-console queue list`, `topic list`,
//! `key list`, `vault list`, `point list`, `job list` and `events`. Each reads only (allowed in
//! read-only mode), takes the global options, prints a table (every cell through the
//! sanitiser) or, with `--json`, one document whose schema docs/CLI.md gives and a test checks:
//!
//! ```text
//! {"profile": "…", "account": "…", "region": "…", "<items>": [ {…}, … ]}
//! ```
//!
//! No message body, CloudTrail event payload or policy text is printed: names, ARNs, counts,
//! states and times.

// `CliError` is the guard's plain error value (as in `guard::cli`); errors are rare here.
#![allow(clippy::result_large_err)]

use crate::audit::writer::format_time;
use crate::cloud::CloudError;
use crate::cloud::cloudtrail::EventFilter;
use crate::guard::GuardError;
use crate::guard::cli::{CliError, Opened, Report};
use crate::guard::queue_cli::ReadArgs;
use crate::options::GlobalOptions;
use crate::sanitize::{self, clean};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::io::Write;

/// The most events `events` prints (`--max`).
pub const MAX_EVENTS: usize = 10_000;
/// The most pages of 50 events read when `--resource` is matched here (with `--name`).
pub const MAX_FILTERED_PAGES: usize = 40;
/// The widest a table cell is drawn (the JSON has the whole value).
const MAX_CELL: usize = 72;

/// What to list.
#[derive(Debug, Clone)]
pub enum What {
    Queues { dlq_only: bool },
    Topics,
    Keys,
    Vaults,
    Points { vault: Option<String> },
    Jobs,
    Events(EventArgs),
}

#[derive(Subcommand, Debug, Clone)]
pub enum ListOnly {
    /// List them (reads only; --json for scripts).
    List {
        #[command(flatten)]
        out: ReadArgs,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum PointCommand {
    /// List recovery points (reads only; --json for scripts).
    List {
        /// Only the points of this backup vault (its name).
        #[arg(long)]
        vault: Option<String>,
        #[command(flatten)]
        out: ReadArgs,
    },
}

/// `phi-console events`.
#[derive(Args, Debug, Clone, Default)]
pub struct EventArgs {
    /// Only events at or after this time: RFC 3339, a day (2026-11-30), or an age (30m, 12h, 7d).
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only events of this API action (EventName, e.g. StartMessageMoveTask).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Only events about this resource (its name or ARN, as CloudTrail records it).
    #[arg(long, value_name = "RESOURCE")]
    pub resource: Option<String>,
    /// At most this many events, newest first (default 200).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=MAX_EVENTS as i64))]
    pub max: u32,
    #[command(flatten)]
    pub out: ReadArgs,
}

fn time(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| Value::String(format_time(t)))
        .unwrap_or(Value::Null)
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// A listing: the JSON items, and which of their fields the table shows.
pub struct Listing {
    pub items_name: &'static str,
    pub columns: &'static [&'static str],
    pub items: Vec<Value>,
}

impl Listing {
    /// The table: a header line, then one line per item; cells sanitised and cut to width.
    pub fn table(&self) -> Vec<String> {
        let cells: Vec<Vec<String>> = self
            .items
            .iter()
            .map(|i| {
                self.columns
                    .iter()
                    .map(|c| {
                        let s = clean(&cell(&i[*c])).into_owned();
                        if s.chars().count() > MAX_CELL {
                            let mut t: String = s.chars().take(MAX_CELL - 1).collect();
                            t.push('…');
                            t
                        } else {
                            s
                        }
                    })
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(n, c)| {
                cells
                    .iter()
                    .map(|r| r[n].chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(c.len())
            })
            .collect();
        let line = |row: Vec<String>| {
            row.iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        let mut out = vec![line(
            self.columns.iter().map(|c| c.to_uppercase()).collect(),
        )];
        out.extend(cells.into_iter().map(line));
        out
    }
}

fn failed(what: &str, error: CloudError) -> CliError {
    CliError::Guard(GuardError::LiveState {
        target: what.to_string(),
        error,
    })
}

/// Reads what `what` names (pure over the cloud adapter's domain types).
async fn fetch(
    cloud: &crate::cloud::Cloud,
    what: &What,
    now: DateTime<Utc>,
) -> Result<Listing, CliError> {
    Ok(match what {
        What::Queues { dlq_only } => {
            let qs = cloud.list_queues().await.map_err(|e| failed("queues", e))?;
            Listing {
                items_name: "queues",
                columns: &["name", "type", "visible", "in_flight", "dlq", "encryption"],
                items: qs
                    .iter()
                    .filter(|q| !dlq_only || q.is_dlq())
                    .map(|q| {
                        json!({
                            "name": q.name,
                            "arn": q.arn,
                            "url": q.url,
                            "type": if q.fifo { "fifo" } else { "standard" },
                            "visible": q.visible,
                            "in_flight": q.in_flight,
                            "delayed": q.delayed,
                            "is_dlq": q.is_dlq(),
                            "dlq": q.redrive.as_ref().map(|r| r.dead_letter_target_arn.rsplit(':').next().unwrap_or_default().to_string()),
                            "max_receive_count": q.redrive.as_ref().map(|r| r.max_receive_count),
                            "sources": q.sources,
                            "encryption": match &q.encryption {
                                crate::cloud::sqs::QueueEncryption::Kms(k) => format!("kms:{k}"),
                                crate::cloud::sqs::QueueEncryption::SqsManaged => "sqs-managed".into(),
                                crate::cloud::sqs::QueueEncryption::None => "none".into(),
                            },
                            "tls_only": q.policy.as_deref().map(crate::cloud::policy::tls_only),
                            "retention_seconds": q.retention_seconds,
                            "created": time(q.created),
                        })
                    })
                    .collect(),
            }
        }
        What::Topics => {
            let ts = cloud.list_topics().await.map_err(|e| failed("topics", e))?;
            Listing {
                items_name: "topics",
                columns: &["name", "type", "subscriptions", "kms_key", "data_protection"],
                items: ts
                    .iter()
                    .map(|t| {
                        json!({
                            "name": t.name,
                            "arn": t.arn,
                            "type": if t.fifo { "fifo" } else { "standard" },
                            "kms_key": t.kms_key,
                            "data_protection": t.data_protection_policy.is_some(),
                            "subscriptions": t.subscriptions.len(),
                            "subscription_protocols": t.subscriptions.iter().map(|s| s.protocol.clone()).collect::<Vec<_>>(),
                        })
                    })
                    .collect(),
            }
        }
        What::Keys => {
            let ks = cloud.list_keys().await.map_err(|e| failed("keys", e))?;
            Listing {
                items_name: "keys",
                columns: &[
                    "aliases",
                    "state",
                    "spec",
                    "managed",
                    "rotation",
                    "period_days",
                ],
                items: ks
                    .iter()
                    .map(|k| {
                        json!({
                            "id": k.id,
                            "arn": k.arn,
                            "aliases": k.aliases,
                            "state": k.state,
                            "spec": k.spec,
                            "usage": k.usage,
                            "managed": if k.customer_managed { "customer" } else { "aws" },
                            "rotation": k.rotation.as_ref().map(|r| r.enabled),
                            "period_days": k.rotation.as_ref().and_then(|r| r.period_days),
                            "next_rotation": time(k.rotation.as_ref().and_then(|r| r.next)),
                            "deletion_date": time(k.deletion_date),
                            "created": time(k.created),
                        })
                    })
                    .collect(),
            }
        }
        What::Vaults => {
            let vs = cloud
                .list_backup_vaults()
                .await
                .map_err(|e| failed("backup vaults", e))?;
            Listing {
                items_name: "vaults",
                columns: &["name", "recovery_points", "locked", "encryption_key"],
                items: vs
                    .iter()
                    .map(|v| {
                        json!({
                            "name": v.name,
                            "arn": v.arn,
                            "recovery_points": v.recovery_points,
                            "locked": v.locked,
                            "min_retention_days": v.min_retention_days,
                            "max_retention_days": v.max_retention_days,
                            "lock_date": time(v.lock_date),
                            "encryption_key": v.encryption_key,
                            "created": time(v.created),
                        })
                    })
                    .collect(),
            }
        }
        What::Points { vault } => {
            let ps = cloud
                .list_all_recovery_points()
                .await
                .map_err(|e| failed("recovery points", e))?;
            Listing {
                items_name: "recovery_points",
                columns: &["vault", "resource_type", "resource", "status", "created"],
                items: ps
                    .iter()
                    .filter(|p| vault.as_deref().is_none_or(|v| p.vault == v))
                    .map(|p| {
                        json!({
                            "arn": p.arn,
                            "vault": p.vault,
                            "resource": p.resource_name.clone().unwrap_or_else(|| p.resource_arn.clone()),
                            "resource_arn": p.resource_arn,
                            "resource_type": p.resource_type,
                            "status": p.status,
                            "created": time(p.created),
                            "completed": time(p.completed),
                            "size_bytes": p.size_bytes,
                            "encryption_key": p.encryption_key,
                            "last_restore": time(p.last_restore),
                            "delete_at": time(p.delete_at),
                            "age_hours": p.created.map(|c| (now - c).num_hours()),
                        })
                    })
                    .collect(),
            }
        }
        What::Jobs => {
            let backups = cloud
                .list_backup_jobs()
                .await
                .map_err(|e| failed("backup jobs", e))?;
            let restores = cloud
                .list_restore_jobs()
                .await
                .map_err(|e| failed("restore jobs", e))?;
            let mut items: Vec<Value> = backups
                .iter()
                .map(|j| {
                    json!({
                        "kind": "backup",
                        "id": j.id,
                        "status": j.state,
                        "resource_type": j.resource_type,
                        "resource": j.resource_arn,
                        "vault": j.vault,
                        "recovery_point_arn": j.recovery_point_arn,
                        "created": time(j.created),
                        "completed": time(j.completed),
                        "message": j.status_message,
                    })
                })
                .collect();
            items.extend(restores.iter().map(|j| {
                json!({
                    "kind": "restore",
                    "id": j.id,
                    "status": j.status,
                    "resource_type": j.resource_type,
                    "resource": j.created_resource_arn,
                    "vault": Value::Null,
                    "recovery_point_arn": j.recovery_point_arn,
                    "created": time(j.created),
                    "completed": time(j.completed),
                    "message": j.status_message,
                })
            }));
            Listing {
                items_name: "jobs",
                columns: &["kind", "id", "status", "resource_type", "created"],
                items,
            }
        }
        What::Events(a) => {
            let since = a
                .since
                .as_deref()
                .map(|s| crate::audit::cli::parse_since_at(s, now))
                .transpose()
                .map_err(|e| CliError::Guard(GuardError::InvalidRequest(format!("{e:#}"))))?;
            // CloudTrail filters on one attribute; the other is applied here.
            let filter = match (&a.name, &a.resource) {
                (Some(n), _) => Some(EventFilter::EventName(n.clone())),
                (None, Some(r)) => Some(EventFilter::ResourceName(r.clone())),
                _ => None,
            };
            // With both --name and --resource, the resource is matched here: the pages read
            // are capped, so a resource with no events does not page through 90 days at
            // LookupEvents' 2 calls a second.
            let client_side = a.name.is_some() && a.resource.is_some();
            let mut pages = 0usize;
            let mut events = Vec::new();
            let mut token = None;
            loop {
                pages += 1;
                let page = cloud
                    .lookup_events(filter.as_ref(), since, None, token)
                    .await
                    .map_err(|e| failed("CloudTrail events", e))?;
                events.extend(page.events.into_iter().filter(|e| {
                    a.resource
                        .as_deref()
                        .is_none_or(|r| e.resources.iter().any(|(_, n)| n == r))
                        && a.name.as_deref().is_none_or(|n| e.name == n)
                }));
                match page.next_token {
                    Some(_) if client_side && pages >= MAX_FILTERED_PAGES => {
                        let _ = writeln!(
                            sanitize::stderr(),
                            "phi-console: note: read {pages} pages of events for --name and matched --resource among them; narrow --since to look further back"
                        );
                        break;
                    }
                    Some(t) if events.len() < a.max as usize => token = Some(t),
                    _ => break,
                }
            }
            events.truncate(a.max as usize);
            Listing {
                items_name: "events",
                columns: &["time", "name", "username", "resources", "request_id"],
                items: events
                    .iter()
                    .map(|e| {
                        json!({
                            "id": e.id,
                            "time": time(e.time),
                            "name": e.name,
                            "source": e.source,
                            "username": e.username,
                            "read_only": e.read_only,
                            "access_key": e.access_key,
                            "resources": e.resources.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>(),
                            "request_id": e.request_id,
                            "source_identity": e.source_identity,
                            "mfa_authenticated": e.mfa_authenticated,
                        })
                    })
                    .collect(),
            }
        }
    })
}

/// Runs a listing command; returns the exit code (0 listed, 1 failed).
pub fn run(what: What, out: &ReadArgs, global: &GlobalOptions) -> anyhow::Result<i32> {
    let mut report = Report::default();
    let result = (|| -> Result<Value, CliError> {
        let o = Opened::open(global, out.audit_dir.as_deref(), None, &mut report)?;
        let cloud = o.session.cloud();
        let now = o.session.now();
        let listing = o.rt.block_on(fetch(&cloud, &what, now));
        let doc = listing.map(|l| {
            let mut doc = json!({
                "profile": o.session.profile,
                "account": o.session.caller.account,
                "region": o.session.region,
            });
            doc[l.items_name] = Value::Array(l.items.clone());
            (doc, l)
        });
        o.close();
        let (doc, l) = doc?;
        if !out.json {
            let mut stdout = sanitize::stdout();
            for line in l.table() {
                let _ = writeln!(stdout, "{line}");
            }
        }
        Ok(doc)
    })();
    match result {
        Ok(doc) => {
            if out.json {
                let _ = writeln!(sanitize::stdout(), "{}", sanitize::to_json_string(&doc));
            }
            Ok(0)
        }
        Err(e) => {
            report.error = Some(e);
            crate::guard::cli::print_report(&report, out.json);
            Ok(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_sanitises_and_cuts_cells() {
        let l = Listing {
            items_name: "queues",
            columns: &["name", "visible"],
            items: vec![
                json!({"name": "a\u{1b}[2Jb", "visible": 3}),
                json!({"name": "x".repeat(100), "visible": null}),
            ],
        };
        let t = l.table();
        assert_eq!(
            t[0].split_whitespace().collect::<Vec<_>>(),
            ["NAME", "VISIBLE"]
        );
        assert!(!t.concat().contains('\u{1b}'));
        assert!(t[2].contains('…') && t[2].ends_with('-'), "{}", t[2]);
    }
}
