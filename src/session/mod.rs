//! MFA-backed STS sessions. The console owns the whole flow (the Rust SDK cannot prompt for MFA
//! when a profile assumes a role): resolve the profile, get base credentials, then either
//! GetSessionToken (mfa_serial without role_arn) or AssumeRole with SerialNumber/TokenCode and
//! SourceIdentity = the operator's OS login. Credentials live in memory only.

pub mod mfa;
pub mod profile;
pub mod prompt;
pub mod secret;
pub mod settings;

pub use mfa::{SessionError, validate_code};
pub use profile::{BaseCredentials, ResolvedProfile};
pub use secret::{AwsCredentials, Secret};

use crate::cloud::sts::Caller;
use crate::cloud::{Cloud, Now};
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::SdkConfig;
use chrono::{DateTime, Duration, Utc};

/// How to open a session.
#[derive(Clone)]
pub struct OpenOptions {
    /// `--region` beats the profile's region.
    pub region: Option<String>,
    /// `--endpoint-url` beats `AWS_ENDPOINT_URL` and the profile's endpoint_url.
    pub endpoint_url: Option<String>,
    /// The operator's OS login, sent as SourceIdentity when assuming a role.
    pub login: String,
    pub read_only: bool,
    /// SDK attempts per call (1 = no retries).
    pub attempts: u32,
    pub now: Now,
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("login", &self.login)
            .finish()
    }
}

impl OpenOptions {
    pub fn new(login: &str) -> Self {
        OpenOptions {
            region: None,
            endpoint_url: None,
            login: login.to_string(),
            read_only: false,
            attempts: 5,
            now: crate::cloud::system_now(),
        }
    }
}

/// The operator's OS login (for SourceIdentity and the audit log).
pub fn os_login() -> String {
    std::env::var("LOGNAME")
        .or_else(|_| std::env::var("USER"))
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// An open session: who, where, until when, and the clients to use.
#[derive(Debug, Clone)]
pub struct Session {
    pub profile: String,
    pub region: String,
    pub endpoint_url: Option<String>,
    pub caller: Caller,
    pub credentials: AwsCredentials,
    pub source_identity: Option<String>,
    pub mfa_serial: Option<String>,
    /// When the last MFA code was accepted (step-up compares against this).
    pub mfa_at: Option<DateTime<Utc>>,
    pub expires: Option<DateTime<Utc>>,
    pub read_only: bool,
    pub resolved: ResolvedProfile,
    options: OpenOptions,
    config: SdkConfig,
}

impl Session {
    /// The AWS adapter for this session.
    pub fn cloud(&self) -> Cloud {
        Cloud::new(
            &self.config,
            &self.caller.account,
            self.expires,
            self.options.now.clone(),
        )
    }
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }
    pub fn now(&self) -> DateTime<Utc> {
        (self.options.now)()
    }
    /// Time left before the credentials expire (None: they do not expire).
    pub fn time_left(&self) -> Option<Duration> {
        self.expires.map(|e| e - self.now())
    }
    pub fn is_expired(&self) -> bool {
        self.time_left().is_some_and(|t| t <= Duration::zero())
    }
    /// True within `warn` of expiry (the header warns and offers re-authentication).
    pub fn expiring_within(&self, warn: Duration) -> bool {
        self.time_left().is_some_and(|t| t <= warn)
    }
    pub fn mfa_age(&self) -> Option<Duration> {
        self.mfa_at.map(|t| self.now() - t)
    }
    /// A guarded action needs an MFA code newer than `step_up_minutes`.
    pub fn needs_step_up(&self, step_up_minutes: i64) -> bool {
        match self.mfa_age() {
            Some(age) => age > Duration::minutes(step_up_minutes),
            None => true,
        }
    }
    /// The same credentials in another region (STS credentials are global): a session of its own.
    pub fn with_region(&self, region: &str) -> Session {
        let mut s = self.clone();
        s.region = region.to_string();
        s.options.region = Some(region.to_string());
        s.config = sdk_config(
            &self.options,
            self.endpoint_url.as_deref(),
            region,
            &self.credentials,
        );
        s
    }
    /// Renews the session with a fresh MFA code (step-up, re-authentication before expiry).
    pub async fn renew(&self, code: &str) -> Result<Session, SessionError> {
        let mut s = open(&self.resolved, Some(code), &self.options).await?;
        s.read_only = self.read_only;
        Ok(s)
    }
}

/// True when opening this profile needs an MFA code.
pub fn needs_code(p: &ResolvedProfile) -> bool {
    p.mfa_serial.is_some() || p.roles.iter().any(|r| r.mfa_serial.is_some())
}

fn network<E: std::error::Error + ProvideErrorMetadata + 'static, R: std::fmt::Debug>(
    err: SdkError<E, R>,
    serial: Option<&str>,
    role: Option<&str>,
    profile: &str,
) -> SessionError {
    match &err {
        SdkError::ServiceError(s) => {
            let e = s.err();
            mfa::explain(
                e.code().unwrap_or("Unknown"),
                e.message().unwrap_or(""),
                serial,
                role,
                profile,
            )
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => SessionError::Network(
            "the STS endpoint cannot be reached (check the network, region and endpoint_url)"
                .to_string(),
        ),
        other => SessionError::Network(format!("{other}")),
    }
}

fn sdk_config(
    options: &OpenOptions,
    endpoint: Option<&str>,
    region: &str,
    creds: &AwsCredentials,
) -> SdkConfig {
    crate::cloud::http::sdk_config(endpoint, region, creds.provider(), options.attempts)
}

async fn base_credentials(
    p: &ResolvedProfile,
    region: &str,
) -> Result<AwsCredentials, SessionError> {
    let from_sdk = |c: aws_credential_types::Credentials| AwsCredentials {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: Secret::new(c.secret_access_key()),
        session_token: c.session_token().map(Secret::new),
        expires: c.expiry().map(DateTime::<Utc>::from),
    };
    let provider_config = aws_config::provider_config::ProviderConfig::without_region()
        .with_http_client(crate::cloud::http::http_client())
        .with_region(Some(aws_types::region::Region::new(region.to_string())));
    match &p.base {
        BaseCredentials::Static { credentials, .. } => Ok(credentials.clone()),
        BaseCredentials::Environment => {
            let c = aws_config::environment::EnvironmentVariableCredentialsProvider::new()
                .provide_credentials()
                .await
                .map_err(|e| SessionError::BaseCredentials(format!("from the environment: {e}")))?;
            Ok(from_sdk(c))
        }
        BaseCredentials::Ec2InstanceMetadata => {
            let c = aws_config::imds::credentials::ImdsCredentialsProvider::builder()
                .configure(&provider_config)
                .build()
                .provide_credentials()
                .await
                .map_err(|e| {
                    SessionError::BaseCredentials(format!("from the EC2 instance role: {e}"))
                })?;
            Ok(from_sdk(c))
        }
        BaseCredentials::EcsContainer => {
            let c = aws_config::ecs::EcsCredentialsProvider::builder()
                .configure(&provider_config)
                .build()
                .provide_credentials()
                .await
                .map_err(|e| {
                    SessionError::BaseCredentials(format!("from the container role: {e}"))
                })?;
            Ok(from_sdk(c))
        }
    }
}

fn temp(c: Option<&aws_sdk_sts::types::Credentials>) -> Result<AwsCredentials, SessionError> {
    let c = c.ok_or_else(|| SessionError::Sts("the answer carried no credentials".into()))?;
    Ok(AwsCredentials {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: Secret::new(c.secret_access_key()),
        session_token: Some(Secret::new(c.session_token())),
        expires: DateTime::from_timestamp(c.expiration().secs(), 0),
    })
}

/// A name STS accepts for RoleSessionName/SourceIdentity: [\w+=,.@-]{2,64}.
pub fn sts_name(s: &str) -> String {
    let mut n: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    n.truncate(64);
    while n.len() < 2 {
        n.push('-');
    }
    n
}

/// Opens a session for a resolved profile with an MFA code (when the profile needs one).
pub async fn open(
    p: &ResolvedProfile,
    code: Option<&str>,
    options: &OpenOptions,
) -> Result<Session, SessionError> {
    let code = match code {
        Some(c) => Some(validate_code(c)?),
        None if needs_code(p) => return Err(SessionError::CodeRequired(p.name.clone())),
        None => None,
    };
    if p.roles.iter().filter(|r| r.mfa_serial.is_some()).count() > 1 {
        return Err(SessionError::MultipleMfa);
    }
    let region = options
        .region
        .clone()
        .or_else(|| p.region.clone())
        .unwrap_or_else(|| "us-east-1".to_string());
    let endpoint = options
        .endpoint_url
        .clone()
        .or_else(|| p.endpoint_url.clone());
    let mut creds = base_credentials(p, &region).await?;
    let mut mfa_used = false;
    let mut source_identity = None;

    if p.roles.is_empty() {
        if let (Some(serial), Some(code)) = (&p.mfa_serial, &code) {
            let sts = aws_sdk_sts::Client::new(&sdk_config(
                options,
                endpoint.as_deref(),
                &region,
                &creds,
            ));
            let out = sts
                .get_session_token()
                .serial_number(serial)
                .token_code(code)
                .set_duration_seconds(p.duration_seconds)
                .send()
                .await
                .map_err(|e| network(e, Some(serial), None, &p.name))?;
            creds = temp(out.credentials())?;
            mfa_used = true;
        }
    } else {
        let login = sts_name(&options.login);
        for (i, hop) in p.roles.iter().enumerate() {
            let last = i + 1 == p.roles.len();
            // The MFA device of the hop, or of the profile itself for the final role.
            let serial = hop
                .mfa_serial
                .clone()
                .or_else(|| if last { p.mfa_serial.clone() } else { None });
            let sts = aws_sdk_sts::Client::new(&sdk_config(
                options,
                endpoint.as_deref(),
                &region,
                &creds,
            ));
            let mut req = sts
                .assume_role()
                .role_arn(&hop.role_arn)
                .role_session_name(
                    hop.role_session_name
                        .clone()
                        .unwrap_or_else(|| sts_name(&format!("phi-console-{login}"))),
                )
                .source_identity(&login)
                .set_external_id(hop.external_id.clone())
                .set_duration_seconds(hop.duration_seconds);
            if let (Some(s), Some(c)) = (&serial, &code)
                && !mfa_used
            {
                req = req.serial_number(s).token_code(c);
                mfa_used = true;
            }
            let out = req
                .send()
                .await
                .map_err(|e| network(e, serial.as_deref(), Some(&hop.role_arn), &hop.profile))?;
            creds = temp(out.credentials())?;
            source_identity = out
                .source_identity()
                .map(str::to_string)
                .or(Some(login.clone()));
        }
    }

    let config = sdk_config(options, endpoint.as_deref(), &region, &creds);
    let now = (options.now)();
    let cloud = Cloud::new(&config, "", creds.expires, options.now.clone());
    let caller = cloud.caller().await.map_err(|e| match e {
        crate::cloud::CloudError::Expired { .. } => SessionError::Expired,
        crate::cloud::CloudError::AccessDenied { message, .. } => {
            SessionError::BadCredentials(message)
        }
        crate::cloud::CloudError::Network { message, .. } => SessionError::Network(format!(
            "{message} ({}): check the network, the region and the endpoint URL (--region, --endpoint-url, or the profile's endpoint_url)",
            endpoint
                .as_deref()
                .map_or_else(|| format!("AWS in {region}"), str::to_string)
        )),
        other => SessionError::Sts(other.to_string()),
    })?;
    Ok(Session {
        profile: p.name.clone(),
        region,
        endpoint_url: endpoint,
        caller,
        expires: creds.expires,
        credentials: creds,
        source_identity,
        mfa_serial: p
            .mfa_serial
            .clone()
            .or_else(|| p.roles.iter().find_map(|r| r.mfa_serial.clone())),
        mfa_at: mfa_used.then_some(now),
        read_only: options.read_only,
        resolved: p.clone(),
        options: options.clone(),
        config,
    })
}
