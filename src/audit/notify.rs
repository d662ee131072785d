//! A second witness: every seal the writer makes is also published to an SNS topic of the
//! profile's (`audit_witness_topic`), so a copy of the chain's heads lives where the operator
//! cannot rewrite it (a subscribed queue, an archive in another account). The message carries
//! the seal's sequence number, the chain head it seals, the seal record's own hash and the KMS
//! request id — no PHI and no record content.
//!
//! An auditor holds the log against the messages: every published seal must be in the log at
//! its `seq` with that `head` and `hash`; a message with a `seq` beyond the log's end is a cut
//! tail, one whose hash differs is a rewrite.

use super::seal::SealError;
use aws_smithy_types::error::display::DisplayErrorContext;
use serde::Serialize;
use std::fmt;

/// What is published for one seal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SealNotice {
    /// Always `phi-console-audit-seal`.
    pub kind: &'static str,
    /// The log's file name (e.g. `claims.jsonl`), so one topic can serve several logs.
    pub log: String,
    pub host: Option<String>,
    /// The seal record's seq and its own hash.
    pub seq: u64,
    pub hash: String,
    /// The chain head it seals (the record before it).
    pub head: String,
    pub key_id: String,
    pub request_id: Option<String>,
    pub time: String,
}

/// Publishes seal notices somewhere the log's writer cannot take them back.
pub trait SealWitness: Send + Sync {
    fn publish(&self, notice: &SealNotice) -> Result<(), SealError>;
    /// Where to (for messages).
    fn name(&self) -> String;
}

/// An SNS topic. Like [`KmsSealer`](super::KmsSealer), each call runs on the witness's own
/// runtime with short timeouts (the writer holds the log's lock while it publishes).
pub struct SnsWitness {
    client: aws_sdk_sns::Client,
    topic_arn: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for SnsWitness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnsWitness")
            .field("topic_arn", &self.topic_arn)
            .finish_non_exhaustive()
    }
}

impl SnsWitness {
    /// A witness publishing to `topic_arn` with the credentials and endpoint of `config`.
    pub fn from_config(
        config: &aws_types::SdkConfig,
        topic_arn: impl Into<String>,
    ) -> Result<Self, SealError> {
        let timeouts = aws_smithy_types::timeout::TimeoutConfig::builder()
            .connect_timeout(super::KmsSealer::CONNECT_TIMEOUT)
            .operation_timeout(super::KmsSealer::CALL_TIMEOUT)
            .build();
        let conf = aws_sdk_sns::config::Builder::from(config)
            .http_client(crate::cloud::http::http_client())
            .timeout_config(timeouts)
            .build();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                SealError::Other(format!("cannot start the SNS witness's runtime: {e}"))
            })?;
        Ok(SnsWitness {
            client: aws_sdk_sns::Client::from_conf(conf),
            topic_arn: topic_arn.into(),
            runtime: Some(runtime),
        })
    }
}

impl Drop for SnsWitness {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn sns_error(
    e: aws_smithy_runtime_api::client::result::SdkError<
        aws_sdk_sns::operation::publish::PublishError,
        aws_smithy_runtime_api::http::Response,
    >,
) -> SealError {
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    match &e {
        SdkError::ServiceError(s) => SealError::Refused {
            code: s.err().code().unwrap_or("Unknown").to_string(),
            message: s.err().message().unwrap_or("").to_string(),
        },
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            SealError::Unavailable(DisplayErrorContext(&e).to_string())
        }
        _ => SealError::Other(format!("SNS: {}", DisplayErrorContext(&e))),
    }
}

impl SealWitness for SnsWitness {
    fn publish(&self, notice: &SealNotice) -> Result<(), SealError> {
        let rt = self
            .runtime
            .as_ref()
            .ok_or_else(|| SealError::Other("the SNS witness was shut down".into()))?;
        let message = serde_json::to_string(notice)
            .map_err(|e| SealError::Other(format!("cannot encode the seal notice: {e}")))?;
        let req = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject("phi-console audit seal")
            .message(message);
        let send = async { req.send().await.map(|_| ()).map_err(sns_error) };
        if tokio::runtime::Handle::try_current().is_err() {
            rt.block_on(send)
        } else {
            std::thread::scope(|s| s.spawn(|| rt.block_on(send)).join())
                .map_err(|_| SealError::Other("the SNS call panicked".into()))?
        }
    }

    fn name(&self) -> String {
        self.topic_arn.clone()
    }
}
