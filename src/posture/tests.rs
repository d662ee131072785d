//! Every check against states that pass it and states that fail it (pure: no AWS).

use super::checks::*;
use super::*;
use crate::cloud::backup::{BackupVault, RecoveryPoint, RestoreJob};
use crate::cloud::cloudtrail::TrailSelectors;
use crate::cloud::kms::{Key, RotationStatus, sample_key};
use crate::cloud::sqs::{Queue, QueueEncryption, RedrivePolicy};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

const ACCT: &str = "123456789012";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn qarn(n: &str) -> String {
    format!("arn:aws:sqs:us-east-1:{ACCT}:{n}")
}

fn tls_policy(arn: &str) -> String {
    json!({ "Statement": [{ "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": arn,
        "Condition": { "Bool": { "aws:SecureTransport": "false" } } }] })
    .to_string()
}

fn queue(name: &str) -> Queue {
    let mut q = Queue::pending(
        &format!("https://sqs.us-east-1.amazonaws.com/{ACCT}/{name}"),
        "us-east-1",
    );
    q.encryption = QueueEncryption::Kms("alias/claims-costs".into());
    q.policy = Some(tls_policy(&q.arn));
    q.retention_seconds = Some(1_209_600);
    q
}

fn key(state: &str, rotation: Option<RotationStatus>) -> KeyFacts {
    let mut k = sample_key();
    k.state = state.into();
    KeyFacts {
        id: k.id.clone(),
        arn: k.arn.clone(),
        aliases: k.aliases.clone(),
        rotation: rotation.map(Ok),
        grants: None,
        key: Ok(k),
    }
}

fn rot(enabled: bool, days: Option<i32>) -> RotationStatus {
    RotationStatus {
        enabled,
        period_days: days,
        next: None,
        on_demand_started: None,
    }
}

fn denied(permission: &str) -> Unread {
    Unread {
        permission: permission.into(),
        code: "AccessDeniedException".into(),
        message: "not authorized".into(),
    }
}

fn empty() -> Inventory {
    Inventory {
        queues: Ok(vec![]),
        topics: Ok(vec![]),
        keys: Ok(vec![key("Enabled", Some(rot(true, Some(365))))]),
        aliases_unread: None,
        vaults: Ok(vec![]),
        points: Ok(vec![]),
        restore_jobs: Ok(vec![]),
        trails: Ok(vec![]),
        plans: Ok(vec![]),
        region: "us-east-1".into(),
    }
}

fn with_queues(qs: Vec<Queue>) -> Inventory {
    let mut readable = qs.clone();
    crate::cloud::sqs::link_dead_letter_queues(&mut readable);
    let mut inv = empty();
    inv.queues = Ok(readable
        .into_iter()
        .map(|q| QueueFacts {
            name: q.name.clone(),
            arn: q.arn.clone(),
            queue: Ok(q),
        })
        .collect());
    inv
}

fn find<'a>(fs: &'a [Finding], control: &str, name: &str) -> &'a Finding {
    match fs
        .iter()
        .find(|f| f.control == control && f.resource_name == name)
    {
        Some(f) => f,
        None => panic!("no {control} finding for {name} in {fs:#?}"),
    }
}

fn status(fs: &[Finding], control: &str, name: &str) -> Status {
    find(fs, control, name).status
}

#[test]
fn queue_encryption_needs_a_customer_managed_key() {
    let mut aws = queue("aws-managed");
    aws.encryption = QueueEncryption::Kms("alias/aws/sqs".into());
    let mut sse = queue("sqs-managed");
    sse.encryption = QueueEncryption::SqsManaged;
    let mut none = queue("plain");
    none.encryption = QueueEncryption::None;
    let mut by_arn = queue("by-arn");
    by_arn.encryption = QueueEncryption::Kms(format!("arn:aws:kms:us-east-1:{ACCT}:alias/aws/sqs"));
    let fs = evaluate(
        &with_queues(vec![queue("cmk"), aws, sse, none, by_arn]),
        &Limits::default(),
        now(),
    );
    assert_eq!(status(&fs, "sqs.encryption", "cmk"), Status::Pass);
    for n in ["aws-managed", "sqs-managed", "plain", "by-arn"] {
        assert_eq!(status(&fs, "sqs.encryption", n), Status::Fail, "{n}");
    }
    let f = find(&fs, "sqs.encryption", "sqs-managed");
    assert!(
        f.evidence.contains("SqsManagedSseEnabled=true"),
        "{}",
        f.evidence
    );
    assert_eq!(f.security_hub, Some("SQS.1"));
    assert_eq!(f.safeguard.citation(), "§164.312(a)(2)(iv)");
}

#[test]
fn a_key_read_as_aws_managed_fails_and_an_unreadable_one_is_unknown() {
    let mut inv = with_queues(vec![queue("q")]);
    if let Ok(keys) = &mut inv.keys
        && let Ok(k) = &mut keys[0].key
    {
        k.customer_managed = false;
    }
    let fs = evaluate(&inv, &Limits::default(), now());
    assert_eq!(status(&fs, "sqs.encryption", "q"), Status::Fail);
    // Aliases unreadable: an alias reference that no listed key answers to is unknown.
    let mut no_alias = key("Enabled", None);
    no_alias.aliases.clear();
    inv.keys = Ok(vec![no_alias]);
    inv.aliases_unread = Some(denied("kms:ListAliases"));
    let f = find(
        &evaluate(&inv, &Limits::default(), now()),
        "sqs.encryption",
        "q",
    )
    .clone();
    assert_eq!(
        (f.status, f.permission.as_deref()),
        (Status::Unknown, Some("kms:ListAliases"))
    );
    inv.keys = Err(denied("kms:ListKeys"));
    let fs = evaluate(&inv, &Limits::default(), now());
    let f = find(&fs, "sqs.encryption", "q");
    assert_eq!(f.status, Status::Unknown);
    assert_eq!(f.permission.as_deref(), Some("kms:ListKeys"));
    assert_eq!(f.error_code.as_deref(), Some("AccessDeniedException"));
}

#[test]
fn tls_only_and_public_access_evaluate_the_queue_policy() {
    let mut open = queue("open");
    open.policy = Some(
        json!({ "Statement": [{ "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": open.arn }] })
            .to_string(),
    );
    let mut partial = queue("partial");
    partial.policy = Some(tls_policy(&partial.arn).replace("sqs:*", "sqs:SendMessage"));
    let mut none = queue("none");
    none.policy = None;
    let fs = evaluate(
        &with_queues(vec![queue("ok"), open, partial, none]),
        &Limits::default(),
        now(),
    );
    assert_eq!(status(&fs, "sqs.tls-only", "ok"), Status::Pass);
    assert!(
        find(&fs, "sqs.tls-only", "ok")
            .evidence
            .contains("aws:SecureTransport")
    );
    for n in ["open", "partial", "none"] {
        assert_eq!(status(&fs, "sqs.tls-only", n), Status::Fail, "{n}");
    }
    assert_eq!(status(&fs, "sqs.no-public-access", "ok"), Status::Pass);
    assert_eq!(status(&fs, "sqs.no-public-access", "none"), Status::Pass);
    let f = find(&fs, "sqs.no-public-access", "open");
    assert_eq!(f.status, Status::Fail);
    assert!(f.evidence.contains("\"Principal\":\"*\""), "{}", f.evidence);
    assert_eq!(f.security_hub, Some("SQS.3"));
}

#[test]
fn dead_letter_queues_are_checked_for_count_target_and_retention() {
    let dlq = queue("stage-dlq");
    let mut short = queue("short-dlq");
    short.retention_seconds = Some(60);
    let mut good = queue("good");
    good.redrive = Some(RedrivePolicy {
        dead_letter_target_arn: dlq.arn.clone(),
        max_receive_count: 5,
    });
    let mut many = queue("many");
    many.redrive = Some(RedrivePolicy {
        dead_letter_target_arn: dlq.arn.clone(),
        max_receive_count: 50,
    });
    let mut zero = queue("zero");
    zero.redrive = Some(RedrivePolicy {
        dead_letter_target_arn: dlq.arn.clone(),
        max_receive_count: 0,
    });
    let mut gone = queue("gone");
    gone.redrive = Some(RedrivePolicy {
        dead_letter_target_arn: qarn("missing"),
        max_receive_count: 3,
    });
    let mut shorter = queue("shorter");
    shorter.redrive = Some(RedrivePolicy {
        dead_letter_target_arn: short.arn.clone(),
        max_receive_count: 1,
    });
    let mut bare = queue("bare");
    bare.retention_seconds = None;
    let fs = evaluate(
        &with_queues(vec![dlq, short, good, many, zero, gone, shorter, bare]),
        &Limits::default(),
        now(),
    );
    assert_eq!(status(&fs, "sqs.dlq", "good"), Status::Pass);
    for n in ["many", "zero", "gone", "bare"] {
        assert_eq!(status(&fs, "sqs.dlq", n), Status::Fail, "{n}");
    }
    assert_eq!(status(&fs, "sqs.dlq", "shorter"), Status::Pass);
    assert_eq!(status(&fs, "sqs.dlq-retention", "good"), Status::Pass);
    assert_eq!(status(&fs, "sqs.dlq-retention", "shorter"), Status::Fail);
    // A DLQ is not asked to have a DLQ of its own.
    assert!(
        !fs.iter()
            .any(|f| f.control == "sqs.dlq" && f.resource_name == "stage-dlq")
    );
}

#[test]
fn an_unreadable_queue_gives_unknowns_naming_the_permission() {
    let mut inv = with_queues(vec![]);
    inv.queues = Ok(vec![QueueFacts {
        name: "secret".into(),
        arn: qarn("secret"),
        queue: Err(denied("sqs:GetQueueAttributes")),
    }]);
    let fs = evaluate(&inv, &Limits::default(), now());
    let f = find(&fs, "sqs.encryption", "secret");
    assert_eq!(f.status, Status::Unknown);
    assert!(
        f.evidence.contains("sqs:GetQueueAttributes")
            && f.evidence.contains("AccessDeniedException")
    );
    inv.queues = Err(denied("sqs:ListQueues"));
    let fs = evaluate(&inv, &Limits::default(), now());
    assert!(fs.iter().any(|f| f.control == "sqs.encryption"
        && f.status == Status::Unknown
        && f.resource == "sqs"));
}

fn topic(name: &str) -> TopicFacts {
    let arn = format!("arn:aws:sns:us-east-1:{ACCT}:{name}");
    let policy = json!({ "Statement": [
        { "Effect": "Allow", "Principal": { "AWS": "*" }, "Action": ["SNS:Publish"], "Resource": arn,
          "Condition": { "StringEquals": { "AWS:SourceOwner": ACCT } } },
        { "Effect": "Deny", "Principal": "*", "Action": "SNS:*", "Resource": arn,
          "Condition": { "Bool": { "aws:SecureTransport": "false" } } } ] })
    .to_string();
    TopicFacts {
        name: name.into(),
        attrs: Ok(TopicAttrs {
            kms_key: Some("alias/claims-costs".into()),
            policy: Some(policy),
        }),
        subscriptions: Ok(vec![SubscriptionFacts {
            arn: format!("{arn}:sub-1"),
            protocol: "sqs".into(),
            endpoint: qarn("stage"),
            redrive: Ok(Some(
                json!({ "deadLetterTargetArn": qarn("stage-dlq") }).to_string(),
            )),
        }]),
        data_protection: Ok(Some(r#"{"Name":"phi","Statement":[]}"#.into())),
        tags: Ok(Default::default()),
        arn,
    }
}

fn with_topics(ts: Vec<TopicFacts>) -> Inventory {
    let mut inv = empty();
    inv.topics = Ok(ts);
    inv
}

#[test]
fn topics_pass_and_fail_each_control() {
    let mut bad = topic("bad");
    bad.attrs = Ok(TopicAttrs {
        kms_key: Some("alias/aws/sns".into()),
        policy: Some(json!({ "Statement": [{ "Effect": "Allow", "Principal": { "AWS": "*" }, "Action": "SNS:Subscribe" }] }).to_string()),
    });
    if let Ok(subs) = &mut bad.subscriptions {
        subs[0].redrive = Ok(None);
    }
    bad.data_protection = Ok(None);
    let mut plain = topic("plain");
    plain.attrs = Ok(TopicAttrs {
        kms_key: None,
        policy: None,
    });
    let mut not_phi = topic("metrics");
    not_phi.data_protection = Ok(None);
    not_phi.tags = Ok([("Data-Classification".to_string(), "internal".to_string())].into());
    let mut hidden = topic("hidden");
    hidden.data_protection = Err(denied("sns:GetDataProtectionPolicy"));
    if let Ok(subs) = &mut hidden.subscriptions {
        subs[0].redrive = Err(denied("sns:GetSubscriptionAttributes"));
    }
    let fs = evaluate(
        &with_topics(vec![topic("good"), bad, plain, not_phi, hidden]),
        &Limits::default(),
        now(),
    );
    for c in [
        "sns.encryption",
        "sns.tls-only",
        "sns.no-public-access",
        "sns.data-protection",
    ] {
        assert_eq!(status(&fs, c, "good"), Status::Pass, "{c}");
        assert_eq!(status(&fs, c, "bad"), Status::Fail, "{c}");
    }
    assert_eq!(status(&fs, "sns.encryption", "plain"), Status::Fail);
    assert_eq!(status(&fs, "sns.tls-only", "plain"), Status::Fail);
    assert_eq!(status(&fs, "sns.no-public-access", "plain"), Status::Pass);
    assert!(
        !fs.iter()
            .any(|f| f.control == "sns.data-protection" && f.resource_name == "metrics"),
        "a topic tagged as not PHI needs no data-protection policy"
    );
    assert_eq!(
        status(&fs, "sns.data-protection", "hidden"),
        Status::Unknown
    );
    let sub = |name: &str| {
        fs.iter()
            .find(|f| f.control == "sns.subscription-dlq" && f.resource_name.starts_with(name))
            .map(|f| f.status)
    };
    assert_eq!(sub("good "), Some(Status::Pass));
    assert_eq!(sub("bad "), Some(Status::Fail));
    assert_eq!(sub("hidden "), Some(Status::Unknown));
    assert_eq!(
        find(&fs, "sns.no-public-access", "bad").security_hub,
        Some("SNS.4")
    );
}

#[test]
fn rotation_passes_within_the_maximum_and_fails_off_or_longer() {
    let limits = Limits {
        max_rotation_days: 180,
        ..Limits::default()
    };
    let cases = [
        (Some(rot(true, Some(90))), Status::Pass),
        (Some(rot(true, Some(180))), Status::Pass),
        (Some(rot(true, Some(365))), Status::Fail),
        (Some(rot(true, None)), Status::Fail),
        (Some(rot(false, None)), Status::Fail),
    ];
    for (r, want) in cases {
        let k = key("Enabled", r.clone());
        let Ok(key_) = &k.key else { panic!() };
        let f = rotation(&k, key_, &limits).map(|f| f.status);
        assert_eq!(f, Some(want), "{r:?}");
    }
    // Default maximum: 365 days.
    let k = key("Enabled", Some(rot(true, None)));
    let Ok(key_) = &k.key else { panic!() };
    assert_eq!(
        rotation(&k, key_, &Limits::default()).map(|f| f.status),
        Some(Status::Pass)
    );
    // Unreadable rotation: unknown; AWS managed or HMAC keys: no rotation finding.
    let mut k = key("Enabled", None);
    k.rotation = Some(Err(denied("kms:GetKeyRotationStatus")));
    let Ok(key_) = &k.key else { panic!() };
    let f = rotation(&k, key_, &limits);
    assert_eq!(f.as_ref().map(|f| f.status), Some(Status::Unknown));
    assert_eq!(f.and_then(|f| f.security_hub), Some("KMS.4"));
    let mut hmac: Key = sample_key();
    hmac.spec = "HMAC_256".into();
    assert_eq!(rotation(&k, &hmac, &limits), None);
    let mut aws = sample_key();
    aws.customer_managed = false;
    assert_eq!(rotation(&k, &aws, &limits), None);
}

#[test]
fn a_key_pending_deletion_fails_while_it_still_encrypts_something() {
    let mut inv = with_queues(vec![queue("payments")]);
    let mut k = key("PendingDeletion", None);
    if let Ok(key_) = &mut k.key {
        key_.deletion_date = Some(now() + Duration::days(7));
    }
    k.grants = Some(Ok(vec!["arn:aws:iam::1:role/Worker (Decrypt)".into()]));
    inv.keys = Ok(vec![k.clone()]);
    let fs = evaluate(&inv, &Limits::default(), now());
    let f = find(&fs, "kms.key-in-use", "alias/claims-costs");
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.evidence.contains("PendingDeletion") && f.evidence.contains("queue payments"),
        "{}",
        f.evidence
    );
    assert!(f.evidence.contains("1 grant(s)"), "{}", f.evidence);
    assert_eq!(f.security_hub, Some("KMS.3"));
    // Disabled counts too; nothing encrypting with it passes; enabled and in use passes.
    let mut d = k.clone();
    if let Ok(key_) = &mut d.key {
        key_.state = "Disabled".into();
    }
    inv.keys = Ok(vec![d]);
    assert_eq!(
        status(
            &evaluate(&inv, &Limits::default(), now()),
            "kms.key-in-use",
            "alias/claims-costs"
        ),
        Status::Fail
    );
    inv.queues = Ok(vec![]);
    inv.keys = Ok(vec![k]);
    assert_eq!(
        status(
            &evaluate(&inv, &Limits::default(), now()),
            "kms.key-in-use",
            "alias/claims-costs"
        ),
        Status::Pass
    );
    let inv = with_queues(vec![queue("payments")]);
    assert_eq!(
        status(
            &evaluate(&inv, &Limits::default(), now()),
            "kms.key-in-use",
            "alias/claims-costs"
        ),
        Status::Pass
    );
}

#[test]
fn key_references_resolve_by_id_arn_alias_and_alias_arn() {
    let keys = vec![key("Enabled", None)];
    for r in [
        "k1",
        "arn:aws:kms:us-east-1:123456789012:key/k1",
        "alias/claims-costs",
        "arn:aws:kms:us-east-1:123456789012:alias/claims-costs",
    ] {
        assert!(resolve(&keys, r).is_some(), "{r}");
    }
    assert!(resolve(&keys, "alias/other").is_none());
}

fn vault(name: &str, locked: bool) -> BackupVault {
    BackupVault {
        name: name.into(),
        arn: format!("arn:aws:backup:us-east-1:{ACCT}:backup-vault:{name}"),
        encryption_key: None,
        recovery_points: 1,
        locked,
        min_retention_days: locked.then_some(7),
        max_retention_days: locked.then_some(365),
        lock_date: None,
        created: None,
    }
}

fn point(n: usize, resource: &str, age_hours: i64, status: &str) -> RecoveryPoint {
    RecoveryPoint {
        arn: format!("arn:aws:backup:us-east-1:{ACCT}:recovery-point:{resource}-{n}"),
        vault: "v".into(),
        resource_arn: format!("arn:aws:dynamodb:us-east-1:{ACCT}:table/{resource}"),
        resource_type: "DynamoDB".into(),
        resource_name: Some(resource.into()),
        status: status.into(),
        created: Some(now() - Duration::hours(age_hours)),
        completed: Some(now() - Duration::hours(age_hours)),
        size_bytes: None,
        encryption_key: None,
        last_restore: None,
        delete_at: None,
    }
}

fn restore(point_arn: &str, age_days: i64, status: &str) -> RestoreJob {
    RestoreJob {
        id: "r1".into(),
        recovery_point_arn: point_arn.into(),
        resource_type: "DynamoDB".into(),
        status: status.into(),
        status_message: None,
        percent_done: None,
        created: Some(now() - Duration::days(age_days)),
        completed: Some(now() - Duration::days(age_days)),
        created_resource_arn: None,
        validation_status: None,
        restore_testing_plan: None,
        deletion_status: None,
    }
}

#[test]
fn backup_vault_lock_rpo_and_restore_tests() {
    let mut inv = empty();
    inv.vaults = Ok(vec![vault("locked", true), vault("open", false)]);
    let fresh = point(1, "claims", 3, "COMPLETED");
    inv.points = Ok(vec![
        fresh.clone(),
        point(2, "claims", 50, "COMPLETED"),
        point(3, "stale", 30, "COMPLETED"),
        point(4, "failing", 1, "EXPIRED"),
    ]);
    inv.restore_jobs = Ok(vec![
        restore(&fresh.arn, 3, "COMPLETED"),
        restore(&point(3, "stale", 30, "COMPLETED").arn, 45, "COMPLETED"),
        restore(&point(4, "failing", 1, "EXPIRED").arn, 1, "FAILED"),
    ]);
    let fs = evaluate(&inv, &Limits::default(), now());
    assert_eq!(status(&fs, "backup.vault-lock", "locked"), Status::Pass);
    assert_eq!(status(&fs, "backup.vault-lock", "open"), Status::Fail);
    assert_eq!(status(&fs, "backup.rpo", "claims"), Status::Pass);
    assert_eq!(status(&fs, "backup.rpo", "stale"), Status::Fail);
    assert_eq!(
        status(&fs, "backup.rpo", "failing"),
        Status::Fail,
        "no completed point"
    );
    assert_eq!(status(&fs, "backup.restore-tested", "claims"), Status::Pass);
    assert_eq!(status(&fs, "backup.restore-tested", "stale"), Status::Fail);
    assert_eq!(
        status(&fs, "backup.restore-tested", "failing"),
        Status::Fail,
        "a failed restore is no test"
    );
    // A longer RPO setting passes the stale resource; restore jobs unreadable: unknown.
    let limits = Limits {
        rpo_hours: 48,
        restore_test_days: 60,
        ..Limits::default()
    };
    let fs = evaluate(&inv, &limits, now());
    assert_eq!(status(&fs, "backup.rpo", "stale"), Status::Pass);
    assert_eq!(status(&fs, "backup.restore-tested", "stale"), Status::Pass);
    inv.restore_jobs = Err(denied("backup:ListRestoreJobs"));
    let fs = evaluate(&inv, &Limits::default(), now());
    let f = find(&fs, "backup.restore-tested", "claims");
    assert_eq!(
        (f.status, f.permission.as_deref()),
        (Status::Unknown, Some("backup:ListRestoreJobs"))
    );
    assert_eq!(f.safeguard.citation(), "§164.308(a)(7)");
}

#[test]
fn cross_region_copy_needs_a_vault_in_another_region() {
    let plan = |dests: Vec<&str>| PlanCopies {
        plan_arn: "arn:aws:backup:us-east-1:1:backup-plan:p".into(),
        plan_name: "daily".into(),
        rules: vec![(
            "daily".into(),
            dests.into_iter().map(str::to_string).collect(),
        )],
    };
    let away = plan(vec!["arn:aws:backup:us-west-2:1:backup-vault:dr"]);
    assert_eq!(cross_region_copy(&away, "us-east-1").status, Status::Pass);
    let same = plan(vec!["arn:aws:backup:us-east-1:1:backup-vault:other"]);
    let f = cross_region_copy(&same, "us-east-1");
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.evidence.contains("all to vaults in us-east-1"),
        "{}",
        f.evidence
    );
    assert_eq!(
        cross_region_copy(&plan(vec![]), "us-east-1").evidence,
        "no rule has a CopyAction"
    );
    assert_eq!(
        cross_region_copy(&plan(vec!["not-an-arn"]), "us-east-1").status,
        Status::Fail
    );
}

fn trail(name: &str, good: bool) -> TrailFacts {
    TrailFacts {
        name: name.into(),
        arn: format!("arn:aws:cloudtrail:us-east-1:{ACCT}:trail/{name}"),
        kms_key: good.then(|| "alias/claims-transport".into()),
        multi_region: good,
        log_file_validation: good,
        logging: Ok(good),
        selectors: Ok(TrailSelectors {
            management_read: true,
            management_write: good,
            evidence: "IncludeManagementEvents=true".into(),
        }),
    }
}

#[test]
fn cloudtrail_controls_pass_and_fail_per_trail() {
    let mut inv = empty();
    let mut hidden = trail("hidden", true);
    hidden.logging = Err(denied("cloudtrail:GetTrailStatus"));
    hidden.selectors = Err(denied("cloudtrail:GetEventSelectors"));
    inv.trails = Ok(vec![trail("good", true), trail("bad", false), hidden]);
    let fs = evaluate(&inv, &Limits::default(), now());
    for c in [
        "cloudtrail.logging",
        "cloudtrail.multi-region",
        "cloudtrail.log-file-validation",
        "cloudtrail.encryption",
        "cloudtrail.management-events",
    ] {
        assert_eq!(status(&fs, c, "good"), Status::Pass, "{c}");
        assert_eq!(status(&fs, c, "bad"), Status::Fail, "{c}");
    }
    assert_eq!(status(&fs, "cloudtrail.logging", "hidden"), Status::Unknown);
    assert_eq!(
        status(&fs, "cloudtrail.management-events", "hidden"),
        Status::Unknown
    );
    assert_eq!(status(&fs, "cloudtrail.enabled", "account"), Status::Pass);
    assert_eq!(
        find(&fs, "cloudtrail.log-file-validation", "bad").security_hub,
        Some("CloudTrail.4")
    );
    assert_eq!(
        find(&fs, "cloudtrail.encryption", "bad").security_hub,
        Some("CloudTrail.2")
    );
    inv.trails = Ok(vec![]);
    assert_eq!(
        status(
            &evaluate(&inv, &Limits::default(), now()),
            "cloudtrail.enabled",
            "account"
        ),
        Status::Fail
    );
}

#[test]
fn findings_sort_failures_first_and_fail_on_compares_severity() {
    let mut open = queue("open");
    open.redrive = None;
    let mut plain = queue("plain");
    plain.encryption = QueueEncryption::None;
    let fs = evaluate(&with_queues(vec![open, plain]), &Limits::default(), now());
    let order: Vec<(Status, Severity, &str)> = fs
        .iter()
        .filter(|f| f.resource_type == "queue")
        .map(|f| (f.status, f.severity, f.control))
        .take(2)
        .collect();
    assert_eq!(
        order,
        vec![
            (Status::Fail, Severity::High, "sqs.encryption"),
            (Status::Fail, Severity::Medium, "sqs.dlq")
        ],
        "{fs:#?}"
    );
    // Only the medium sqs.dlq fails: fails at low and medium, not at high.
    let medium_only: Vec<Finding> = fs
        .iter()
        .filter(|f| f.control == "sqs.dlq")
        .cloned()
        .collect();
    assert!(fails_at(&medium_only, Severity::Low));
    assert!(fails_at(&medium_only, Severity::Medium));
    assert!(!fails_at(&medium_only, Severity::High));
    let passing: Vec<Finding> = fs
        .iter()
        .filter(|f| f.status == Status::Pass)
        .cloned()
        .collect();
    assert!(!fails_at(&passing, Severity::Low));
}

#[test]
fn every_control_has_a_unique_id_a_fix_and_a_safeguard() {
    let mut seen = std::collections::BTreeSet::new();
    for c in CONTROLS {
        assert!(seen.insert(c.id), "{} twice", c.id);
        assert!(
            !c.fix.is_empty() && !c.fix.contains('\n'),
            "{}: one-line fix",
            c.id
        );
        assert!(c.safeguard.citation().starts_with('§'));
    }
}

/// The JSON document's fields and types (docs/POSTURE.md's schema).
#[test]
fn the_json_report_has_the_documented_fields_and_types() {
    let mut inv = with_queues(vec![queue("q")]);
    inv.trails = Err(denied("cloudtrail:DescribeTrails"));
    let r = cli::Report {
        profile: "p".into(),
        account: ACCT.into(),
        region: "us-east-1".into(),
        generated_at: now(),
        limits: Limits::default(),
        fail_on: Severity::High,
        findings: evaluate(&inv, &Limits::default(), now()),
    };
    let v = r.to_json();
    check_schema(&v);
    assert_eq!(v["generated_at"], "2026-06-01T12:00:00Z");
    let unknown = v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["status"] == "unknown"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(unknown["permission"], "cloudtrail:DescribeTrails");
    assert_eq!(unknown["error_code"], "AccessDeniedException");
}

/// Checks a posture JSON document against the schema in docs/POSTURE.md (also used by the
/// end-to-end test through the binary).
pub fn check_schema(v: &serde_json::Value) {
    use serde_json::Value;
    let is_str = |x: &Value| x.is_string();
    let is_int = |x: &Value| x.is_i64() || x.is_u64();
    assert_eq!(v["schema"], cli::SCHEMA);
    for k in ["profile", "account", "region", "generated_at", "fail_on"] {
        assert!(is_str(&v[k]), "{k}: {v}");
    }
    assert!(["low", "medium", "high"].contains(&v["fail_on"].as_str().unwrap_or("")));
    assert!(is_int(&v["exit_code"]));
    for k in ["max_rotation_days", "rpo_hours", "restore_test_days"] {
        assert!(is_int(&v["limits"][k]), "limits.{k}");
    }
    for k in ["pass", "fail", "unknown"] {
        assert!(is_int(&v["summary"][k]), "summary.{k}");
    }
    let fields: std::collections::BTreeSet<&str> = [
        "control",
        "title",
        "status",
        "severity",
        "resource_type",
        "resource",
        "resource_name",
        "evidence",
        "fix",
        "safeguard",
        "security_hub",
        "permission",
        "error_code",
    ]
    .into();
    let findings = v["findings"].as_array().cloned().unwrap_or_default();
    assert!(!findings.is_empty());
    for f in &findings {
        let keys: std::collections::BTreeSet<&str> = f
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(keys, fields, "{f}");
        for k in [
            "control",
            "title",
            "resource_type",
            "resource",
            "resource_name",
            "evidence",
            "fix",
            "safeguard",
        ] {
            assert!(is_str(&f[k]), "{k}: {f}");
        }
        assert!(["pass", "fail", "unknown"].contains(&f["status"].as_str().unwrap_or("")));
        assert!(["low", "medium", "high"].contains(&f["severity"].as_str().unwrap_or("")));
        assert!(
            f["safeguard"]
                .as_str()
                .is_some_and(|s| s.starts_with("§164."))
        );
        for k in ["security_hub", "permission", "error_code"] {
            assert!(f[k].is_null() || f[k].is_string(), "{k}: {f}");
        }
        assert_eq!(f["status"] == "unknown", f["permission"].is_string(), "{f}");
    }
}
