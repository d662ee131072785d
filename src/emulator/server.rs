//! The HTTP front: one listener on 127.0.0.1 serving all six services. It frames requests
//! (see `wire/`), applies faults, authenticates, dispatches to `services/` and records
//! CloudTrail events.

use super::auth::{Scope, check_query_time, request_scope, verify_signature};
use super::error::ApiError;
use super::services::{self, Ctx, Input, Output};
use super::wire::{self, Protocol, Service, json, query, rest, sqs_query};
use super::{Shared, util};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const MAX_BODY: usize = 16 * 1024 * 1024;
/// Longest query string served (awsQuery parameters can all travel in the URL; longer ones
/// belong in a form body). HTTP parsing itself stops at 64 KiB.
const MAX_QUERY: usize = 32 * 1024;

pub(crate) async fn run(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                conns.spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let svc = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(shared, req, peer).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(io, svc).await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
}

struct Framed {
    service: Service,
    /// The protocol this request speaks (SQS: awsJson 1.0, or awsQuery from older clients).
    protocol: Protocol,
    op: String,
    input: Input,
    rest_status: u16,
}

fn frame(
    parts: &http::request::Parts,
    body: &[u8],
    scope: Option<&Scope>,
) -> Result<Framed, (Service, Protocol, ApiError)> {
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    let headers = &parts.headers;
    let is_form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let params = (is_form || query.contains("Action="))
        .then(|| query::Params::parse(body, query).without_auth());
    let version = params.as_ref().and_then(|p| p.get("Version"));
    let service = scope
        .and_then(|s| Service::from_name(&s.service))
        .or_else(|| wire::detect_service(headers, path, version))
        .ok_or_else(|| {
            let protocol = if params.is_some() { Protocol::AwsQuery } else { Service::Sqs.protocol() };
            (Service::Sqs, protocol, ApiError::client("UnknownServiceException", "The request does not name a service the emulator serves (sts, sqs, sns, kms, backup, cloudtrail)"))
        })?;
    // SQS is query-compatible: without an X-Amz-Target, an `Action` parameter (in the body or
    // the URL) means the awsQuery protocol.
    let sqs_query = service == Service::Sqs
        && !headers.contains_key("x-amz-target")
        && params.as_ref().is_some_and(|p| p.get("Action").is_some());
    if sqs_query {
        let params = params.unwrap_or_default();
        let op = params.get("Action").unwrap_or_default().to_string();
        let input =
            sqs_query::to_json(&op, &params, path).map_err(|e| (service, Protocol::AwsQuery, e))?;
        return Ok(Framed {
            service,
            protocol: Protocol::AwsQuery,
            op,
            input: Input::Json(input),
            rest_status: 200,
        });
    }
    let protocol = service.protocol();
    match protocol {
        Protocol::AwsJson10 | Protocol::AwsJson11 => {
            let target = headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let op = match target.rsplit_once('.') {
                Some((prefix, op)) if wire::target_matches(service, prefix) && !op.is_empty() => {
                    op.to_string()
                }
                _ => {
                    return Err((
                        service,
                        protocol,
                        ApiError::client(
                            "UnknownOperationException",
                            format!("Missing or unknown X-Amz-Target '{target}'"),
                        ),
                    ));
                }
            };
            let input = json::parse_body(body).map_err(|e| (service, protocol, e))?;
            Ok(Framed {
                service,
                protocol,
                op,
                input: Input::Json(input),
                rest_status: 200,
            })
        }
        Protocol::AwsQuery => {
            let params = params.unwrap_or_else(|| query::Params::parse(body, query).without_auth());
            let op = params.get("Action").map(str::to_string).ok_or_else(|| {
                (
                    service,
                    protocol,
                    ApiError::client(
                        "MissingAction",
                        "The request must contain the parameter Action",
                    ),
                )
            })?;
            Ok(Framed {
                service,
                protocol,
                op,
                input: Input::Query(params),
                rest_status: 200,
            })
        }
        Protocol::RestJson1 => {
            let r = rest::route(parts.method.as_str(), path, query, body)
                .map_err(|e| (service, protocol, e))?;
            Ok(Framed {
                service,
                protocol,
                op: r.operation.to_string(),
                input: Input::Rest(r.input),
                rest_status: r.status,
            })
        }
    }
}

async fn handle(
    shared: Arc<Shared>,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let request_id = util::uuid();
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return error_response(
                Service::Sqs,
                Service::Sqs.protocol(),
                &ApiError::client(
                    "RequestEntityTooLarge",
                    "The request body is too large or was cut off",
                ),
                &request_id,
            );
        }
    };
    if parts.uri.path().starts_with("/_emulator/") {
        return control(&shared, &parts, &request_id);
    }
    let raw_query = parts.uri.query().unwrap_or("");
    if raw_query.len() > MAX_QUERY {
        return error_response(
            Service::Sqs,
            Protocol::AwsQuery,
            &ApiError::new(
                414,
                "RequestURITooLong",
                format!(
                    "The query string is longer than {MAX_QUERY} bytes; send the parameters in a form body"
                ),
            ),
            &request_id,
        );
    }
    let scope = request_scope(&parts.headers, raw_query);
    let framed = match frame(&parts, &body, scope.as_ref()) {
        Ok(f) => f,
        Err((svc, protocol, e)) => return error_response(svc, protocol, &e, &request_id),
    };
    let Framed {
        service,
        protocol,
        op,
        input,
        rest_status,
    } = framed;

    let decision = shared.faults().decide(service, &op);
    if decision.stall_before {
        shared
            .stalls
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(super::faults::STALL).await;
    }
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    if let Some(e) = decision.error {
        return error_response(service, protocol, &e, &request_id);
    }

    if let Some(s) = &scope
        && let Err(e) = check_query_time(s, shared.clock.now())
    {
        return error_response(service, protocol, &e, &request_id);
    }
    let token = match scope.as_ref().and_then(|s| s.query.as_ref()) {
        Some(q) => q.token.clone(),
        None => parts
            .headers
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    let user_agent = parts
        .headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut poll_deadline: Option<Instant> = None;
    loop {
        let now = shared.clock.now();
        let result = {
            let mut w = shared.world();
            let caller = w.authenticate(
                scope.as_ref().map(|s| s.access_key.as_str()),
                token.as_deref(),
                now,
                protocol,
                |secret| match &scope {
                    Some(s) => verify_signature(
                        s,
                        secret,
                        parts.method.as_str(),
                        parts.uri.path(),
                        parts.uri.query().unwrap_or(""),
                        &parts.headers,
                        &body,
                    ),
                    None => false,
                },
            );
            let caller = match caller {
                Ok(c) => c,
                Err(e) => return error_response(service, protocol, &e, &request_id),
            };
            let region = scope
                .as_ref()
                .map(|s| s.region.clone())
                .unwrap_or_else(|| w.region.clone());
            let ctx = Ctx {
                request_id: request_id.clone(),
                now,
                region,
                caller,
                user_agent: user_agent.clone(),
                source_ip: peer.ip().to_string(),
                batch_failure_rate: decision.batch_failure_rate,
            };
            let result = services::dispatch(&mut w, &ctx, service, &op, &input);
            // Long polling: an empty ReceiveMessage with a wait comes back as a marker.
            let wait = match &result {
                Ok(Output::Json(v)) => v.get("__wait_seconds").and_then(|x| x.as_f64()),
                _ => None,
            };
            match wait {
                Some(secs) if poll_deadline.is_none_or(|d| Instant::now() < d) => {
                    poll_deadline
                        .get_or_insert_with(|| Instant::now() + Duration::from_secs_f64(secs));
                    None
                }
                _ => {
                    let response = match &result {
                        Ok(Output::Json(v)) | Ok(Output::Rest { body: Some(v), .. }) => {
                            Some(v.clone())
                        }
                        _ => None,
                    };
                    services::cloudtrail::record(
                        &mut w,
                        &ctx,
                        service,
                        &op,
                        &input,
                        result.as_ref().err(),
                        response.filter(|_| service != Service::Kms && service != Service::Sts),
                    );
                    Some(result)
                }
            }
        };
        if result.is_some() && decision.stall_after {
            shared
                .stalls
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(super::faults::STALL).await;
        }
        match result {
            None => tokio::time::sleep(Duration::from_millis(20)).await,
            Some(Ok(out)) => {
                return success_response(service, protocol, &op, out, rest_status, &request_id);
            }
            Some(Err(e)) => return error_response(service, protocol, &e, &request_id),
        }
    }
}

fn base(status: u16, content_type: &str, request_id: &str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h: &mut HeaderMap = r.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/json")),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v.clone());
        h.insert("x-amz-request-id", v);
    }
    r
}

fn json_content_type(service: Service) -> &'static str {
    match service.protocol() {
        Protocol::AwsJson10 => "application/x-amz-json-1.0",
        Protocol::AwsJson11 => "application/x-amz-json-1.1",
        _ => "application/json",
    }
}

fn success_response(
    service: Service,
    protocol: Protocol,
    op: &str,
    out: Output,
    rest_status: u16,
    request_id: &str,
) -> Response<Full<Bytes>> {
    match out {
        Output::Json(mut v) => {
            if let Some(o) = v.as_object_mut() {
                o.remove("__wait_seconds");
            }
            if protocol == Protocol::AwsQuery {
                // SQS asked over awsQuery: the same result in the query XML shape.
                return base(
                    200,
                    "text/xml",
                    request_id,
                    query::success_body(
                        service.xml_namespace(),
                        op,
                        &sqs_query::to_xml(op, &v),
                        request_id,
                    ),
                );
            }
            base(200, json_content_type(service), request_id, v.to_string())
        }
        Output::Xml(x) => base(
            200,
            "text/xml",
            request_id,
            query::success_body(service.xml_namespace(), op, &x, request_id),
        ),
        Output::Rest { status, body } => {
            let status = if status == 0 { rest_status } else { status };
            base(
                status,
                "application/json",
                request_id,
                body.map(|b| b.to_string()).unwrap_or_default(),
            )
        }
    }
}

pub(crate) fn error_response(
    service: Service,
    protocol: Protocol,
    e: &ApiError,
    request_id: &str,
) -> Response<Full<Bytes>> {
    match protocol {
        Protocol::AwsJson10 | Protocol::AwsJson11 => {
            let mut r = base(
                e.status,
                json_content_type(service),
                request_id,
                json::error_body(e),
            );
            if let Some(q) = &e.query_code {
                let fault = if e.sender_fault { "Sender" } else { "Receiver" };
                if let Ok(v) = HeaderValue::from_str(&format!("{q};{fault}")) {
                    r.headers_mut().insert("x-amzn-query-error", v);
                }
            }
            r
        }
        Protocol::AwsQuery => base(
            e.status,
            "text/xml",
            request_id,
            query::error_body(service.xml_namespace(), e, request_id),
        ),
        Protocol::RestJson1 => {
            let mut r = base(
                e.status,
                "application/json",
                request_id,
                rest::error_body(e),
            );
            if let Ok(v) = HeaderValue::from_str(&e.code) {
                r.headers_mut().insert("x-amzn-errortype", v);
            }
            r
        }
    }
}

/// The emulator's own control endpoints (not AWS): health, the current TOTP code of a virtual
/// MFA device (so a person trying the demo can answer the prompt), stepping the clock, and the
/// resources restore jobs created (listed, and removed by a test's cleanup).
fn control(
    shared: &Shared,
    parts: &http::request::Parts,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let q: std::collections::HashMap<String, String> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let reply = |status: u16, v: serde_json::Value| {
        base(status, "application/json", request_id, v.to_string())
    };
    match (parts.method.as_str(), parts.uri.path()) {
        ("GET", "/_emulator/health") => reply(
            200,
            serde_json::json!({ "status": "ok", "now": util::iso8601(shared.clock.now()) }),
        ),
        ("GET", "/_emulator/totp") => {
            let serial = q
                .get("serial")
                .cloned()
                .unwrap_or_else(|| super::scenario::claims::DEMO_MFA_SERIAL.to_string());
            let now = shared.clock.now();
            let code = shared
                .world()
                .iam
                .mfa_devices
                .get(&serial)
                .map(|d| super::crypto::totp(&d.seed, now.timestamp()));
            match code {
                Some(c) => {
                    let left = 30 - now.timestamp().rem_euclid(30);
                    reply(
                        200,
                        serde_json::json!({ "serial": serial, "code": c, "seconds_left": left }),
                    )
                }
                None => reply(
                    404,
                    serde_json::json!({ "error": format!("no virtual MFA device {serial}") }),
                ),
            }
        }
        ("POST", "/_emulator/clock/advance") => {
            match q.get("seconds").and_then(|s| s.parse::<u64>().ok()) {
                Some(secs) => {
                    shared.clock.advance(Duration::from_secs(secs));
                    reply(
                        200,
                        serde_json::json!({ "now": util::iso8601(shared.clock.now()) }),
                    )
                }
                None => reply(400, serde_json::json!({ "error": "seconds=N is required" })),
            }
        }
        ("GET", "/_emulator/restored-resources") => {
            let now = shared.clock.now();
            let mut w = shared.world();
            services::tick(&mut w, now);
            let list: Vec<serde_json::Value> = services::backup::restored_resources(&w)
                .into_iter()
                .map(restored_resource_json)
                .collect();
            reply(200, serde_json::json!({ "RestoredResources": list }))
        }
        ("DELETE", path) if path.starts_with(RESTORED_PREFIX) => {
            let arn = rest::percent_decode(&path[RESTORED_PREFIX.len()..]);
            let now = shared.clock.now();
            let mut w = shared.world();
            services::tick(&mut w, now);
            if services::backup::remove_restored_resource(&mut w, &arn) {
                reply(200, serde_json::json!({ "Deleted": arn }))
            } else {
                reply(
                    404,
                    serde_json::json!({ "error": format!("no restored resource {arn}; GET /_emulator/restored-resources lists them (URL-encode the ARN in the path)") }),
                )
            }
        }
        _ => reply(
            404,
            serde_json::json!({ "error": "unknown emulator control endpoint" }),
        ),
    }
}

const RESTORED_PREFIX: &str = "/_emulator/restored-resources/";

fn restored_resource_json(r: &services::backup::RestoredResource) -> serde_json::Value {
    serde_json::json!({
        "ResourceArn": r.arn,
        "ResourceType": r.resource_type,
        "RestoreJobId": r.restore_job_id,
        "RecoveryPointArn": r.recovery_point_arn,
        "SourceResourceArn": r.source_resource_arn,
        "CreationTime": util::iso8601(r.creation_time),
        "RestoreTestingPlanArn": r.restore_testing_plan_arn,
        "State": if r.deleting { "DELETING" } else { "AVAILABLE" },
    })
}
