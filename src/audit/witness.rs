//! Witnesses outside the host: what the log's seals left behind where its writer cannot erase
//! it. Every KMS seal is a `GenerateMac` call, and CloudTrail records each call with its
//! request id, time, key and caller. `audit verify --witness cloudtrail` holds the log against
//! that record, both ways:
//!
//! - every seal in the log names a `GenerateMac` request id; CloudTrail must have that call,
//!   on the seal key, successful, made by a writer of this log, at the time the seal says
//!   (within [`TIME_TOLERANCE`]). A forged seal has no such call; a log re-sealed after a
//!   rewrite has calls made at the time of the rewrite;
//! - every successful `GenerateMac` call on the seal key by a writer of this log within the
//!   window must be a seal of this log. One made after the log's last seal is a seal that was
//!   cut off with the records before it (a cut tail); one within the log's span is a seal
//!   replaced by a rewrite; one before the log's first record is a log started over.
//!
//! "Writers of this log" are the identity the verifier signed in with, the identities it names
//! (`--witness-identity`), the callers the log's records name, and the callers CloudTrail shows
//! for the log's own seals: an attacker who re-seals with a second identity brings that
//! identity into the check.
//!
//! CloudTrail delivers events up to [`CLOUDTRAIL_LAG`] late: a seal newer than that and
//! missing from CloudTrail is "not yet witnessed" (verify exits 4), and a cut made in that
//! time shows only on a later run. LookupEvents reaches back 90 days.

use super::verify::{Report, SealStatus};
use crate::cloud::cloudtrail::{EventFilter, TrailEvent};
use crate::cloud::{Cloud, CloudError};
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeSet, HashMap};

/// How late CloudTrail may deliver an event to LookupEvents.
pub const CLOUDTRAIL_LAG: Duration = Duration::minutes(15);
/// How far a seal's time may be from CloudTrail's time of its `GenerateMac` call (host clock
/// skew; the seal is written right after the call returns).
pub const TIME_TOLERANCE: Duration = Duration::minutes(5);
/// How far back LookupEvents reaches.
pub const LOOKUP_WINDOW: Duration = Duration::days(90);
/// The most events on the seal key one verification reads (at 50 a page and 2 pages a second,
/// about three minutes).
pub const MAX_EVENTS: usize = 20_000;

/// One CloudTrail event on the seal key, as far as the witness needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacEvent {
    pub event_id: String,
    /// `GenerateMac`, `VerifyMac`, …
    pub name: String,
    pub request_id: Option<String>,
    pub time: DateTime<Utc>,
    /// `userIdentity.arn` of the caller.
    pub identity: Option<String>,
    /// Set when the call failed (no MAC was made).
    pub error_code: Option<String>,
    /// The ARNs of the event's resources.
    pub resources: Vec<String>,
}

impl MacEvent {
    /// The event as CloudTrail's LookupEvents returned it; `None` without a time.
    pub fn from_trail(e: &TrailEvent) -> Option<MacEvent> {
        let raw: serde_json::Value = serde_json::from_str(&e.raw).unwrap_or_default();
        let text = |p: &str| raw.pointer(p).and_then(|v| v.as_str()).map(str::to_string);
        Some(MacEvent {
            event_id: e.id.clone(),
            name: e.name.clone(),
            request_id: e.request_id.clone(),
            time: e.time?,
            identity: text("/userIdentity/arn"),
            error_code: text("/errorCode"),
            resources: e.resources.iter().map(|(_, n)| n.clone()).collect(),
        })
    }
}

/// What the check compares against.
#[derive(Debug, Clone)]
pub struct WitnessParams {
    /// The seal key's ARN (the profile's configured key, resolved).
    pub key_arn: String,
    /// Identities whose seal calls must all be in the log: the verifier's own and those it
    /// names. The log's callers are added to these.
    pub identities: BTreeSet<String>,
    /// Whether the verifier named the log's writers (`--witness-identity`); when it did not and
    /// the log names none either (an emptied log, records rewritten), the check cannot say
    /// whose seal calls to expect.
    pub writer_named: bool,
    /// Events before this are not looked at (default: the 90-day lookup window).
    pub since: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// What the witness found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WitnessReport {
    /// Seals whose `GenerateMac` call CloudTrail shows as the seal says.
    pub confirmed: usize,
    /// Evidence of tampering (or of a seal that cannot be matched).
    pub problems: Vec<String>,
    /// Seals too new for CloudTrail to show yet.
    pub pending: Vec<String>,
    /// Facts worth knowing that are not failures.
    pub notes: Vec<String>,
    /// Events on the seal key that were read.
    pub events_read: usize,
    /// CloudTrail is complete up to here (now − [`CLOUDTRAIL_LAG`]).
    pub horizon: Option<DateTime<Utc>>,
}

impl WitnessReport {
    /// Every seal confirmed, nothing unexplained, nothing pending.
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.pending.is_empty()
    }
}

/// Why the witness could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("CloudTrail LookupEvents failed: {0}")]
    Cloud(#[from] CloudError),
    #[error(
        "more than {MAX_EVENTS} CloudTrail events on the seal key since {since}: narrow the window with --witness-since"
    )]
    TooManyEvents { since: DateTime<Utc> },
}

/// Reads every event on the key `key_arn` between `since` and `until` (LookupEvents by resource
/// name, through the shared rate limiter), newest first.
pub async fn cloudtrail_events(
    cloud: &Cloud,
    key_arn: &str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<MacEvent>, WitnessError> {
    let filter = EventFilter::ResourceName(key_arn.to_string());
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = cloud
            .lookup_events(Some(&filter), Some(since), Some(until), token)
            .await?;
        out.extend(page.events.iter().filter_map(MacEvent::from_trail));
        if out.len() > MAX_EVENTS {
            return Err(WitnessError::TooManyEvents { since });
        }
        match page.next_token {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

fn parse_time(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn short(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The most unexplained calls listed one by one (the rest are counted).
const MAX_LISTED: usize = 20;

/// Holds the verified `report` against the seal key's CloudTrail `events`.
pub fn cross_check(report: &Report, events: &[MacEvent], p: &WitnessParams) -> WitnessReport {
    let mut w = WitnessReport {
        events_read: events.len(),
        horizon: Some(p.now - CLOUDTRAIL_LAG),
        ..WitnessReport::default()
    };
    let horizon = p.now - CLOUDTRAIL_LAG;
    let on_key = |e: &&MacEvent| {
        e.name == "GenerateMac" && (e.resources.is_empty() || e.resources.contains(&p.key_arn))
    };
    let mut by_request: HashMap<&str, &MacEvent> = HashMap::new();
    for e in events.iter().filter(on_key) {
        if let Some(r) = &e.request_id {
            by_request.insert(r.as_str(), e);
        }
    }
    let mut writers: BTreeSet<String> = p.identities.clone();
    writers.extend(report.callers.iter().cloned());
    let mut sealers_seen: BTreeSet<String> = BTreeSet::new();
    let mut seal_requests: HashMap<&str, u64> = HashMap::new();
    // When the log's last seal was made, on CloudTrail's clock when CloudTrail has it (so that
    // the host's clock skew cannot move a call to the wrong side of it).
    let mut last_seal_at: Option<DateTime<Utc>> = None;
    // Whether CloudTrail shows a seal of this log made by an identity the verifier vouches for
    // (its own, or one it named): only then is the log's writer known from outside the log.
    let mut external_sealer = false;

    for seal in &report.seals {
        last_seal_at = parse_time(&seal.time);
        let at = format!("seal at line {} (seq {})", seal.line, seal.seq);
        if seal.key_id.starts_with("local-hmac:") {
            w.problems.push(format!(
                "{at} was made with a local HMAC key: no AWS call made it, so CloudTrail cannot witness it"
            ));
            continue;
        }
        let Some(request) = seal.request_id.as_deref() else {
            w.problems.push(format!(
                "{at} carries no GenerateMac request id, so it cannot be matched to CloudTrail (a forged seal, or one written before phi-console recorded request ids)"
            ));
            continue;
        };
        if let Some(first) = seal_requests.insert(request, seal.line) {
            w.problems.push(format!(
                "{at} names the same GenerateMac request ({request}) as the seal at line {first}: one call made one MAC, so one of them is a copy"
            ));
            continue;
        }
        let Some(seal_time) = parse_time(&seal.time) else {
            w.problems.push(format!("{at} has no readable time"));
            continue;
        };
        if seal_time > p.now + TIME_TOLERANCE {
            w.problems.push(format!(
                "{at} is dated {}, in the future: its time was edited",
                short(seal_time)
            ));
            continue;
        }
        // Looked up whatever time the seal claims: a call inside the window with this request
        // id gives the lie to a seal that claims to be older.
        let Some(event) = by_request.get(request) else {
            if seal_time < p.since {
                w.notes.push(format!(
                    "{at} is older than the window ({}): not held against CloudTrail",
                    short(p.since)
                ));
            } else if seal_time > horizon {
                w.pending.push(format!(
                    "{at}, made at {}, is not in CloudTrail yet (CloudTrail can take up to {} min); verify again after {}",
                    short(seal_time),
                    CLOUDTRAIL_LAG.num_minutes(),
                    short(seal_time + CLOUDTRAIL_LAG)
                ));
            } else {
                w.problems.push(format!(
                    "{at} says KMS made it at {} (request {request}), but CloudTrail has no GenerateMac call with that request id on the seal key {}: the seal was not made by the seal key at that time (forged, or copied from another log)",
                    short(seal_time),
                    p.key_arn
                ));
            }
            continue;
        };
        last_seal_at = Some(event.time);
        let mut ok = true;
        if let Some(code) = &event.error_code {
            w.problems.push(format!(
                "{at}: its GenerateMac call failed in CloudTrail ({code}), so no MAC came from it"
            ));
            ok = false;
        }
        let skew = (event.time - seal_time).abs();
        if skew > TIME_TOLERANCE {
            w.problems.push(format!(
                "{at} says it was made at {}, but CloudTrail recorded its GenerateMac call at {}: the seal was made at another time than it claims (a log re-sealed after a rewrite)",
                short(seal_time),
                short(event.time)
            ));
            ok = false;
        }
        match &event.identity {
            Some(id) if writers.contains(id) => {
                if p.identities.contains(id) {
                    external_sealer = true;
                }
                sealers_seen.insert(id.clone());
            }
            Some(id) => {
                w.problems.push(format!(
                    "{at} was made by {id}, who is neither the verifier nor a writer named in the log (name them with --witness-identity if they are one)"
                ));
                sealers_seen.insert(id.clone());
                ok = false;
            }
            None => {
                w.problems.push(format!(
                    "{at}: CloudTrail names no caller for its GenerateMac call"
                ));
                ok = false;
            }
        }
        if ok && seal.status != SealStatus::Invalid {
            w.confirmed += 1;
        }
    }

    // Every seal call by a writer must be a seal of this log.
    writers.extend(sealers_seen);
    let last_seal = last_seal_at;
    let first = report.first_time.as_deref().and_then(parse_time);
    let mut unexplained: Vec<(&MacEvent, &'static str)> = Vec::new();
    let mut failed_after = 0;
    let mut others = 0;
    // Other identities' successful seal calls in the window: if the log names the wrong writer,
    // these are its writer's. (Not only those after the log's first record: the records' times
    // are the file's to say, too.)
    let mut others_in_span: BTreeSet<&str> = BTreeSet::new();
    for e in events.iter().filter(on_key) {
        if e.time < p.since {
            continue;
        }
        let by_writer = e.identity.as_ref().is_some_and(|i| writers.contains(i));
        if !by_writer {
            others += 1;
            if e.error_code.is_none() {
                others_in_span.insert(e.identity.as_deref().unwrap_or("?"));
            }
            continue;
        }
        if e.request_id
            .as_deref()
            .is_some_and(|r| seal_requests.contains_key(r))
        {
            continue;
        }
        if e.error_code.is_some() {
            if last_seal.is_none_or(|t| e.time > t) {
                failed_after += 1;
            }
            continue;
        }
        let why = if last_seal.is_none_or(|t| e.time > t) {
            "after the log's last seal: records were cut from the end of the log (a cut tail)"
        } else if first.is_some_and(|f| e.time + TIME_TOLERANCE < f) {
            "before the log's first record: the log was started over or its beginning removed (if this log was begun after archiving another, verify with --witness-since set to its first record's time)"
        } else {
            "within the log's span: the log was rewritten and its seals replaced"
        };
        unexplained.push((e, why));
    }
    unexplained.sort_by_key(|(e, _)| e.time);
    for (e, why) in unexplained.iter().take(MAX_LISTED) {
        w.problems.push(format!(
            "CloudTrail shows a seal that is not in this log: GenerateMac on the seal key at {} by {} (request {}), {why}",
            short(e.time),
            e.identity.as_deref().unwrap_or("?"),
            e.request_id.as_deref().unwrap_or("?"),
        ));
    }
    if unexplained.len() > MAX_LISTED {
        w.problems.push(format!(
            "… and {} more seal call(s) that are not in this log",
            unexplained.len() - MAX_LISTED
        ));
    }
    if failed_after > 0 {
        w.notes.push(format!(
            "{failed_after} GenerateMac call(s) by this log's writers after its last seal failed (a seal attempt that KMS refused)"
        ));
    }
    if others > 0 {
        w.notes.push(format!(
            "{others} GenerateMac call(s) on the seal key by other identities were not held against this log"
        ));
    }
    w.notes.push(format!(
        "identities held against this log: {} (name a writer the log does not name with --witness-identity)",
        writers.iter().cloned().collect::<Vec<_>>().join(", ")
    ));
    if report.callers.is_empty() && !p.writer_named && others > 0 {
        w.pending.push(
            "the log names no writer (none of its records says who wrote it, as after the records were removed), and CloudTrail shows seal calls by others: name the log's writer with --witness-identity ARN to hold their calls against it".into(),
        );
    } else if !p.writer_named && !external_sealer && !others_in_span.is_empty() {
        // The writers held against the log are the ones the log names, and whoever rewrites
        // the log chooses those: a log stripped of its seals (or re-sealed by a second identity)
        // that names someone else as its writer would hide the real writer's seal calls.
        let listed: Vec<&str> = others_in_span.iter().copied().take(MAX_LISTED).collect();
        w.pending.push(format!(
            "CloudTrail shows seal calls on the seal key by {}, whom this log does not name as its writers; the writers it names are only what the file says, and no seal of it was made by you: name the log's writer(s) with --witness-identity ARN so that their every seal call is held against it",
            listed.join(", ")
        ));
    }
    if !report.seals.is_empty() && w.confirmed == 0 && w.problems.is_empty() && w.pending.is_empty()
    {
        w.pending.push(format!(
            "no seal of this log falls within the window since {}: CloudTrail cannot confirm any",
            short(p.since)
        ));
    }
    let recent = report
        .last_time
        .as_deref()
        .and_then(parse_time)
        .is_some_and(|t| t > horizon);
    if recent {
        w.notes.push(format!(
            "CloudTrail may not show calls made after {} yet: a cut made since then shows on a run after {}",
            short(horizon),
            short(p.now + CLOUDTRAIL_LAG)
        ));
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::verify::SealCheck;

    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/k1";
    const ME: &str = "arn:aws:sts::123456789012:assumed-role/Ops/phi-console-alice";

    fn t(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    fn seal(line: u64, time: &str, request: &str) -> SealCheck {
        SealCheck {
            line,
            seq: line,
            key_id: KEY.into(),
            time: time.into(),
            request_id: Some(request.into()),
            head: String::new(),
            status: SealStatus::Valid,
        }
    }

    fn event(request: &str, time: &str, who: &str) -> MacEvent {
        MacEvent {
            event_id: format!("ev-{request}"),
            name: "GenerateMac".into(),
            request_id: Some(request.into()),
            time: t(time),
            identity: Some(who.into()),
            error_code: None,
            resources: vec![KEY.into()],
        }
    }

    fn params() -> WitnessParams {
        WitnessParams {
            key_arn: KEY.into(),
            identities: [ME.to_string()].into(),
            writer_named: true,
            since: t("2026-01-01T00:00:00Z"),
            now: t("2026-01-15T12:00:00Z"),
        }
    }

    fn report(seals: Vec<SealCheck>) -> Report {
        Report {
            first_time: Some("2026-01-15T09:00:00.000Z".into()),
            last_time: seals.last().map(|s| s.time.clone()),
            seals,
            ..Report::default()
        }
    }

    #[test]
    fn matching_seals_pass_and_each_discrepancy_is_named() {
        let r = report(vec![
            seal(3, "2026-01-15T09:10:00.500Z", "r1"),
            seal(9, "2026-01-15T10:00:00.500Z", "r2"),
        ]);
        let evs = vec![
            event("r1", "2026-01-15T09:10:00Z", ME),
            event("r2", "2026-01-15T10:00:00Z", ME),
            event(
                "x",
                "2026-01-14T10:00:00Z",
                "arn:aws:sts::123456789012:assumed-role/Ops/bob",
            ),
        ];
        let w = cross_check(&r, &evs, &params());
        assert!(w.passed(), "{w:?}");
        assert_eq!(w.confirmed, 2);
        assert!(w.notes.iter().any(|n| n.contains("other identities")));

        // A cut tail: a seal call after the last seal that the log does not hold.
        let mut cut = evs.clone();
        cut.push(event("r3", "2026-01-15T11:00:00Z", ME));
        let w = cross_check(&r, &cut, &params());
        assert!(w.problems.iter().any(|p| p.contains("cut tail")), "{w:?}");

        // A forged seal: no such request.
        let forged = report(vec![
            seal(3, "2026-01-15T09:10:00.500Z", "r1"),
            seal(9, "2026-01-15T10:00:00.500Z", "made-up"),
        ]);
        let w = cross_check(&forged, &evs, &params());
        assert!(
            w.problems.iter().any(|p| p.contains("no GenerateMac call")),
            "{w:?}"
        );
        // … and the real seal call is now unexplained.
        assert!(
            w.problems.iter().any(|p| p.contains("not in this log")),
            "{w:?}"
        );

        // Re-sealed later: the call's time is not the seal's.
        let resealed = report(vec![seal(3, "2026-01-15T09:10:00.500Z", "r1")]);
        let evs2 = vec![event("r1", "2026-01-15T11:40:00Z", ME)];
        let w = cross_check(&resealed, &evs2, &params());
        assert!(
            w.problems.iter().any(|p| p.contains("another time")),
            "{w:?}"
        );

        // A copied seal (same request twice), a seal by a stranger, a local seal.
        let mut copied = r.clone();
        copied.seals[1].request_id = Some("r1".into());
        let w = cross_check(&copied, &evs, &params());
        assert!(w.problems.iter().any(|p| p.contains("is a copy")), "{w:?}");
        let stranger = vec![
            event(
                "r1",
                "2026-01-15T09:10:00Z",
                "arn:aws:iam::123456789012:user/mallory",
            ),
            event("r2", "2026-01-15T10:00:00Z", ME),
        ];
        let w = cross_check(&r, &stranger, &params());
        assert!(w.problems.iter().any(|p| p.contains("mallory")), "{w:?}");
        let mut local = r.clone();
        local.seals[0].key_id = "local-hmac:0011223344556677".into();
        let w = cross_check(&local, &evs, &params());
        assert!(w.problems.iter().any(|p| p.contains("local HMAC")), "{w:?}");
    }

    /// The writers named by the log are the attacker's to choose: a log stripped of its seals
    /// (or re-sealed by a second identity) whose records name someone else as the writer must
    /// not pass an auditor who names nobody, though the real writer's calls are all there.
    #[test]
    fn a_log_that_names_the_wrong_writer_does_not_pass_an_auditor() {
        const MALLORY: &str = "arn:aws:iam::123456789012:user/mallory";
        let auditor = WitnessParams {
            identities: ["arn:aws:iam::123456789012:user/auditor".to_string()].into(),
            writer_named: false,
            ..params()
        };
        let evs = vec![
            event("r1", "2026-01-15T09:10:00Z", ME),
            event("r2", "2026-01-15T10:00:00Z", ME),
        ];
        // Every seal stripped, the records rewritten to name a made-up writer.
        let mut stripped = report(vec![]);
        stripped.last_time = Some("2026-01-15T10:30:00.000Z".into());
        stripped.callers = ["arn:aws:iam::123456789012:user/nobody".to_string()].into();
        let w = cross_check(&stripped, &evs, &auditor);
        assert!(!w.passed(), "{w:?}");
        assert!(
            w.pending
                .iter()
                .any(|p| p.contains(ME) && p.contains("--witness-identity")),
            "{w:?}"
        );
        // Re-sealed by a second identity the rewritten records name.
        let mut resealed = report(vec![seal(3, "2026-01-15T11:00:00.500Z", "m1")]);
        resealed.callers = [MALLORY.to_string()].into();
        let mut evs2 = evs.clone();
        evs2.push(event("m1", "2026-01-15T11:00:00Z", MALLORY));
        let w = cross_check(&resealed, &evs2, &auditor);
        assert!(!w.passed(), "{w:?}");
        // Named by the auditor, the real writer's calls are unexplained: a failure.
        let w = cross_check(&resealed, &evs2, &params());
        assert!(
            w.problems.iter().any(|p| p.contains("not in this log")),
            "{w:?}"
        );
        // An intact log is confirmed for an auditor who names nobody when nobody else sealed …
        let mut intact = report(vec![
            seal(3, "2026-01-15T09:10:00.500Z", "r1"),
            seal(9, "2026-01-15T10:00:00.500Z", "r2"),
        ]);
        intact.callers = [ME.to_string()].into();
        let w = cross_check(&intact, &evs, &auditor);
        assert!(w.passed(), "{w:?}");
        // … but not when another identity sealed in the window, even before the log's first
        // record (the records' times are the file's to say: moved after the real writer's calls,
        // they would put those calls "before the log").
        let mut evs3 = evs.clone();
        evs3.push(event("old", "2026-01-10T09:00:00Z", MALLORY));
        let w = cross_check(&intact, &evs3, &auditor);
        assert!(!w.passed(), "{w:?}");
        let named = WitnessParams {
            identities: [
                "arn:aws:iam::123456789012:user/auditor".to_string(),
                ME.to_string(),
            ]
            .into(),
            writer_named: true,
            ..params()
        };
        assert!(cross_check(&intact, &evs3, &named).passed());
        // The writer verifying its own log is confirmed by its own seals.
        let w = cross_check(
            &intact,
            &evs3,
            &WitnessParams {
                writer_named: false,
                ..params()
            },
        );
        assert!(w.passed(), "{w:?}");
    }

    #[test]
    fn stripped_seals_and_new_seals_are_told_apart() {
        // Every seal stripped: the writer's seal calls are all unexplained.
        let stripped = report(vec![]);
        let evs = vec![
            event("r1", "2026-01-15T09:10:00Z", ME),
            event("r0", "2026-01-10T09:10:00Z", ME),
        ];
        let w = cross_check(&stripped, &evs, &params());
        assert_eq!(w.problems.len(), 2, "{w:?}");
        // Emptied by someone else's hand, verified by an auditor who names no writer: the calls
        // are someone's, so the witness cannot pass it.
        let auditor = WitnessParams {
            identities: ["arn:aws:iam::123456789012:user/auditor".to_string()].into(),
            writer_named: false,
            ..params()
        };
        let w = cross_check(&stripped, &evs, &auditor);
        assert!(w.problems.is_empty() && !w.passed(), "{w:?}");
        assert!(
            w.pending.iter().any(|p| p.contains("--witness-identity")),
            "{w:?}"
        );
        // A seal newer than CloudTrail's delivery lag is pending, not failed.
        let fresh = report(vec![seal(3, "2026-01-15T11:59:00.000Z", "r9")]);
        let w = cross_check(&fresh, &[], &params());
        assert!(w.problems.is_empty() && w.pending.len() == 1, "{w:?}");
        assert!(!w.passed());
        // Before the log's first record.
        let r = report(vec![seal(3, "2026-01-15T09:10:00.500Z", "r1")]);
        let evs = vec![
            event("r1", "2026-01-15T09:10:00Z", ME),
            event("r0", "2026-01-10T09:10:00Z", ME),
        ];
        let w = cross_check(&r, &evs, &params());
        assert!(
            w.problems.iter().any(|p| p.contains("started over")),
            "{w:?}"
        );
        // Failed calls are noted, not counted as seals.
        let mut failed = event("r5", "2026-01-15T11:00:00Z", ME);
        failed.error_code = Some("AccessDeniedException".into());
        let w = cross_check(
            &r,
            &[event("r1", "2026-01-15T09:10:00Z", ME), failed],
            &params(),
        );
        assert!(w.passed(), "{w:?}");
        assert!(w.notes.iter().any(|n| n.contains("failed")));
    }
}
