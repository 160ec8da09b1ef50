//! `eic-bench tc requests`: the request syntax and every name a request can use, generated from
//! the registries of `tc_tm::service` (forms, functions, arm targets, banks, triggers, modes,
//! memories, events, parameters) and of `tables` (table IDs), so it is never out of date.
//! `tc send --help` shows the same syntax ([`syntax_help`]).

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;
use serde_json::{Value, json};
use tables::TableId;
use tc_tm::service::event::EventId;
use tc_tm::service::function::{ArmTarget, Bank, FunctionId, Mode, TriggerSelect};
use tc_tm::service::memory::MemoryId;
use tc_tm::service::parameter::PARAMETERS;
use tc_tm::service::table::BufferSel;
use tc_tm::service::text::FORMS;

/// Arguments of `tc requests`.
#[derive(Debug, Args)]
pub struct RequestsArgs {
    /// Print one JSON object (forms and names) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `tc requests`.
///
/// # Errors
/// Never (printing to a closed stdout is not an error).
pub fn run(a: &RequestsArgs) -> anyhow::Result<ExitCode> {
    if a.json {
        println!("{}", serde_json::to_string_pretty(&listing_json())?);
    } else {
        print!("{}", listing());
    }
    Ok(ExitCode::SUCCESS)
}

fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|&v| name(v)).collect()
}

/// The names of every placeholder of the syntax, as (placeholder, names).
fn name_lists() -> Vec<(&'static str, Vec<String>)> {
    let own = |v: Vec<&'static str>| v.into_iter().map(str::to_owned).collect::<Vec<_>>();
    let mut services: Vec<&str> = Vec::new();
    for f in FORMS {
        let s = f.syntax.split(' ').next().unwrap_or_default();
        if !services.contains(&s) {
            services.push(s);
        }
    }
    vec![
        ("SERVICE", own(services)),
        ("FUNCTION", own(names(FunctionId::ALL, FunctionId::name))),
        ("ARM_TARGET", own(names(ArmTarget::ALL, ArmTarget::name))),
        ("BANK", own(names(Bank::ALL, Bank::name))),
        ("TRIGGER", own(names(TriggerSelect::ALL, TriggerSelect::name))),
        ("MODE", own(names(Mode::ALL, Mode::name))),
        ("MEMORY", own(names(MemoryId::ALL, MemoryId::name))),
        ("BUFFER", own(names(BufferSel::ALL, BufferSel::name))),
        ("TABLE", TableId::ALL.iter().map(|&t| format!("{} ({})", t as u8, t.key())).collect()),
        ("EVENT", own(names(EventId::ALL, EventId::name))),
        ("PARAMETER", PARAMETERS.iter().map(|p| p.name.to_owned()).collect()),
    ]
}

/// Appends `items` joined by `, `, wrapped at 96 columns with `indent`.
fn wrap_list(out: &mut String, indent: &str, items: &[String]) {
    let mut col = indent.len();
    out.push_str(indent);
    for (i, item) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() { format!("{item}, ") } else { item.clone() };
        if col + piece.len() > 96 && col > indent.len() {
            out.truncate(out.trim_end().len());
            out.push('\n');
            out.push_str(indent);
            col = indent.len();
        }
        out.push_str(&piece);
        col += piece.len();
    }
    out.push('\n');
}

/// For a request that stopped where a registry name was expected, the names it could have
/// been (parameters, events: the lists the parse error does not spell out itself).
pub fn names_hint(expected: &str) -> Option<String> {
    let (what, names): (&str, Vec<&str>) = if expected.contains("parameter name") {
        ("parameters", PARAMETERS.iter().map(|p| p.name).collect())
    } else if expected.contains("event name") {
        ("events", EventId::ALL.iter().map(|e| e.name()).collect())
    } else {
        return None;
    };
    Some(format!("{what}: {}", names.join(", ")))
}

/// The request syntax and the names, compactly: the `after_long_help` of `tc send`.
pub fn syntax_help() -> String {
    let mut s = String::from(
        "Request syntax (the words after DEVICE): numbers decimal or 0x hex, HEX octets without\n\
         separators, lists comma-separated without spaces, names case-insensitive.\n",
    );
    for f in FORMS {
        let _ = writeln!(s, "  {:<66} {},{}", f.syntax, f.service, f.subtype);
    }
    s.push_str("\nNames (a registry number is accepted wherever a name is):\n");
    for (what, list) in name_lists() {
        let _ = writeln!(s, "  {what}:");
        wrap_list(&mut s, "    ", &list);
    }
    s.push_str(
        "\nTypes, units, ranges and meanings of the parameters, severities of the events:\n  \
         eic-bench tc requests",
    );
    s
}

/// The full listing `tc requests` prints.
pub fn listing() -> String {
    let mut s = String::from(
        "REQUESTS (eic-bench tc send DEVICE REQUEST; eic-bench tc encode --request REQUEST)\n",
    );
    for f in FORMS {
        let tc = format!("{},{}", f.service, f.subtype);
        let _ = writeln!(s, "  {:<66} {tc:>6}", f.syntax);
        let _ = writeln!(s, "      {}; e.g. {}", f.what, f.example);
    }
    s.push_str(
        "\nNumbers are decimal or 0x hex; HEX is octets without separators; lists are\n\
         comma-separated without spaces; names are case-insensitive, and a registry number is\n\
         accepted wherever a name is.\n",
    );
    for (what, list) in name_lists() {
        match what {
            "EVENT" | "PARAMETER" => {}
            _ => {
                let _ = writeln!(s, "\n{what}:");
                wrap_list(&mut s, "  ", &list);
            }
        }
    }
    s.push_str("\nEVENT (name, ID, severity, auxiliary data):\n");
    for &e in EventId::ALL {
        let sev = e.severity().map_or("?", |v| v.name());
        let _ =
            writeln!(s, "  {:<26} 0x{:04X} {:<11} {}", e.name(), e.value(), sev, e.aux_layout());
    }
    s.push_str(
        "\nPARAMETER (name, ID, type, unit, range, default, access, meaning; param set takes\n\
         the value in the type shown, or 0x... for the raw 4 octets):\n",
    );
    for p in PARAMETERS {
        let unit = if p.unit.is_empty() { "-" } else { p.unit };
        let _ = writeln!(
            s,
            "  {:<24} 0x{:04X} {:<4} {:<6} {}..{} default {} {}  {}",
            p.name,
            p.id.0,
            p.ty.name(),
            unit,
            p.min,
            p.max,
            p.default,
            if p.writable { "rw" } else { "ro" },
            p.description
        );
    }
    s
}

/// The listing as JSON: `forms` and `names` (with the parameters' and events' details).
pub fn listing_json() -> Value {
    let forms: Vec<Value> = FORMS
        .iter()
        .map(|f| {
            json!({"syntax": f.syntax, "example": f.example, "service": f.service,
                "subtype": f.subtype, "what": f.what})
        })
        .collect();
    let mut names = serde_json::Map::new();
    for (what, list) in name_lists() {
        names.insert(what.to_ascii_lowercase(), list.into());
    }
    let params: Vec<Value> = PARAMETERS
        .iter()
        .map(|p| {
            json!({"name": p.name, "id": p.id.0, "type": p.ty.name(), "unit": p.unit,
                "min": p.min.to_string(), "max": p.max.to_string(),
                "default": p.default.to_string(), "writable": p.writable,
                "description": p.description})
        })
        .collect();
    let events: Vec<Value> = EventId::ALL
        .iter()
        .map(|e| {
            json!({"name": e.name(), "id": e.value(), "severity": e.severity().map(|s| s.name()),
                "aux": e.aux_layout()})
        })
        .collect();
    json!({"forms": forms, "names": names, "parameters": params, "events": events})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name of every registry a request can use.
    fn every_registry_name() -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        all.extend(FunctionId::ALL.iter().map(|v| v.name().to_owned()));
        all.extend(ArmTarget::ALL.iter().map(|v| v.name().to_owned()));
        all.extend(Bank::ALL.iter().map(|v| v.name().to_owned()));
        all.extend(TriggerSelect::ALL.iter().map(|v| v.name().to_owned()));
        all.extend(Mode::ALL.iter().map(|v| v.name().to_owned()));
        all.extend(MemoryId::ALL.iter().map(|v| v.name().to_owned()));
        all.extend(BufferSel::ALL.iter().map(|v| v.name().to_owned()));
        all.extend(TableId::ALL.iter().map(|v| v.key().to_owned()));
        all.extend(EventId::ALL.iter().map(|v| v.name().to_owned()));
        all.extend(PARAMETERS.iter().map(|p| p.name.to_owned()));
        all.extend(FORMS.iter().map(|f| f.syntax.to_owned()));
        all
    }

    #[test]
    fn every_registry_name_is_listed() {
        let (help, list, json) = (syntax_help(), listing(), listing_json().to_string());
        for name in every_registry_name() {
            assert!(help.contains(&name), "tc send --help lacks {name}");
            assert!(list.contains(&name), "tc requests lacks {name}");
            assert!(json.contains(&name), "tc requests --json lacks {name}");
        }
    }

    #[test]
    fn a_missing_name_lists_the_names() {
        let mut buf = [0u8; 64];
        let e = tc_tm::service::text::parse_request("param get id=nope", &mut buf).unwrap_err();
        let hint = names_hint(e.expected).unwrap();
        assert!(PARAMETERS.iter().all(|p| hint.contains(p.name)), "{hint}");
        let e = tc_tm::service::text::parse_request("event enable id=nope", &mut buf).unwrap_err();
        assert!(names_hint(e.expected).unwrap().contains("saa-entry"));
        assert_eq!(names_hint("a verb"), None);
    }

    #[test]
    fn help_lines_fit() {
        for line in syntax_help().lines() {
            assert!(line.chars().count() <= 100, "{line}");
            assert_eq!(line.trim_end(), line, "trailing space");
        }
    }
}
