//! Per-service state and operations. Each service module exposes a `handle` function that
//! takes the decoded input of one operation and returns its output, reading and changing only
//! the [`World`]; nothing here knows about HTTP.

pub mod backup;
pub mod backup_schedule;
pub mod cloudtrail;
pub mod kms;
pub mod sns;
pub mod sqs;
pub mod sts;

use super::error::ApiResult;
use super::wire::Service;
use super::wire::query::Params;
use super::wire::xml::Xml;
use super::world::{Caller, World};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// The decoded input of one operation.
#[derive(Debug)]
pub enum Input {
    Json(Value),
    Query(Params),
    Rest(Value),
}

/// The result of one operation, before framing.
#[derive(Debug)]
pub enum Output {
    Json(Value),
    Xml(Xml),
    Rest { status: u16, body: Option<Value> },
}

/// Per-request context.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub request_id: String,
    pub now: DateTime<Utc>,
    pub region: String,
    pub caller: Caller,
    pub user_agent: String,
    pub source_ip: String,
    /// From fault injection: probability that each batch entry fails.
    pub batch_failure_rate: f64,
}

impl Ctx {
    /// A context for calls made from inside the emulator (scenario seeding, tests).
    pub fn internal(world: &World, now: DateTime<Utc>) -> Ctx {
        Ctx {
            request_id: super::util::uuid(),
            now,
            region: world.region.clone(),
            caller: world.long_term_caller("AKIAEMULATORINTERNAL"),
            user_agent: "phi-console-emulator".into(),
            source_ip: "127.0.0.1".into(),
            batch_failure_rate: 0.0,
        }
    }
}

/// Runs time-driven work (move tasks, restore jobs, scheduled rotations) up to `now`.
pub fn tick(w: &mut World, now: DateTime<Utc>) {
    sqs::tick(w, now);
    kms::tick(w, now);
    backup::tick(w, now);
}

/// Runs one operation.
pub fn dispatch(
    w: &mut World,
    ctx: &Ctx,
    service: Service,
    op: &str,
    input: &Input,
) -> ApiResult<Output> {
    tick(w, ctx.now);
    let empty = Value::Object(Default::default());
    let json = match input {
        Input::Json(v) | Input::Rest(v) => v,
        Input::Query(_) => &empty,
    };
    let empty_params = Params::default();
    let params = match input {
        Input::Query(p) => p,
        _ => &empty_params,
    };
    match service {
        Service::Sts => sts::handle(w, ctx, op, params).map(Output::Xml),
        Service::Sns => sns::handle(w, ctx, op, params).map(Output::Xml),
        Service::Sqs => sqs::handle(w, ctx, op, json).map(Output::Json),
        Service::Kms => kms::handle(w, ctx, op, json).map(Output::Json),
        Service::CloudTrail => cloudtrail::handle(w, ctx, op, json).map(Output::Json),
        Service::Backup => {
            backup::handle(w, ctx, op, json).map(|(status, body)| Output::Rest { status, body })
        }
    }
}
