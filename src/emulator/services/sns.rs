//! SNS (stub).
use super::Ctx;
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::wire::query::Params;
use crate::emulator::wire::xml::Xml;
use crate::emulator::world::World;

#[derive(Debug, Default)]
pub struct SnsState {}

pub fn handle(_w: &mut World, _ctx: &Ctx, op: &str, _p: &Params) -> ApiResult<Xml> {
    Err(ApiError::unknown_operation(op))
}
