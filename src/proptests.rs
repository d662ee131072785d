//! Property tests for every parser that takes outside input: ARNs, regions, endpoint URLs, KMS
//! key names, the settings, keymap, theme and fault-rule TOML, the emulator's wire decoders
//! (awsJson, awsQuery, REST routes, SigV4 headers, XML escaping), the audit record reader and
//! the emulator clock. Each holds for arbitrary input: no panic, a bounded answer, and, where
//! there is one, the round trip.

use crate::validate::{self, Arn};
use proptest::prelude::*;

/// Text shaped like TOML (sections, keys, strings, numbers, arrays), to reach past the first
/// syntax error more often than arbitrary text does.
fn tomlish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z_\\[\\]=\"'0-9 .\n{},#-]{0,300}",
        proptest::collection::vec(
            (
                prop_oneof![
                    Just("[defaults]".to_string()),
                    Just("[profiles.p]".to_string()),
                    Just("[browse]".to_string()),
                    Just("[[rule]]".to_string()),
                    "[a-z_]{1,20} = (true|\"[a-z/.~ -]{0,20}\"|-?[0-9]{1,20}|[0-9.e+-]{1,10}|\\[\\])",
                    Just("theme = \"../../etc/passwd\"".to_string()),
                    Just("audit_dir = \"relative\"".to_string()),
                    Just("step_up_minutes = 99999999999999999999".to_string()),
                    Just("name = \"x\"\nforeground = \"red\"".to_string()),
                    Just("quit = [\"q\", \"ctrl-c\", \"\u{1b}[2J\"]".to_string()),
                    Just("latency_ms = 18446744073709551615".to_string()),
                    Just("throttle_rate = nan".to_string()),
                ],
                Just("\n"),
            ),
            0..12,
        )
        .prop_map(|v| v.into_iter().map(|(a, b)| a + b).collect()),
    ]
}

/// An error message the operator sees: one paragraph, bounded, no control characters but
/// newlines.
fn assert_clear(message: &str) {
    assert!(message.len() < 2_000, "too long: {} bytes", message.len());
    assert!(
        !message.chars().any(|c| c.is_control() && c != '\n'),
        "control character in {message:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arns_never_panic_and_round_trip(s in prop_oneof![
        any::<String>(),
        "arn:[a-z-]{0,12}:[a-z0-9-]{0,8}:[a-z0-9-]{0,16}:[0-9a-z]{0,13}:.{0,40}",
    ]) {
        match Arn::parse(&s) {
            Ok(a) => {
                prop_assert_eq!(a.to_string(), s.clone());
                prop_assert!(validate::PARTITIONS.contains(&a.partition.as_str()));
                if !a.region.is_empty() {
                    prop_assert_eq!(validate::partition_of(&a.region), a.partition.as_str());
                }
            }
            Err(e) => assert_clear(&e.0),
        }
        let _ = validate::kms_key(&s).map_err(|e| assert_clear(&e.0));
    }

    #[test]
    fn well_formed_arns_parse(
        partition in proptest::sample::select(validate::PARTITIONS),
        service in "[a-z][a-z0-9-]{0,15}",
        account in "[0-9]{12}",
        resource in "[a-zA-Z0-9/_:.-]{1,80}",
    ) {
        let region = match partition {
            "aws" => "us-east-1",
            "aws-cn" => "cn-north-1",
            "aws-us-gov" => "us-gov-west-1",
            "aws-iso" => "us-iso-east-1",
            "aws-iso-b" => "us-isob-east-1",
            "aws-iso-e" => "eu-isoe-west-1",
            "aws-iso-f" => "us-isof-south-1",
            _ => "eusc-de-east-1",
        };
        let s = format!("arn:{partition}:{service}:{region}:{account}:{resource}");
        let a = Arn::parse(&s).unwrap();
        prop_assert_eq!(a.to_string(), s);
        // The same ARN named from another partition is refused by the guard, without a call.
        let other = if partition == "aws" { "aws-cn" } else { "aws" };
        let e = crate::guard::same_partition(&format!("arn:{partition}:kms:{region}:{account}:key/k"), other);
        prop_assert!(e.is_err());
    }

    #[test]
    fn regions_are_checked_whatever_the_text(s in prop_oneof![
        any::<String>(),
        "[a-z]{2,4}(-[a-z]{1,9}){1,3}-[0-9]{1,2}",
        "[a-zA-Z0-9_ -]{0,40}",
    ]) {
        match validate::region(&s) {
            Ok(r) => {
                prop_assert!(r.len() <= validate::MAX_REGION_LEN);
                prop_assert!(r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            }
            Err(e) => assert_clear(&e.0),
        }
        let _ = validate::partition_of(&s);
    }

    #[test]
    fn valid_region_names_pass(s in "[a-z]{2,4}(-[a-z]{1,6}){1,3}-[0-9]{1,2}") {
        prop_assert!(validate::region(&s).is_ok(), "{}", s);
    }

    #[test]
    fn endpoint_urls_are_checked_whatever_the_text(s in prop_oneof![
        any::<String>(),
        "(https?|ftp|file|HTTP)://[a-z0-9.@:\\[\\]/?#% -]{0,40}",
    ]) {
        match validate::endpoint_url(&s) {
            Ok(u) => {
                let lower = u.to_ascii_lowercase();
                prop_assert!(lower.starts_with("http://") || lower.starts_with("https://"));
                prop_assert!(!u.contains('@') && !u.chars().any(char::is_whitespace));
            }
            Err(e) => assert_clear(&e.0),
        }
    }

    #[test]
    fn good_endpoint_urls_pass(
        scheme in "https?",
        host in "[a-z][a-z0-9-]{0,20}(\\.[a-z0-9]{1,10}){0,3}",
        port in proptest::option::of(1u16..),
    ) {
        let url = match port {
            Some(p) => format!("{scheme}://{host}:{p}"),
            None => format!("{scheme}://{host}"),
        };
        prop_assert!(validate::endpoint_url(&url).is_ok(), "{}", url);
    }

    #[test]
    fn names_and_numbers_from_flags(s in any::<String>()) {
        for r in [
            validate::theme_name(&s).map(|_| ()),
            validate::profile_name(&s).map(|_| ()),
            validate::audit_dir_arg(&s).map(|_| ()),
            validate::clock_scale(&s).map(|_| ()),
        ] {
            if let Err(e) = r {
                assert_clear(&e.0);
            }
        }
        if let Ok(f) = validate::clock_scale(&s) {
            prop_assert!(f.is_finite() && (0.0..=crate::emulator::clock::MAX_FACTOR).contains(&f));
        }
    }

    #[test]
    fn settings_toml_never_panics(text in tomlish()) {
        match crate::session::settings::SettingsFile::parse(&text, "c.toml") {
            Ok(s) => {
                let p = s.for_profile("p");
                prop_assert!(p.audit_dir.as_ref().is_none_or(|d| d.is_absolute()));
                prop_assert!(validate::theme_name(&p.theme).is_ok());
            }
            Err(e) => {
                let m = e.to_string();
                prop_assert!(m.starts_with("c.toml"), "{}", m);
            }
        }
    }

    #[test]
    fn runbooks_never_panic_and_errors_name_a_line_of_the_file(
        text in prop_oneof![
            tomlish(),
            proptest::collection::vec(
                prop_oneof![
                    Just("[drill]"),
                    Just("[[test]]"),
                    Just("name = \"q4\""),
                    Just("name = \"\u{1b}[2J\""),
                    Just("approved_by = \"A\""),
                    Just("approved_on = \"2026-11-20\""),
                    Just("vault = \"claims-primary-vault\""),
                    Just("resource_arn = \"arn:aws:s3:::b\""),
                    Just("recovery_point_arn = \"arn:aws:backup:us-east-1:1:recovery-point:x\""),
                    Just("resource_arn = \"not-an-arn\""),
                    Just("rto_minutes = 60"),
                    Just("rpo_minutes = -1"),
                    Just("rpo_minutes = 99999999999999999999"),
                    Just("validation_command = []"),
                    Just("cleanup_command = [\"/bin/true\"]"),
                    Just("target_name = \"{stamp}\""),
                    Just("bogus = 1"),
                ],
                0..30,
            )
            .prop_map(|l| l.join("\n")),
        ]
    ) {
        let lines = text.matches('\n').count() + 1;
        match crate::drill::runbook::Runbook::parse("rb.toml", &text) {
            Ok(r) => {
                prop_assert!(!r.tests.is_empty());
                prop_assert!(r.tests.iter().all(|t| t.rto_minutes >= 1 && t.rpo_minutes >= 1));
            }
            Err(e) => {
                prop_assert!(e.to_string().starts_with("rb.toml:"), "{}", e);
                prop_assert!(e.line <= lines, "line {} of {}", e.line, lines);
            }
        }
    }

    #[test]
    fn keymap_and_theme_toml_never_panic(text in tomlish()) {
        let mut k = crate::app::keymap::Keymap::default_keymap();
        if let Err(e) = k.merge(&text, "keymap.toml") {
            prop_assert!(e.to_string().contains("keymap.toml"));
        }
        if let Err(e) = crate::theme::Theme::parse(&text, "t.toml", false) {
            prop_assert!(e.to_string().contains("t.toml"));
        }
    }

    #[test]
    fn fault_rules_never_panic(text in tomlish()) {
        use crate::emulator::faults::{Faults, MAX_LATENCY_MS, parse_rules};
        if let Ok(rules) = parse_rules(&text, "f.toml") {
            let mut faults = Faults::default();
            for r in rules {
                prop_assert!(r.latency_ms <= MAX_LATENCY_MS && r.jitter_ms <= MAX_LATENCY_MS);
                prop_assert!(r.error_status.is_none_or(|s| s == 500 || s == 503));
                faults.add(r);
            }
            let _ = faults.decide(crate::emulator::wire::Service::Sqs, "SendMessage");
        }
    }

    #[test]
    fn json_bodies_never_panic(body in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        "[{}\\[\\]\":,0-9a-zA-Z. \\\\-]{0,200}".prop_map(String::into_bytes),
    ]) {
        use crate::emulator::wire::json::{JsonInput, parse_body};
        if let Ok(v) = parse_body(&body) {
            prop_assert!(v.is_object());
            let _ = v.str_opt("QueueUrl");
            let _ = v.str_req("KeyId");
            let _ = v.int_opt("MaxResults");
            let _ = v.bool_opt("Enabled");
            let _ = v.arr("Entries");
            let _ = v.obj("Attributes");
        }
    }

    #[test]
    fn query_params_never_panic_and_are_bounded(
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..512),
            "((Action|Tags\\.member\\.[0-9]{1,3}\\.(Key|Value)|Attributes\\.entry\\.[0-9]\\.(key|value)|Names\\.member\\.[0-9]{1,2})=[a-z%0-9]{0,8}&){0,20}"
                .prop_map(String::into_bytes),
        ],
        query in ".{0,100}",
    ) {
        use crate::emulator::wire::query::Params;
        let p = Params::parse(&body, &query);
        let n = body.len() + query.len() + 1;
        prop_assert!(p.0.len() <= n);
        prop_assert!(p.members("Names").len() <= n);
        prop_assert!(p.member_structs("Tags").len() <= n);
        prop_assert!(p.entries("Attributes").len() <= n);
        let _ = p.int("MaxResults");
        let _ = p.to_json(&[]);
    }

    #[test]
    fn rest_routes_never_panic(
        method in prop_oneof![
            Just("GET".to_string()),
            Just("PUT".to_string()),
            Just("POST".to_string()),
            Just("DELETE".to_string()),
            ".{0,6}",
        ],
        path in prop_oneof![
            "/(backup-vaults|backup/jobs|restore-jobs|backup-plans|restore-testing/plans)(/[a-zA-Z0-9%é._-]{0,20}){0,3}/?",
            any::<String>(),
        ],
        query in "[a-zA-Z=&%0-9é]{0,60}",
        body in proptest::collection::vec(any::<u8>(), 0..128),
    ) {
        use crate::emulator::wire::rest::{percent_decode, route};
        let _ = route(&method, &path, &query, &body);
        let decoded = percent_decode(&path);
        prop_assert!(decoded.len() <= path.len() * 3);
    }

    #[test]
    fn percent_decoding_never_splits_a_character(s in "[%a-f0-9é€😀]{0,30}") {
        let _ = crate::emulator::wire::rest::percent_decode(&s);
    }

    #[test]
    fn sigv4_headers_never_panic(
        auth in prop_oneof![
            any::<String>(),
            "AWS4-HMAC-SHA256 (Credential=[A-Z0-9/a-z_-]{0,60}|SignedHeaders=[a-z;-]{0,30}|Signature=[0-9a-f]{0,64}|, ){0,6}",
        ],
        date in "[0-9TZ]{0,20}",
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        use crate::emulator::auth::{credential_scope, verify_signature};
        let mut h = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(&auth) {
            h.insert("authorization", v);
        }
        if let Ok(v) = http::HeaderValue::from_str(&date) {
            h.insert("x-amz-date", v);
        }
        if let Some(scope) = credential_scope(&h) {
            prop_assert!(!verify_signature(&scope, "secret", "POST", "/", "", &h, &body) || !scope.signature.is_empty());
        }
        let _ = crate::emulator::wire::detect_service(&h, "/", None);
    }

    #[test]
    fn xml_text_is_escaped_and_round_trips(s in any::<String>()) {
        let mut out = String::new();
        crate::emulator::wire::xml::escape_into(&s, &mut out);
        prop_assert!(!out.contains('<') && !out.contains('>') && !out.contains('"'));
        prop_assert!(!out.chars().any(|c| (c as u32) < 0x20 && c != '\n' && c != '\t'));
        // Every `&` starts an entity, and undoing the entities gives the text back.
        let mut back = String::new();
        let mut rest = out.as_str();
        while let Some(i) = rest.find('&') {
            back.push_str(&rest[..i]);
            let end = rest[i..].find(';').map(|j| i + j);
            prop_assert!(end.is_some(), "bare & in {}", out);
            let end = end.unwrap_or(i);
            let ent = &rest[i + 1..end];
            let c = match ent {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                x => {
                    let hex = x.strip_prefix("#x").and_then(|h| u32::from_str_radix(h, 16).ok());
                    prop_assert!(hex.is_some(), "unknown entity {}", x);
                    char::from_u32(hex.unwrap_or(0)).unwrap_or('\0')
                }
            };
            back.push(c);
            rest = &rest[end + 1..];
        }
        back.push_str(rest);
        prop_assert_eq!(back, s);
    }

    #[test]
    fn audit_records_are_read_from_any_bytes(data in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2048),
        proptest::collection::vec(
            prop_oneof![
                Just(b"{\"v\":1,\"seq\":1,\"kind\":\"session\"}\n".to_vec()),
                Just(b"{\"hash\":\"00\",\"prev_hash\":\"zz\"}\n".to_vec()),
                Just(b"\n".to_vec()),
                Just(b"\x00\xff{".to_vec()),
                "[{}\":,0-9a-z_]{0,80}\n".prop_map(String::into_bytes),
            ],
            0..20,
        ).prop_map(|v| v.concat()),
    ]) {
        let (ok, bad) = crate::audit::read_records(&data);
        let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
        prop_assert!(ok.len() + bad.len() <= lines);
        let report = crate::audit::verify_bytes(&data, &crate::audit::VerifyOptions::default());
        // Garbage never verifies as a log with records in it.
        if !bad.is_empty() {
            prop_assert!(!report.is_valid(), "{:?}", report);
        }
    }

    #[test]
    fn the_emulator_clock_never_panics(
        factor in prop_oneof![any::<f64>(), Just(f64::INFINITY), Just(1e308), Just(f64::NAN)],
        steps in proptest::collection::vec(any::<u64>(), 0..5),
        start_secs in -10_000_000_000i64..250_000_000_000i64,
    ) {
        use crate::emulator::clock::{Clock, latest};
        let start = chrono::DateTime::from_timestamp(start_secs, 0).unwrap_or_default();
        let c = Clock::scaled(start, factor);
        for s in steps {
            c.advance(std::time::Duration::from_secs(s));
            let now = c.now();
            prop_assert!(now <= latest());
            let _ = c.real_duration_for(std::time::Duration::from_secs(s));
        }
        c.set_factor(factor);
        prop_assert!(c.now() <= latest());
    }
}
