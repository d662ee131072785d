//! KMS (stub, to be implemented).
use super::Ctx;
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::world::World;
use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, Default)]
pub struct KmsState {}

pub fn tick(_w: &mut World, _now: DateTime<Utc>) {}

pub fn handle(_w: &mut World, _ctx: &Ctx, op: &str, _input: &Value) -> ApiResult<Value> {
    Err(ApiError::unknown_operation(op))
}

/// The ARN of a key named by id, ARN or alias (the input itself when unknown).
pub fn key_arn_for(_w: &World, key: &str) -> String {
    key.to_string()
}
