//! KMS (awsJson 1.1): keys (symmetric, HMAC, and metadata-only asymmetric), aliases, key
//! policies, tags, key state (enable/disable, scheduled deletion), automatic rotation with a
//! period and `NextRotationDate`, on-demand rotation with a per-key quota, rotation history,
//! and real cryptography: Encrypt/Decrypt/GenerateDataKey are AES-256-GCM under versioned key
//! material (old ciphertexts keep decrypting after a rotation), GenerateMac/VerifyMac are HMAC.

use super::Ctx;
use crate::emulator::crypto;
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::util::{epoch, random_bytes, uuid};
use crate::emulator::wire::json::JsonInput;
use crate::emulator::world::World;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// On-demand rotations allowed per key over its lifetime.
pub const ON_DEMAND_ROTATION_QUOTA: usize = 10;
/// How long an on-demand rotation stays "in progress" (emulated time).
pub const ON_DEMAND_ROTATION_SECONDS: i64 = 60;
pub const DEFAULT_ROTATION_DAYS: i64 = 365;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
    PendingImport,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationType {
    Automatic,
    OnDemand,
}

#[derive(Debug, Clone)]
pub struct Rotation {
    pub date: DateTime<Utc>,
    pub kind: RotationType,
}

#[derive(Debug, Clone)]
pub struct KmsKey {
    pub id: String,
    pub arn: String,
    pub description: String,
    pub created: DateTime<Utc>,
    /// `SYMMETRIC_DEFAULT`, `HMAC_256`, `RSA_2048`, `ECC_NIST_P256`, …
    pub spec: String,
    /// `ENCRYPT_DECRYPT`, `GENERATE_VERIFY_MAC`, `SIGN_VERIFY`.
    pub usage: String,
    /// `AWS_KMS`, `EXTERNAL`, `AWS_CLOUDHSM`.
    pub origin: String,
    pub custom_key_store_id: Option<String>,
    /// `CUSTOMER` or `AWS`.
    pub manager: String,
    pub state: KeyState,
    pub deletion_date: Option<DateTime<Utc>>,
    pub pending_window_days: Option<i64>,
    pub policy: String,
    pub tags: Vec<(String, String)>,
    pub rotation_enabled: bool,
    pub rotation_period_days: i64,
    pub next_rotation: Option<DateTime<Utc>>,
    pub on_demand_started: Option<DateTime<Utc>>,
    pub rotations: Vec<Rotation>,
    /// Key material versions; the last one encrypts, all of them decrypt.
    pub material: Vec<[u8; 32]>,
}

impl KmsKey {
    /// A customer-managed key of the given spec in `region`/`account`, material from `material`.
    pub fn new(
        id: &str,
        region: &str,
        account: &str,
        spec: &str,
        created: DateTime<Utc>,
        material: [u8; 32],
    ) -> KmsKey {
        let usage = match spec {
            "HMAC_224" | "HMAC_256" | "HMAC_384" | "HMAC_512" => "GENERATE_VERIFY_MAC",
            s if s.starts_with("ECC") => "SIGN_VERIFY",
            _ => "ENCRYPT_DECRYPT",
        };
        KmsKey {
            id: id.to_string(),
            arn: format!("arn:aws:kms:{region}:{account}:key/{id}"),
            description: String::new(),
            created,
            spec: spec.to_string(),
            usage: usage.to_string(),
            origin: "AWS_KMS".into(),
            custom_key_store_id: None,
            manager: "CUSTOMER".into(),
            state: KeyState::Enabled,
            deletion_date: None,
            pending_window_days: None,
            policy: default_policy(account),
            tags: Vec::new(),
            rotation_enabled: false,
            rotation_period_days: DEFAULT_ROTATION_DAYS,
            next_rotation: None,
            on_demand_started: None,
            rotations: Vec::new(),
            material: vec![material],
        }
    }

    pub fn is_symmetric(&self) -> bool {
        self.spec == "SYMMETRIC_DEFAULT"
    }
    pub fn is_hmac(&self) -> bool {
        self.spec.starts_with("HMAC_")
    }
}

#[derive(Debug, Clone)]
pub struct Alias {
    pub name: String,
    pub target: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct KmsState {
    /// Keys by key id.
    pub keys: BTreeMap<String, KmsKey>,
    /// Aliases by alias name (`alias/…`).
    pub aliases: BTreeMap<String, Alias>,
    /// Grants, oldest first.
    pub grants: Vec<Grant>,
}

/// A grant on a key (CreateGrant / ListGrants).
#[derive(Debug, Clone)]
pub struct Grant {
    pub key_id: String,
    pub grant_id: String,
    pub name: String,
    pub grantee: String,
    pub retiring: Option<String>,
    pub operations: Vec<String>,
    pub created: DateTime<Utc>,
}

/// The grant operations KMS accepts.
pub const GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
];

impl KmsState {
    pub fn insert_key(&mut self, key: KmsKey) {
        self.keys.insert(key.id.clone(), key);
    }
    pub fn insert_alias(&mut self, name: &str, target_id: &str, now: DateTime<Utc>) {
        self.aliases.insert(
            name.to_string(),
            Alias {
                name: name.to_string(),
                target: target_id.to_string(),
                created: now,
                updated: now,
            },
        );
    }
    /// The key id for a key id, key ARN, alias name or alias ARN.
    pub fn resolve(&self, key: &str) -> Option<String> {
        let key = key.trim();
        if let Some(rest) = key.strip_prefix("arn:") {
            let resource = rest.splitn(5, ':').nth(4)?;
            if let Some(id) = resource.strip_prefix("key/") {
                return self.keys.contains_key(id).then(|| id.to_string());
            }
            if resource.starts_with("alias/") {
                return self.aliases.get(resource).map(|a| a.target.clone());
            }
            return None;
        }
        if key.starts_with("alias/") {
            return self.aliases.get(key).map(|a| a.target.clone());
        }
        self.keys.contains_key(key).then(|| key.to_string())
    }
}

/// The ARN of a key named by id, ARN or alias (the input itself when unknown).
pub fn key_arn_for(w: &World, key: &str) -> String {
    match w.kms.resolve(key).and_then(|id| w.kms.keys.get(&id)) {
        Some(k) => k.arn.clone(),
        None => key.to_string(),
    }
}

pub fn default_policy(account: &str) -> String {
    serde_json::to_string_pretty(&json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:aws:iam::{account}:root") },
            "Action": "kms:*",
            "Resource": "*"
        }]
    }))
    .unwrap_or_default()
}

/// Scheduled work: automatic rotations that fell due, finished on-demand rotations, and keys
/// whose deletion window ended.
pub fn tick(w: &mut World, now: DateTime<Utc>) {
    let mut deleted = Vec::new();
    for key in w.kms.keys.values_mut() {
        if let Some(started) = key.on_demand_started
            && now >= started + Duration::seconds(ON_DEMAND_ROTATION_SECONDS)
        {
            let done = started + Duration::seconds(ON_DEMAND_ROTATION_SECONDS);
            key.material.push(random_bytes::<32>());
            key.rotations.push(Rotation {
                date: done,
                kind: RotationType::OnDemand,
            });
            key.on_demand_started = None;
        }
        if key.rotation_enabled && key.state == KeyState::Enabled {
            while let Some(next) = key.next_rotation {
                if next > now {
                    break;
                }
                key.material.push(random_bytes::<32>());
                key.rotations.push(Rotation {
                    date: next,
                    kind: RotationType::Automatic,
                });
                key.next_rotation = Some(next + Duration::days(key.rotation_period_days));
            }
        }
        if key.state == KeyState::PendingDeletion && key.deletion_date.is_some_and(|d| d <= now) {
            deleted.push(key.id.clone());
        }
    }
    for id in deleted {
        w.kms.keys.remove(&id);
        w.kms.aliases.retain(|_, a| a.target != id);
    }
}

fn not_found(key: &str) -> ApiError {
    ApiError::client("NotFoundException", format!("Key '{key}' does not exist"))
}

fn unsupported(msg: impl Into<String>) -> ApiError {
    ApiError::client("UnsupportedOperationException", msg)
}

fn invalid_state(key: &KmsKey) -> ApiError {
    ApiError::client(
        "KMSInvalidStateException",
        format!("{} is {}", key.arn, key.state.as_str()),
    )
}

fn key_id_of(w: &World, input: &Value) -> ApiResult<String> {
    let k = input.str_req("KeyId")?;
    if k.is_empty() || k.len() > 2048 {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'keyId' failed to satisfy constraint: Member must have length between 1 and 2048",
        ));
    }
    w.kms.resolve(k).ok_or_else(|| {
        if k.contains("alias/") {
            ApiError::client(
                "NotFoundException",
                format!("Alias {} is not found.", alias_arn(w, k)),
            )
        } else {
            not_found(k)
        }
    })
}

fn alias_arn(w: &World, name: &str) -> String {
    if name.starts_with("arn:") {
        name.to_string()
    } else {
        format!("arn:aws:kms:{}:{}:{}", w.region, w.account_id, name)
    }
}

/// A key that must be usable for cryptographic operations.
fn usable<'a>(w: &'a World, id: &str) -> ApiResult<&'a KmsKey> {
    let key = w.kms.keys.get(id).ok_or_else(|| not_found(id))?;
    match key.state {
        KeyState::Enabled => Ok(key),
        KeyState::Disabled => Err(ApiError::client(
            "DisabledException",
            format!("{} is disabled.", key.arn),
        )),
        _ => Err(invalid_state(key)),
    }
}

/// A customer-managed key whose configuration may be changed.
fn customer_key<'a>(w: &'a mut World, id: &str) -> ApiResult<&'a mut KmsKey> {
    let key = w.kms.keys.get_mut(id).ok_or_else(|| not_found(id))?;
    if key.manager != "CUSTOMER" {
        return Err(unsupported(format!(
            "{} is an AWS managed key; its configuration cannot be changed",
            key.arn
        )));
    }
    Ok(key)
}

fn limit(input: &Value, max: i64, default: i64) -> ApiResult<usize> {
    match input.int_opt("Limit")? {
        None => Ok(default as usize),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value between 1 and {max}"
        ))),
    }
}

/// Pages `items` by an opaque marker (the base64 of the next offset).
fn page<T: Clone>(
    items: &[T],
    input: &Value,
    max: i64,
    default: i64,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let n = limit(input, max, default)?;
    let start = match input.str_opt("Marker") {
        None => 0,
        Some(m) => B64
            .decode(m)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.strip_prefix("offset:")
                    .and_then(|x| x.parse::<usize>().ok())
            })
            .filter(|o| *o <= items.len())
            .ok_or_else(|| ApiError::client("InvalidMarkerException", "The marker is not valid"))?,
    };
    let end = (start + n).min(items.len());
    let next = (end < items.len()).then(|| B64.encode(format!("offset:{end}")));
    Ok((items[start..end].to_vec(), next))
}

fn paged(mut out: Value, next: Option<String>) -> Value {
    out["Truncated"] = json!(next.is_some());
    if let Some(m) = next {
        out["NextMarker"] = json!(m);
    }
    out
}

/// A stable identifier for version `version` of a key's material (AWS shows a 64-hex id).
pub fn material_id(k: &KmsKey, version: usize) -> String {
    crypto::sha256_hex(format!("{}:{version}", k.id).as_bytes())
}

pub fn metadata(w: &World, k: &KmsKey) -> Value {
    let mut m = json!({
        "AWSAccountId": w.account_id,
        "KeyId": k.id,
        "Arn": k.arn,
        "CreationDate": epoch(k.created),
        "Enabled": k.state == KeyState::Enabled,
        "Description": k.description,
        "KeyUsage": k.usage,
        "KeyState": k.state.as_str(),
        "Origin": k.origin,
        "KeyManager": k.manager,
        "CustomerMasterKeySpec": k.spec,
        "KeySpec": k.spec,
        "MultiRegion": false,
    });
    if k.is_symmetric() {
        m["EncryptionAlgorithms"] = json!(["SYMMETRIC_DEFAULT"]);
        if !k.material.is_empty() {
            m["CurrentKeyMaterialId"] = json!(material_id(k, k.material.len() - 1));
        }
    } else if k.is_hmac() {
        m["MacAlgorithms"] = json!([format!("HMAC_SHA_{}", &k.spec[5..])]);
    } else if k.spec.starts_with("RSA") && k.usage == "ENCRYPT_DECRYPT" {
        m["EncryptionAlgorithms"] = json!(["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]);
    } else if k.spec.starts_with("RSA") {
        m["SigningAlgorithms"] = json!(["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PSS_SHA_256"]);
    } else {
        m["SigningAlgorithms"] = json!(["ECDSA_SHA_256"]);
    }
    if let Some(d) = k.deletion_date {
        m["DeletionDate"] = json!(epoch(d));
        m["PendingDeletionWindowInDays"] = json!(k.pending_window_days.unwrap_or(30));
    }
    if let Some(s) = &k.custom_key_store_id {
        m["CustomKeyStoreId"] = json!(s);
        m["CloudHsmClusterId"] = json!("cluster-emulated");
    }
    m
}

fn blob(input: &Value, name: &str, max: usize) -> ApiResult<Vec<u8>> {
    let s = input.str_req(name)?;
    let b = B64.decode(s).map_err(|_| {
        ApiError::client(
            "SerializationException",
            format!("'{name}' is not valid base64"),
        )
    })?;
    if b.is_empty() || b.len() > max {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must have length between 1 and {max}",
            crate::emulator::wire::json::lower_first(name)
        )));
    }
    Ok(b)
}

/// The encryption context as canonical bytes (sorted keys), used as AES-GCM associated data.
fn context_aad(input: &Value) -> ApiResult<Vec<u8>> {
    let mut ctx = BTreeMap::new();
    if let Some(m) = input.obj("EncryptionContext") {
        for (k, v) in m {
            let v = v.as_str().ok_or_else(|| {
                ApiError::client(
                    "SerializationException",
                    "EncryptionContext values must be strings",
                )
            })?;
            ctx.insert(k.clone(), v.to_string());
        }
    }
    Ok(serde_json::to_vec(&ctx).unwrap_or_default())
}

const MAGIC: &[u8; 4] = b"PHK1";

fn encrypt_with(key: &KmsKey, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let version = (key.material.len() - 1) as u32;
    let mut out = MAGIC.to_vec();
    out.push(key.id.len() as u8);
    out.extend_from_slice(key.id.as_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    let mut full_aad = key.id.as_bytes().to_vec();
    full_aad.extend_from_slice(aad);
    out.extend(crypto::seal(
        &key.material[version as usize],
        &full_aad,
        plaintext,
    ));
    out
}

/// (key id, material version, sealed bytes) of one of our ciphertext blobs.
fn parse_ciphertext(blob: &[u8]) -> Option<(String, usize, &[u8])> {
    let rest = blob.strip_prefix(MAGIC.as_slice())?;
    let (&len, rest) = rest.split_first()?;
    let len = len as usize;
    if rest.len() < len + 4 {
        return None;
    }
    let id = String::from_utf8(rest[..len].to_vec()).ok()?;
    let version = u32::from_be_bytes(rest[len..len + 4].try_into().ok()?) as usize;
    Some((id, version, &rest[len + 4..]))
}

fn invalid_ciphertext() -> ApiError {
    ApiError::client(
        "InvalidCiphertextException",
        "The ciphertext is invalid or was not encrypted under this key and encryption context",
    )
}

fn mac_algorithm_for(key: &KmsKey) -> String {
    format!("HMAC_SHA_{}", key.spec.trim_start_matches("HMAC_"))
}

fn mac_key(w: &World, input: &Value) -> ApiResult<(KmsKey, Vec<u8>)> {
    let id = key_id_of(w, input)?;
    let key = usable(w, &id)?.clone();
    if !key.is_hmac() {
        return Err(ApiError::client(
            "InvalidKeyUsageException",
            format!(
                "{} key usage is {}, not GENERATE_VERIFY_MAC",
                key.arn, key.usage
            ),
        ));
    }
    let alg = input.str_req("MacAlgorithm")?;
    if alg != mac_algorithm_for(&key) {
        return Err(ApiError::client(
            "InvalidKeyUsageException",
            format!(
                "{alg} is not supported by {} (use {})",
                key.arn,
                mac_algorithm_for(&key)
            ),
        ));
    }
    let message = blob(input, "Message", 4096)?;
    Ok((key, message))
}

fn validate_period(input: &Value) -> ApiResult<i64> {
    match input.int_opt("RotationPeriodInDays")? {
        None => Ok(DEFAULT_ROTATION_DAYS),
        Some(d) if (90..=2560).contains(&d) => Ok(d),
        Some(d) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{d}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value between 90 and 2560"
        ))),
    }
}

/// Why automatic or on-demand rotation is not supported for this key, if it is not.
fn rotation_unsupported(key: &KmsKey) -> Option<ApiError> {
    if !key.is_symmetric() {
        return Some(unsupported(format!(
            "{} has key spec {}; only symmetric encryption keys can be rotated",
            key.arn, key.spec
        )));
    }
    if key.origin == "EXTERNAL" {
        return Some(unsupported(format!(
            "{} has imported key material; rotate it manually",
            key.arn
        )));
    }
    if key.custom_key_store_id.is_some() {
        return Some(unsupported(format!(
            "{} is in a custom key store, which does not support rotation",
            key.arn
        )));
    }
    None
}

fn rotation_precheck(key: &KmsKey) -> ApiResult<()> {
    if let Some(e) = rotation_unsupported(key) {
        return Err(e);
    }
    match key.state {
        KeyState::Enabled => Ok(()),
        KeyState::Disabled => Err(ApiError::client(
            "DisabledException",
            format!("{} is disabled.", key.arn),
        )),
        _ => Err(invalid_state(key)),
    }
}

fn tags_of(input: &Value) -> ApiResult<Vec<(String, String)>> {
    input
        .arr("Tags")
        .iter()
        .map(|t| {
            let k = t
                .str_opt("TagKey")
                .ok_or_else(|| ApiError::missing("tags.member.tagKey"))?;
            let v = t.str_opt("TagValue").unwrap_or("");
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

pub fn handle(w: &mut World, ctx: &Ctx, op: &str, input: &Value) -> ApiResult<Value> {
    let now = ctx.now;
    match op {
        "CreateKey" => {
            let spec = input
                .str_opt("KeySpec")
                .or_else(|| input.str_opt("CustomerMasterKeySpec"))
                .unwrap_or("SYMMETRIC_DEFAULT")
                .to_string();
            const SPECS: &[&str] = &[
                "SYMMETRIC_DEFAULT",
                "HMAC_256",
                "RSA_2048",
                "RSA_3072",
                "RSA_4096",
                "ECC_NIST_P256",
                "ECC_NIST_P384",
                "ECC_NIST_P521",
                "ECC_SECG_P256K1",
            ];
            if !SPECS.contains(&spec.as_str()) {
                return Err(ApiError::validation(format!("KeySpec {spec} is not valid")));
            }
            let mut key = KmsKey::new(
                &uuid(),
                &w.region,
                &w.account_id,
                &spec,
                now,
                random_bytes::<32>(),
            );
            if let Some(u) = input.str_opt("KeyUsage") {
                let ok = match u {
                    "ENCRYPT_DECRYPT" => spec == "SYMMETRIC_DEFAULT" || spec.starts_with("RSA"),
                    "SIGN_VERIFY" => spec.starts_with("RSA") || spec.starts_with("ECC"),
                    "GENERATE_VERIFY_MAC" => spec.starts_with("HMAC"),
                    _ => false,
                };
                if !ok {
                    return Err(ApiError::validation(format!(
                        "KeyUsage {u} is not compatible with KeySpec {spec}"
                    )));
                }
                key.usage = u.to_string();
            }
            match input.str_opt("Origin").unwrap_or("AWS_KMS") {
                "AWS_KMS" => {}
                "EXTERNAL" => {
                    key.origin = "EXTERNAL".into();
                    key.state = KeyState::PendingImport;
                    key.material.clear();
                }
                "AWS_CLOUDHSM" => {
                    let store = input.str_opt("CustomKeyStoreId").ok_or_else(|| {
                        ApiError::validation(
                            "CustomKeyStoreId is required when Origin is AWS_CLOUDHSM",
                        )
                    })?;
                    key.origin = "AWS_CLOUDHSM".into();
                    key.custom_key_store_id = Some(store.to_string());
                }
                o => return Err(ApiError::validation(format!("Origin {o} is not valid"))),
            }
            if let Some(p) = input.str_opt("Policy") {
                serde_json::from_str::<Value>(p).map_err(|_| {
                    ApiError::client(
                        "MalformedPolicyDocumentException",
                        "The key policy is not valid JSON",
                    )
                })?;
                key.policy = p.to_string();
            }
            key.description = input.str_opt("Description").unwrap_or("").to_string();
            key.tags = tags_of(input)?;
            let out = json!({ "KeyMetadata": metadata(w, &key) });
            w.kms.insert_key(key);
            Ok(out)
        }
        "DescribeKey" => {
            let id = key_id_of(w, input)?;
            Ok(json!({ "KeyMetadata": metadata(w, &w.kms.keys[&id]) }))
        }
        "ListKeys" => {
            let all: Vec<Value> = w
                .kms
                .keys
                .values()
                .map(|k| json!({ "KeyId": k.id, "KeyArn": k.arn }))
                .collect();
            let (items, next) = page(&all, input, 1000, 100)?;
            Ok(paged(json!({ "Keys": items }), next))
        }
        "CreateAlias" => {
            let name = input.str_req("AliasName")?.to_string();
            let valid = name.starts_with("alias/")
                && name.len() > 6
                && name.len() <= 256
                && name[6..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c));
            if !valid {
                return Err(ApiError::validation(format!(
                    "Alias name {name} is not valid: it must begin with alias/ followed by letters, digits, /, _ or -"
                )));
            }
            if name.starts_with("alias/aws/") {
                return Err(ApiError::client(
                    "NotAuthorizedException",
                    "alias/aws/ is reserved for AWS managed keys",
                ));
            }
            if w.kms.aliases.contains_key(&name) {
                return Err(ApiError::client(
                    "AlreadyExistsException",
                    format!(
                        "An alias with the name {} already exists",
                        alias_arn(w, &name)
                    ),
                ));
            }
            let target = input.str_req("TargetKeyId")?;
            let id = w
                .kms
                .resolve(target)
                .filter(|_| !target.contains("alias/"))
                .ok_or_else(|| not_found(target))?;
            if w.kms.keys[&id].manager != "CUSTOMER" {
                return Err(unsupported("An alias cannot point to an AWS managed key"));
            }
            w.kms.insert_alias(&name, &id, now);
            Ok(json!({}))
        }
        "ListAliases" => {
            let filter = match input.str_opt("KeyId") {
                Some(_) => Some(key_id_of(w, input)?),
                None => None,
            };
            let all: Vec<Value> = w
                .kms
                .aliases
                .values()
                .filter(|a| filter.as_ref().is_none_or(|f| &a.target == f))
                .map(|a| {
                    json!({
                        "AliasName": a.name,
                        "AliasArn": alias_arn(w, &a.name),
                        "TargetKeyId": a.target,
                        "CreationDate": epoch(a.created),
                        "LastUpdatedDate": epoch(a.updated),
                    })
                })
                .collect();
            let (items, next) = page(&all, input, 100, 50)?;
            Ok(paged(json!({ "Aliases": items }), next))
        }
        "GetKeyPolicy" => {
            let id = key_id_of(w, input)?;
            let name = input.str_opt("PolicyName").unwrap_or("default");
            if name != "default" {
                return Err(ApiError::client(
                    "NotFoundException",
                    format!("Policy {name} does not exist"),
                ));
            }
            Ok(json!({ "Policy": w.kms.keys[&id].policy, "PolicyName": "default" }))
        }
        "PutKeyPolicy" => {
            let id = key_id_of(w, input)?;
            let p = input.str_req("Policy")?.to_string();
            serde_json::from_str::<Value>(&p).map_err(|_| {
                ApiError::client(
                    "MalformedPolicyDocumentException",
                    "The key policy is not valid JSON",
                )
            })?;
            customer_key(w, &id)?.policy = p;
            Ok(json!({}))
        }
        "ListResourceTags" => {
            let id = key_id_of(w, input)?;
            let all: Vec<Value> = w.kms.keys[&id]
                .tags
                .iter()
                .map(|(k, v)| json!({ "TagKey": k, "TagValue": v }))
                .collect();
            let (items, next) = page(&all, input, 50, 50)?;
            Ok(paged(json!({ "Tags": items }), next))
        }
        "TagResource" => {
            let id = key_id_of(w, input)?;
            let tags = tags_of(input)?;
            let key = customer_key(w, &id)?;
            for (k, v) in tags {
                key.tags.retain(|(x, _)| *x != k);
                key.tags.push((k, v));
            }
            Ok(json!({}))
        }
        "EnableKey" | "DisableKey" => {
            let id = key_id_of(w, input)?;
            let key = customer_key(w, &id)?;
            match key.state {
                KeyState::Enabled | KeyState::Disabled => {
                    key.state = if op == "EnableKey" {
                        KeyState::Enabled
                    } else {
                        KeyState::Disabled
                    };
                    Ok(json!({}))
                }
                _ => Err(invalid_state(key)),
            }
        }
        "ScheduleKeyDeletion" => {
            let id = key_id_of(w, input)?;
            let days = match input.int_opt("PendingWindowInDays")? {
                None => 30,
                Some(d) if (7..=30).contains(&d) => d,
                Some(d) => {
                    return Err(ApiError::validation(format!(
                        "1 validation error detected: Value '{d}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30"
                    )));
                }
            };
            let key = customer_key(w, &id)?;
            if key.state == KeyState::PendingDeletion {
                return Err(invalid_state(key));
            }
            key.state = KeyState::PendingDeletion;
            key.deletion_date = Some(now + Duration::days(days));
            key.pending_window_days = Some(days);
            Ok(json!({
                "KeyId": key.arn,
                "DeletionDate": epoch(now + Duration::days(days)),
                "KeyState": "PendingDeletion",
                "PendingWindowInDays": days,
            }))
        }
        "CancelKeyDeletion" => {
            let id = key_id_of(w, input)?;
            let key = customer_key(w, &id)?;
            if key.state != KeyState::PendingDeletion {
                return Err(invalid_state(key));
            }
            key.state = KeyState::Disabled;
            key.deletion_date = None;
            key.pending_window_days = None;
            Ok(json!({ "KeyId": key.arn }))
        }
        "EnableKeyRotation" => {
            let id = key_id_of(w, input)?;
            let period = validate_period(input)?;
            let key = customer_key(w, &id)?;
            rotation_precheck(key)?;
            let anchor = if key.rotation_enabled {
                key.rotations.last().map(|r| r.date).unwrap_or(key.created)
            } else {
                now
            };
            let mut next = anchor + Duration::days(period);
            if next <= now {
                next = now + Duration::days(1);
            }
            key.rotation_enabled = true;
            key.rotation_period_days = period;
            key.next_rotation = Some(next);
            Ok(json!({}))
        }
        "DisableKeyRotation" => {
            let id = key_id_of(w, input)?;
            let key = customer_key(w, &id)?;
            rotation_precheck(key)?;
            key.rotation_enabled = false;
            key.next_rotation = None;
            Ok(json!({}))
        }
        "GetKeyRotationStatus" => {
            let id = key_id_of(w, input)?;
            let key = &w.kms.keys[&id];
            if let Some(e) = rotation_unsupported(key) {
                return Err(e);
            }
            if key.state == KeyState::PendingDeletion {
                return Err(invalid_state(key));
            }
            let mut out = json!({ "KeyRotationEnabled": key.rotation_enabled, "KeyId": key.arn });
            if key.rotation_enabled {
                out["RotationPeriodInDays"] = json!(key.rotation_period_days);
                if let Some(n) = key.next_rotation {
                    out["NextRotationDate"] = json!(epoch(n));
                }
            }
            if let Some(s) = key.on_demand_started {
                out["OnDemandRotationStartDate"] = json!(epoch(s));
            }
            Ok(out)
        }
        "RotateKeyOnDemand" => {
            let id = key_id_of(w, input)?;
            let key = customer_key(w, &id)?;
            rotation_precheck(key)?;
            if key.on_demand_started.is_some() {
                return Err(ApiError::client(
                    "ConflictException",
                    format!(
                        "An on-demand rotation of {} is already in progress",
                        key.arn
                    ),
                ));
            }
            let used = key
                .rotations
                .iter()
                .filter(|r| r.kind == RotationType::OnDemand)
                .count();
            if used >= ON_DEMAND_ROTATION_QUOTA {
                return Err(ApiError::client(
                    "LimitExceededException",
                    format!(
                        "{} has used all {ON_DEMAND_ROTATION_QUOTA} on-demand rotations allowed for a key",
                        key.arn
                    ),
                ));
            }
            key.on_demand_started = Some(now);
            Ok(json!({ "KeyId": key.arn }))
        }
        "CreateGrant" => {
            let id = key_id_of(w, input)?;
            usable(w, &id)?;
            let grantee = input.str_req("GranteePrincipal")?.to_string();
            let ops: Vec<String> = input
                .arr("Operations")
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            if ops.is_empty() {
                return Err(ApiError::validation(
                    "1 validation error detected: Value null at 'operations' failed to satisfy constraint: Member must not be null",
                ));
            }
            if let Some(bad) = ops.iter().find(|o| !GRANT_OPERATIONS.contains(&o.as_str())) {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '[{bad}]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [{}]]",
                    GRANT_OPERATIONS.join(", ")
                )));
            }
            let grant_id = crypto::sha256_hex(
                format!("{id}:{}:{}", w.kms.grants.len(), ctx.request_id).as_bytes(),
            );
            w.kms.grants.push(Grant {
                key_id: id,
                grant_id: grant_id.clone(),
                name: input.str_opt("Name").unwrap_or("").to_string(),
                grantee,
                retiring: input.str_opt("RetiringPrincipal").map(str::to_string),
                operations: ops,
                created: now,
            });
            Ok(
                json!({ "GrantId": grant_id, "GrantToken": B64.encode(format!("token:{grant_id}")) }),
            )
        }
        "ListGrants" => {
            // Any key state: a key pending deletion still lists its grants.
            let id = key_id_of(w, input)?;
            let arn = w.kms.keys[&id].arn.clone();
            let grant_id = input.str_opt("GrantId");
            let grantee = input.str_opt("GranteePrincipal");
            let all: Vec<Value> = w
                .kms
                .grants
                .iter()
                .filter(|g| g.key_id == id)
                .filter(|g| grant_id.is_none_or(|x| x == g.grant_id))
                .filter(|g| grantee.is_none_or(|x| x == g.grantee))
                .map(|g| {
                    let mut v = json!({
                        "KeyId": arn, "GrantId": g.grant_id, "Name": g.name,
                        "CreationDate": epoch(g.created), "GranteePrincipal": g.grantee,
                        "IssuingAccount": format!("arn:aws:iam::{}:root", w.account_id),
                        "Operations": g.operations,
                    });
                    if let Some(r) = &g.retiring {
                        v["RetiringPrincipal"] = json!(r);
                    }
                    v
                })
                .collect();
            let (items, next) = page(&all, input, 100, 50)?;
            Ok(paged(json!({ "Grants": items }), next))
        }
        "ListKeyRotations" => {
            let id = key_id_of(w, input)?;
            let key = &w.kms.keys[&id];
            if let Some(e) = rotation_unsupported(key) {
                return Err(e);
            }
            let current = key.material.len().saturating_sub(1);
            let all: Vec<Value> = key
                .rotations
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    json!({
                        "KeyId": key.arn,
                        "KeyMaterialId": material_id(key, i + 1),
                        "KeyMaterialState": if i + 1 == current { "CURRENT" } else { "NON_CURRENT" },
                        "RotationDate": epoch(r.date),
                        "RotationType": if r.kind == RotationType::OnDemand { "ON_DEMAND" } else { "AUTOMATIC" },
                    })
                })
                .collect();
            let (items, next) = page(&all, input, 1000, 100)?;
            Ok(paged(json!({ "Rotations": items }), next))
        }
        "Encrypt" => {
            let id = key_id_of(w, input)?;
            let key = usable(w, &id)?;
            if !key.is_symmetric() {
                return Err(ApiError::client(
                    "InvalidKeyUsageException",
                    format!("{} cannot encrypt in the emulator", key.arn),
                ));
            }
            let plain = blob(input, "Plaintext", 4096)?;
            let aad = context_aad(input)?;
            Ok(json!({
                "CiphertextBlob": B64.encode(encrypt_with(key, &aad, &plain)),
                "KeyId": key.arn,
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            }))
        }
        "GenerateDataKey" | "GenerateDataKeyWithoutPlaintext" => {
            let id = key_id_of(w, input)?;
            let key = usable(w, &id)?;
            if !key.is_symmetric() {
                return Err(ApiError::client(
                    "InvalidKeyUsageException",
                    format!("{} is not a symmetric encryption key", key.arn),
                ));
            }
            let n = match (input.str_opt("KeySpec"), input.int_opt("NumberOfBytes")?) {
                (Some("AES_256"), None) => 32,
                (Some("AES_128"), None) => 16,
                (None, Some(n)) if (1..=1024).contains(&n) => n as usize,
                (None, Some(_)) => {
                    return Err(ApiError::validation(
                        "NumberOfBytes must be between 1 and 1024",
                    ));
                }
                (Some(s), None) => {
                    return Err(ApiError::validation(format!("KeySpec {s} is not valid")));
                }
                (Some(_), Some(_)) => {
                    return Err(ApiError::validation(
                        "Specify either KeySpec or NumberOfBytes, not both",
                    ));
                }
                (None, None) => {
                    return Err(ApiError::validation(
                        "Specify either KeySpec or NumberOfBytes",
                    ));
                }
            };
            let mut data = vec![0u8; n];
            for chunk in data.chunks_mut(32) {
                let r = random_bytes::<32>();
                chunk.copy_from_slice(&r[..chunk.len()]);
            }
            let aad = context_aad(input)?;
            let mut out = json!({
                "CiphertextBlob": B64.encode(encrypt_with(key, &aad, &data)),
                "KeyId": key.arn,
            });
            if op == "GenerateDataKey" {
                out["Plaintext"] = json!(B64.encode(&data));
            }
            Ok(out)
        }
        "Decrypt" => {
            let ct = blob(input, "CiphertextBlob", 6144)?;
            let (id, version, sealed) = parse_ciphertext(&ct).ok_or_else(invalid_ciphertext)?;
            if let Some(named) = input.str_opt("KeyId") {
                let named_id = key_id_of(w, input).map_err(|_| not_found(named))?;
                if named_id != id {
                    return Err(ApiError::client(
                        "IncorrectKeyException",
                        "The key ID in the request does not identify a KMS key that can perform this operation",
                    ));
                }
            }
            let key = usable(w, &id).map_err(|e| {
                if e.code == "NotFoundException" {
                    invalid_ciphertext()
                } else {
                    e
                }
            })?;
            let material = key.material.get(version).ok_or_else(invalid_ciphertext)?;
            let mut aad = key.id.as_bytes().to_vec();
            aad.extend(context_aad(input)?);
            let plain = crypto::open(material, &aad, sealed).ok_or_else(invalid_ciphertext)?;
            Ok(
                json!({ "KeyId": key.arn, "Plaintext": B64.encode(plain), "EncryptionAlgorithm": "SYMMETRIC_DEFAULT" }),
            )
        }
        "GenerateMac" => {
            let (key, message) = mac_key(w, input)?;
            let mac = crypto::hmac_sha256(&key.material[key.material.len() - 1], &message);
            Ok(
                json!({ "Mac": B64.encode(mac), "MacAlgorithm": mac_algorithm_for(&key), "KeyId": key.arn }),
            )
        }
        "VerifyMac" => {
            let (key, message) = mac_key(w, input)?;
            let mac = blob(input, "Mac", 6144)?;
            let valid = key
                .material
                .iter()
                .any(|m| crypto::hmac_verify_sha256(m, &message, &mac));
            if !valid {
                return Err(ApiError::client(
                    "KMSInvalidMacException",
                    "The MAC is not valid for this message and key",
                ));
            }
            Ok(
                json!({ "KeyId": key.arn, "MacValid": true, "MacAlgorithm": mac_algorithm_for(&key) }),
            )
        }
        _ => Err(ApiError::unknown_operation(op)),
    }
}
