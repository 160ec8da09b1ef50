//! Replays through the on-board trigger in this process (`replay --local`), from files or from
//! numpy arrays (borrowed: no copy), with the GIL released and Ctrl-C honoured.

use std::sync::Mutex;

use eic_bench::events::{AttitudeSample, Event, Input, Item, OrbitSample};
use eic_bench::replay::{self, ItemSource, LocalOptions, ReplayError};
use numpy::ndarray::ArrayView1;
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::tables::PyTableSet;
use crate::{conv, errors};

/// Items between two checks for a pending signal (Ctrl-C).
const SIGNAL_EVERY: u64 = 1 << 15;

/// The exception that interrupted the last replay (raised by the caller).
static INTERRUPT: Mutex<Option<PyErr>> = Mutex::new(None);

/// The exception that interrupted a replay, if one did.
pub fn take_interrupt() -> Option<PyErr> {
    INTERRUPT.lock().ok().and_then(|mut g| g.take())
}

/// A source that asks Python for pending signals now and then and stops when a handler
/// raised (KeyboardInterrupt on Ctrl-C).
struct Interruptible<'a> {
    inner: &'a mut (dyn ItemSource + Send),
    n: u64,
}

impl ItemSource for Interruptible<'_> {
    fn next_item(&mut self) -> Result<Option<Item>, ReplayError> {
        self.n += 1;
        if self.n.is_multiple_of(SIGNAL_EVERY)
            && let Err(e) = Python::attach(|py| py.check_signals())
        {
            if let Ok(mut g) = INTERRUPT.lock() {
                *g = Some(e);
            }
            return Err(ReplayError::Io(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "replay interrupted",
            )));
        }
        self.inner.next_item()
    }
    fn has_attitude(&self) -> bool {
        self.inner.has_attitude()
    }
    fn events_read(&self) -> u64 {
        self.inner.events_read()
    }
}

/// Events, attitude and orbit samples as columns of borrowed numpy arrays, merged in time
/// order as [`Input`] merges a triplet (attitude, then orbit, then events at equal ticks).
struct Arrays<'a> {
    tick: ArrayView1<'a, u64>,
    y: ArrayView1<'a, u8>,
    z: ArrayView1<'a, u8>,
    pha: ArrayView1<'a, u16>,
    mult: ArrayView1<'a, u8>,
    att_tick: ArrayView1<'a, u64>,
    att_q: numpy::ndarray::ArrayView2<'a, f64>,
    orb_tick: ArrayView1<'a, u64>,
    orb: numpy::ndarray::ArrayView2<'a, f64>,
    ie: usize,
    ia: usize,
    io: usize,
    last_event: u64,
}

fn bad_event(i: usize, message: String) -> ReplayError {
    ReplayError::Input(eic_bench::events::InputError {
        path: "<events array>".into(),
        place: eic_bench::events::Place::Cell { hdu: 0, row: i as u64, column: String::new() },
        message,
    })
}

impl Arrays<'_> {
    fn event(&self, i: usize) -> Result<Event, ReplayError> {
        let get = |v: &ArrayView1<'_, u8>| v.get(i).copied().unwrap_or(0);
        let e = Event {
            tick: self.tick.get(i).copied().unwrap_or(0),
            y: get(&self.y),
            z: get(&self.z),
            pha: self.pha.get(i).copied().unwrap_or(0),
            mult: get(&self.mult),
        };
        let n = onboard::trigger::geometry::DET_N as u8;
        if e.y >= n || e.z >= n {
            return Err(bad_event(
                i,
                format!("pixel (y {}, z {}) outside the 0..{n} detector", e.y, e.z),
            ));
        }
        if e.pha > 1023 || e.mult == 0 {
            return Err(bad_event(
                i,
                format!("pha {} / mult {}: expected pha 0..=1023 and mult >= 1", e.pha, e.mult),
            ));
        }
        if e.tick < self.last_event {
            return Err(bad_event(
                i,
                format!(
                    "tick {} before the previous event's {}: events must be in time order",
                    e.tick, self.last_event
                ),
            ));
        }
        Ok(e)
    }
}

impl ItemSource for Arrays<'_> {
    fn next_item(&mut self) -> Result<Option<Item>, ReplayError> {
        let te = self.tick.get(self.ie).copied();
        let ta = self.att_tick.get(self.ia).copied();
        let to = self.orb_tick.get(self.io).copied();
        let (e, a, o) = (te.unwrap_or(u64::MAX), ta.unwrap_or(u64::MAX), to.unwrap_or(u64::MAX));
        if ta.is_some() && a <= e && a <= o {
            let row = self.att_q.row(self.ia);
            let q = [0, 1, 2, 3].map(|k| row.get(k).copied().unwrap_or(0.0));
            self.ia += 1;
            return Ok(Some(Item::Attitude(AttitudeSample { tick: a, q })));
        }
        if to.is_some() && o <= e {
            let row = self.orb.row(self.io);
            let g = |k: usize| row.get(k).copied().unwrap_or(0.0);
            self.io += 1;
            return Ok(Some(Item::Orbit(OrbitSample {
                tick: o,
                lon_deg: g(0),
                lat_deg: g(1),
                alt_km: g(2),
            })));
        }
        if te.is_none() {
            return Ok(None);
        }
        let ev = self.event(self.ie)?;
        self.last_event = ev.tick;
        self.ie += 1;
        Ok(Some(Item::Event(ev)))
    }
    fn has_attitude(&self) -> bool {
        !self.att_tick.is_empty()
    }
    fn events_read(&self) -> u64 {
        self.ie as u64
    }
}

/// The outcome of a replay as a dict: alerts (each the JSON object of `replay --local --json`,
/// plus "image" when asked), events, packets, octets, stats.
fn outcome<'py>(py: Python<'py>, out: replay::LocalOutcome) -> PyResult<Bound<'py, PyAny>> {
    let d = PyDict::new(py);
    let alerts = PyList::empty(py);
    for mut r in out.alerts {
        let image = r.image.take();
        let a = conv::ser_to_py(py, &r)?;
        if let Some(img) = image {
            let n = img.n;
            let arr = PyArray1::from_vec(py, img.data).reshape([n, n])?;
            a.set_item("image", arr)?;
        }
        alerts.append(a)?;
    }
    d.set_item("alerts", alerts)?;
    d.set_item("events", out.events)?;
    d.set_item("packets", out.packets)?;
    d.set_item("octets", out.octets)?;
    let st = &out.stats;
    let stats = PyDict::new(py);
    stats.set_item("events_ignored", st.events_ignored)?;
    stats.set_item("refused", st.intake.refused)?;
    stats.set_item("accepted", st.intake.accepted)?;
    stats.set_item("detections", st.detections)?;
    stats.set_item("catalogue_below", st.catalogue_below)?;
    stats.set_item("truncated_windows", st.truncated_windows)?;
    stats.set_item("image_errors", st.image_errors)?;
    stats.set_item("no_attitude", st.no_attitude)?;
    d.set_item("stats", stats)?;
    d.set_item("attitudes", out.attitudes.iter().map(|q| q.to_vec()).collect::<Vec<_>>())?;
    Ok(d.into_any())
}

fn tables_of(tables: Option<&Bound<'_, PyAny>>) -> PyResult<tables::set::TableSet> {
    match tables {
        None => Ok(tables::defaults::default_set()),
        Some(t) => {
            if let Ok(s) = t.extract::<PyRef<'_, PyTableSet>>() {
                return Ok(s.set.clone());
            }
            let dir = conv::path_of(t)?;
            replay::local::load_tables(Some(&dir)).map_err(errors::replay)
        }
    }
}

fn run(
    py: Python<'_>,
    source: &mut (dyn ItemSource + Send),
    set: &tables::set::TableSet,
    images: bool,
) -> PyResult<replay::LocalOutcome> {
    take_interrupt();
    py.detach(|| {
        let mut src = Interruptible { inner: source, n: 0 };
        replay::run_local_source(&mut src, set, LocalOptions { images }, |_| {})
    })
    .map_err(errors::replay)
}

/// Replays an event file or triplet directory (`replay INPUT --local`).
#[pyfunction]
#[pyo3(signature = (path, tables = None, *, images = false))]
fn replay_file<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyAny>,
    tables: Option<&Bound<'py, PyAny>>,
    images: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let path = conv::path_of(path)?;
    let set = tables_of(tables)?;
    let mut input = Input::open(&path).map_err(|e| errors::input(&e))?;
    let out = run(py, &mut input, &set, images)?;
    outcome(py, out)
}

/// Replays event columns (tick, y, z, pha, mult) and optional attitude (tick, q[n,4]) and orbit
/// (tick, [lon, lat, alt][n,3]) columns: borrowed, not copied.
#[pyfunction]
#[pyo3(signature = (tick, y, z, pha, mult, att_tick, att_q, orb_tick, orb, tables = None, *, images = false))]
#[allow(clippy::too_many_arguments)]
fn replay_columns<'py>(
    py: Python<'py>,
    tick: PyReadonlyArray1<'py, u64>,
    y: PyReadonlyArray1<'py, u8>,
    z: PyReadonlyArray1<'py, u8>,
    pha: PyReadonlyArray1<'py, u16>,
    mult: PyReadonlyArray1<'py, u8>,
    att_tick: PyReadonlyArray1<'py, u64>,
    att_q: PyReadonlyArray2<'py, f64>,
    orb_tick: PyReadonlyArray1<'py, u64>,
    orb: PyReadonlyArray2<'py, f64>,
    tables: Option<&Bound<'py, PyAny>>,
    images: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let (tick, y, z, pha, mult) =
        (tick.as_array(), y.as_array(), z.as_array(), pha.as_array(), mult.as_array());
    let (att_tick, att_q, orb_tick, orb) =
        (att_tick.as_array(), att_q.as_array(), orb_tick.as_array(), orb.as_array());
    let n = tick.len();
    if [y.len(), z.len(), pha.len(), mult.len()].iter().any(|&l| l != n) {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "tick, y, z, pha and mult must have the same length",
        ));
    }
    if att_q.dim() != (att_tick.len(), 4) || orb.dim() != (orb_tick.len(), 3) {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "attitude: q must be (n, 4) for n ticks; orbit: (n, 3) lon, lat, alt for n ticks",
        ));
    }
    let set = tables_of(tables)?;
    let mut src = Arrays {
        tick,
        y,
        z,
        pha,
        mult,
        att_tick,
        att_q,
        orb_tick,
        orb,
        ie: 0,
        ia: 0,
        io: 0,
        last_event: 0,
    };
    let out = run(py, &mut src, &set, images)?;
    outcome(py, out)
}

/// Adds the replay functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(replay_file, m)?)?;
    m.add_function(wrap_pyfunction!(replay_columns, m)?)?;
    Ok(())
}
