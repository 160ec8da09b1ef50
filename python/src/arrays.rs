//! Events, attitude and orbit samples as packed records: the buffers behind the numpy
//! structured arrays of `eic_bench` (`EVENT_DTYPE`, `ATTITUDE_DTYPE`, `ORBIT_DTYPE`, aligned C
//! layouts, little-endian). A buffer goes to Python as a `uint8` array that owns it (no copy)
//! and Python views it with the dtype (no copy).

use eic_bench::events::{AttitudeSample, Event, Item, OrbitSample};
use numpy::PyArray1;
use pyo3::prelude::*;

/// Octets per event record: tick u64 @0, y u8 @8, z u8 @9, pha u16 @10, mult u8 @12.
pub const EVENT_LEN: usize = 16;
/// Octets per attitude record: tick u64 @0, q [f64; 4] @8 (scalar first).
pub const ATTITUDE_LEN: usize = 40;
/// Octets per orbit record: tick u64 @0, lon, lat (degrees), alt (km) f64 @8, @16, @24.
pub const ORBIT_LEN: usize = 32;

/// The three record buffers of an input.
#[derive(Default)]
pub struct Records {
    /// Event records.
    pub events: Vec<u8>,
    /// Attitude records.
    pub attitude: Vec<u8>,
    /// Orbit records.
    pub orbit: Vec<u8>,
}

/// Appends one event record.
pub fn push_event(out: &mut Vec<u8>, e: &Event) {
    out.extend_from_slice(&e.tick.to_le_bytes());
    out.push(e.y);
    out.push(e.z);
    out.extend_from_slice(&e.pha.to_le_bytes());
    out.push(e.mult);
    out.extend_from_slice(&[0, 0, 0]);
}

/// Appends one attitude record.
pub fn push_attitude(out: &mut Vec<u8>, a: &AttitudeSample) {
    out.extend_from_slice(&a.tick.to_le_bytes());
    for q in a.q {
        out.extend_from_slice(&q.to_le_bytes());
    }
}

/// Appends one orbit record.
pub fn push_orbit(out: &mut Vec<u8>, o: &OrbitSample) {
    out.extend_from_slice(&o.tick.to_le_bytes());
    for v in [o.lon_deg, o.lat_deg, o.alt_km] {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

impl Records {
    /// Appends one item.
    pub fn push(&mut self, item: &Item) {
        match item {
            Item::Event(e) => push_event(&mut self.events, e),
            Item::Attitude(a) => push_attitude(&mut self.attitude, a),
            Item::Orbit(o) => push_orbit(&mut self.orbit, o),
        }
    }
}

impl eic_bench::sim::writer::EventSink for Records {
    fn event(&mut self, e: &Event) -> std::io::Result<()> {
        push_event(&mut self.events, e);
        Ok(())
    }
    fn attitude(&mut self, a: &AttitudeSample) -> std::io::Result<()> {
        push_attitude(&mut self.attitude, a);
        Ok(())
    }
    fn orbit(&mut self, o: &OrbitSample) -> std::io::Result<()> {
        push_orbit(&mut self.orbit, o);
        Ok(())
    }
}

/// A buffer as a `uint8` numpy array that owns it (no copy).
pub fn owned<'py>(py: Python<'py>, v: Vec<u8>) -> Bound<'py, PyArray1<u8>> {
    PyArray1::from_vec(py, v)
}

/// Three record buffers as `uint8` arrays: events, attitude, orbit.
pub type Buffers<'py> =
    (Bound<'py, PyArray1<u8>>, Bound<'py, PyArray1<u8>>, Bound<'py, PyArray1<u8>>);

/// The three buffers as a tuple of `uint8` arrays (events, attitude, orbit).
pub fn triple<'py>(py: Python<'py>, r: Records) -> Buffers<'py> {
    (owned(py, r.events), owned(py, r.attitude), owned(py, r.orbit))
}
