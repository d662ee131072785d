//! Cross-links between views: what a link leads to, and the helpers the resources use to make
//! theirs (a KMS key by any name, what a key encrypts). The detail pane lists them numbered;
//! the digit keys (and Enter, for the first) follow them.

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

pub fn link(label: impl Into<String>, target: Target) -> Link {
    Link {
        label: label.into(),
        target,
    }
}

pub fn short(arn: &str) -> &str {
    arn.rsplit([':', '/']).next().unwrap_or(arn)
}

/// The link to a KMS key named by id, ARN or alias (selected by its ARN when it is loaded).
pub fn key_link(s: &State, reference: &str) -> Link {
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

/// The numbered links of the row `key` of a view (each resource declares its own).
pub fn links(s: &State, view: View, key: &str) -> Vec<Link> {
    view.resource().links(s, key)
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
