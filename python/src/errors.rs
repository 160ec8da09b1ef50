//! The exception types: every error carries the Rust message (with its file and location) and,
//! as attributes, the parts a program needs (path, line, column, problems).

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    _native,
    EicError,
    PyException,
    "Base class of every error the bench raises; str() is the Rust message with its location."
);
create_exception!(
    _native,
    InputError,
    EicError,
    "An input file (events, telemetry, report) that cannot be read or is damaged: attributes \
     path, place, line, column."
);
create_exception!(
    _native,
    TablesError,
    EicError,
    "A table file that cannot be read or parsed: attributes path, line, column."
);
create_exception!(
    _native,
    InvalidTablesError,
    EicError,
    "A table set the validator refuses: attribute problems (table, entry, field, message)."
);
create_exception!(
    _native,
    ScenarioError,
    EicError,
    "A simulator scenario or regression suite that cannot be used: attributes origin, line, \
     column."
);
create_exception!(
    _native,
    RequestError,
    EicError,
    "A telecommand that cannot be encoded or decoded (bad request text, field out of range, \
     damaged octets)."
);

/// Adds the exception types to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("EicError", py.get_type::<EicError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("TablesError", py.get_type::<TablesError>())?;
    m.add("InvalidTablesError", py.get_type::<InvalidTablesError>())?;
    m.add("ScenarioError", py.get_type::<ScenarioError>())?;
    m.add("RequestError", py.get_type::<RequestError>())?;
    Ok(())
}

/// A plain [`EicError`].
pub fn eic(msg: impl Into<String>) -> PyErr {
    EicError::new_err(msg.into())
}

/// Sets attributes on the exception value of `err`.
fn with_attrs(err: PyErr, attrs: &[(&str, Option<String>)], nums: &[(&str, Option<u64>)]) -> PyErr {
    Python::attach(|py| {
        let v = err.value(py);
        for (k, x) in attrs {
            let _ = v.setattr(*k, x.clone());
        }
        for (k, x) in nums {
            let _ = v.setattr(*k, *x);
        }
    });
    err
}

/// An event file error ([`eic_bench::events::InputError`]).
pub fn input(e: &eic_bench::events::InputError) -> PyErr {
    use eic_bench::events::Place;
    let (place, line, column): (String, Option<u64>, Option<String>) = match &e.place {
        Place::File => ("file".into(), None, None),
        Place::Keyword { hdu, keyword } => (format!("HDU {hdu}"), None, Some(keyword.clone())),
        Place::Cell { hdu, row, column } => {
            (format!("HDU {hdu}"), Some(*row), Some(column.clone()))
        }
        Place::Text { line, column, name } => (
            "text".into(),
            Some(*line),
            Some(if name.is_empty() { column.to_string() } else { name.clone() }),
        ),
    };
    with_attrs(
        InputError::new_err(e.to_string()),
        &[("path", Some(e.path.display().to_string())), ("place", Some(place)), ("column", column)],
        &[("line", line)],
    )
}

/// An input error about a whole file.
pub fn input_file(path: &std::path::Path, message: String) -> PyErr {
    with_attrs(
        InputError::new_err(format!("{}: {message}", path.display())),
        &[
            ("path", Some(path.display().to_string())),
            ("place", Some("file".into())),
            ("column", None),
        ],
        &[("line", None)],
    )
}

/// A table text/FITS error ([`tables::text::TextError`]).
pub fn table_text(e: &tables::text::TextError) -> PyErr {
    use tables::text::Location;
    let (line, column) = match &e.location {
        Location::File => (None, None),
        Location::Text { line, column } => (Some(*line as u64), Some(column.to_string())),
        Location::Fits { row, column, .. } => (Some(*row as u64), Some(column.clone())),
    };
    with_attrs(
        TablesError::new_err(e.to_string()),
        &[("path", Some(e.path.clone())), ("column", column)],
        &[("line", line)],
    )
}

/// A table set with problems; `problems` is the list of problem dicts.
pub fn invalid_tables(what: &str, problems: &[tables::Problem]) -> PyErr {
    let n = problems.len();
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let err = InvalidTablesError::new_err(format!(
        "{what}: {n} problem{}: {}",
        if n == 1 { "" } else { "s" },
        list.join("; ")
    ));
    Python::attach(|py| {
        let l: Vec<Bound<'_, PyAny>> = problems
            .iter()
            .filter_map(|p| crate::conv::to_py(py, &crate::tables::problem_json(p)).ok())
            .collect();
        let _ = err.value(py).setattr("problems", l);
    });
    err
}

/// A scenario error ([`eic_bench::sim::scenario::ScenarioError`]).
pub fn scenario(e: &eic_bench::sim::scenario::ScenarioError) -> PyErr {
    with_attrs(
        ScenarioError::new_err(e.to_string()),
        &[("origin", Some(e.origin.clone()))],
        &[("line", e.at.map(|a| a.0 as u64)), ("column", e.at.map(|a| a.1 as u64))],
    )
}

/// A replay error: input, tables or configuration.
pub fn replay(e: eic_bench::replay::ReplayError) -> PyErr {
    use eic_bench::replay::ReplayError;
    match e {
        ReplayError::Input(i) => input(&i),
        ReplayError::Tables(t) => table_text(&t),
        ReplayError::Config(c) => {
            InvalidTablesError::new_err(format!("trigger configuration: {c}"))
        }
        ReplayError::Io(io) if io.kind() == std::io::ErrorKind::Interrupted => {
            // The Python exception (KeyboardInterrupt) that stopped the replay, if any.
            crate::replay::take_interrupt().unwrap_or_else(|| eic(io.to_string()))
        }
        other => eic(other.to_string()),
    }
}
