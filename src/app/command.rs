//! The `:` command line: commands with aliases (k9s and vim style) and completion.

use super::state::View;
use crate::cloud::cloudtrail::EventFilter;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    View(View),
    Events(Option<EventFilter>),
    Profile(String),
    Region(String),
    Reauth,
    Help,
    Quit,
}

/// (name, aliases, description)
pub const COMMANDS: &[(&str, &[&str], &str)] = &[
    (
        "queues",
        &["sqs", "queue"],
        "SQS queues with DLQs and depths",
    ),
    (
        "dlq",
        &["dlqs", "dead-letter"],
        "dead-letter queues, deepest first",
    ),
    ("topics", &["sns", "topic"], "SNS topics and subscriptions"),
    (
        "keys",
        &["kms", "key"],
        "KMS keys, rotation and blast radius",
    ),
    (
        "vaults",
        &["backup", "backups", "vault"],
        "AWS Backup vaults",
    ),
    ("points", &["rp", "recovery-points"], "recovery points"),
    (
        "jobs",
        &["restores", "restore-jobs"],
        "backup and restore jobs",
    ),
    ("plans", &["plan"], "backup plans and restore testing plans"),
    (
        "events",
        &["ct", "cloudtrail", "trail"],
        "CloudTrail events [source=|name=|user=|resource=|type=|readonly=]",
    ),
    ("audit", &[], "this console's audit log"),
    ("profile", &["ctx"], "switch profile: :profile NAME"),
    ("region", &[], "switch region: :region NAME"),
    (
        "reauth",
        &["login", "mfa"],
        "renew the session with a fresh MFA code",
    ),
    ("help", &["h"], "keys of this view"),
    ("quit", &["q", "q!", "qa", "exit"], "quit"),
];

fn canonical(word: &str) -> Option<&'static str> {
    COMMANDS
        .iter()
        .find(|(n, a, _)| *n == word || a.contains(&word))
        .map(|(n, _, _)| *n)
}

pub fn parse(input: &str) -> Result<Command, String> {
    let input = input.trim().trim_start_matches(':');
    let mut parts = input.split_whitespace();
    let Some(word) = parts.next() else {
        return Err("type a command, e.g. :queues (Tab completes)".into());
    };
    let arg: Vec<&str> = parts.collect();
    let name = canonical(&word.to_lowercase())
        .ok_or_else(|| format!("unknown command :{word} (try :help, or Tab to complete)"))?;
    let one = |what: &str| -> Result<String, String> {
        match arg.as_slice() {
            [x] => Ok(x.to_string()),
            _ => Err(format!(
                ":{name} needs one {what}, e.g. :{name} {}",
                if name == "region" {
                    "eu-west-1"
                } else {
                    "prod"
                }
            )),
        }
    };
    Ok(match name {
        "queues" => Command::View(View::Queues),
        "dlq" => Command::View(View::Dlq),
        "topics" => Command::View(View::Topics),
        "keys" => Command::View(View::Keys),
        "vaults" => Command::View(View::Vaults),
        "points" => Command::View(View::Points),
        "jobs" => Command::View(View::Jobs),
        "plans" => Command::View(View::Plans),
        "events" => Command::Events(match arg.as_slice() {
            [] => None,
            [f] => Some(event_filter(f)?),
            _ => {
                return Err(
                    "CloudTrail takes one filter, e.g. :events source=kms.amazonaws.com".into(),
                );
            }
        }),
        "audit" => Command::View(View::Audit),
        "profile" => {
            Command::Profile(crate::validate::profile_name(&one("profile name")?).map_err(|e| e.0)?)
        }
        "region" => {
            // The same check as --region and the profiles' region.
            let r = crate::validate::region(&one("region")?).map_err(|e| e.0)?;
            Command::Region(r)
        }
        "reauth" => Command::Reauth,
        "help" => Command::Help,
        _ => Command::Quit,
    })
}

fn event_filter(f: &str) -> Result<EventFilter, String> {
    let (k, v) = f
        .split_once('=')
        .ok_or_else(|| format!("'{f}': write attribute=value, e.g. name=RotateKeyOnDemand"))?;
    let v = v.to_string();
    Ok(match k {
        "source" => EventFilter::EventSource(v),
        "name" => EventFilter::EventName(v),
        "user" => EventFilter::Username(v),
        "resource" => EventFilter::ResourceName(v),
        "type" => EventFilter::ResourceType(v),
        "readonly" => EventFilter::ReadOnly(v == "true" || v == "yes"),
        "key" => EventFilter::AccessKeyId(v),
        "id" => EventFilter::EventId(v),
        _ => {
            return Err(format!(
                "unknown event attribute '{k}' (source, name, user, resource, type, readonly, key, id)"
            ));
        }
    })
}

/// Completes the command word (or a profile name after `profile `).
pub fn complete(input: &str, profiles: &[String]) -> String {
    if let Some(rest) = input.strip_prefix("profile ") {
        let m: Vec<&String> = profiles.iter().filter(|p| p.starts_with(rest)).collect();
        return match m.as_slice() {
            [one] => format!("profile {one}"),
            _ => input.to_string(),
        };
    }
    if input.contains(' ') {
        return input.to_string();
    }
    let matches: Vec<&str> = COMMANDS
        .iter()
        .map(|(n, _, _)| *n)
        .filter(|n| n.starts_with(input))
        .collect();
    match matches.as_slice() {
        [one] => one.to_string(),
        [] => input.to_string(),
        many => {
            // The longest common prefix.
            let first = many[0];
            let n = (0..first.len())
                .take_while(|i| {
                    many.iter()
                        .all(|m| m.as_bytes().get(*i) == first.as_bytes().get(*i))
                })
                .count();
            first[..n].to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_arguments() {
        assert_eq!(parse("sqs"), Ok(Command::View(View::Queues)));
        assert_eq!(parse(":q"), Ok(Command::Quit));
        assert_eq!(
            parse("ct source=kms.amazonaws.com"),
            Ok(Command::Events(Some(EventFilter::EventSource(
                "kms.amazonaws.com".into()
            ))))
        );
        assert_eq!(parse("profile prod"), Ok(Command::Profile("prod".into())));
        assert!(
            parse("profile")
                .unwrap_err()
                .contains("needs one profile name")
        );
        assert!(
            parse("region Mars")
                .unwrap_err()
                .contains("not an AWS region name")
        );
        assert!(parse("fly").unwrap_err().contains("unknown command :fly"));
        assert!(
            parse("events colour=red")
                .unwrap_err()
                .contains("unknown event attribute")
        );
    }

    #[test]
    fn completion() {
        assert_eq!(complete("dl", &[]), "dlq");
        assert_eq!(complete("p", &[]), "p");
        assert_eq!(complete("po", &[]), "points");
        assert_eq!(
            complete("profile pr", &["prod".into(), "dev".into()]),
            "profile prod"
        );
    }
}
