//! The reads posture makes, through the `cloud` adapter: list and describe calls only (no
//! call here changes AWS state). Each read that fails becomes the `unknown` of the findings it
//! would have decided, naming the permission and AWS's error code; the report never fails as
//! a whole because one read did.

use super::checks::{
    Inventory, KeyFacts, QueueFacts, SubscriptionFacts, TopicAttrs, TopicFacts, TrailFacts,
};
use super::{Read, Unread};
use crate::cloud::{Cloud, CloudError};

fn read<T>(permission: &str, r: Result<T, CloudError>) -> Read<T> {
    r.map_err(|e| Unread::of(permission, &e))
}

/// Reads everything the checks need. Per-item calls run with the adapter's bounded
/// concurrency. An expired session is the one error returned: every read would fail alike.
pub async fn inventory(cloud: &Cloud) -> Result<Inventory, CloudError> {
    cloud.alive()?;
    let (queues, topics, (keys, aliases_unread)) =
        tokio::join!(queues(cloud), topics(cloud), keys(cloud));
    let (vaults, points, restore_jobs, trails) = tokio::join!(
        async { read("backup:ListBackupVaults", cloud.list_backup_vaults().await) },
        async {
            read(
                "backup:ListRecoveryPointsByBackupVault",
                cloud.list_all_recovery_points().await,
            )
        },
        async { read("backup:ListRestoreJobs", cloud.list_restore_jobs().await) },
        trails(cloud),
    );
    let plans = plans(cloud).await;
    let inv = Inventory {
        queues,
        topics,
        keys,
        aliases_unread,
        vaults,
        points,
        restore_jobs,
        trails,
        plans,
        region: cloud.region().to_string(),
    };
    // Expired credentials make every read fail the same way: say so once, not per finding.
    if matches!(&inv.queues, Err(u) if u.code == crate::cloud::error::SESSION_EXPIRED || u.code.starts_with("ExpiredToken"))
    {
        return Err(CloudError::expired());
    }
    Ok(inv)
}

/// Each backup plan's copy actions (ListBackupPlans, then GetBackupPlan per plan).
async fn plans(cloud: &Cloud) -> Read<Vec<super::checks::PlanCopies>> {
    let listed = read("backup:ListBackupPlans", cloud.list_backup_plans().await)?;
    let mut out = Vec::with_capacity(listed.len());
    for p in listed {
        let plan = read(
            "backup:GetBackupPlan",
            cloud.get_backup_plan(&p.id, None).await,
        )?;
        out.push(super::checks::PlanCopies {
            plan_arn: plan.arn.clone(),
            plan_name: plan.name.clone(),
            rules: plan
                .rules
                .iter()
                .map(|r| {
                    (
                        r.name.clone(),
                        r.copy_actions
                            .iter()
                            .map(|c| c.destination_vault_arn.clone())
                            .collect(),
                    )
                })
                .collect(),
        });
    }
    Ok(out)
}

async fn queues(cloud: &Cloud) -> Read<Vec<QueueFacts>> {
    let urls = read("sqs:ListQueues", cloud.list_queue_urls(None).await)?;
    let region = cloud.region().to_string();
    let c = cloud.clone();
    let facts = cloud
        .clone()
        .with_concurrency(cloud.concurrency() / crate::cloud::sqs::CALLS_PER_QUEUE)
        .bounded(urls, move |url| {
            let c = c.clone();
            let region = region.clone();
            async move {
                let pending = crate::cloud::sqs::Queue::pending(&url, &region);
                Ok::<_, CloudError>(QueueFacts {
                    name: pending.name.clone(),
                    arn: pending.arn.clone(),
                    queue: read("sqs:GetQueueAttributes", c.queue(&url).await),
                })
            }
        })
        .await
        .unwrap_or_default();
    // DLQ links over the queues that could be read.
    let mut readable: Vec<crate::cloud::sqs::Queue> =
        facts.iter().filter_map(|f| f.queue.clone().ok()).collect();
    crate::cloud::sqs::link_dead_letter_queues(&mut readable);
    Ok(facts
        .into_iter()
        .map(|mut f| {
            if let Ok(q) = &mut f.queue
                && let Some(r) = readable.iter().find(|r| r.url == q.url)
            {
                q.sources = r.sources.clone();
            }
            f
        })
        .collect())
}

async fn topics(cloud: &Cloud) -> Read<Vec<TopicFacts>> {
    let arns = read("sns:ListTopics", cloud.list_topic_arns().await)?;
    let c = cloud.clone();
    Ok(cloud
        .bounded(arns, move |arn| {
            let c = c.clone();
            async move { Ok::<_, CloudError>(topic(&c, arn).await) }
        })
        .await
        .unwrap_or_default())
}

async fn topic(c: &Cloud, arn: String) -> TopicFacts {
    let attrs =
        read("sns:GetTopicAttributes", c.topic_attributes(&arn).await).map(|a| TopicAttrs {
            kms_key: a.get("KmsMasterKeyId").cloned().filter(|k| !k.is_empty()),
            policy: a.get("Policy").cloned().filter(|p| !p.is_empty()),
        });
    let subscriptions = match read(
        "sns:ListSubscriptionsByTopic",
        c.topic_subscriptions(&arn).await,
    ) {
        Ok(subs) => {
            let mut out = Vec::with_capacity(subs.len());
            for s in subs {
                let redrive = if s.arn.starts_with("arn:") {
                    read(
                        "sns:GetSubscriptionAttributes",
                        c.subscription_attributes(&s.arn).await,
                    )
                    .map(|a| a.get("RedrivePolicy").cloned().filter(|p| !p.is_empty()))
                } else {
                    Ok(None)
                };
                out.push(SubscriptionFacts {
                    arn: s.arn,
                    protocol: s.protocol,
                    endpoint: s.endpoint,
                    redrive,
                });
            }
            Ok(out)
        }
        Err(u) => Err(u),
    };
    TopicFacts {
        name: arn.rsplit(':').next().unwrap_or(&arn).to_string(),
        attrs,
        subscriptions,
        data_protection: read(
            "sns:GetDataProtectionPolicy",
            c.data_protection_policy(&arn).await,
        ),
        tags: read("sns:ListTagsForResource", c.topic_tags(&arn).await),
        arn,
    }
}

async fn keys(cloud: &Cloud) -> (Read<Vec<KeyFacts>>, Option<Unread>) {
    let refs = match read("kms:ListKeys", cloud.list_key_refs().await) {
        Ok(r) => r,
        Err(u) => return (Err(u), None),
    };
    // Without aliases, keys are still checked (named by id); alias references stay unknown.
    let (aliases, aliases_unread) = match read("kms:ListAliases", cloud.aliases().await) {
        Ok(a) => (a, None),
        Err(u) => (Vec::new(), Some(u)),
    };
    let aliases = std::sync::Arc::new(aliases);
    let c = cloud.clone();
    let keys = cloud
        .bounded(refs, move |(id, arn)| {
            let c = c.clone();
            let aliases = aliases.clone();
            async move {
                let mut names: Vec<String> = aliases
                    .iter()
                    .filter(|(_, t)| *t == id)
                    .map(|(n, _)| n.clone())
                    .collect();
                names.sort();
                let key = read("kms:DescribeKey", c.key_metadata(&id).await).map(|mut k| {
                    k.aliases = names.clone();
                    k
                });
                let (rotation, grants) = match &key {
                    Ok(k)
                        if k.customer_managed
                            && k.rotation_unsupported().is_none()
                            && !matches!(k.state.as_str(), "PendingDeletion" | "PendingImport") =>
                    {
                        (
                            Some(read(
                                "kms:GetKeyRotationStatus",
                                c.rotation_status(&id).await,
                            )),
                            None,
                        )
                    }
                    _ => (None, None),
                };
                let grants = match &key {
                    Ok(k) if k.customer_managed && k.state != "Enabled" => {
                        Some(read("kms:ListGrants", c.list_grants(&id).await))
                    }
                    _ => grants,
                };
                Ok::<_, CloudError>(KeyFacts {
                    id,
                    arn,
                    aliases: names,
                    key,
                    rotation,
                    grants,
                })
            }
        })
        .await
        .unwrap_or_default();
    (Ok(keys), aliases_unread)
}

async fn trails(cloud: &Cloud) -> Read<Vec<TrailFacts>> {
    let list = read("cloudtrail:DescribeTrails", cloud.trail_list().await)?;
    let mut out = Vec::with_capacity(list.len());
    for t in list {
        let (logging, selectors) =
            tokio::join!(cloud.trail_logging(&t.arn), cloud.trail_selectors(&t.arn));
        out.push(TrailFacts {
            logging: read("cloudtrail:GetTrailStatus", logging),
            selectors: read("cloudtrail:GetEventSelectors", selectors),
            name: t.name,
            arn: t.arn,
            kms_key: t.kms_key,
            multi_region: t.multi_region,
            log_file_validation: t.log_file_validation,
        });
    }
    Ok(out)
}
