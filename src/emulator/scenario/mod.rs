//! Seeded accounts.

pub mod claims;
pub mod claims_backup;
pub mod claims_kms;
