//! Telemetry decoding: `tm decode` as a lazy Python iterator over records.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};

use eic_bench::cmd::tm::{ArchiveCadus, cut_tail_value, frame_error_value, packet_value};
use eic_bench::downlink::{Decoder, Event, Summary};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde_json::Value;
use tc_tm::spp;

use crate::conv;

/// The octets being decoded.
enum Source {
    /// A CADU stream (a capture or bytes).
    Cadus(Box<dyn Read + Send>),
    /// The CADUs of a bench archive.
    Archive(ArchiveCadus<Box<dyn Read + Send>>),
    /// Concatenated TM packets.
    Packets(Box<dyn Read + Send>),
}

/// A lazy decoder of telemetry: iterating yields one dict per packet or error, with the fields
/// of `eic-bench tm decode` (memory bounded: one 64 KiB read at a time).
#[pyclass(module = "eic_bench._native", unsendable)]
pub struct TmReader {
    source: Source,
    decoder: Decoder,
    pending: VecDeque<Value>,
    /// Packet layer: undecoded octets and the stream offset of their first.
    buf: Vec<u8>,
    base: u64,
    packets_summary: Summary,
    bad_packets: u64,
    done: bool,
    summary: Option<Summary>,
}

const CHUNK: usize = 1 << 16;

impl TmReader {
    fn new(source: Source) -> Self {
        TmReader {
            source,
            decoder: Decoder::new(),
            pending: VecDeque::new(),
            buf: Vec::new(),
            base: 0,
            packets_summary: Summary::default(),
            bad_packets: 0,
            done: false,
            summary: None,
        }
    }

    /// Reads and decodes the next chunk into `pending`; false at the end.
    fn fill(&mut self) -> std::io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        let mut chunk = vec![0u8; CHUNK];
        let n = match &mut self.source {
            Source::Cadus(r) | Source::Packets(r) => r.read(&mut chunk)?,
            Source::Archive(a) => a.read(&mut chunk)?,
        };
        let chunk = chunk.get(..n).unwrap_or_default();
        match self.source {
            Source::Packets(_) => self.packets(chunk, n == 0),
            Source::Cadus(_) | Source::Archive(_) => self.cadus(chunk, n == 0),
        }
        if n == 0 {
            self.done = true;
        }
        Ok(true)
    }

    fn cadus(&mut self, chunk: &[u8], eof: bool) {
        let pending = &mut self.pending;
        let bad = &mut self.bad_packets;
        self.decoder.push(chunk, |ev| match ev {
            Event::Packet { vcid, frame_count, offset, octets } => {
                let (v, ok) = packet_value(octets, offset, Some((vcid, frame_count)));
                if !ok {
                    *bad += 1;
                }
                pending.push_back(v);
            }
            Event::Error { offset, vcid, error } => {
                pending.push_back(frame_error_value(&error, offset, vcid));
            }
            Event::Frame { .. } => {}
        });
        if eof {
            self.decoder.count_packet_errors(self.bad_packets);
            let mut s = self.decoder.summary();
            let tail = self.decoder.pending_octets() as u64;
            if tail > 0 {
                s.trailing_octets = tail;
                s.errors += 1;
                self.pending.push_back(cut_tail_value(tail, s.octets));
            }
            if let Source::Archive(a) = &self.source {
                s.errors += a.damaged();
            }
            self.summary = Some(s);
        }
    }

    /// The packet layer, as `tm decode --layer packet`: whole packets out of the buffer.
    fn packets(&mut self, chunk: &[u8], eof: bool) {
        self.buf.extend_from_slice(chunk);
        self.packets_summary.octets += chunk.len() as u64;
        let s = &mut self.packets_summary;
        let mut pos = 0usize;
        loop {
            let rest = self.buf.get(pos..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
            let Some(len) = spp::packet_len(rest).filter(|&l| l <= rest.len()) else {
                if !eof {
                    break;
                }
                s.errors += 1;
                s.trailing_octets = rest.len() as u64;
                let e: tc_tm::Error = spp::Error::Truncated {
                    found: rest.len(),
                    expected: spp::packet_len(rest).unwrap_or(spp::HEADER_LEN),
                }
                .into();
                let at = self.base + pos as u64;
                self.pending.push_back(serde_json::json!({
                    "error": eic_bench::locate::describe(&e, at, rest.len()),
                    "layer": e.layer(),
                    "offset": at,
                }));
                pos = self.buf.len();
                break;
            };
            let octets = rest.get(..len).unwrap_or_default();
            let (v, ok) = packet_value(octets, self.base + pos as u64, None);
            if ok {
                s.packets += 1;
            } else {
                s.errors += 1;
            }
            self.pending.push_back(v);
            pos += len;
        }
        self.buf.drain(..pos.min(self.buf.len()));
        self.base += pos as u64;
        if eof {
            self.summary = Some(*s);
        }
    }
}

#[pymethods]
impl TmReader {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        loop {
            if let Some(v) = self.pending.pop_front() {
                return conv::to_py(py, &v).map(Some);
            }
            if !self
                .fill()
                .map_err(|e| crate::errors::eic(format!("reading the telemetry: {e}")))?
            {
                return Ok(None);
            }
        }
    }

    /// The counters of `tm decode --summary` (octets, frames, bad_frames, idle_frames,
    /// packets, errors, gaps, garbage_octets, lock_losses, trailing_octets) once the input is
    /// exhausted, else None.
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.summary.as_ref().map(|s| conv::ser_to_py(py, s)).transpose()
    }

    /// Whether anything in the input was damaged (what makes `tm decode` exit 2); None before
    /// the end.
    #[getter]
    fn damaged(&self) -> Option<bool> {
        self.summary.as_ref().map(Summary::damaged)
    }
}

/// Opens telemetry for decoding: `source` is a path (a CADU capture, a bench archive, or bare
/// packets with `layer="packet"`) or bytes.
#[pyfunction]
#[pyo3(signature = (source, layer = "cadu"))]
fn tm_decode(source: &Bound<'_, PyAny>, layer: &str) -> PyResult<TmReader> {
    let reader: Box<dyn Read + Send> = if let Ok(b) = source.cast::<PyBytes>() {
        Box::new(std::io::Cursor::new(b.as_bytes().to_vec()))
    } else {
        let path = conv::path_of(source)?;
        let f = std::fs::File::open(&path).map_err(|e| {
            crate::errors::input_file(
                &path,
                format!("cannot open ({e}); expected a CADU or packet file"),
            )
        })?;
        Box::new(f)
    };
    let mut reader = BufReader::with_capacity(CHUNK, reader);
    let is_archive = reader
        .fill_buf()
        .map_err(|e| crate::errors::eic(format!("reading the input: {e}")))?
        .starts_with(&eic_bench::archive::SYNC);
    let boxed: Box<dyn Read + Send> = Box::new(reader);
    let source = match layer {
        "cadu" if is_archive => Source::Archive(ArchiveCadus::new(boxed)),
        "cadu" => Source::Cadus(boxed),
        "packet" => Source::Packets(boxed),
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "layer {other:?}: expected \"cadu\" (captures and archives) or \"packet\""
            )));
        }
    };
    Ok(TmReader::new(source))
}

/// Adds the TM functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TmReader>()?;
    m.add_function(wrap_pyfunction!(tm_decode, m)?)?;
    Ok(())
}
