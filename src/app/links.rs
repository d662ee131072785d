//! Cross-links between views: from a selected resource to its DLQ, source queues, KMS key,
//! subscribed queues, blast radius, recovery points and CloudTrail events. The detail pane lists
//! them numbered; the digit keys (and Enter, for the first) follow them.

use super::state::{State, View};
use crate::cloud::cloudtrail::EventFilter;
use crate::cloud::kms::Key;
use crate::cloud::sqs::QueueEncryption;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Open a view with the row of this key selected.
    Select { view: View, key: String },
    /// Open a view with a filter typed in.
    Filter { view: View, filter: String },
    /// CloudTrail events with a server-side filter.
    Events(EventFilter),
    /// CloudTrail events with a server-side filter, then a local filter (e.g. a request id).
    EventsMatching { filter: EventFilter, local: String },
    /// The messages of a queue (URL, ARN), bodies hidden.
    Messages { url: String, arn: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub label: String,
    pub target: Target,
}

fn link(label: impl Into<String>, target: Target) -> Link {
    Link {
        label: label.into(),
        target,
    }
}

fn short(arn: &str) -> &str {
    arn.rsplit([':', '/']).next().unwrap_or(arn)
}

/// The link to a KMS key named by id, ARN or alias (selected by its ARN when it is loaded).
fn key_link(s: &State, reference: &str) -> Link {
    let arn = s
        .find_key(reference)
        .map(|k| k.arn.clone())
        .unwrap_or_else(|| reference.to_string());
    link(
        format!("KMS key {}", s.key_name(reference)),
        Target::Select {
            view: View::Keys,
            key: arn,
        },
    )
}

/// True when `reference` (id, ARN, alias or alias ARN) names `key`.
pub fn key_matches(key: &Key, reference: &str) -> bool {
    reference == key.arn
        || reference == key.id
        || reference
            .find("alias/")
            .is_some_and(|i| key.aliases.iter().any(|a| *a == reference[i..]))
}

pub fn links(s: &State, view: View, key: &str) -> Vec<Link> {
    let mut out = Vec::new();
    match view {
        View::Queues | View::Dlq => {
            let Some(q) = s.data.queues.iter().find(|q| q.arn == key) else {
                return out;
            };
            if let Some(r) = &q.redrive {
                out.push(link(
                    format!("DLQ {}", short(&r.dead_letter_target_arn)),
                    Target::Select {
                        view: View::Queues,
                        key: r.dead_letter_target_arn.clone(),
                    },
                ));
            }
            for src in &q.sources {
                out.push(link(
                    format!("source queue {}", short(src)),
                    Target::Select {
                        view: View::Queues,
                        key: src.clone(),
                    },
                ));
            }
            if let QueueEncryption::Kms(k) = &q.encryption {
                out.push(key_link(s, k));
            }
            out.push(link(
                format!(
                    "messages of this queue ({} visible; bodies hidden)",
                    q.visible
                ),
                Target::Messages {
                    url: q.url.clone(),
                    arn: q.arn.clone(),
                },
            ));
            out.push(link(
                "CloudTrail events of this queue",
                Target::Events(EventFilter::ResourceName(q.arn.clone())),
            ));
        }
        View::Topics => {
            let Some(t) = s.data.topics.iter().find(|t| t.arn == key) else {
                return out;
            };
            for sub in t.subscriptions.iter().filter(|x| x.protocol == "sqs") {
                out.push(link(
                    format!("subscribed queue {}", short(&sub.endpoint)),
                    Target::Select {
                        view: View::Queues,
                        key: sub.endpoint.clone(),
                    },
                ));
            }
            if let Some(k) = &t.kms_key {
                out.push(key_link(s, k));
            }
            out.push(link(
                "CloudTrail events of this topic",
                Target::Events(EventFilter::ResourceName(t.arn.clone())),
            ));
        }
        View::Keys => {
            let Some(k) = s.data.keys.iter().find(|k| k.arn == key) else {
                return out;
            };
            for (view, arn, label) in blast_radius(s, k) {
                out.push(link(label, Target::Select { view, key: arn }));
            }
            out.push(link(
                "CloudTrail events of this key",
                Target::Events(EventFilter::ResourceName(k.arn.clone())),
            ));
        }
        View::Vaults => {
            let Some(v) = s.data.vaults.iter().find(|v| v.arn == key) else {
                return out;
            };
            out.push(link(
                format!("recovery points in {}", v.name),
                Target::Filter {
                    view: View::Points,
                    filter: v.name.clone(),
                },
            ));
            if let Some(k) = &v.encryption_key {
                out.push(key_link(s, k));
            }
            out.push(link(
                "CloudTrail events of this vault",
                Target::Events(EventFilter::ResourceName(v.name.clone())),
            ));
        }
        View::Points => {
            let Some(p) = s.data.points.iter().find(|p| p.arn == key) else {
                return out;
            };
            if let Some(v) = s.data.vaults.iter().find(|v| v.name == p.vault) {
                out.push(link(
                    format!("vault {}", v.name),
                    Target::Select {
                        view: View::Vaults,
                        key: v.arn.clone(),
                    },
                ));
            }
            out.push(link(
                "restore jobs of this resource type",
                Target::Filter {
                    view: View::Jobs,
                    filter: "restore".into(),
                },
            ));
            out.push(link(
                "CloudTrail events of this recovery point",
                Target::Events(EventFilter::ResourceName(p.arn.clone())),
            ));
        }
        View::Jobs => {
            if let Some(j) = s.data.restore_jobs.iter().find(|j| j.id == key) {
                out.push(link(
                    "recovery point restored",
                    Target::Select {
                        view: View::Points,
                        key: j.recovery_point_arn.clone(),
                    },
                ));
                out.push(link(
                    "CloudTrail events of this restore job",
                    Target::Events(EventFilter::ResourceName(j.id.clone())),
                ));
            } else if let Some(j) = s.data.backup_jobs.iter().find(|j| j.id == key)
                && let Some(rp) = &j.recovery_point_arn
            {
                out.push(link(
                    "recovery point created",
                    Target::Select {
                        view: View::Points,
                        key: rp.clone(),
                    },
                ));
            }
        }
        View::Plans => {}
        View::Messages => {
            if let Some((_, arn)) = &s.data.messages_queue {
                out.push(link(
                    "the queue",
                    Target::Select {
                        view: View::Queues,
                        key: arn.clone(),
                    },
                ));
            }
        }
        View::Audit => {
            let Some(r) = s.data.audit.iter().find(|r| r.id == key) else {
                return out;
            };
            // The other half of an intent/outcome pair.
            if let Some(i) = &r.intent_id {
                out.push(link(
                    "the intent this outcome answers",
                    Target::Select {
                        view: View::Audit,
                        key: i.clone(),
                    },
                ));
            } else if let Some(o) = s
                .data
                .audit
                .iter()
                .find(|o| o.intent_id.as_deref() == Some(r.id.as_str()))
            {
                out.push(link(
                    "the outcome of this intent",
                    Target::Select {
                        view: View::Audit,
                        key: o.id.clone(),
                    },
                ));
            }
            let target = r
                .what
                .as_ref()
                .and_then(|w| w.targets.first().cloned())
                .or_else(|| {
                    s.data
                        .audit
                        .iter()
                        .find(|i| Some(i.id.as_str()) == r.intent_id.as_deref())
                        .and_then(|i| i.what.as_ref()?.targets.first().cloned())
                });
            let request = r.request_ids.first().cloned();
            match (target, request) {
                (Some(t), Some(req)) => out.push(link(
                    format!("the CloudTrail event of request {req}"),
                    Target::EventsMatching {
                        filter: EventFilter::ResourceName(t),
                        local: req,
                    },
                )),
                (Some(t), None) => out.push(link(
                    "CloudTrail events of the target",
                    Target::Events(EventFilter::ResourceName(t)),
                )),
                _ => {}
            }
            if let Some(si) = r.who.as_ref().and_then(|w| w.source_identity.clone()) {
                out.push(link(
                    format!("events of source identity {si}"),
                    Target::Events(EventFilter::Username(format!("phi-console-{si}"))),
                ));
            }
        }
        View::Events => {
            let Some(e) = s.data.events.iter().find(|e| e.id == key) else {
                return out;
            };
            for (_, name) in &e.resources {
                if s.data.queues.iter().any(|q| &q.arn == name) {
                    out.push(link(
                        format!("queue {}", short(name)),
                        Target::Select {
                            view: View::Queues,
                            key: name.clone(),
                        },
                    ));
                } else if s.data.topics.iter().any(|t| &t.arn == name) {
                    out.push(link(
                        format!("topic {}", short(name)),
                        Target::Select {
                            view: View::Topics,
                            key: name.clone(),
                        },
                    ));
                } else if s.data.keys.iter().any(|k| &k.arn == name) {
                    out.push(link(
                        format!("key {}", s.key_name(name)),
                        Target::Select {
                            view: View::Keys,
                            key: name.clone(),
                        },
                    ));
                }
            }
            // CloudTrail's user name of a role session is its session name.
            if let Some(user) = &e.username {
                let label = match &e.source_identity {
                    Some(si) => format!("events of user {user} (source identity {si})"),
                    None => format!("events of user {user}"),
                };
                out.push(link(
                    label,
                    Target::Events(EventFilter::Username(user.clone())),
                ));
            }
        }
    }
    out
}

/// What a key encrypts: (view, ARN, label) for queues, topics and vaults that use it.
pub fn blast_radius(s: &State, k: &Key) -> Vec<(View, String, String)> {
    let mut out = Vec::new();
    for q in &s.data.queues {
        if let QueueEncryption::Kms(r) = &q.encryption
            && key_matches(k, r)
        {
            out.push((
                View::Queues,
                q.arn.clone(),
                format!("encrypts queue {}", q.name),
            ));
        }
    }
    for t in &s.data.topics {
        if t.kms_key.as_deref().is_some_and(|r| key_matches(k, r)) {
            out.push((
                View::Topics,
                t.arn.clone(),
                format!("encrypts topic {}", t.name),
            ));
        }
    }
    for v in &s.data.vaults {
        if v.encryption_key
            .as_deref()
            .is_some_and(|r| key_matches(k, r))
        {
            out.push((
                View::Vaults,
                v.arn.clone(),
                format!("encrypts vault {}", v.name),
            ));
        }
    }
    out
}
