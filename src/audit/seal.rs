//! Seals: a MAC over the chain head, made with a key the log's writer can use but not read
//! (AWS KMS), so that rewriting the file — even with every hash recomputed — is detected.

use super::canonical::sha256_hex;
use super::params::parse_hex_key;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::MacAlgorithmSpec;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::fmt;
use std::future::Future;
use std::path::Path;

/// The only MAC algorithm seals use.
pub const SEAL_ALGORITHM: &str = "HMAC_SHA_256";

/// The bytes a seal's MAC is computed over: `phi-console-audit-seal:v1:` followed by the
/// 64 hex digits of the chain head (domain-separated so the key's other MACs cannot be replayed
/// as seals).
pub fn seal_message(head: &str) -> Vec<u8> {
    format!("phi-console-audit-seal:v1:{head}").into_bytes()
}

/// Why a MAC could not be made or checked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SealError {
    /// KMS (or the network) could not be reached or did not answer in time.
    #[error("KMS is not reachable ({0})")]
    Unavailable(String),
    /// KMS answered with an error (access denied, key disabled, not found, …).
    #[error("KMS refused the request: {code}: {message}")]
    Refused { code: String, message: String },
    /// Anything else (the sealer's runtime could not start, bad key material).
    #[error("{0}")]
    Other(String),
}

/// A MAC and what the key's service said about the call that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub mac: Vec<u8>,
    /// The key as the service names it (KMS answers with the key's ARN, even when asked with
    /// an alias); `None`: [`Sealer::key_id`].
    pub key_id: Option<String>,
    /// The request id of the call (KMS `GenerateMac`), which CloudTrail records.
    pub request_id: Option<String>,
}

/// Makes and checks seal MACs. Synchronous: the writer calls it while it holds the log's lock.
pub trait Sealer: Send + Sync {
    /// The MAC of `message`.
    fn mac(&self, message: &[u8]) -> Result<Vec<u8>, SealError>;
    /// The MAC of `message` with the key's name and the request id of the call; what the
    /// writer stores in a seal record.
    fn generate(&self, message: &[u8]) -> Result<Generated, SealError> {
        Ok(Generated {
            mac: self.mac(message)?,
            key_id: None,
            request_id: None,
        })
    }
    /// Whether `mac` is the MAC of `message` under this sealer's key.
    fn verify(&self, message: &[u8], mac: &[u8]) -> Result<bool, SealError>;
    /// The key's identity, stored in seal records.
    fn key_id(&self) -> String;
    /// Whether a seal record naming `key_id` names this sealer's key. Verification asks this to
    /// pick the key to check a seal with; the answer only selects, the MAC check decides.
    fn names_this_key(&self, key_id: &str) -> Result<bool, SealError> {
        Ok(key_id == self.key_id())
    }
}

/// HMAC-SHA-256 with a key held locally (a file the operator cannot read, or a test key).
/// Use [`KmsSealer`] in production: a local key can be read by whoever can rewrite the log.
pub struct LocalHmacSealer {
    key: ring::hmac::Key,
    id: String,
}

impl fmt::Debug for LocalHmacSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalHmacSealer")
            .field("key_id", &self.id)
            .finish_non_exhaustive()
    }
}

impl LocalHmacSealer {
    /// A sealer for `key`; its id is `local-hmac:` plus the first 16 hex digits of SHA-256(key).
    pub fn new(key: &[u8]) -> Self {
        LocalHmacSealer {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key),
            id: format!("local-hmac:{}", &sha256_hex(key)[..16]),
        }
    }

    /// Reads a key file of 64 hex digits. It must be a regular file (a pipe would block, a
    /// device could be endless), and at most 256 bytes of it are read.
    pub fn from_file(path: &Path) -> Result<Self, SealError> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let cannot =
            |e: &dyn fmt::Display| SealError::Other(format!("cannot read {}: {e}", path.display()));
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| cannot(&e))?;
        let meta = file.metadata().map_err(|e| cannot(&e))?;
        if !meta.is_file() {
            return Err(SealError::Other(format!(
                "{} is not a regular file: give the file that holds the seal key (64 hex digits)",
                path.display()
            )));
        }
        let mut text = String::new();
        file.take(256)
            .read_to_string(&mut text)
            .map_err(|e| cannot(&e))?;
        let key = parse_hex_key(text.trim()).ok_or_else(|| {
            SealError::Other(format!("{} does not hold 64 hex digits", path.display()))
        })?;
        Ok(LocalHmacSealer::new(&key))
    }
}

impl Sealer for LocalHmacSealer {
    fn mac(&self, message: &[u8]) -> Result<Vec<u8>, SealError> {
        Ok(ring::hmac::sign(&self.key, message).as_ref().to_vec())
    }
    fn verify(&self, message: &[u8], mac: &[u8]) -> Result<bool, SealError> {
        Ok(ring::hmac::verify(&self.key, message, mac).is_ok())
    }
    fn key_id(&self) -> String {
        self.id.clone()
    }
}

/// AWS KMS `GenerateMac`/`VerifyMac` (HMAC_SHA_256) with an HMAC_256 key.
///
/// Each call runs on the sealer's own single-threaded runtime, on a scoped thread when the
/// caller is itself inside a tokio runtime, so it can be used from sync and async code alike.
pub struct KmsSealer {
    client: aws_sdk_kms::Client,
    key_id: String,
    runtime: Option<tokio::runtime::Runtime>,
    /// Key ids (aliases, key ids, ARNs) already resolved to key ARNs with `DescribeKey`;
    /// `None`: no such key.
    resolved: std::sync::Mutex<std::collections::HashMap<String, Option<String>>>,
}

impl fmt::Debug for KmsSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KmsSealer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl KmsSealer {
    /// How long a seal waits for a connection to KMS.
    pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
    /// How long one seal (GenerateMac/VerifyMac, retries included) may take.
    pub const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(4);

    /// A sealer using `key_id` (key id, key ARN, alias name or alias ARN) as given; no request is
    /// made until the first MAC.
    ///
    /// The client's configuration is kept, with two changes: its own HTTP client (connection
    /// pool), because pooled connections are driven by the runtime that opened them and this
    /// sealer's runtime only runs during its own calls; and short timeouts
    /// ([`KmsSealer::CONNECT_TIMEOUT`], [`KmsSealer::CALL_TIMEOUT`]), because the writer holds the
    /// log's lock while it seals.
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Result<Self, SealError> {
        let timeouts = aws_smithy_types::timeout::TimeoutConfig::builder()
            .connect_timeout(Self::CONNECT_TIMEOUT)
            .operation_timeout(Self::CALL_TIMEOUT)
            .build();
        let conf = client
            .config()
            .to_builder()
            .http_client(crate::cloud::http::http_client())
            .timeout_config(timeouts)
            .build();
        let client = aws_sdk_kms::Client::from_conf(conf);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SealError::Other(format!("cannot start the KMS sealer's runtime: {e}")))?;
        Ok(KmsSealer {
            client,
            key_id: key_id.into(),
            runtime: Some(runtime),
            resolved: Default::default(),
        })
    }

    /// A sealer for `key_id` from an `SdkConfig`.
    pub fn from_config(
        config: &aws_types::SdkConfig,
        key_id: impl Into<String>,
    ) -> Result<Self, SealError> {
        Self::new(aws_sdk_kms::Client::new(config), key_id)
    }

    /// Like [`KmsSealer::new`], but resolves an alias to the key's ARN first (`DescribeKey`), so
    /// seals stay verifiable after the alias is pointed at another key. A key that does not
    /// exist is an error.
    pub fn resolved(client: aws_sdk_kms::Client, key_id: &str) -> Result<Self, SealError> {
        let mut sealer = Self::new(client, key_id)?;
        let arn = sealer.arn_of(key_id)?.ok_or_else(|| SealError::Refused {
            code: "NotFoundException".into(),
            message: format!("the seal key {key_id} does not exist"),
        })?;
        sealer.key_id = arn;
        Ok(sealer)
    }

    /// The ARN of the key `key_id` names (`DescribeKey`, cached); `None` if there is no such
    /// key. A key ARN is its own answer.
    fn arn_of(&self, key_id: &str) -> Result<Option<String>, SealError> {
        if is_key_arn(key_id) {
            return Ok(Some(key_id.to_string()));
        }
        if let Some(known) = self
            .resolved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key_id)
        {
            return Ok(known.clone());
        }
        let client = self.client.clone();
        let id = key_id.to_string();
        let arn = self.run(async move {
            match client.describe_key().key_id(id).send().await {
                Ok(out) => out
                    .key_metadata()
                    .and_then(|m| m.arn())
                    .map(|a| Some(a.to_string()))
                    .ok_or_else(|| SealError::Other("DescribeKey returned no key ARN".into())),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_not_found_exception()) =>
                {
                    Ok(None)
                }
                Err(e) => Err(kms_error(e)),
            }
        })??;
        self.resolved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key_id.to_string(), arn.clone());
        Ok(arn)
    }

    fn run<F>(&self, fut: F) -> Result<F::Output, SealError>
    where
        F: Future + Send,
        F::Output: Send,
    {
        let rt = self
            .runtime
            .as_ref()
            .ok_or_else(|| SealError::Other("the KMS sealer was shut down".into()))?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Ok(rt.block_on(fut));
        }
        std::thread::scope(|s| s.spawn(|| rt.block_on(fut)).join())
            .map_err(|_| SealError::Other("the KMS call panicked".into()))
    }
}

impl Drop for KmsSealer {
    fn drop(&mut self) {
        // A runtime may not be dropped inside another runtime's context; this may be.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn kms_error<E, R>(e: aws_smithy_runtime_api::client::result::SdkError<E, R>) -> SealError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match &e {
        SdkError::ServiceError(s) => SealError::Refused {
            code: s.err().code().unwrap_or("Unknown").to_string(),
            message: s.err().message().unwrap_or("").to_string(),
        },
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            SealError::Unavailable(DisplayErrorContext(&e).to_string())
        }
        _ => SealError::Other(format!("KMS: {}", DisplayErrorContext(&e))),
    }
}

/// `arn:<partition>:kms:<region>:<account>:key/<id>`.
fn is_key_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "kms"
        && parts[5].starts_with("key/")
        && parts[5].len() > 4
}

impl Sealer for KmsSealer {
    fn mac(&self, message: &[u8]) -> Result<Vec<u8>, SealError> {
        self.generate(message).map(|g| g.mac)
    }

    fn generate(&self, message: &[u8]) -> Result<Generated, SealError> {
        use aws_sdk_kms::operation::RequestId as _;
        let req = self
            .client
            .generate_mac()
            .key_id(&self.key_id)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(message.to_vec()));
        let out = self.run(req.send())?.map_err(kms_error)?;
        let mac = out
            .mac()
            .map(|m| m.as_ref().to_vec())
            .ok_or_else(|| SealError::Other("GenerateMac returned no MAC".into()))?;
        Ok(Generated {
            mac,
            key_id: out.key_id().map(str::to_string),
            request_id: out.request_id().map(str::to_string),
        })
    }

    /// A seal names this key when both names resolve (`DescribeKey`) to the same key ARN: an
    /// alias is compared by the key it points to now, so a seal naming an alias that was
    /// repointed is checked with this key, and fails if another key made it.
    fn names_this_key(&self, key_id: &str) -> Result<bool, SealError> {
        if key_id == self.key_id {
            return Ok(true);
        }
        if key_id.starts_with("local-hmac:") {
            return Ok(false);
        }
        let Some(mine) = self.arn_of(&self.key_id)? else {
            return Err(SealError::Refused {
                code: "NotFoundException".into(),
                message: format!("the seal key {} does not exist", self.key_id),
            });
        };
        Ok(self.arn_of(key_id)?.is_some_and(|theirs| theirs == mine))
    }

    fn verify(&self, message: &[u8], mac: &[u8]) -> Result<bool, SealError> {
        let req = self
            .client
            .verify_mac()
            .key_id(&self.key_id)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(message.to_vec()))
            .mac(Blob::new(mac.to_vec()));
        match self.run(req.send())? {
            Ok(out) => Ok(out.mac_valid()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_kms_invalid_mac_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(kms_error(e)),
        }
    }

    fn key_id(&self) -> String {
        self.key_id.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_sealer_round_trip() {
        let s = LocalHmacSealer::new(b"k");
        let m = seal_message(super::super::GENESIS_HASH);
        let mac = s.mac(&m).unwrap();
        assert!(s.verify(&m, &mac).unwrap());
        assert!(!s.verify(b"other", &mac).unwrap());
        assert!(!LocalHmacSealer::new(b"k2").verify(&m, &mac).unwrap());
        assert!(s.key_id().starts_with("local-hmac:"));
        assert_ne!(s.key_id(), LocalHmacSealer::new(b"k2").key_id());
    }
}
