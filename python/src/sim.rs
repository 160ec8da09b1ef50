//! The simulator (`eic-bench simulate`) and the event file readers (`eic_bench::events`).

use std::path::PathBuf;

use eic_bench::events::{Input, Item};
use eic_bench::sim::{self, Scenario, SimError};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::arrays::{self, Records};
use crate::{conv, errors};

/// A TOML key, bare when it can be.
fn key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_owned()
    } else {
        serde_json::Value::String(k.to_owned()).to_string()
    }
}

/// A Python value as TOML text (inline tables and arrays); strings that are TOML date-times
/// (and `datetime` objects) become date-times.
fn value(v: &Bound<'_, PyAny>) -> PyResult<String> {
    if v.is_instance_of::<PyBool>() {
        return Ok(if v.extract::<bool>()? { "true" } else { "false" }.into());
    }
    if v.is_instance_of::<PyInt>() {
        return Ok(v.extract::<i64>()?.to_string());
    }
    if v.is_instance_of::<PyFloat>() {
        let f: f64 = v.extract()?;
        return Ok(if f.is_nan() {
            "nan".into()
        } else if f.is_infinite() {
            if f > 0.0 { "inf" } else { "-inf" }.into()
        } else {
            format!("{f:?}")
        });
    }
    if v.is_instance_of::<PyString>() {
        let s: String = v.extract()?;
        if s.parse::<toml::value::Datetime>().is_ok() {
            return Ok(s);
        }
        return Ok(serde_json::Value::String(s).to_string());
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut parts = Vec::new();
        for (k, x) in d.iter() {
            parts.push(format!("{} = {}", key(&k.extract::<String>()?), value(&x)?));
        }
        return Ok(format!("{{ {} }}", parts.join(", ")));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let mut parts = Vec::new();
        for x in v.try_iter()? {
            parts.push(value(&x?)?);
        }
        return Ok(format!("[{}]", parts.join(", ")));
    }
    if v.hasattr("isoformat")? {
        let s: String = v.call_method0("isoformat")?.extract()?;
        return Ok(s);
    }
    if let Ok(p) = v.extract::<PathBuf>() {
        return Ok(serde_json::Value::String(p.display().to_string()).to_string());
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "scenario value {}: expected bool, int, float, str, date-time, list or dict",
        v.repr()?
    )))
}

/// The scenario of a dict, a path, or TOML text with a newline.
fn scenario(obj: &Bound<'_, PyAny>) -> PyResult<Scenario> {
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut text = String::new();
        for (k, v) in d.iter() {
            text.push_str(&format!("{} = {}\n", key(&k.extract::<String>()?), value(&v)?));
        }
        return Scenario::parse(&text, "<scenario dict>").map_err(|e| errors::scenario(&e));
    }
    if let Ok(s) = obj.extract::<String>()
        && s.contains('\n')
    {
        return Scenario::parse(&s, "<scenario text>").map_err(|e| errors::scenario(&e));
    }
    let path = conv::path_of(obj)?;
    Scenario::load(&path).map_err(|e| {
        if e.message.starts_with("cannot read") {
            errors::input_file(&path, e.message.clone())
        } else {
            errors::scenario(&e)
        }
    })
}

fn sim_err(e: SimError) -> PyErr {
    match e {
        SimError::Scenario(m) => errors::ScenarioError::new_err(format!("scenario: {m}")),
        SimError::Tables(t) => errors::table_text(&t),
        other => errors::eic(other.to_string()),
    }
}

/// The event buffers and summary of a simulation in memory.
type InMemory<'py> = (
    Bound<'py, PyArray1<u8>>,
    Bound<'py, PyArray1<u8>>,
    Bound<'py, PyArray1<u8>>,
    Bound<'py, PyAny>,
);

/// Runs a scenario into memory: (events, attitude, orbit record buffers, summary dict).
#[pyfunction]
#[pyo3(signature = (scenario, *, seed = None, duration_s = None, threads = None))]
fn simulate_arrays<'py>(
    py: Python<'py>,
    scenario: &Bound<'py, PyAny>,
    seed: Option<u64>,
    duration_s: Option<f64>,
    threads: Option<usize>,
) -> PyResult<InMemory<'py>> {
    let sc = prepared(scenario, seed, duration_s)?;
    let (records, summary) = py
        .detach(|| -> Result<_, SimError> {
            let mut s = sim::Simulator::new(&sc)?;
            if let Some(t) = threads {
                s = s.threads(t);
            }
            let mut records = Records::default();
            let summary = s.run(&mut records, |_| {})?;
            Ok((records, summary))
        })
        .map_err(sim_err)?;
    let (e, a, o) = arrays::triple(py, records);
    Ok((e, a, o, conv::ser_to_py(py, &summary)?))
}

fn prepared(
    obj: &Bound<'_, PyAny>,
    seed: Option<u64>,
    duration_s: Option<f64>,
) -> PyResult<Scenario> {
    let mut sc = scenario(obj)?;
    if let Some(s) = seed {
        sc.seed = s;
    }
    if let Some(d) = duration_s {
        sc.duration_s = d;
    }
    sc.check().map_err(|m| errors::ScenarioError::new_err(format!("scenario: {m}")))?;
    Ok(sc)
}

/// Runs a scenario into the ICD §6 file triplet in `output` (plus the CSV if `csv`), as
/// `eic-bench simulate -o`: returns {"summary": ..., "files": ...}.
#[pyfunction]
#[pyo3(signature = (scenario, output, *, seed = None, duration_s = None, csv = false, threads = None))]
fn simulate_files<'py>(
    py: Python<'py>,
    scenario: &Bound<'py, PyAny>,
    output: &Bound<'py, PyAny>,
    seed: Option<u64>,
    duration_s: Option<f64>,
    csv: bool,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let sc = prepared(scenario, seed, duration_s)?;
    let out = conv::path_of(output)?;
    let (summary, files) = py
        .detach(|| -> Result<_, SimError> {
            let mut s = sim::Simulator::new(&sc)?;
            if let Some(t) = threads {
                s = s.threads(t);
            }
            let mut sink = sim::DirSink::create(&out, &sc.name, csv, s.start_tick())?;
            let summary = s.run(&mut sink, |_| {})?;
            let files = sink
                .outputs()
                .cloned()
                .ok_or_else(|| SimError::Io(std::io::Error::other("no output written")))?;
            Ok((summary, files))
        })
        .map_err(sim_err)?;
    let d = PyDict::new(py);
    d.set_item("summary", conv::ser_to_py(py, &summary)?)?;
    d.set_item("files", conv::ser_to_py(py, &files)?)?;
    d.set_item("seed", sc.seed)?;
    Ok(d.into_any())
}

/// Reads an event file (FITS or CSV) or a triplet directory whole: (events, attitude, orbit)
/// record buffers.
#[pyfunction]
fn read_events_arrays<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyAny>,
) -> PyResult<arrays::Buffers<'py>> {
    let path = conv::path_of(path)?;
    let records = py
        .detach(|| -> Result<Records, eic_bench::events::InputError> {
            let mut input = Input::open(&path)?;
            let mut r = Records::default();
            while let Some(item) = input.next_item()? {
                r.push(&item);
            }
            Ok(r)
        })
        .map_err(|e| errors::input(&e))?;
    Ok(arrays::triple(py, records))
}

/// Events of a file in chunks of at most `chunk` records, streamed (memory bounded whatever
/// the file's size); the attitude and orbit samples are skipped (`read_events` has them).
#[pyclass(module = "eic_bench._native", unsendable)]
pub struct EventChunks {
    input: Input,
    chunk: usize,
    done: bool,
}

#[pymethods]
impl EventChunks {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyArray1<u8>>>> {
        if self.done {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(self.chunk.min(1 << 20) * arrays::EVENT_LEN);
        let mut n = 0usize;
        while n < self.chunk {
            match self.input.next_item().map_err(|e| errors::input(&e))? {
                Some(Item::Event(e)) => {
                    arrays::push_event(&mut out, &e);
                    n += 1;
                }
                Some(_) => {}
                None => {
                    self.done = true;
                    break;
                }
            }
        }
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(arrays::owned(py, out)))
    }

    /// Events read so far.
    #[getter]
    fn events_read(&self) -> u64 {
        self.input.events_read()
    }
}

/// Opens an event file or triplet for reading in chunks.
#[pyfunction]
#[pyo3(signature = (path, chunk = 1 << 20))]
fn iter_event_chunks(path: &Bound<'_, PyAny>, chunk: usize) -> PyResult<EventChunks> {
    let path = conv::path_of(path)?;
    if chunk == 0 {
        return Err(pyo3::exceptions::PyValueError::new_err("chunk: expected at least 1 event"));
    }
    let input = Input::open(&path).map_err(|e| errors::input(&e))?;
    Ok(EventChunks { input, chunk, done: false })
}

/// Adds the simulator and event readers.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<EventChunks>()?;
    m.add("EVENT_ITEMSIZE", arrays::EVENT_LEN)?;
    m.add("ATTITUDE_ITEMSIZE", arrays::ATTITUDE_LEN)?;
    m.add("ORBIT_ITEMSIZE", arrays::ORBIT_LEN)?;
    m.add_function(wrap_pyfunction!(simulate_arrays, m)?)?;
    m.add_function(wrap_pyfunction!(simulate_files, m)?)?;
    m.add_function(wrap_pyfunction!(read_events_arrays, m)?)?;
    m.add_function(wrap_pyfunction!(iter_event_chunks, m)?)?;
    Ok(())
}
