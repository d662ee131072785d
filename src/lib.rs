//! phi-console: a terminal administration console for HIPAA-eligible claims pipelines on AWS,
//! and the local AWS emulator (the lab) it is tested and demonstrated against.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod app;
pub mod audit;
pub mod cli;
pub mod cloud;
pub mod drill;
pub mod emulator;
pub mod guard;
pub mod listing;
pub mod logging;
pub mod mask;
pub mod options;
pub mod posture;
#[cfg(test)]
mod proptests;
pub mod sanitize;
pub mod session;
pub mod theme;
pub mod ui;
pub mod validate;

/// Layers a reader can trust: nothing but the demo wiring (`main.rs`) and tests may use the
/// emulator, so the console cannot come to depend on the lab.
#[cfg(test)]
mod layers {
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("src") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn nothing_outside_the_emulator_uses_it() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let allowed = |p: &std::path::Path| {
            p.starts_with(src.join("emulator"))
                || p == src.join("main.rs")
                || p == src.join("proptests.rs")
        };
        let offenders: Vec<String> = files
            .iter()
            .filter(|p| !allowed(p))
            .filter(|p| {
                let text = std::fs::read_to_string(p).expect("read");
                // (Spelt in two halves so this test does not find itself.)
                let m = "emulator";
                text.contains(&format!("crate::{m}")) || text.contains(&format!("phi_console::{m}"))
            })
            .map(|p| p.display().to_string())
            .collect();
        assert!(
            offenders.is_empty(),
            "these use the emulator; move what they need out of it: {offenders:?}"
        );
        assert!(files.len() > 50, "the scan found the sources");
    }

    /// `app` (state, update, resources, runner) never imports `ui`: the views read the state,
    /// the runner draws through `app::run::Screen`. Test code may render.
    #[test]
    fn the_app_does_not_import_the_views() {
        let app = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/app");
        let mut files = Vec::new();
        sources(&app, &mut files);
        let offenders: Vec<String> = files
            .iter()
            .filter(|p| !p.to_string_lossy().ends_with("_tests.rs"))
            .filter(|p| {
                let text = std::fs::read_to_string(p).expect("read");
                // Only the code before an inline test module (`#[cfg(test)] mod x {`) counts.
                let lines: Vec<&str> = text.lines().collect();
                let end = (0..lines.len())
                    .find(|i| {
                        lines[*i].trim() == "#[cfg(test)]"
                            && lines.get(i + 1).is_some_and(|l| {
                                l.starts_with("mod ") && l.trim_end().ends_with('{')
                            })
                    })
                    .unwrap_or(lines.len());
                let code = lines[..end].join("\n");
                let m = "ui";
                code.contains(&format!("crate::{m}::"))
                    || code.contains(&format!("super::super::{m}"))
            })
            .map(|p| p.display().to_string())
            .collect();
        assert!(
            offenders.is_empty(),
            "these app modules import the views: {offenders:?}"
        );
        assert!(files.len() > 15, "the scan found the app's sources");
    }
}
