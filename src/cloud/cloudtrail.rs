//! CloudTrail: trails and LookupEvents, paged lazily (one page per call, as the operator
//! scrolls) through the process-wide rate limiter.

use super::error::from_sdk;
use super::{Cloud, CloudError, time};
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use chrono::{DateTime, Utc};

/// The one lookup attribute LookupEvents accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFilter {
    EventSource(String),
    EventName(String),
    Username(String),
    ResourceName(String),
    ResourceType(String),
    ReadOnly(bool),
    AccessKeyId(String),
    EventId(String),
}

impl EventFilter {
    fn attribute(&self) -> Option<LookupAttribute> {
        let (k, v) = match self {
            EventFilter::EventSource(v) => (LookupAttributeKey::EventSource, v.clone()),
            EventFilter::EventName(v) => (LookupAttributeKey::EventName, v.clone()),
            EventFilter::Username(v) => (LookupAttributeKey::Username, v.clone()),
            EventFilter::ResourceName(v) => (LookupAttributeKey::ResourceName, v.clone()),
            EventFilter::ResourceType(v) => (LookupAttributeKey::ResourceType, v.clone()),
            EventFilter::ReadOnly(v) => (LookupAttributeKey::ReadOnly, v.to_string()),
            EventFilter::AccessKeyId(v) => (LookupAttributeKey::AccessKeyId, v.clone()),
            EventFilter::EventId(v) => (LookupAttributeKey::EventId, v.clone()),
        };
        LookupAttribute::builder()
            .attribute_key(k)
            .attribute_value(v)
            .build()
            .ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailEvent {
    pub id: String,
    pub name: String,
    pub source: String,
    pub time: Option<DateTime<Utc>>,
    pub username: Option<String>,
    pub read_only: Option<bool>,
    pub access_key: Option<String>,
    /// (resource type, resource name)
    pub resources: Vec<(String, String)>,
    /// The raw `CloudTrailEvent` JSON (untrusted text: sanitise before display).
    pub raw: String,
    pub request_id: Option<String>,
    pub source_identity: Option<String>,
    pub mfa_authenticated: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    pub events: Vec<TrailEvent>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailInfo {
    pub name: String,
    pub arn: String,
    pub bucket: Option<String>,
    pub kms_key: Option<String>,
    pub multi_region: bool,
    pub log_file_validation: bool,
    pub logging: Option<bool>,
}

/// Which management events a trail logs (GetEventSelectors, basic or advanced selectors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailSelectors {
    pub management_read: bool,
    pub management_write: bool,
    /// The selectors that decided it, in one line.
    pub evidence: String,
}

/// Reads a GetEventSelectors answer: basic selectors (`IncludeManagementEvents`,
/// `ReadWriteType`) or advanced ones (`eventCategory` = `Management`, with or without a
/// `readOnly` field).
pub fn selectors_of(
    out: &aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectorsOutput,
) -> TrailSelectors {
    let (mut read, mut write) = (false, false);
    let mut ev = Vec::new();
    for s in out.event_selectors() {
        let rw = s
            .read_write_type()
            .map(|r| r.as_str().to_string())
            .unwrap_or_else(|| "All".into());
        let mgmt = s.include_management_events().unwrap_or(true);
        ev.push(format!("IncludeManagementEvents={mgmt} ReadWriteType={rw}"));
        if mgmt {
            read |= rw == "All" || rw == "ReadOnly";
            write |= rw == "All" || rw == "WriteOnly";
        }
    }
    for a in out.advanced_event_selectors() {
        let fields = a.field_selectors();
        let eq = |f: &str, v: &str| {
            fields
                .iter()
                .any(|x| x.field() == f && x.equals().iter().any(|e| e == v))
        };
        if eq("eventCategory", "Management") {
            let ro = fields.iter().find(|x| x.field() == "readOnly");
            let (r, w) = match ro {
                None => (true, true),
                Some(x) => (
                    x.equals().iter().any(|e| e == "true"),
                    x.equals().iter().any(|e| e == "false"),
                ),
            };
            read |= r;
            write |= w;
            ev.push(format!(
                "advanced selector {} (management, read {r}, write {w})",
                a.name().unwrap_or("-")
            ));
        }
    }
    if ev.is_empty() {
        ev.push("no event selectors".into());
    }
    TrailSelectors {
        management_read: read,
        management_write: write,
        evidence: ev.join("; "),
    }
}

fn event_of(e: &aws_sdk_cloudtrail::types::Event) -> TrailEvent {
    let raw = e.cloud_trail_event().unwrap_or_default().to_string();
    let json: serde_json::Value = serde_json::from_str(&raw).unwrap_or_default();
    TrailEvent {
        id: e.event_id().unwrap_or_default().to_string(),
        name: e.event_name().unwrap_or_default().to_string(),
        source: e.event_source().unwrap_or_default().to_string(),
        time: time(e.event_time()),
        username: e.username().map(str::to_string),
        read_only: e.read_only().map(|r| r == "true"),
        access_key: e.access_key_id().map(str::to_string),
        resources: e
            .resources()
            .iter()
            .map(|r| {
                (
                    r.resource_type().unwrap_or_default().to_string(),
                    r.resource_name().unwrap_or_default().to_string(),
                )
            })
            .collect(),
        request_id: json
            .get("requestID")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        source_identity: json
            .pointer("/userIdentity/sessionContext/sourceIdentity")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        mfa_authenticated: json
            .pointer("/userIdentity/sessionContext/attributes/mfaAuthenticated")
            .and_then(|v| v.as_str())
            .map(|s| s == "true"),
        raw,
    }
}

impl Cloud {
    /// One page (≤ 50) of events, newest first. Waits for the shared rate limiter first.
    pub async fn lookup_events(
        &self,
        filter: Option<&EventFilter>,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
        next_token: Option<String>,
    ) -> Result<EventPage, CloudError> {
        self.alive()?;
        self.lookup_limiter.acquire().await;
        let to_smithy = |t: DateTime<Utc>| aws_smithy_types::DateTime::from_secs(t.timestamp());
        let out = self
            .cloudtrail
            .lookup_events()
            .set_lookup_attributes(filter.and_then(|f| f.attribute()).map(|a| vec![a]))
            .set_start_time(start.map(to_smithy))
            .set_end_time(end.map(to_smithy))
            .max_results(50)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| from_sdk("LookupEvents", "events", e))?;
        Ok(EventPage {
            events: out.events().iter().map(event_of).collect(),
            next_token: out
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        })
    }

    /// Up to `max` events, following pages (each through the rate limiter).
    pub async fn lookup_events_up_to(
        &self,
        filter: Option<&EventFilter>,
        max: usize,
    ) -> Result<Vec<TrailEvent>, CloudError> {
        let mut all = Vec::new();
        let mut token = None;
        loop {
            let page = self.lookup_events(filter, None, None, token).await?;
            all.extend(page.events);
            match page.next_token {
                Some(t) if all.len() < max => token = Some(t),
                _ => break,
            }
        }
        all.truncate(max);
        Ok(all)
    }

    pub async fn describe_trails(&self) -> Result<Vec<TrailInfo>, CloudError> {
        self.alive()?;
        let out = self
            .cloudtrail
            .describe_trails()
            .send()
            .await
            .map_err(|e| from_sdk("DescribeTrails", "trails", e))?;
        let mut trails = Vec::new();
        for t in out.trail_list() {
            let arn = t.trail_arn().unwrap_or_default().to_string();
            let status = self
                .cloudtrail
                .get_trail_status()
                .name(&arn)
                .send()
                .await
                .map_err(|e| from_sdk("GetTrailStatus", "trail", e))?;
            trails.push(TrailInfo {
                name: t.name().unwrap_or_default().to_string(),
                bucket: t.s3_bucket_name().map(str::to_string),
                kms_key: t.kms_key_id().map(str::to_string),
                multi_region: t.is_multi_region_trail().unwrap_or(false),
                log_file_validation: t.log_file_validation_enabled().unwrap_or(false),
                logging: status.is_logging(),
                arn,
            });
        }
        Ok(trails)
    }
}

impl Cloud {
    /// DescribeTrails alone (no per-trail status call; `logging` is None).
    pub async fn trail_list(&self) -> Result<Vec<TrailInfo>, CloudError> {
        self.alive()?;
        let out = self
            .cloudtrail
            .describe_trails()
            .send()
            .await
            .map_err(|e| from_sdk("DescribeTrails", "trails", e))?;
        Ok(out
            .trail_list()
            .iter()
            .map(|t| TrailInfo {
                name: t.name().unwrap_or_default().to_string(),
                arn: t.trail_arn().unwrap_or_default().to_string(),
                bucket: t.s3_bucket_name().map(str::to_string),
                kms_key: t.kms_key_id().map(str::to_string),
                multi_region: t.is_multi_region_trail().unwrap_or(false),
                log_file_validation: t.log_file_validation_enabled().unwrap_or(false),
                logging: None,
            })
            .collect())
    }

    /// GetTrailStatus: whether the trail is logging.
    pub async fn trail_logging(&self, trail: &str) -> Result<bool, CloudError> {
        self.alive()?;
        let out = self
            .cloudtrail
            .get_trail_status()
            .name(trail)
            .send()
            .await
            .map_err(|e| from_sdk("GetTrailStatus", &format!("trail {trail}"), e))?;
        Ok(out.is_logging().unwrap_or(false))
    }

    /// GetEventSelectors: which management events the trail logs.
    pub async fn trail_selectors(&self, trail: &str) -> Result<TrailSelectors, CloudError> {
        self.alive()?;
        let out = self
            .cloudtrail
            .get_event_selectors()
            .trail_name(trail)
            .send()
            .await
            .map_err(|e| from_sdk("GetEventSelectors", &format!("trail {trail}"), e))?;
        Ok(selectors_of(&out))
    }
}
