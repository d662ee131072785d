//! The AWS adapter: SDK calls in, the console's own domain types out.

pub mod http;
