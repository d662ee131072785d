//! The `claims` scenario (to be filled in).
use crate::emulator::world::World;
use chrono::{DateTime, Utc};

pub fn seed(_w: &mut World, _now: DateTime<Utc>, _seed: u64) {}
