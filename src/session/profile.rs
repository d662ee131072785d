//! Profiles from `~/.aws/config` and `~/.aws/credentials` (and `AWS_CONFIG_FILE`,
//! `AWS_SHARED_CREDENTIALS_FILE`, `AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`), read through
//! aws-config's own profile-file loader, resolved into what the session needs: the base
//! credentials, the roles to assume in order, the MFA device, region and endpoint.

use super::secret::{AwsCredentials, Secret};
pub use aws_config::profile::ProfileSet;
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_types::os_shim_internal::{Env, Fs};
use std::collections::BTreeSet;

/// Where the base (long-term or instance) credentials come from.
#[derive(Debug, Clone)]
pub enum BaseCredentials {
    /// `aws_access_key_id` / `aws_secret_access_key` in a profile.
    Static {
        profile: String,
        credentials: AwsCredentials,
    },
    /// `AWS_ACCESS_KEY_ID` and friends in the environment.
    Environment,
    /// The EC2 instance role (IMDS).
    Ec2InstanceMetadata,
    /// The ECS/EKS container role.
    EcsContainer,
}

/// One role assumption in a chain (`role_arn` in a profile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHop {
    pub profile: String,
    pub role_arn: String,
    pub external_id: Option<String>,
    pub role_session_name: Option<String>,
    pub duration_seconds: Option<i32>,
    pub mfa_serial: Option<String>,
}

/// A profile resolved into a plan for opening a session.
#[derive(Debug, Clone)]
pub struct ResolvedProfile {
    pub name: String,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub base: BaseCredentials,
    /// Roles to assume, base first, the profile's own role last.
    pub roles: Vec<RoleHop>,
    /// The MFA device for the session-token flow (no role) or the role that asks for it.
    pub mfa_serial: Option<String>,
    /// `duration_seconds` of the profile itself.
    pub duration_seconds: Option<i32>,
}

impl ResolvedProfile {
    /// A profile with long-term static keys and no role (add `roles` to assume some): `name`
    /// in `region`, against `endpoint_url` when given, with the MFA device `mfa_serial`.
    pub fn with_static_keys(
        name: &str,
        region: &str,
        endpoint_url: Option<String>,
        access_key_id: &str,
        secret_access_key: &str,
        mfa_serial: Option<&str>,
    ) -> ResolvedProfile {
        ResolvedProfile {
            name: name.into(),
            region: Some(region.into()),
            endpoint_url,
            base: BaseCredentials::Static {
                profile: name.into(),
                credentials: super::AwsCredentials {
                    access_key_id: access_key_id.into(),
                    secret_access_key: super::Secret::new(secret_access_key),
                    session_token: None,
                    expires: None,
                },
            },
            roles: Vec::new(),
            mfa_serial: mfa_serial.map(str::to_string),
            duration_seconds: None,
        }
    }

    /// Roles assumed by other roles are capped at one hour by STS ("role chaining").
    pub fn is_role_chain(&self) -> bool {
        self.roles.len() > 1
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read the AWS config files: {0}")]
    Load(String),
    #[error("profile '{name}' is not in the AWS config files{}; known profiles: {}", files_hint(.files), if .known.is_empty() { "none".to_string() } else { .known.join(", ") })]
    Unknown {
        name: String,
        known: Vec<String>,
        files: Vec<String>,
    },
    #[error("profile '{profile}' names source_profile '{source_profile}', which does not exist")]
    MissingSource {
        profile: String,
        source_profile: String,
    },
    #[error("profiles form a loop: {}", .chain.join(" -> "))]
    Loop { chain: Vec<String> },
    #[error(
        "profile '{profile}' has no credentials: set aws_access_key_id/aws_secret_access_key, source_profile, or credential_source"
    )]
    NoCredentials { profile: String },
    #[error("profile '{profile}': {key} = '{value}' is not valid: {reason}")]
    BadValue {
        profile: String,
        key: String,
        value: String,
        reason: String,
    },
}

fn files_hint(files: &[String]) -> String {
    if files.is_empty() {
        String::new()
    } else {
        format!(" ({})", files.join(", "))
    }
}

/// Loads every profile through aws-config's loader. `env` and `fs` are the real ones in
/// production and fakes in tests.
pub async fn load_profiles(env: &Env, fs: &Fs) -> Result<ProfileSet, ProfileError> {
    aws_config::profile::load(fs, env, &EnvConfigFiles::default(), None)
        .await
        .map_err(|e| ProfileError::Load(error_chain(&e)))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

/// The profile to use: the explicit one, else `AWS_PROFILE`, else `default`.
pub fn selected_profile(explicit: Option<&str>, env: &Env) -> String {
    explicit
        .map(str::to_string)
        .or_else(|| env.get("AWS_PROFILE").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "default".to_string())
}

fn config_files(env: &Env) -> Vec<String> {
    let config = env
        .get("AWS_CONFIG_FILE")
        .unwrap_or_else(|_| "~/.aws/config".into());
    let creds = env
        .get("AWS_SHARED_CREDENTIALS_FILE")
        .unwrap_or_else(|_| "~/.aws/credentials".into());
    vec![config, creds]
}

fn bad(profile: &str, key: &str, value: &str, reason: &str) -> ProfileError {
    ProfileError::BadValue {
        profile: profile.into(),
        key: key.into(),
        value: crate::validate::shown(value),
        reason: reason.into(),
    }
}

fn check_arn(profile: &str, key: &str, value: &str, service: &str) -> Result<(), ProfileError> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" || parts[2] != service || parts[4].len() != 12 {
        return Err(bad(
            profile,
            key,
            value,
            &format!("expected an ARN like arn:aws:{service}::123456789012:…"),
        ));
    }
    Ok(())
}

fn duration(profile: &str, value: Option<&str>) -> Result<Option<i32>, ProfileError> {
    match value {
        None => Ok(None),
        Some(v) => match v.trim().parse::<i32>() {
            Ok(n) if (900..=129_600).contains(&n) => Ok(Some(n)),
            _ => Err(bad(
                profile,
                "duration_seconds",
                v,
                "expected a number of seconds between 900 and 129600",
            )),
        },
    }
}

/// Resolves `name` into base credentials and a role chain, following `source_profile`.
pub fn resolve(set: &ProfileSet, name: &str, env: &Env) -> Result<ResolvedProfile, ProfileError> {
    let known: Vec<String> = {
        let mut k: Vec<String> = set.profiles().map(str::to_string).collect();
        k.sort();
        k
    };
    let top = set.get_profile(name).ok_or_else(|| ProfileError::Unknown {
        name: name.into(),
        known: known.clone(),
        files: config_files(env),
    })?;

    let region = top
        .get("region")
        .map(str::to_string)
        .or_else(|| env.get("AWS_REGION").ok())
        .or_else(|| env.get("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty());
    if let Some(r) = &region
        && crate::validate::region(r).is_err()
    {
        return Err(bad(
            name,
            "region",
            r,
            "expected a region name like eu-west-1",
        ));
    }
    let endpoint_url = env
        .get("AWS_ENDPOINT_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| top.get("endpoint_url").map(str::to_string));
    if let Some(u) = &endpoint_url
        && let Err(e) = crate::validate::endpoint_url(u)
    {
        return Err(bad(name, "endpoint_url", u, &e.0));
    }
    let duration_seconds = duration(name, top.get("duration_seconds"))?;
    let mfa_serial = top.get("mfa_serial").map(str::to_string);
    if let Some(m) = &mfa_serial {
        // A hardware token's serial (e.g. GAHT12345678) is also valid.
        if m.starts_with("arn:") {
            check_arn(name, "mfa_serial", m, "iam")?;
        }
    }

    let mut roles = Vec::new();
    let mut visited = BTreeSet::new();
    let mut chain = vec![name.to_string()];
    let mut current = name.to_string();
    let base = loop {
        visited.insert(current.clone());
        let p = set
            .get_profile(&current)
            .ok_or_else(|| ProfileError::Unknown {
                name: current.clone(),
                known: known.clone(),
                files: config_files(env),
            })?;
        let static_keys = match (p.get("aws_access_key_id"), p.get("aws_secret_access_key")) {
            (Some(ak), Some(sk)) => Some(AwsCredentials {
                access_key_id: ak.to_string(),
                secret_access_key: Secret::new(sk),
                session_token: p.get("aws_session_token").map(Secret::new),
                expires: None,
            }),
            (Some(_), None) => {
                return Err(bad(
                    &current,
                    "aws_access_key_id",
                    "…",
                    "aws_secret_access_key is missing",
                ));
            }
            _ => None,
        };
        let role_arn = p.get("role_arn");
        let credential_source = p.get("credential_source");
        let source_profile = p.get("source_profile");
        if source_profile.is_some() && credential_source.is_some() {
            return Err(bad(
                &current,
                "credential_source",
                credential_source.unwrap_or(""),
                "a profile may set source_profile or credential_source, not both",
            ));
        }
        if let Some(role) = role_arn {
            check_arn(&current, "role_arn", role, "iam")?;
            if let Some(ext) = p.get("external_id")
                && (ext.len() < 2 || ext.len() > 1224)
            {
                return Err(bad(
                    &current,
                    "external_id",
                    ext,
                    "expected 2 to 1224 characters",
                ));
            }
            if let Some(n) = p.get("role_session_name")
                && (n.len() < 2
                    || n.len() > 64
                    || !n
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c)))
            {
                return Err(bad(
                    &current,
                    "role_session_name",
                    n,
                    "expected 2 to 64 of A-Z a-z 0-9 +=,.@-_",
                ));
            }
            roles.push(RoleHop {
                profile: current.clone(),
                role_arn: role.to_string(),
                external_id: p.get("external_id").map(str::to_string),
                role_session_name: p.get("role_session_name").map(str::to_string),
                duration_seconds: duration(&current, p.get("duration_seconds"))?,
                mfa_serial: p.get("mfa_serial").map(str::to_string),
            });
            match (source_profile, credential_source) {
                (Some(src), None) => {
                    if src == current {
                        // A profile may name itself as the source of its own static keys.
                        match static_keys {
                            Some(c) => {
                                break BaseCredentials::Static {
                                    profile: current.clone(),
                                    credentials: c,
                                };
                            }
                            None => return Err(ProfileError::NoCredentials { profile: current }),
                        }
                    }
                    if visited.contains(src) {
                        chain.push(src.to_string());
                        return Err(ProfileError::Loop { chain });
                    }
                    if set.get_profile(src).is_none() {
                        return Err(ProfileError::MissingSource {
                            profile: current,
                            source_profile: src.to_string(),
                        });
                    }
                    chain.push(src.to_string());
                    current = src.to_string();
                    continue;
                }
                (None, Some(cs)) => break credential_source_of(&current, cs)?,
                _ => {
                    return Err(bad(
                        &current,
                        "role_arn",
                        role,
                        "a role profile needs source_profile or credential_source",
                    ));
                }
            }
        }
        if let Some(c) = static_keys {
            break BaseCredentials::Static {
                profile: current.clone(),
                credentials: c,
            };
        }
        if let Some(cs) = credential_source {
            break credential_source_of(&current, cs)?;
        }
        if env.get("AWS_ACCESS_KEY_ID").is_ok() {
            break BaseCredentials::Environment;
        }
        return Err(ProfileError::NoCredentials { profile: current });
    };
    roles.reverse();
    Ok(ResolvedProfile {
        name: name.into(),
        region,
        endpoint_url,
        base,
        roles,
        mfa_serial,
        duration_seconds,
    })
}

fn credential_source_of(profile: &str, cs: &str) -> Result<BaseCredentials, ProfileError> {
    match cs {
        "Environment" => Ok(BaseCredentials::Environment),
        "Ec2InstanceMetadata" => Ok(BaseCredentials::Ec2InstanceMetadata),
        "EcsContainer" => Ok(BaseCredentials::EcsContainer),
        other => Err(bad(
            profile,
            "credential_source",
            other,
            "expected Environment, Ec2InstanceMetadata or EcsContainer",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn resolve_text(
        config: &str,
        credentials: &str,
        name: &str,
    ) -> Result<ResolvedProfile, ProfileError> {
        let fs = Fs::from_slice(&[("/cfg/config", config), ("/cfg/credentials", credentials)]);
        let env = Env::from_slice(&[
            ("AWS_CONFIG_FILE", "/cfg/config"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/cfg/credentials"),
            ("HOME", "/home/op"),
        ]);
        let set = load_profiles(&env, &fs).await?;
        resolve(&set, name, &env)
    }

    const CREDS: &str = "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s3cret\n";

    #[tokio::test]
    async fn session_token_flow_profile() {
        let cfg =
            "[profile base]\nregion = eu-west-1\nmfa_serial = arn:aws:iam::123456789012:mfa/op\n";
        let r = resolve_text(cfg, CREDS, "base").await.unwrap();
        assert!(r.roles.is_empty());
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            r.mfa_serial.as_deref(),
            Some("arn:aws:iam::123456789012:mfa/op")
        );
        match r.base {
            BaseCredentials::Static {
                profile,
                credentials,
            } => {
                assert_eq!(profile, "base");
                assert_eq!(credentials.access_key_id, "AKIABASE");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn role_chain_is_followed_in_order() {
        let cfg = "[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/ClaimsOperator\nsource_profile = mid\nmfa_serial = arn:aws:iam::123456789012:mfa/op\nexternal_id = ext-1\nduration_seconds = 3600\n\
                   [profile mid]\nrole_arn = arn:aws:iam::123456789012:role/Hop\nsource_profile = base\n";
        let r = resolve_text(cfg, CREDS, "ops").await.unwrap();
        let arns: Vec<_> = r.roles.iter().map(|h| h.role_arn.as_str()).collect();
        assert_eq!(
            arns,
            [
                "arn:aws:iam::123456789012:role/Hop",
                "arn:aws:iam::123456789012:role/ClaimsOperator"
            ]
        );
        assert!(r.is_role_chain());
        assert_eq!(r.roles[1].external_id.as_deref(), Some("ext-1"));
        assert_eq!(r.roles[1].duration_seconds, Some(3600));
        assert!(matches!(r.base, BaseCredentials::Static { ref profile, .. } if profile == "base"));
    }

    #[tokio::test]
    async fn errors_name_what_to_fix() {
        let e = resolve_text("[profile a]\nregion = us-east-1\n", "", "nope")
            .await
            .unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("'nope'") && m.contains("/cfg/config") && m.contains("a"),
            "{m}"
        );

        let cfg = "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/A\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::123456789012:role/B\nsource_profile = a\n";
        let e = resolve_text(cfg, "", "a").await.unwrap_err();
        assert!(matches!(e, ProfileError::Loop { .. }), "{e}");
        assert!(e.to_string().contains("a -> b -> a"), "{e}");

        let cfg =
            "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/A\nsource_profile = ghost\n";
        let e = resolve_text(cfg, "", "a").await.unwrap_err();
        assert!(e.to_string().contains("source_profile 'ghost'"), "{e}");

        let e = resolve_text(
            "[profile a]\nregion = us-east-1\nduration_seconds = forever\n",
            CREDS,
            "a",
        )
        .await
        .unwrap_err();
        assert!(
            e.to_string().contains("duration_seconds = 'forever'"),
            "{e}"
        );

        let e = resolve_text(
            "[profile a]\nrole_arn = not-an-arn\nsource_profile = base\n",
            CREDS,
            "a",
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("role_arn"), "{e}");

        let e = resolve_text("[profile a]\nregion = us-east-1\n", "", "a")
            .await
            .unwrap_err();
        assert!(matches!(e, ProfileError::NoCredentials { .. }), "{e}");

        let e = resolve_text("[profile a]\nrole_arn = arn:aws:iam::123456789012:role/A\ncredential_source = Laptop\n", "", "a").await.unwrap_err();
        assert!(
            e.to_string().contains("credential_source = 'Laptop'"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn malformed_file_is_an_error_not_a_panic() {
        let e = resolve_text("[profile a\nregion = us-east-1\n", "", "a")
            .await
            .unwrap_err();
        assert!(matches!(e, ProfileError::Load(_)), "{e}");
        assert!(e.to_string().contains("cannot read"), "{e}");
    }

    #[tokio::test]
    async fn self_sourced_role_and_credential_source() {
        let cfg = "[profile self]\nrole_arn = arn:aws:iam::123456789012:role/A\nsource_profile = self\naws_access_key_id = AKIASELF\naws_secret_access_key = x\n\
                   [profile inst]\nrole_arn = arn:aws:iam::123456789012:role/B\ncredential_source = Ec2InstanceMetadata\n";
        let r = resolve_text(cfg, "", "self").await.unwrap();
        assert_eq!(r.roles.len(), 1);
        assert!(matches!(r.base, BaseCredentials::Static { .. }));
        let r = resolve_text(cfg, "", "inst").await.unwrap();
        assert!(matches!(r.base, BaseCredentials::Ec2InstanceMetadata));
    }
}
