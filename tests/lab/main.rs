//! The lab's test suite: every emulator operation through the real aws-sdk-rust clients over
//! HTTP, the aws CLI as an independent client, and moto as an independent server.
//! One test binary (one link) keeps the suite fast.

mod actions;
mod adapter;
mod audit_writer;
mod awscli;
mod backup;
mod bad_inputs;
mod binary;
mod cloudtrail;
mod common;
mod drill;
mod drill_console;
mod e2e;
mod guard;
mod guard_watch;
#[path = "../support/hostile.rs"]
mod hostile;
mod hostile_cli;
mod kms;
#[path = "../support/lab.rs"]
mod lab_support;
mod listing;
mod log_cap;
mod moto;
mod posture;
mod progressive;
mod protocol;
#[path = "../support/pty.rs"]
mod pty;
mod query_wire;
mod redrive;
mod redrive_review;
mod restore_testing;
mod session;
mod sns;
mod sqs;
mod sts;
mod tui;
mod witness;
