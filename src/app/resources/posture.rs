//! Posture: one row per resource and control (pass, fail, unknown), the evidence that decided
//! it; the detail pane has the fix, the HIPAA safeguard and the Security Hub control; the links
//! lead to the resource's own view, where its guarded action (e.g. key rotation) fixes it.

use super::{Cell, Column, Command, Detail, Head, Pane, Resource, col, heads, row};
use crate::app::links::{Link, Target, link};
use crate::app::rows::{Row, Tone};
use crate::app::state::{Kind, State, View};
use crate::cloud::cloudtrail::EventFilter;
use crate::posture::{Finding, Severity, Status};

pub struct Posture;

fn status_tone(st: Status) -> Tone {
    match st {
        Status::Pass => Tone::Accent,
        Status::Fail => Tone::Danger,
        Status::Unknown => Tone::Warning,
    }
}

const COLUMNS: &[Column<Finding>] = &[
    col("STATUS", 7, false, 0, |_, f| {
        // Sorted fail, unknown, pass (the order of `Status`), the most severe first in each.
        Cell::num(
            f.status.as_str().to_uppercase(),
            f.status as u8 as f64 * 10.0 + (Severity::High as u8 - f.severity as u8) as f64,
            status_tone(f.status),
        )
    }),
    col("SEVERITY", 8, false, 0, |_, f| {
        let tone = match (f.status, f.severity) {
            (Status::Fail, Severity::High) => Tone::Danger,
            (Status::Fail, _) => Tone::Warning,
            _ => Tone::Normal,
        };
        Cell::num(f.severity.as_str(), -(f.severity as u8 as f64), tone)
    }),
    col("RESOURCE", 22, false, 0, |_, f| {
        Cell::text(&f.resource_name, Tone::Normal)
    }),
    col("CONTROL", 24, false, 1, |_, f| {
        Cell::text(f.control, Tone::Normal)
    }),
    col("EVIDENCE", 30, false, 1, |_, f| {
        Cell::text(&f.evidence, Tone::Muted)
    }),
];

fn find<'a>(s: &'a State, key: &str) -> Option<&'a Finding> {
    s.data.posture.iter().find(|f| f.key() == key)
}

impl Resource for Posture {
    fn title(&self) -> &'static str {
        "Posture"
    }

    fn command(&self) -> Option<Command> {
        Some(Command {
            name: "posture",
            aliases: &["findings", "compliance"],
            about: "Posture findings: encryption, rotation, TLS, DLQs, backups, CloudTrail",
        })
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Posture]
    }

    fn heads(&self) -> Vec<Head> {
        heads(COLUMNS)
    }

    fn rows(&self, s: &State) -> Vec<Row> {
        s.data
            .posture
            .iter()
            .map(|f| row(s, COLUMNS, f, &f.key()))
            .collect()
    }

    fn detail(&self, _s: &State, key: &str) -> Vec<Detail> {
        let Some(f) = find(_s, key) else {
            return Vec::new();
        };
        let mut p = Pane::default();
        p.heading(format!("{} — {}", f.control, f.title))
            .field("Status", f.status.as_str().to_uppercase())
            .field("Severity", f.severity.as_str())
            .field(
                "Resource",
                format!("{} ({})", f.resource_name, f.resource_type),
            )
            .field("ARN", &f.resource)
            .field(
                "HIPAA",
                format!("{} {}", f.safeguard.citation(), f.safeguard.name()),
            )
            .field("Security Hub", f.security_hub.unwrap_or("-"));
        if let (Some(perm), Some(code)) = (&f.permission, &f.error_code) {
            p.note(
                format!("Could not be read: {perm} answered {code}; grant {perm} to decide it"),
                Tone::Warning,
            );
        }
        p.heading("Evidence").block(&f.evidence);
        p.heading("Fix").note(
            f.fix,
            if f.status == Status::Pass {
                Tone::Muted
            } else {
                Tone::Normal
            },
        );
        p.0
    }

    fn links(&self, s: &State, key: &str) -> Vec<Link> {
        let Some(f) = find(s, key) else {
            return Vec::new();
        };
        let select = |view: View, label: String| {
            link(
                label,
                Target::Select {
                    view,
                    key: f.resource.clone(),
                },
            )
        };
        let mut out = Vec::new();
        match f.resource_type {
            "queue" if f.resource.starts_with("arn:") => {
                out.push(select(View::Queues, format!("queue {}", f.resource_name)))
            }
            "topic" if f.resource.starts_with("arn:") => {
                out.push(select(View::Topics, format!("topic {}", f.resource_name)))
            }
            "subscription" => {
                // The subscription's topic: its ARN without the subscription id.
                let topic = f
                    .resource
                    .rsplit_once(':')
                    .map(|(t, _)| t.to_string())
                    .unwrap_or_default();
                out.push(link(
                    "its topic",
                    Target::Select {
                        view: View::Topics,
                        key: topic,
                    },
                ));
            }
            "key" if f.resource.starts_with("arn:") => out.push(select(
                View::Keys,
                format!("KMS key {} (its rotation actions)", f.resource_name),
            )),
            "vault" => out.push(select(View::Vaults, format!("vault {}", f.resource_name))),
            "backup-resource" => out.push(link(
                format!("recovery points of {}", f.resource_name),
                Target::Filter {
                    view: View::Points,
                    filter: f.resource_name.clone(),
                },
            )),
            "trail" => out.push(link(
                format!("CloudTrail events of trail {}", f.resource_name),
                Target::Events(EventFilter::ResourceName(f.resource_name.clone())),
            )),
            _ => {}
        }
        out
    }

    /// CloudTrail names most resources by their name.
    fn events_name(&self, s: &State, key: &str) -> String {
        find(s, key)
            .map(|f| f.resource_name.clone())
            .unwrap_or_else(|| key.to_string())
    }

    /// A finding is not an action's target.
    fn action_target(
        &self,
        _s: &State,
        _key: &str,
        _binding: &super::ActionBinding,
    ) -> Result<String, String> {
        Err("a finding is not an action's target: follow its link to the resource".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::test_support::{now, session_info};
    use crate::posture::Unread;
    use crate::posture::checks::{KMS_ROTATION, SQS_ENCRYPTION};

    fn state() -> State {
        let mut s = State::new(
            now(),
            crate::app::keymap::Keymap::default_keymap(),
            Default::default(),
        );
        s.session = Some(session_info(now()));
        s.data.posture = vec![
            Finding::fail(
                &SQS_ENCRYPTION,
                "arn:aws:sqs:us-east-1:123456789012:claims-notify",
                "claims-notify",
                "KmsMasterKeyId not set and SqsManagedSseEnabled=false: not encrypted at rest",
            ),
            Finding::unknown(
                &KMS_ROTATION,
                "arn:aws:kms:us-east-1:123456789012:key/k1",
                "alias/claims-costs",
                &Unread {
                    permission: "kms:GetKeyRotationStatus".into(),
                    code: "AccessDeniedException".into(),
                    message: "denied".into(),
                },
            ),
            Finding::pass(
                &KMS_ROTATION,
                "arn:aws:kms:us-east-1:123456789012:key/k2",
                "alias/claims-transport",
                "KeyRotationEnabled=true RotationPeriodInDays=365 (max_rotation_days 365)",
            ),
        ];
        s
    }

    #[test]
    fn rows_show_status_severity_resource_control_and_evidence() {
        let s = state();
        let rows = Posture.rows(&s);
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0].cells[..4],
            ["FAIL", "high", "claims-notify", "sqs.encryption"]
        );
        assert_eq!(rows[0].tones[0], Tone::Danger);
        assert_eq!(rows[1].cells[0], "UNKNOWN");
        assert_eq!(rows[2].tones[0], Tone::Accent);
        assert!(rows[0].haystack.contains("not encrypted at rest"));
    }

    #[test]
    fn the_detail_has_the_fix_safeguard_and_security_hub_id_and_links_to_the_resource() {
        let s = state();
        let key = s.data.posture[0].key();
        let d = Posture.detail(&s, &key);
        let text = format!("{d:?}");
        assert!(text.contains("§164.312(a)(2)(iv)"), "{text}");
        assert!(text.contains("SQS.1"), "{text}");
        assert!(text.contains("Set the queue's KmsMasterKeyId"), "{text}");
        let l = Posture.links(&s, &key);
        assert_eq!(
            l[0].target,
            Target::Select {
                view: View::Queues,
                key: "arn:aws:sqs:us-east-1:123456789012:claims-notify".into()
            }
        );
        // An unknown says which permission to grant; a key links to the keys view.
        let key = s.data.posture[1].key();
        let text = format!("{:?}", Posture.detail(&s, &key));
        assert!(text.contains("grant kms:GetKeyRotationStatus"), "{text}");
        let l = Posture.links(&s, &key);
        assert!(matches!(
            &l[0].target,
            Target::Select {
                view: View::Keys,
                ..
            }
        ));
        assert!(
            Posture
                .action_target(
                    &s,
                    &key,
                    &super::super::ActionBinding {
                        name: "rotate_now",
                        action: &crate::guard::kms::ROTATE_NOW,
                        keys: &[],
                        describe: "",
                        refresh: &[],
                    }
                )
                .is_err()
        );
    }
}
