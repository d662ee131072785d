//! The detail pane of each view: every attribute of the selected resource, policies
//! pretty-printed, and the numbered links. All remote text is sanitised.

use crate::app::links::{self, blast_radius};
use crate::app::state::{State, View};
use crate::cloud::sqs::QueueEncryption;
use crate::sanitize::{clean, clean_block};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

fn kv<'a>(s: &State, k: &str, v: &str) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{:<22} ", clean(k)), s.theme.muted),
        Span::styled(clean(v).into_owned(), s.theme.base),
    ])
}

/// A time in the operator's zone (UTC with the profile's `utc` setting); `-` when absent.
fn when(s: &State, t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    crate::ui::format::maybe_time(t, utc(s))
}

fn utc(s: &State) -> bool {
    s.session.as_ref().is_some_and(|i| i.utc)
}

fn heading<'a>(s: &State, t: &str) -> Line<'a> {
    Line::from(Span::styled(clean(t).into_owned(), s.theme.title))
}

fn block<'a>(s: &State, text: &str, style: Style) -> Vec<Line<'a>> {
    let _ = s;
    clean_block(text)
        .lines()
        .map(|l| Line::from(Span::styled(l.to_string(), style)))
        .collect()
}

/// Pretty-prints JSON text (policies, event JSON); falls back to the raw text.
pub fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_string())
}

/// True when a resource policy denies every request not made over TLS
/// (`"Condition": {"Bool": {"aws:SecureTransport": "false"}}` on a Deny).
pub fn tls_only(policy: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(policy) else {
        return false;
    };
    let statements = match &v["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        o @ serde_json::Value::Object(_) => vec![o.clone()],
        _ => return false,
    };
    statements.iter().any(|st| {
        st["Effect"] == "Deny"
            && matches!(st.pointer("/Condition/Bool/aws:SecureTransport"), Some(serde_json::Value::String(x)) if x == "false")
    })
}

pub fn lines<'a>(s: &State, view: View) -> Vec<Line<'a>> {
    let Some(key) = s.table(view).selected_row().map(|r| r.key.clone()) else {
        return vec![Line::from(Span::styled("nothing selected", s.theme.muted))];
    };
    let mut out: Vec<Line> = Vec::new();
    match view {
        View::Queues | View::Dlq => {
            if let Some(q) = s.data.queues.iter().find(|q| q.arn == key) {
                out.push(heading(s, &format!("Queue {}", q.name)));
                out.push(kv(s, "ARN", &q.arn));
                out.push(kv(s, "URL", &q.url));
                let enc = match &q.encryption {
                    QueueEncryption::Kms(k) => format!("KMS {}", s.key_name(k)),
                    QueueEncryption::SqsManaged => "SQS-managed (SSE-SQS): no customer key".into(),
                    QueueEncryption::None => "NONE: messages are not encrypted at rest".into(),
                };
                out.push(kv(s, "Encryption", &enc));
                if let Some(r) = &q.redrive {
                    out.push(kv(
                        s,
                        "Redrive policy",
                        &format!(
                            "→ {} after {} receives",
                            r.dead_letter_target_arn, r.max_receive_count
                        ),
                    ));
                }
                if !q.sources.is_empty() {
                    out.push(kv(s, "Dead-letter queue of", &q.sources.join(", ")));
                }
                if let Some(r) = &q.redrive_allow {
                    out.push(kv(s, "Redrive allow policy", r));
                }
                out.push(heading(s, "Attributes"));
                for (k, v) in &q.attributes {
                    if k != "Policy" && k != "RedrivePolicy" && k != "RedriveAllowPolicy" {
                        // Times as dates, durations in words (the value is sanitised by kv).
                        out.push(kv(s, k, &crate::ui::format::attribute_value(k, v, utc(s))));
                    }
                }
                if !q.tags.is_empty() {
                    out.push(heading(s, "Tags"));
                    for (k, v) in &q.tags {
                        out.push(kv(s, k, v));
                    }
                }
                out.push(heading(s, "Access policy"));
                match &q.policy {
                    Some(p) => {
                        if tls_only(p) {
                            out.push(Line::from(Span::styled(
                                "✓ TLS-only (denies aws:SecureTransport=false)",
                                s.theme.accent,
                            )));
                        } else {
                            out.push(Line::from(Span::styled(
                                "✗ not TLS-only: add a Deny on aws:SecureTransport=false",
                                s.theme.warning,
                            )));
                        }
                        out.extend(block(s, &pretty(p), s.theme.base));
                    }
                    None => out.push(Line::from(Span::styled(
                        "none (account defaults; not TLS-only)",
                        s.theme.warning,
                    ))),
                }
            }
        }
        View::Topics => {
            if let Some(t) = s.data.topics.iter().find(|t| t.arn == key) {
                out.push(heading(s, &format!("Topic {}", t.name)));
                out.push(kv(s, "ARN", &t.arn));
                out.push(kv(
                    s,
                    "KMS key",
                    &t.kms_key
                        .as_deref()
                        .map(|k| s.key_name(k))
                        .unwrap_or_else(|| "NONE".into()),
                ));
                out.push(heading(s, "Subscriptions"));
                for sub in &t.subscriptions {
                    out.push(kv(
                        s,
                        &sub.protocol,
                        &format!(
                            "{}{}{}",
                            sub.endpoint,
                            if sub.raw_delivery {
                                "  raw"
                            } else {
                                "  envelope"
                            },
                            sub.filter_policy
                                .as_deref()
                                .map(|f| format!("  filter {f}"))
                                .unwrap_or_default()
                        ),
                    ));
                }
                out.push(heading(s, "Data protection policy"));
                match &t.data_protection_policy {
                    Some(p) => out.extend(block(s, &pretty(p), s.theme.base)),
                    None => out.push(Line::from(Span::styled("none", s.theme.warning))),
                }
            }
        }
        View::Keys => {
            if let Some(k) = s.data.keys.iter().find(|k| k.arn == key) {
                out.push(heading(s, &format!("Key {}", k.display_name())));
                out.push(kv(s, "ARN", &k.arn));
                out.push(kv(s, "Aliases", &k.aliases.join(", ")));
                out.push(kv(s, "Description", &k.description));
                out.push(kv(s, "State", &k.state));
                out.push(kv(s, "Spec / usage", &format!("{} / {}", k.spec, k.usage)));
                out.push(kv(
                    s,
                    "Manager / origin",
                    &format!(
                        "{} / {}",
                        if k.customer_managed {
                            "customer"
                        } else {
                            "AWS"
                        },
                        k.origin
                    ),
                ));
                match (&k.rotation, k.rotation_unsupported()) {
                    (Some(r), _) => {
                        out.push(kv(
                            s,
                            "Automatic rotation",
                            if r.enabled { "enabled" } else { "DISABLED" },
                        ));
                        out.push(kv(
                            s,
                            "Rotation period",
                            &r.period_days
                                .map(|p| format!("{p} days"))
                                .unwrap_or_else(|| "-".into()),
                        ));
                        out.push(kv(s, "Next rotation", &when(s, r.next)));
                        if let Some(st) = r.on_demand_started {
                            out.push(kv(
                                s,
                                "On-demand rotation",
                                &format!("in progress since {}", when(s, Some(st))),
                            ));
                        }
                    }
                    (None, Some(why)) => {
                        out.push(kv(s, "Rotation", &format!("not supported: {why}")))
                    }
                    (None, None) => {
                        out.push(kv(s, "Rotation", &format!("unavailable while {}", k.state)))
                    }
                }
                out.push(kv(
                    s,
                    "On-demand rotations",
                    &format!(
                        "{} of {}",
                        k.on_demand_used(),
                        crate::cloud::kms::ON_DEMAND_ROTATION_QUOTA
                    ),
                ));
                if !k.rotations.is_empty() {
                    out.push(heading(s, "Rotation history"));
                    for r in k.rotations.iter().rev() {
                        out.push(kv(
                            s,
                            if r.on_demand {
                                "on demand"
                            } else {
                                "automatic"
                            },
                            &when(s, r.date),
                        ));
                    }
                }
                out.push(heading(s, "Blast radius (what this key encrypts)"));
                let radius = blast_radius(s, k);
                if radius.is_empty() {
                    out.push(Line::from(Span::styled(
                        "no loaded queue, topic or vault uses this key",
                        s.theme.muted,
                    )));
                }
                for (_, _, label) in radius {
                    out.push(Line::from(Span::styled(
                        format!("• {}", clean(&label)),
                        s.theme.base,
                    )));
                }
                if !k.tags.is_empty() {
                    out.push(heading(s, "Tags"));
                    for (tk, tv) in &k.tags {
                        out.push(kv(s, tk, tv));
                    }
                }
                out.push(heading(s, "Key policy"));
                match &k.policy {
                    Some(p) => out.extend(block(s, &pretty(p), s.theme.base)),
                    None => out.push(Line::from(Span::styled(
                        "not readable with this session",
                        s.theme.muted,
                    ))),
                }
            }
        }
        View::Vaults => {
            if let Some(v) = s.data.vaults.iter().find(|v| v.arn == key) {
                out.push(heading(s, &format!("Vault {}", v.name)));
                out.push(kv(s, "ARN", &v.arn));
                out.push(kv(
                    s,
                    "Vault lock",
                    if v.locked {
                        "LOCKED (compliance)"
                    } else {
                        "not locked"
                    },
                ));
                out.push(kv(
                    s,
                    "Min / max retention",
                    &match (v.min_retention_days, v.max_retention_days) {
                        (None, None) => "not set (no vault lock)".to_string(),
                        (min, max) => format!(
                            "{} / {} days",
                            min.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
                            max.map(|d| d.to_string()).unwrap_or_else(|| "-".into())
                        ),
                    },
                ));
                out.push(kv(s, "Lock date", &when(s, v.lock_date)));
                out.push(kv(s, "Recovery points", &v.recovery_points.to_string()));
                out.push(kv(
                    s,
                    "KMS key",
                    &v.encryption_key
                        .as_deref()
                        .map(|k| s.key_name(k))
                        .unwrap_or_else(|| "-".into()),
                ));
            }
        }
        View::Points => {
            if let Some(p) = s.data.points.iter().find(|p| p.arn == key) {
                out.push(heading(s, "Recovery point"));
                out.push(kv(s, "ARN", &p.arn));
                out.push(kv(s, "Resource", &p.resource_arn));
                out.push(kv(s, "Type", &p.resource_type));
                out.push(kv(s, "Vault", &p.vault));
                out.push(kv(s, "Status", &p.status));
                out.push(kv(s, "Created", &when(s, p.created)));
                out.push(kv(
                    s,
                    "Age (RPO)",
                    &crate::app::rows::age(s.now, p.created).0,
                ));
                out.push(kv(s, "Size", &crate::app::rows::bytes(p.size_bytes)));
                out.push(kv(s, "Delete at", &when(s, p.delete_at)));
                out.push(kv(s, "Last restore", &when(s, p.last_restore)));
                out.push(kv(
                    s,
                    "KMS key",
                    &p.encryption_key
                        .as_deref()
                        .map(|k| s.key_name(k))
                        .unwrap_or_else(|| "-".into()),
                ));
            }
        }
        View::Jobs => {
            if let Some(j) = s.data.restore_jobs.iter().find(|j| j.id == key) {
                out.push(heading(s, "Restore job"));
                out.push(kv(s, "Id", &j.id));
                out.push(kv(s, "Status", &j.status));
                out.push(kv(s, "Progress", j.percent_done.as_deref().unwrap_or("-")));
                out.push(kv(s, "Recovery point", &j.recovery_point_arn));
                out.push(kv(
                    s,
                    "Created resource",
                    j.created_resource_arn.as_deref().unwrap_or("-"),
                ));
                out.push(kv(s, "Created", &when(s, j.created)));
                out.push(kv(s, "Completed", &when(s, j.completed)));
                out.push(kv(
                    s,
                    "Validation",
                    j.validation_status.as_deref().unwrap_or("-"),
                ));
                out.push(kv(s, "Message", j.status_message.as_deref().unwrap_or("-")));
                out.push(kv(
                    s,
                    "Testing plan",
                    j.restore_testing_plan.as_deref().unwrap_or("-"),
                ));
            } else if let Some(j) = s.data.backup_jobs.iter().find(|j| j.id == key) {
                out.push(heading(s, "Backup job"));
                out.push(kv(s, "Id", &j.id));
                out.push(kv(s, "State", &j.state));
                out.push(kv(s, "Resource", &j.resource_arn));
                out.push(kv(s, "Vault", &j.vault));
                out.push(kv(s, "Created", &when(s, j.created)));
                out.push(kv(s, "Completed", &when(s, j.completed)));
                out.push(kv(s, "Size", &crate::app::rows::bytes(j.size_bytes)));
                out.push(kv(s, "Message", j.status_message.as_deref().unwrap_or("-")));
            }
        }
        View::Plans => {
            if let Some(p) = s.data.plans.iter().find(|p| p.arn == key) {
                out.push(heading(s, &format!("Backup plan {}", p.name)));
                out.push(kv(s, "ARN", &p.arn));
                out.push(kv(s, "Last run", &when(s, p.last_execution)));
            } else if let Some(p) = s.data.testing_plans.iter().find(|p| p.arn == key) {
                out.push(heading(s, &format!("Restore testing plan {}", p.name)));
                out.push(kv(s, "ARN", &p.arn));
                out.push(kv(s, "Schedule", &p.schedule));
                out.push(kv(s, "Last run", &when(s, p.last_execution)));
            }
        }
        View::Messages => {
            if let Some(m) = s.data.messages.iter().find(|m| m.id == key) {
                out.push(heading(s, "Message"));
                out.push(kv(s, "Message id", &m.id));
                out.push(kv(s, "Sent", &when(s, m.sent)));
                out.push(kv(s, "Receive count", &m.receive_count.to_string()));
                out.push(kv(s, "Size", &crate::app::rows::bytes(Some(m.size as i64))));
                if !m.attributes.is_empty() {
                    out.push(heading(s, "Message attributes"));
                    for (k, v) in &m.attributes {
                        out.push(kv(s, k, v));
                    }
                }
                out.push(heading(s, "Body"));
                if s.data.revealed.contains(&m.id) {
                    out.push(Line::from(Span::styled(
                        "revealed on purpose; recorded in the audit log (v hides it)",
                        s.theme.warning,
                    )));
                    out.extend(block(s, &pretty(&m.body), s.theme.base));
                } else {
                    out.push(Line::from(Span::styled(
                        "hidden: it may carry PHI. Press v to reveal it (the reveal is recorded in the audit log).",
                        s.theme.muted,
                    )));
                }
            }
        }
        View::Audit => {
            if let Some(r) = s.data.audit.iter().find(|r| r.id == key) {
                out.push(heading(
                    s,
                    &format!("Audit record {} ({:?})", r.seq, r.kind),
                ));
                let json = serde_json::to_string_pretty(r).unwrap_or_default();
                out.extend(block(s, &json, s.theme.base));
            }
        }
        View::Events => {
            if let Some(e) = s.data.events.iter().find(|e| e.id == key) {
                out.push(heading(
                    s,
                    &format!("{} ({})", clean(&e.name), clean(&e.source)),
                ));
                if let Some(si) = &e.source_identity {
                    out.push(kv(s, "Source identity", si));
                }
                out.extend(block(s, &pretty(&e.raw), s.theme.base));
            }
        }
    }
    let links = links::links(s, view, &key);
    if !links.is_empty() {
        out.push(Line::from(""));
        out.push(heading(s, "Links (press the number; Enter follows 1)"));
        for (i, l) in links.iter().enumerate().take(9) {
            out.push(Line::from(vec![
                Span::styled(format!(" {} ", i + 1), s.theme.selected),
                Span::styled(format!(" {}", clean(&l.label)), s.theme.accent),
            ]));
        }
    }
    out
}
