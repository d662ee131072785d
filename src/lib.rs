//! phi-console: a terminal administration console for HIPAA-eligible claims pipelines on AWS,
//! and the local AWS emulator (the lab) it is tested and demonstrated against.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod app;
pub mod audit;
pub mod cli;
pub mod cloud;
pub mod emulator;
pub mod guard;
pub mod logging;
pub mod options;
#[cfg(test)]
mod proptests;
pub mod sanitize;
pub mod session;
pub mod ui;
pub mod validate;
