//! AWS Backup (stub, to be implemented).
use super::Ctx;
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::world::World;
use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, Default)]
pub struct BackupState {}

pub fn tick(_w: &mut World, _now: DateTime<Utc>) {}

pub fn handle(_w: &mut World, _ctx: &Ctx, op: &str, _input: &Value) -> ApiResult<(u16, Option<Value>)> {
    Err(ApiError::unknown_operation(op))
}
