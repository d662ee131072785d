//! The lab's test suite: every emulator operation through the real aws-sdk-rust clients over
//! HTTP, the aws CLI as an independent client, and moto as an independent server.
//! One test binary (one link) keeps the suite fast.

mod common;
mod sts;
mod protocol;
mod sqs;
mod sns;
mod cloudtrail;
mod awscli;
mod moto;
mod kms;
mod backup;
mod binary;
mod session;
mod adapter;
mod tui;
mod e2e;
