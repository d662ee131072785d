//! The one HTTP client (hyper 1 + rustls with ring; no system TLS library) and `SdkConfig`
//! construction shared by every service client.

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;
use std::time::Duration;

/// The HTTP client every SDK client uses.
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Static credentials (long-term or temporary).
pub fn static_credentials(
    access_key: &str,
    secret: &str,
    token: Option<&str>,
) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new(
        access_key,
        secret,
        token.map(str::to_string),
        None,
        "phi-console-static",
    ))
}

/// Builds an `SdkConfig` for an explicit endpoint (the emulator, moto, or a VPC endpoint).
/// `retries` = 1 turns retries off.
pub fn endpoint_config(
    endpoint_url: &str,
    region: &str,
    credentials: SharedCredentialsProvider,
    retries: u32,
) -> SdkConfig {
    sdk_config(Some(endpoint_url), region, credentials, retries)
}

/// Builds an `SdkConfig`: AWS's own endpoints for `region` unless `endpoint_url` is given;
/// adaptive retries (with backoff on throttling) up to `attempts` (1 = none); connect and
/// per-attempt timeouts on every call.
pub fn sdk_config(
    endpoint_url: Option<&str>,
    region: &str,
    credentials: SharedCredentialsProvider,
    attempts: u32,
) -> SdkConfig {
    let retry = if attempts <= 1 {
        RetryConfig::disabled()
    } else {
        RetryConfig::adaptive()
            .with_max_attempts(attempts)
            .with_initial_backoff(Duration::from_millis(50))
    };
    let mut b = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http_client())
        .sleep_impl(TokioSleep::new())
        .region(Region::new(region.to_string()))
        .credentials_provider(credentials)
        .retry_config(retry)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .operation_timeout(Duration::from_secs(120))
                .build(),
        );
    if let Some(url) = endpoint_url {
        b = b.endpoint_url(url);
    }
    b.build()
}
