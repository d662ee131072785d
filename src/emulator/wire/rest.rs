//! restJson1 framing (AWS Backup): the operation comes from the HTTP method and path.

use crate::emulator::error::{ApiError, ApiResult};
use serde_json::{Map, Value};

/// (method, path pattern, operation, success status). `{x}` binds one path segment.
const ROUTES: &[(&str, &str, &str, u16)] = &[
    ("GET", "/backup-vaults/", "ListBackupVaults", 200),
    (
        "GET",
        "/backup-vaults/{BackupVaultName}",
        "DescribeBackupVault",
        200,
    ),
    (
        "GET",
        "/backup-vaults/{BackupVaultName}/access-policy",
        "GetBackupVaultAccessPolicy",
        200,
    ),
    (
        "PUT",
        "/backup-vaults/{BackupVaultName}/access-policy",
        "PutBackupVaultAccessPolicy",
        200,
    ),
    ("GET", "/backup/plans/", "ListBackupPlans", 200),
    ("GET", "/backup-jobs/", "ListBackupJobs", 200),
    (
        "GET",
        "/backup-vaults/{BackupVaultName}/recovery-points/",
        "ListRecoveryPointsByBackupVault",
        200,
    ),
    (
        "GET",
        "/backup-vaults/{BackupVaultName}/recovery-points/{RecoveryPointArn}",
        "DescribeRecoveryPoint",
        200,
    ),
    (
        "GET",
        "/backup-vaults/{BackupVaultName}/recovery-points/{RecoveryPointArn}/restore-metadata",
        "GetRecoveryPointRestoreMetadata",
        200,
    ),
    ("PUT", "/restore-jobs", "StartRestoreJob", 200),
    ("GET", "/restore-jobs/", "ListRestoreJobs", 200),
    (
        "GET",
        "/restore-jobs/{RestoreJobId}",
        "DescribeRestoreJob",
        200,
    ),
    (
        "PUT",
        "/restore-jobs/{RestoreJobId}/validations",
        "PutRestoreValidationResult",
        204,
    ),
    (
        "GET",
        "/restore-testing/plans",
        "ListRestoreTestingPlans",
        200,
    ),
    (
        "GET",
        "/restore-testing/plans/{RestoreTestingPlanName}",
        "GetRestoreTestingPlan",
        200,
    ),
    (
        "PUT",
        "/restore-testing/plans",
        "CreateRestoreTestingPlan",
        201,
    ),
    (
        "DELETE",
        "/restore-testing/plans/{RestoreTestingPlanName}",
        "DeleteRestoreTestingPlan",
        204,
    ),
    (
        "PUT",
        "/restore-testing/plans/{RestoreTestingPlanName}/selections",
        "CreateRestoreTestingSelection",
        201,
    ),
    (
        "DELETE",
        "/restore-testing/plans/{RestoreTestingPlanName}/selections/{RestoreTestingSelectionName}",
        "DeleteRestoreTestingSelection",
        204,
    ),
    (
        "GET",
        "/restore-testing/plans/{RestoreTestingPlanName}/selections",
        "ListRestoreTestingSelections",
        200,
    ),
    (
        "GET",
        "/restore-testing/plans/{RestoreTestingPlanName}/selections/{RestoreTestingSelectionName}",
        "GetRestoreTestingSelection",
        200,
    ),
    (
        "GET",
        "/restore-jobs/{RestoreJobId}/metadata",
        "GetRestoreJobMetadata",
        200,
    ),
    (
        "GET",
        "/resources/{ResourceArn}/recovery-points/",
        "ListRecoveryPointsByResource",
        200,
    ),
    ("GET", "/resources/", "ListProtectedResources", 200),
    ("GET", "/backup/plans/{BackupPlanId}/", "GetBackupPlan", 200),
    (
        "GET",
        "/backup/plans/{BackupPlanId}/selections/",
        "ListBackupSelections",
        200,
    ),
    (
        "GET",
        "/backup/plans/{BackupPlanId}/selections/{SelectionId}",
        "GetBackupSelection",
        200,
    ),
];

/// A routed REST request: the operation, its success status, and one input object that merges
/// path labels, query parameters (first letter upper-cased) and the JSON body.
#[derive(Debug)]
pub struct Routed {
    pub operation: &'static str,
    pub status: u16,
    pub input: Value,
}

fn decode(seg: &str) -> String {
    percent_decode(seg)
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    // Bytes, not string slices: `%` followed by a multi-byte character must not split it.
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn match_route(pattern: &str, path: &str) -> Option<Vec<(String, String)>> {
    let p: Vec<&str> = pattern.split('/').collect();
    let a: Vec<&str> = path.split('/').collect();
    // Accept a path with or without the trailing slash the model writes.
    let a: Vec<&str> = if a.len() == p.len() + 1 && a.last() == Some(&"") {
        a[..p.len()].to_vec()
    } else {
        a
    };
    let p: Vec<&str> = if p.len() == a.len() + 1 && p.last() == Some(&"") {
        p[..a.len()].to_vec()
    } else {
        p
    };
    if p.len() != a.len() {
        return None;
    }
    let mut labels = Vec::new();
    for (ps, s) in p.iter().zip(a.iter()) {
        if let Some(name) = ps.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
            if s.is_empty() {
                return None;
            }
            labels.push((name.to_string(), decode(s)));
        } else if ps != s {
            return None;
        }
    }
    Some(labels)
}

pub fn route(method: &str, path: &str, query: &str, body: &[u8]) -> ApiResult<Routed> {
    for (m, pattern, op, status) in ROUTES {
        if *m != method {
            continue;
        }
        if let Some(labels) = match_route(pattern, path) {
            let mut input = if body.iter().all(|b| b.is_ascii_whitespace()) {
                Map::new()
            } else {
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(m)) => m,
                    _ => {
                        return Err(ApiError::client(
                            "SerializationException",
                            "The request body is not a valid JSON object",
                        ));
                    }
                }
            };
            for (k, v) in form_urlencoded::parse(query.as_bytes()) {
                let mut c = k.chars();
                let key = match c.next() {
                    Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                    None => continue,
                };
                input.insert(key, Value::String(v.into_owned()));
            }
            for (k, v) in labels {
                input.insert(k, Value::String(v));
            }
            return Ok(Routed {
                operation: op,
                status: *status,
                input: Value::Object(input),
            });
        }
    }
    Err(ApiError::new(
        404,
        "UnknownOperationException",
        format!("No AWS Backup operation at {method} {path}"),
    ))
}

pub fn error_body(err: &ApiError) -> String {
    serde_json::json!({ "Code": err.code, "Message": err.message, "message": err.message })
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_selection_resource_and_restore_testing_routes() {
        let op = |m: &str, p: &str, q: &str| route(m, p, q, b"").unwrap();
        assert_eq!(op("GET", "/backup/plans/", "").operation, "ListBackupPlans");
        let r = op("GET", "/backup/plans/p1/", "versionId=v2");
        assert_eq!(
            (r.operation, &r.input["BackupPlanId"], &r.input["VersionId"]),
            ("GetBackupPlan", &Value::from("p1"), &Value::from("v2"))
        );
        assert_eq!(
            op("GET", "/backup/plans/p1/selections/", "").operation,
            "ListBackupSelections"
        );
        let r = op("GET", "/backup/plans/p1/selections/s1", "");
        assert_eq!(
            (r.operation, &r.input["SelectionId"]),
            ("GetBackupSelection", &Value::from("s1"))
        );
        assert_eq!(
            op("GET", "/resources/", "maxResults=2").input["MaxResults"],
            "2"
        );
        // A table ARN has a '/': one path segment, percent-encoded.
        let r = op(
            "GET",
            "/resources/arn%3Aaws%3Adynamodb%3Aus-east-1%3A1%3Atable%2Ft1/recovery-points/",
            "",
        );
        assert_eq!(r.operation, "ListRecoveryPointsByResource");
        assert_eq!(
            r.input["ResourceArn"],
            "arn:aws:dynamodb:us-east-1:1:table/t1"
        );
        assert_eq!(
            op("GET", "/restore-jobs/J1/metadata", "").operation,
            "GetRestoreJobMetadata"
        );
        assert_eq!(
            op("GET", "/restore-testing/plans", "").operation,
            "ListRestoreTestingPlans"
        );
        assert_eq!(
            op("GET", "/restore-testing/plans/rt", "").operation,
            "GetRestoreTestingPlan"
        );
        assert_eq!(
            op(
                "GET",
                "/restore-testing/plans/rt/selections",
                "MaxResults=1"
            )
            .operation,
            "ListRestoreTestingSelections"
        );
        let r = op("GET", "/restore-testing/plans/rt/selections/s", "");
        assert_eq!(r.operation, "GetRestoreTestingSelection");
        assert_eq!(r.input["RestoreTestingSelectionName"], "s");
    }

    #[test]
    fn routes_labels_and_query() {
        let r = route(
            "GET",
            "/backup-vaults/v1/recovery-points/arn%3Aaws%3Abackup%3Aus-east-1%3A1%3Arecovery-point%3Aabc/restore-metadata",
            "",
            b"",
        )
        .unwrap();
        assert_eq!(r.operation, "GetRecoveryPointRestoreMetadata");
        assert_eq!(
            r.input["RecoveryPointArn"],
            "arn:aws:backup:us-east-1:1:recovery-point:abc"
        );
        let r = route("GET", "/backup-vaults/", "maxResults=5&nextToken=x", b"").unwrap();
        assert_eq!(r.operation, "ListBackupVaults");
        assert_eq!(r.input["MaxResults"], "5");
        assert_eq!(
            route("PUT", "/restore-jobs/j1/validations", "", b"{}")
                .unwrap()
                .status,
            204
        );
        assert!(route("DELETE", "/nope", "", b"").is_err());
    }
}
