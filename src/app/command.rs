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
    /// Run a drill runbook: its file, and where its reports and state go (default `.`).
    Drill {
        runbook: std::path::PathBuf,
        report_dir: Option<std::path::PathBuf>,
    },
    /// Stop the running drill at its next step (its state kept).
    DrillStop,
    Help,
    Quit,
}

/// The console's own commands (the views' come from their resources): (name, aliases, about).
const CONSOLE: &[(&str, &[&str], &str)] = &[
    ("profile", &["ctx"], "switch profile: :profile NAME"),
    ("region", &[], "switch region: :region NAME"),
    (
        "reauth",
        &["login", "mfa"],
        "renew the session with a fresh MFA code",
    ),
    (
        "drill",
        &[],
        "run a DR drill runbook: :drill RUNBOOK [REPORT_DIR] (reports and state in REPORT_DIR, default .); :drill stop stops it, resumable",
    ),
    ("help", &["h"], "keys of this view"),
    ("quit", &["q", "q!", "qa", "exit"], "quit"),
];

/// Every command: each view's (from the registry, in its order), then the console's.
pub fn commands() -> Vec<(&'static str, &'static [&'static str], &'static str)> {
    View::ALL
        .iter()
        .filter_map(|v| v.resource().command())
        .map(|c| (c.name, c.aliases, c.about))
        .chain(CONSOLE.iter().copied())
        .collect()
}

/// The view a command word opens.
fn view_of(name: &str) -> Option<View> {
    View::ALL
        .into_iter()
        .find(|v| v.resource().command().is_some_and(|c| c.name == name))
}

fn canonical(word: &str) -> Option<&'static str> {
    commands()
        .into_iter()
        .find(|(n, a, _)| *n == word || a.contains(&word))
        .map(|(n, _, _)| n)
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
    if let Some(v) = view_of(name).filter(|_| name != "events") {
        return Ok(Command::View(v));
    }
    Ok(match name {
        "events" => Command::Events(match arg.as_slice() {
            [] => None,
            [f] => Some(event_filter(f)?),
            _ => {
                return Err(
                    "CloudTrail takes one filter, e.g. :events source=kms.amazonaws.com".into(),
                );
            }
        }),
        "profile" => {
            Command::Profile(crate::validate::profile_name(&one("profile name")?).map_err(|e| e.0)?)
        }
        "region" => {
            // The same check as --region and the profiles' region.
            let r = crate::validate::region(&one("region")?).map_err(|e| e.0)?;
            Command::Region(r)
        }
        "reauth" => Command::Reauth,
        "drill" => match arg.as_slice() {
            ["stop"] => Command::DrillStop,
            [runbook] => Command::Drill {
                runbook: runbook.into(),
                report_dir: None,
            },
            [runbook, dir] => Command::Drill {
                runbook: runbook.into(),
                report_dir: Some(dir.into()),
            },
            _ => {
                return Err(
                    ":drill needs a runbook and optionally a report directory, e.g. :drill docs/drills/claims-quarterly.toml drill-reports"
                        .into(),
                );
            }
        },
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
    let matches: Vec<&str> = commands()
        .into_iter()
        .map(|(n, _, _)| n)
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
        assert_eq!(complete("po", &[]), "po", "points or posture");
        assert_eq!(complete("poi", &[]), "points");
        assert_eq!(complete("pos", &[]), "posture");
        assert_eq!(
            complete("profile pr", &["prod".into(), "dev".into()]),
            "profile prod"
        );
    }
}
