//! The registries of the service layer are unique and documented in `docs/icd/services.md`.

use std::collections::HashSet;

use tc_tm::service::FailureCode;
use tc_tm::service::event::EventId;
use tc_tm::service::function::{ArmTarget, FunctionId, Mode};
use tc_tm::service::housekeeping::HkReport;
use tc_tm::service::memory::MemoryId;
use tc_tm::service::parameter::PARAMETERS;

const ICD: &str = include_str!("../../docs/icd/services.md");

/// Whether some line of the ICD holds every one of `needles`.
fn documented(needles: &[&str]) -> bool {
    ICD.lines().any(|line| needles.iter().all(|n| line.contains(n)))
}

#[test]
fn failure_codes_are_unique_and_documented() {
    let mut values = HashSet::new();
    let mut names = HashSet::new();
    for code in FailureCode::ALL {
        assert!(values.insert(code.value()), "{code:?} value 0x{:04X} twice", code.value());
        assert!(names.insert(code.name()), "{code:?} name twice");
        assert!(!matches!(code, FailureCode::Unknown(_)));
        let value = format!("`0x{:04X}`", code.value());
        let name = format!("`{}`", code.name());
        assert!(
            documented(&[&value, &name, code.stage().name(), code.explanation()]),
            "{code:?} ({value} {name}) missing or different in docs/icd/services.md"
        );
    }
}

#[test]
fn events_are_documented() {
    for e in EventId::ALL {
        let sev = e.severity().unwrap();
        let value = format!("`0x{:04X}`", e.value());
        let name = format!("`{}`", e.name());
        let subtype = format!("(5,{})", sev.value());
        assert!(documented(&[&value, &name, &subtype, e.aux_layout()]), "{e:?} not documented");
    }
}

#[test]
fn parameters_are_documented() {
    for p in PARAMETERS {
        let value = format!("`0x{:04X}`", p.id.0);
        let name = format!("`{}`", p.name);
        let range = format!("| {} | {} | {} |", p.min, p.max, p.default);
        assert!(documented(&[&value, &name, p.ty.name(), &range]), "{} not documented", p.name);
    }
}

#[test]
fn functions_memories_and_modes_are_documented() {
    for f in FunctionId::ALL {
        let value = format!("`0x{:02X}`", f.value());
        let name = format!("`{}`", f.name());
        let critical = if f.is_critical() { "**yes**" } else { "| no |" };
        assert!(documented(&[&value, &name, critical]), "{f:?} not documented");
    }
    for t in ArmTarget::ALL {
        assert!(documented(&[&format!("`0x{:02X}` `{}`", t.value(), t.name())]), "{t:?}");
    }
    for m in Mode::ALL {
        assert!(documented(&[&format!("| `0x{:02X}` | `{}` |", m.value(), m.name())]), "{m:?}");
    }
    for m in MemoryId::ALL {
        assert!(documented(&[&format!("| `0x{:02X}` | `{}` |", m.value(), m.name())]), "{m:?}");
    }
}

#[test]
fn housekeeping_fields_are_documented() {
    for name in HkReport::field_names() {
        assert!(ICD.contains(&format!("`{name}`")), "housekeeping field {name} not documented");
    }
}
