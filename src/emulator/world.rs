//! The emulated account: identities (IAM users, roles, MFA devices), credentials issued by STS,
//! and the state of every service. One `World` sits behind one mutex; operations are short and
//! never await while holding it.

use super::error::ApiError;
use super::services::{
    backup::BackupState, cloudtrail::TrailState, kms::KmsState, sns::SnsState, sqs::SqsState,
};
use super::wire::Protocol;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};

/// Who is calling, as the emulator resolved it from the access key.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub account: String,
    pub arn: String,
    /// `AIDA…` for users, `AROA…:session` for assumed roles.
    pub principal_id: String,
    pub access_key: String,
    pub kind: CallerKind,
    pub mfa_authenticated: bool,
    /// When the temporary credentials were issued.
    pub session_created: Option<DateTime<Utc>>,
    pub source_identity: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CallerKind {
    /// Long-term access key of an IAM user.
    IamUser { user: String },
    /// GetSessionToken credentials of an IAM user.
    SessionToken { user: String },
    /// AssumeRole credentials.
    AssumedRole {
        role_name: String,
        role_arn: String,
        role_id: String,
        session_name: String,
    },
}

impl Caller {
    pub fn is_temporary(&self) -> bool {
        !matches!(self.kind, CallerKind::IamUser { .. })
    }
    /// The name CloudTrail's `Username` lookup attribute uses.
    pub fn username(&self) -> String {
        match &self.kind {
            CallerKind::IamUser { user } | CallerKind::SessionToken { user } => user.clone(),
            CallerKind::AssumedRole { session_name, .. } => session_name.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct IamUser {
    pub name: String,
    pub arn: String,
    pub user_id: String,
}

#[derive(Debug, Clone)]
pub struct IamRole {
    pub name: String,
    pub arn: String,
    pub role_id: String,
    /// Seconds (3600..=43200).
    pub max_session_duration: i64,
    /// The trust policy requires `aws:MultiFactorAuthPresent`.
    pub mfa_required: bool,
}

#[derive(Debug, Clone)]
pub struct MfaDevice {
    pub serial: String,
    pub user: String,
    pub seed: Vec<u8>,
    /// The last TOTP time step accepted: AWS refuses a code that was already used.
    pub last_step_used: Option<u64>,
}

/// Credentials issued by STS.
#[derive(Debug, Clone)]
pub struct TempCredentials {
    pub access_key: String,
    pub secret: String,
    pub token: String,
    pub expires: DateTime<Utc>,
    pub caller: Caller,
}

#[derive(Debug, Default)]
pub struct Iam {
    pub users: BTreeMap<String, IamUser>,
    /// Long-term access keys bound to a named user; any other key is the default user's.
    pub keys: HashMap<String, String>,
    pub default_user: String,
    pub roles: BTreeMap<String, IamRole>,
    pub mfa_devices: BTreeMap<String, MfaDevice>,
    pub sessions: HashMap<String, TempCredentials>,
}

/// Everything the emulator knows.
#[derive(Debug)]
pub struct World {
    pub account_id: String,
    pub region: String,
    pub iam: Iam,
    pub sqs: SqsState,
    pub sns: SnsState,
    pub kms: KmsState,
    pub backup: BackupState,
    pub trail: TrailState,
}

pub const DEFAULT_ACCOUNT: &str = "123456789012";
pub const DEFAULT_REGION: &str = "us-east-1";

impl World {
    pub fn new(account_id: &str, region: &str) -> Self {
        let mut w = World {
            account_id: account_id.to_string(),
            region: region.to_string(),
            iam: Iam::default(),
            sqs: SqsState::default(),
            sns: SnsState::default(),
            kms: KmsState::default(),
            backup: BackupState::default(),
            trail: TrailState::default(),
        };
        w.add_user("emulator-user");
        w.iam.default_user = "emulator-user".into();
        w
    }

    pub fn add_user(&mut self, name: &str) -> IamUser {
        let id = format!(
            "AIDA{}",
            &super::util::hex(&sha_prefix(name))[..16].to_uppercase()
        );
        let u = IamUser {
            name: name.to_string(),
            arn: format!("arn:aws:iam::{}:user/{name}", self.account_id),
            user_id: id,
        };
        self.iam.users.insert(name.to_string(), u.clone());
        u
    }

    pub fn add_role(
        &mut self,
        name: &str,
        max_session_duration: i64,
        mfa_required: bool,
    ) -> IamRole {
        let id = format!(
            "AROA{}",
            &super::util::hex(&sha_prefix(name))[..16].to_uppercase()
        );
        let r = IamRole {
            name: name.to_string(),
            arn: format!("arn:aws:iam::{}:role/{name}", self.account_id),
            role_id: id,
            max_session_duration,
            mfa_required,
        };
        self.iam.roles.insert(name.to_string(), r.clone());
        r
    }

    /// Registers a virtual MFA device for `user` with a raw TOTP seed.
    pub fn add_mfa_device(&mut self, user: &str, device_name: &str, seed: &[u8]) -> String {
        let serial = format!("arn:aws:iam::{}:mfa/{device_name}", self.account_id);
        self.iam.mfa_devices.insert(
            serial.clone(),
            MfaDevice {
                serial: serial.clone(),
                user: user.to_string(),
                seed: seed.to_vec(),
                last_step_used: None,
            },
        );
        serial
    }

    /// The identity behind a long-term access key.
    pub fn long_term_caller(&self, access_key: &str) -> Caller {
        let name = self
            .iam
            .keys
            .get(access_key)
            .cloned()
            .unwrap_or_else(|| self.iam.default_user.clone());
        let user = self
            .iam
            .users
            .get(&name)
            .cloned()
            .unwrap_or_else(|| IamUser {
                arn: format!("arn:aws:iam::{}:user/{name}", self.account_id),
                user_id: "AIDAEMULATORUSER0001".into(),
                name: name.clone(),
            });
        Caller {
            account: self.account_id.clone(),
            arn: user.arn,
            principal_id: user.user_id,
            access_key: access_key.to_string(),
            kind: CallerKind::IamUser { user: name },
            mfa_authenticated: false,
            session_created: None,
            source_identity: None,
        }
    }

    /// Resolves the caller of a request. `check_signature` verifies the SigV4 signature with a
    /// given secret; it is only consulted for keys that STS issued.
    pub fn authenticate(
        &self,
        access_key: Option<&str>,
        session_token: Option<&str>,
        now: DateTime<Utc>,
        protocol: Protocol,
        check_signature: impl FnOnce(&str) -> bool,
    ) -> Result<Caller, ApiError> {
        let json = protocol != Protocol::AwsQuery;
        let Some(key) = access_key else {
            return Ok(self.long_term_caller("ANONYMOUS"));
        };
        if let Some(creds) = self.iam.sessions.get(key) {
            if session_token != Some(creds.token.as_str()) {
                return Err(if json {
                    ApiError::new(
                        400,
                        "UnrecognizedClientException",
                        "The security token included in the request is invalid.",
                    )
                } else {
                    ApiError::new(
                        403,
                        "InvalidClientTokenId",
                        "The security token included in the request is invalid.",
                    )
                });
            }
            if now >= creds.expires {
                return Err(if json {
                    ApiError::client(
                        "ExpiredTokenException",
                        "The security token included in the request is expired",
                    )
                } else {
                    ApiError::client(
                        "ExpiredToken",
                        "The security token included in the request is expired",
                    )
                });
            }
            if !check_signature(&creds.secret) {
                return Err(if json {
                    ApiError::new(
                        400,
                        "InvalidSignatureException",
                        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
                    )
                } else {
                    ApiError::new(
                        403,
                        "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
                    )
                });
            }
            return Ok(creds.caller.clone());
        }
        if key.starts_with("ASIA") || session_token.is_some() {
            // A temporary key the emulator never issued (or long-term key sent with a token).
            return Err(if json {
                ApiError::new(
                    400,
                    "UnrecognizedClientException",
                    "The security token included in the request is invalid.",
                )
            } else {
                ApiError::new(
                    403,
                    "InvalidClientTokenId",
                    "The security token included in the request is invalid.",
                )
            });
        }
        Ok(self.long_term_caller(key))
    }
}

fn sha_prefix(s: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, s.as_bytes()).as_ref()[..8].to_vec()
}
