//! KMS: keys with aliases, state, spec, rotation configuration and history, policy and tags;
//! and the rotation changes the guarded actions make.

use super::error::from_sdk;
use super::{Cloud, CloudError, time};
use aws_sdk_kms::types::{KeyManagerType, KeySpec, KeyState, OriginType, RotationType};
use aws_types::request_id::RequestId;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// On-demand rotations KMS allows per key over its lifetime (a hard quota).
pub const ON_DEMAND_ROTATION_QUOTA: usize = 10;
/// The shortest automatic rotation period KMS accepts, in days.
pub const MIN_ROTATION_PERIOD_DAYS: i32 = 90;
/// The longest automatic rotation period KMS accepts, in days.
pub const MAX_ROTATION_PERIOD_DAYS: i32 = 2560;
/// The period KMS uses when `EnableKeyRotation` is called without one.
pub const DEFAULT_ROTATION_PERIOD_DAYS: i32 = 365;

/// Automatic rotation settings (`GetKeyRotationStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationStatus {
    pub enabled: bool,
    pub period_days: Option<i32>,
    pub next: Option<DateTime<Utc>>,
    /// Set while an on-demand rotation is in progress.
    pub on_demand_started: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRotation {
    pub date: Option<DateTime<Utc>>,
    pub on_demand: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub id: String,
    pub arn: String,
    pub aliases: Vec<String>,
    pub description: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, `PendingImport`, …
    pub state: String,
    /// `SYMMETRIC_DEFAULT`, `HMAC_256`, `RSA_2048`, …
    pub spec: String,
    pub usage: String,
    pub customer_managed: bool,
    /// `AWS_KMS`, `EXTERNAL`, `AWS_CLOUDHSM`, `EXTERNAL_KEY_STORE`.
    pub origin: String,
    pub custom_key_store: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub deletion_date: Option<DateTime<Utc>>,
    /// None when the key cannot rotate (see [`Key::rotation_unsupported`]).
    pub rotation: Option<RotationStatus>,
    pub rotations: Vec<KeyRotation>,
    pub tags: BTreeMap<String, String>,
    /// The key policy (JSON), when readable.
    pub policy: Option<String>,
}

impl Key {
    /// A key known only from ListKeys and ListAliases, its details still loading.
    pub fn pending(id: &str, arn: &str, aliases: &[(String, String)]) -> Key {
        Key {
            id: id.to_string(),
            arn: arn.to_string(),
            aliases: aliases
                .iter()
                .filter(|(_, target)| target == id)
                .map(|(name, _)| name.clone())
                .collect(),
            description: String::new(),
            state: String::new(),
            spec: String::new(),
            usage: String::new(),
            customer_managed: false,
            origin: String::new(),
            custom_key_store: None,
            created: None,
            deletion_date: None,
            rotation: None,
            rotations: Vec::new(),
            tags: BTreeMap::new(),
            policy: None,
        }
    }

    /// The first alias, else the key id: what a person calls this key.
    pub fn display_name(&self) -> &str {
        self.aliases.first().map(String::as_str).unwrap_or(&self.id)
    }
    pub fn on_demand_used(&self) -> usize {
        self.rotations.iter().filter(|r| r.on_demand).count()
    }
    pub fn last_rotation(&self) -> Option<DateTime<Utc>> {
        self.rotations.iter().filter_map(|r| r.date).max()
    }
    pub fn is_enabled(&self) -> bool {
        self.state == "Enabled"
    }
    /// Why KMS will not rotate this key, if it will not.
    pub fn rotation_unsupported(&self) -> Option<&'static str> {
        if self.spec != "SYMMETRIC_DEFAULT" {
            Some("only symmetric encryption keys can be rotated (this key is asymmetric or HMAC)")
        } else if self.origin == "EXTERNAL" {
            Some("the key has imported key material, which KMS cannot rotate; rotate it manually")
        } else if self.custom_key_store.is_some() {
            Some("keys in a custom key store cannot be rotated by KMS")
        } else {
            None
        }
    }
}

fn rotation_supported(
    spec: &KeySpec,
    origin: Option<&OriginType>,
    custom: bool,
    state: Option<&KeyState>,
) -> bool {
    *spec == KeySpec::SymmetricDefault
        && origin == Some(&OriginType::AwsKms)
        && !custom
        && state != Some(&KeyState::PendingDeletion)
        && state != Some(&KeyState::PendingImport)
}

impl Cloud {
    /// Every key (ListKeys paged to the end) with aliases and rotation details, per-key calls
    /// with bounded concurrency.
    pub async fn list_keys(&self) -> Result<Vec<Key>, CloudError> {
        let ids: Vec<String> = self
            .list_key_refs()
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let aliases = self.aliases().await?;
        let client = self.kms.clone();
        let aliases = std::sync::Arc::new(aliases);
        self.bounded(ids, move |id| {
            key_details(client.clone(), id, aliases.clone())
        })
        .await
    }

    /// Every key's (id, ARN) (ListKeys paged to the end), before any per-key call.
    pub async fn list_key_refs(&self) -> Result<Vec<(String, String)>, CloudError> {
        self.alive()?;
        let mut ids = Vec::new();
        let mut marker = None;
        loop {
            let out = self
                .kms
                .list_keys()
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| from_sdk("ListKeys", "keys", e))?;
            ids.extend(out.keys().iter().filter_map(|k| {
                k.key_id()
                    .map(|id| (id.to_string(), k.key_arn().unwrap_or_default().to_string()))
            }));
            match out.next_marker() {
                Some(m) if out.truncated() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        Ok(ids)
    }

    /// One key with the aliases already listed (the per-key calls of a progressive list).
    pub async fn key_with_aliases(
        &self,
        key: String,
        aliases: std::sync::Arc<Vec<(String, String)>>,
    ) -> Result<Key, CloudError> {
        self.alive()?;
        key_details(self.kms.clone(), key, aliases).await
    }

    /// One key by id, ARN or alias.
    pub async fn key(&self, key: &str) -> Result<Key, CloudError> {
        self.alive()?;
        let aliases = std::sync::Arc::new(self.aliases().await?);
        key_details(self.kms.clone(), key.to_string(), aliases).await
    }

    /// alias name → target key id.
    pub async fn aliases(&self) -> Result<Vec<(String, String)>, CloudError> {
        let mut out_aliases = Vec::new();
        let mut marker = None;
        loop {
            let out = self
                .kms
                .list_aliases()
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| from_sdk("ListAliases", "aliases", e))?;
            for a in out.aliases() {
                if let (Some(n), Some(t)) = (a.alias_name(), a.target_key_id()) {
                    out_aliases.push((n.to_string(), t.to_string()));
                }
            }
            match out.next_marker() {
                Some(m) if out.truncated() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        Ok(out_aliases)
    }

    pub async fn key_policy(&self, key: &str) -> Result<String, CloudError> {
        self.alive()?;
        let out = self
            .kms
            .get_key_policy()
            .key_id(key)
            .policy_name("default")
            .send()
            .await
            .map_err(|e| from_sdk("GetKeyPolicy", &format!("key {key}"), e))?;
        Ok(out.policy().unwrap_or_default().to_string())
    }

    /// Turns on automatic rotation with a period of 90–2,560 days. Returns the request id.
    pub async fn enable_key_rotation(
        &self,
        key: &str,
        period_days: i32,
    ) -> Result<String, CloudError> {
        self.alive()?;
        let out = self
            .kms
            .enable_key_rotation()
            .key_id(key)
            .rotation_period_in_days(period_days)
            .send()
            .await
            .map_err(|e| from_sdk("EnableKeyRotation", &format!("key {key}"), e))?;
        Ok(out.request_id().unwrap_or_default().to_string())
    }

    pub async fn disable_key_rotation(&self, key: &str) -> Result<String, CloudError> {
        self.alive()?;
        let out = self
            .kms
            .disable_key_rotation()
            .key_id(key)
            .send()
            .await
            .map_err(|e| from_sdk("DisableKeyRotation", &format!("key {key}"), e))?;
        Ok(out.request_id().unwrap_or_default().to_string())
    }

    pub async fn rotate_key_on_demand(&self, key: &str) -> Result<String, CloudError> {
        self.alive()?;
        let out = self
            .kms
            .rotate_key_on_demand()
            .key_id(key)
            .send()
            .await
            .map_err(|e| from_sdk("RotateKeyOnDemand", &format!("key {key}"), e))?;
        Ok(out.request_id().unwrap_or_default().to_string())
    }
}

async fn key_details(
    client: aws_sdk_kms::Client,
    key: String,
    aliases: std::sync::Arc<Vec<(String, String)>>,
) -> Result<Key, CloudError> {
    let what = format!("key {key}");
    let d = client
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .map_err(|e| from_sdk("DescribeKey", &what, e))?;
    let md = d.key_metadata().ok_or_else(|| CloudError::NotFound {
        what: what.clone(),
        message: "DescribeKey answered without key metadata".into(),
        code: String::new(),
        request_id: d.request_id().map(str::to_string),
    })?;
    let id = md.key_id().to_string();
    let spec = md.key_spec().cloned().unwrap_or(KeySpec::SymmetricDefault);
    let custom = md.custom_key_store_id().is_some();
    let mut rotation = None;
    let mut rotations = Vec::new();
    if rotation_supported(&spec, md.origin(), custom, md.key_state()) {
        let s = client
            .get_key_rotation_status()
            .key_id(&id)
            .send()
            .await
            .map_err(|e| from_sdk("GetKeyRotationStatus", &what, e))?;
        rotation = Some(RotationStatus {
            enabled: s.key_rotation_enabled(),
            period_days: s.rotation_period_in_days(),
            next: time(s.next_rotation_date()),
            on_demand_started: time(s.on_demand_rotation_start_date()),
        });
        let mut marker = None;
        loop {
            let r = client
                .list_key_rotations()
                .key_id(&id)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| from_sdk("ListKeyRotations", &what, e))?;
            rotations.extend(r.rotations().iter().map(|x| KeyRotation {
                date: time(x.rotation_date()),
                on_demand: x.rotation_type() == Some(&RotationType::OnDemand),
            }));
            match r.next_marker() {
                Some(m) if r.truncated() => marker = Some(m.to_string()),
                _ => break,
            }
        }
    }
    let mut tags = BTreeMap::new();
    if md.key_manager() == Some(&KeyManagerType::Customer) {
        let t = client
            .list_resource_tags()
            .key_id(&id)
            .send()
            .await
            .map_err(|e| from_sdk("ListResourceTags", &what, e))?;
        for tag in t.tags() {
            tags.insert(tag.tag_key().to_string(), tag.tag_value().to_string());
        }
    }
    let policy = client
        .get_key_policy()
        .key_id(&id)
        .policy_name("default")
        .send()
        .await
        .map_err(|e| from_sdk("GetKeyPolicy", &what, e))?
        .policy()
        .map(str::to_string);
    let mut names: Vec<String> = aliases
        .iter()
        .filter(|(_, t)| *t == id)
        .map(|(n, _)| n.clone())
        .collect();
    names.sort();
    Ok(Key {
        arn: md.arn().unwrap_or_default().to_string(),
        aliases: names,
        description: md.description().unwrap_or_default().to_string(),
        state: md
            .key_state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        spec: spec.as_str().to_string(),
        usage: md
            .key_usage()
            .map(|u| u.as_str().to_string())
            .unwrap_or_default(),
        customer_managed: md.key_manager() == Some(&KeyManagerType::Customer),
        origin: md
            .origin()
            .map(|o| o.as_str().to_string())
            .unwrap_or_default(),
        custom_key_store: md.custom_key_store_id().map(str::to_string),
        created: time(md.creation_date()),
        deletion_date: time(md.deletion_date()),
        rotation,
        rotations,
        tags,
        policy,
        id,
    })
}

/// A customer managed, enabled, symmetric key `k1` (alias `alias/claims-costs`) with automatic
/// rotation off: the starting point of unit tests that change one thing about it.
#[cfg(test)]
pub(crate) fn sample_key() -> Key {
    Key {
        id: "k1".into(),
        arn: "arn:aws:kms:us-east-1:123456789012:key/k1".into(),
        aliases: vec!["alias/claims-costs".into()],
        description: String::new(),
        state: "Enabled".into(),
        spec: "SYMMETRIC_DEFAULT".into(),
        usage: "ENCRYPT_DECRYPT".into(),
        customer_managed: true,
        origin: "AWS_KMS".into(),
        custom_key_store: None,
        created: None,
        deletion_date: None,
        rotation: Some(RotationStatus {
            enabled: false,
            period_days: None,
            next: None,
            on_demand_started: None,
        }),
        rotations: Vec::new(),
        tags: Default::default(),
        policy: None,
    }
}

impl Cloud {
    /// DescribeKey alone: the key's metadata (`rotation`, `rotations`, `tags`, `policy`
    /// empty), for reads that must fail one at a time (posture).
    pub async fn key_metadata(&self, key: &str) -> Result<Key, CloudError> {
        self.alive()?;
        let what = format!("key {key}");
        let d = self
            .kms
            .describe_key()
            .key_id(key)
            .send()
            .await
            .map_err(|e| from_sdk("DescribeKey", &what, e))?;
        let md = d.key_metadata().ok_or_else(|| CloudError::NotFound {
            what: what.clone(),
            message: "DescribeKey answered without key metadata".into(),
            code: String::new(),
            request_id: d.request_id().map(str::to_string),
        })?;
        Ok(Key {
            id: md.key_id().to_string(),
            arn: md.arn().unwrap_or_default().to_string(),
            aliases: Vec::new(),
            description: md.description().unwrap_or_default().to_string(),
            state: md
                .key_state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            spec: md
                .key_spec()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "SYMMETRIC_DEFAULT".into()),
            usage: md
                .key_usage()
                .map(|u| u.as_str().to_string())
                .unwrap_or_default(),
            customer_managed: md.key_manager() == Some(&KeyManagerType::Customer),
            origin: md
                .origin()
                .map(|o| o.as_str().to_string())
                .unwrap_or_default(),
            custom_key_store: md.custom_key_store_id().map(str::to_string),
            created: time(md.creation_date()),
            deletion_date: time(md.deletion_date()),
            rotation: None,
            rotations: Vec::new(),
            tags: BTreeMap::new(),
            policy: None,
        })
    }

    /// GetKeyRotationStatus.
    pub async fn rotation_status(&self, key: &str) -> Result<RotationStatus, CloudError> {
        self.alive()?;
        let s = self
            .kms
            .get_key_rotation_status()
            .key_id(key)
            .send()
            .await
            .map_err(|e| from_sdk("GetKeyRotationStatus", &format!("key {key}"), e))?;
        Ok(RotationStatus {
            enabled: s.key_rotation_enabled(),
            period_days: s.rotation_period_in_days(),
            next: time(s.next_rotation_date()),
            on_demand_started: time(s.on_demand_rotation_start_date()),
        })
    }

    /// ListGrants (paged to the end): each grant as `GRANTEE (OPERATIONS)`.
    pub async fn list_grants(&self, key: &str) -> Result<Vec<String>, CloudError> {
        self.alive()?;
        let mut out = Vec::new();
        let mut marker = None;
        loop {
            let r = self
                .kms
                .list_grants()
                .key_id(key)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| from_sdk("ListGrants", &format!("key {key}"), e))?;
            for g in r.grants() {
                let ops: Vec<&str> = g.operations().iter().map(|o| o.as_str()).collect();
                out.push(format!(
                    "{} ({})",
                    g.grantee_principal().unwrap_or("-"),
                    ops.join(" ")
                ));
            }
            match r.next_marker() {
                Some(m) if r.truncated() && out.len() < 10_000 => marker = Some(m.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }
}
