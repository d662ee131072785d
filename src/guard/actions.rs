//! The registry of guarded actions: every [`ActionSpec`], by id. Adding an action is one
//! planner module (its `static` spec, planner and call) and one line here.

use super::action::ActionSpec;

/// Every guarded action, in the order a menu lists them.
pub static ALL: &[&ActionSpec] = &[
    &super::kms::ENABLE_ROTATION,
    &super::kms::DISABLE_ROTATION,
    &super::kms::ROTATE_NOW,
    &super::sqs::START_MOVE_TASK,
    &super::sqs::CANCEL_MOVE_TASK,
    &super::redrive::REDRIVE_MESSAGES,
    &super::restore::START_RESTORE,
    &super::restore::PUT_VALIDATION,
    &super::restore::CLEANUP,
    &super::restore_testing::CREATE_PLAN,
    &super::restore_testing::DELETE_PLAN,
];

/// The action with this id (`kms.rotate_now`).
pub fn spec(id: &str) -> Option<&'static ActionSpec> {
    ALL.iter().copied().find(|a| a.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::ParamKind;

    #[test]
    fn ids_are_unique_and_well_formed_and_every_param_default_parses() {
        let mut ids: Vec<_> = ALL.iter().map(|a| a.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len(), "duplicate action ids");
        for a in ALL {
            assert_eq!(spec(a.id), Some(*a));
            let (service, verb) = a.id.split_once('.').expect("service.verb_object");
            assert!(
                a.api_action.starts_with(&format!("{service}:")),
                "{} calls {}",
                a.id,
                a.api_action
            );
            assert!(!verb.is_empty() && !a.title.is_empty() && !a.target.is_empty());
            for p in a.params {
                assert!(!p.help.is_empty() && !p.label.is_empty(), "{}", p.name);
                if p.default.is_some() {
                    assert!(p.default_value().is_some(), "{}: bad default", p.name);
                }
                if let ParamKind::Number { min, max, .. } = p.kind {
                    assert!(min <= max, "{}", p.name);
                }
            }
        }
        assert_eq!(spec("kms.nope"), None);
    }
}
