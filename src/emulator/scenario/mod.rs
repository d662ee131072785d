//! Seeded accounts.

pub mod claims;
