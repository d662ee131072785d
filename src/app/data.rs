//! What the console loads: the kinds of data, the loaded data, the payloads that carry it from
//! the runner to `update`, how each kind is loaded (`load`) and stored (`store`). Views
//! (`app::resources`) say which kinds they need; several share one (queues and DLQs; keys,
//! whose names every view shows).
//!
//! A resource with data of its own adds here: a `Kind`, a `Data` field, a `Payload` variant,
//! and an arm in `load` and `store`.

use super::state::State;
use super::update::EventsRequest;
use crate::cloud::backup::{
    BackupJob, BackupPlan, BackupVault, RecoveryPoint, RestoreJob, RestoreTestingPlan,
    RestoreTestingSelection,
};
use crate::cloud::cloudtrail::{EventFilter, TrailEvent};
use crate::cloud::kms::Key;
use crate::cloud::sns::Topic;
use crate::cloud::sqs::{MoveTask, Queue};
use crate::cloud::{Cloud, CloudError};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// A kind of data loaded from AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Queues,
    Topics,
    Keys,
    Vaults,
    Points,
    BackupJobs,
    RestoreJobs,
    Plans,
    TestingPlans,
    Events,
    Audit,
    Messages,
    MoveTasks,
    /// The posture findings (every read posture makes, evaluated with the profile's limits).
    Posture,
}

/// Loading status of one kind; results carry the generation they were asked with, and a result
/// of an older generation is dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadStatus {
    pub generation: u64,
    pub loading: bool,
    pub loaded: bool,
    pub error: Option<String>,
    pub loaded_at: Option<DateTime<Utc>>,
    /// A progressive list (names first): the items whose details are still loading, by the
    /// id their detail call takes (queue URL, topic ARN, key id, vault name).
    pub pending: std::collections::BTreeSet<String>,
    /// Items whose details could not be read (id → why); they keep their name-only row.
    pub item_errors: BTreeMap<String, String>,
}

impl Kind {
    /// Kinds whose list call gives names and whose per-item calls follow, visible rows first.
    pub fn progressive(self) -> bool {
        matches!(
            self,
            Kind::Queues | Kind::Topics | Kind::Keys | Kind::Points
        )
    }
}

/// Everything loaded from the account.
#[derive(Debug, Clone, Default)]
pub struct Data {
    pub queues: Vec<Queue>,
    pub topics: Vec<Topic>,
    pub keys: Vec<Key>,
    pub vaults: Vec<BackupVault>,
    pub points: Vec<RecoveryPoint>,
    pub backup_jobs: Vec<BackupJob>,
    pub restore_jobs: Vec<RestoreJob>,
    pub plans: Vec<BackupPlan>,
    pub testing_plans: Vec<RestoreTestingPlan>,
    /// Each restore testing plan's selections (by plan name), or why they could not be read.
    pub testing_selections: Vec<(String, Result<Vec<RestoreTestingSelection>, String>)>,
    pub events: Vec<TrailEvent>,
    /// The move tasks (redrives) of every DLQ.
    pub move_tasks: Vec<MoveTask>,
    /// Peeked messages of `messages_queue` (URL, ARN). Bodies may carry PHI: shown only for the
    /// ids in `revealed`, each reveal recorded in the audit log first.
    pub messages: Vec<crate::cloud::sqs::Message>,
    pub messages_queue: Option<(String, String)>,
    /// What the last peek of each queue (by URL) saw: a repeated peek's plan says how far
    /// those receive counts will rise, and a queue with a redrive policy shows them in its
    /// refusal.
    pub peek_seen: BTreeMap<String, crate::guard::peek::SeenCounts>,
    pub revealed: BTreeMap<String, crate::app::resources::messages::Shown>,
    /// The records of this profile's audit log (read from the file).
    pub audit: Vec<crate::audit::Record>,
    /// The server-side filter of the loaded events, and the token of the next page.
    pub events_filter: Option<EventFilter>,
    pub events_next: Option<String>,
    /// Posture findings, failures first (evaluated when the reads arrive).
    pub posture: Vec<crate::posture::Finding>,
    pub status: BTreeMap<Kind, LoadStatus>,
}

/// Loaded data of one kind.
#[derive(Debug, Clone)]
pub enum Payload {
    Queues(Vec<Queue>),
    Topics(Vec<Topic>),
    Keys(Vec<Key>),
    Vaults(Vec<BackupVault>),
    Points(Vec<RecoveryPoint>),
    BackupJobs(Vec<BackupJob>),
    RestoreJobs(Vec<RestoreJob>),
    Plans(Vec<BackupPlan>),
    /// Restore testing plans, and each one's selections (or why they could not be read).
    TestingPlans(
        Vec<RestoreTestingPlan>,
        Vec<(String, Result<Vec<RestoreTestingSelection>, String>)>,
    ),
    /// A page of events; `append` continues the loaded list (lazy paging).
    Events {
        events: Vec<TrailEvent>,
        next: Option<String>,
        append: bool,
    },
    Audit(Vec<crate::audit::Record>),
    Messages(Vec<crate::cloud::sqs::Message>),
    MoveTasks(Vec<MoveTask>),
    /// What posture read; evaluated in `store` with the session's limits and the state's time.
    Posture(Box<crate::posture::checks::Inventory>),
}

/// Stores a kind's loaded data (a later page of events is added to what is loaded).
pub fn store(s: &mut State, payload: Payload) {
    match payload {
        Payload::Queues(v) => s.data.queues = v,
        Payload::Topics(v) => s.data.topics = v,
        Payload::Keys(v) => s.data.keys = v,
        Payload::Vaults(v) => s.data.vaults = v,
        Payload::Points(v) => s.data.points = v,
        Payload::BackupJobs(v) => s.data.backup_jobs = v,
        Payload::RestoreJobs(v) => s.data.restore_jobs = v,
        Payload::Plans(v) => s.data.plans = v,
        Payload::TestingPlans(v, selections) => {
            s.data.testing_plans = v;
            s.data.testing_selections = selections;
        }
        Payload::Audit(v) => s.data.audit = v,
        Payload::MoveTasks(v) => s.data.move_tasks = v,
        Payload::Posture(inv) => {
            let limits = s
                .session
                .as_ref()
                .map(|i| i.posture_limits)
                .unwrap_or_default();
            s.data.posture = crate::posture::checks::evaluate(&inv, &limits, s.now);
        }
        Payload::Messages(v) => {
            s.data.revealed.clear();
            if let Some((url, _)) = &s.data.messages_queue
                && let Some(seen) = crate::guard::peek::SeenCounts::of(&v, s.now)
            {
                s.data.peek_seen.insert(url.clone(), seen);
            }
            s.data.messages = v;
        }
        Payload::Events {
            events,
            next,
            append,
        } => {
            if append {
                let known: std::collections::HashSet<String> =
                    s.data.events.iter().map(|e| e.id.clone()).collect();
                s.data
                    .events
                    .extend(events.into_iter().filter(|e| !known.contains(&e.id)));
            } else {
                s.data.events = events;
            }
            s.data.events_next = next;
        }
    }
}

pub async fn load(
    cloud: Cloud,
    kind: Kind,
    events: Option<EventsRequest>,
) -> Result<Payload, CloudError> {
    Ok(match kind {
        Kind::Queues => Payload::Queues(cloud.list_queues().await?),
        Kind::Topics => Payload::Topics(cloud.list_topics().await?),
        Kind::Keys => Payload::Keys(cloud.list_keys().await?),
        Kind::Vaults => Payload::Vaults(cloud.list_backup_vaults().await?),
        Kind::Points => Payload::Points(cloud.list_all_recovery_points().await?),
        Kind::BackupJobs => Payload::BackupJobs(cloud.list_backup_jobs().await?),
        Kind::RestoreJobs => Payload::RestoreJobs(cloud.list_restore_jobs().await?),
        Kind::Plans => Payload::Plans(cloud.list_backup_plans().await?),
        Kind::TestingPlans => {
            let plans = cloud.list_restore_testing_plans().await?;
            // Each plan's selections at once (one call per plan, in parallel, at most 8).
            let mut calls = tokio::task::JoinSet::new();
            let mut selections = Vec::with_capacity(plans.len());
            let mut next = plans.iter().enumerate();
            loop {
                while calls.len() < 8
                    && let Some((i, p)) = next.next()
                {
                    let (c, name) = (cloud.clone(), p.name.clone());
                    calls.spawn(async move {
                        let sel = c
                            .list_restore_testing_selections(&name)
                            .await
                            .map_err(|e| e.to_string());
                        (i, name, sel)
                    });
                }
                match calls.join_next().await {
                    Some(Ok(done)) => selections.push(done),
                    Some(Err(e)) => {
                        return Err(CloudError::Network {
                            operation: "ListRestoreTestingSelections".into(),
                            message: format!("a selection read failed: {e}"),
                        });
                    }
                    None => break,
                }
            }
            selections.sort_by_key(|(i, _, _)| *i);
            let selections = selections.into_iter().map(|(_, n, s)| (n, s)).collect();
            Payload::TestingPlans(plans, selections)
        }
        Kind::Audit => Payload::Audit(Vec::new()),
        Kind::Messages => Payload::Messages(Vec::new()),
        Kind::MoveTasks => Payload::MoveTasks(cloud.list_all_move_tasks().await?),
        Kind::Posture => {
            Payload::Posture(Box::new(crate::posture::collect::inventory(&cloud).await?))
        }
        Kind::Events => {
            let req = events.unwrap_or(EventsRequest {
                filter: None,
                next_token: None,
            });
            let append = req.next_token.is_some();
            let page = cloud
                .lookup_events(req.filter.as_ref(), None, None, req.next_token)
                .await?;
            Payload::Events {
                events: page.events,
                next: page.next_token,
                append,
            }
        }
    })
}
