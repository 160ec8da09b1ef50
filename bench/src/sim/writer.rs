//! Where simulated events go: the [`EventSink`] trait and the file triplet of ICD §6.
//!
//! [`DirSink`] writes, streaming (memory bounded whatever the duration):
//!
//! - `ECL-EVT-SEC_<name>.fits`: primary HDU without data, then the binary table `EVENTS` with
//!   `TIME` (`D`, s since MJDREF 57754 TT), `Y`, `Z`, `PHA` (`I`), `MULT` (`B`), 15 octets per
//!   row; `NAXIS2` is written last (the header is rewritten in place when the stream ends);
//! - `SVO-ATT-CNV_<name>.fits`: table `ATTITUDE` with `TIME` (`D`), `QPARAM` (`4D`: the
//!   instrument → J2000 quaternion, vector part first then scalar, as the Swift/HEASARC
//!   attitude files order it), and the boresight `RA_PNT`, `DEC_PNT` (`D`, degrees);
//! - `SVO-ORB-CNV_<name>.fits`: table `ORBIT` with `TIME`, `LON`, `LAT` (`D`, degrees), `ALT`
//!   (`D`, km);
//! - `ECL-EVT-SEC_<name>.csv` (optional): `TIME,Y,Z,PHA,MULT`, `TIME` with five decimals (the
//!   20 µs tick exactly).
//!
//! Every header has `MJDREFI = 57754`, `MJDREFF = 0.0`, `TIMESYS = 'TT'`, `TIMEUNIT = 's'`,
//! `TELESCOP = 'SVOM'`, `INSTRUME = 'ECLAIRs'`, `TSTART`/`TSTOP` (rewritten at the end) and
//! no date keyword, so a scenario and a seed always give the same bytes.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tables::fits::{BLOCK_LEN, CARD_LEN, Value, card, end_header, push_card};

use crate::events::{AttitudeSample, Event, OrbitSample, tick_to_s};

/// Receives the simulator's output in time order: a context sample before the events at or
/// after its time.
pub trait EventSink {
    /// One event.
    ///
    /// # Errors
    /// Whatever stops the sink (a full disk).
    fn event(&mut self, e: &Event) -> std::io::Result<()>;
    /// One attitude sample.
    ///
    /// # Errors
    /// As [`EventSink::event`].
    fn attitude(&mut self, a: &AttitudeSample) -> std::io::Result<()>;
    /// One orbit sample.
    ///
    /// # Errors
    /// As [`EventSink::event`].
    fn orbit(&mut self, o: &OrbitSample) -> std::io::Result<()>;
    /// The end of the stream (`stop_tick`: the end of the simulated interval).
    ///
    /// # Errors
    /// As [`EventSink::event`].
    fn finish(&mut self, stop_tick: u64) -> std::io::Result<()> {
        let _ = stop_tick;
        Ok(())
    }
}

/// A sink that keeps everything in memory (tests, short scenarios).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VecSink {
    /// The items, in the order received.
    pub items: Vec<crate::events::Item>,
    /// The stop tick given to `finish`.
    pub stop_tick: Option<u64>,
}

impl EventSink for VecSink {
    fn event(&mut self, e: &Event) -> std::io::Result<()> {
        self.items.push(crate::events::Item::Event(*e));
        Ok(())
    }
    fn attitude(&mut self, a: &AttitudeSample) -> std::io::Result<()> {
        self.items.push(crate::events::Item::Attitude(*a));
        Ok(())
    }
    fn orbit(&mut self, o: &OrbitSample) -> std::io::Result<()> {
        self.items.push(crate::events::Item::Orbit(*o));
        Ok(())
    }
    fn finish(&mut self, stop_tick: u64) -> std::io::Result<()> {
        self.stop_tick = Some(stop_tick);
        Ok(())
    }
}

/// A column of a table being written.
struct ColumnDef {
    name: &'static str,
    tform: &'static str,
    unit: &'static str,
    comment: &'static str,
}

/// A FITS file with one binary table, written row by row; the row count and time range are
/// patched into the header at the end.
struct FitsTableWriter {
    path: PathBuf,
    out: BufWriter<File>,
    row_len: usize,
    rows: u64,
    naxis2_at: u64,
    tstart_at: u64,
    tstop_at: u64,
    first_tick: Option<u64>,
    data_start: u64,
}

fn common_cards(h: &mut Vec<u8>) {
    card(h, "TELESCOP", Value::Str("SVOM"), "mission");
    card(h, "INSTRUME", Value::Str("ECLAIRs"), "instrument");
    card(h, "MJDREFI", Value::Int(crate::events::MJDREFI), "MJD of the time origin (integer)");
    card(h, "MJDREFF", Value::Float(0.0), "MJD of the time origin (fraction)");
    card(h, "TIMESYS", Value::Str("TT"), "time system");
    card(h, "TIMEUNIT", Value::Str("s"), "unit of TIME, TSTART, TSTOP");
    card(h, "TIMEREF", Value::Str("LOCAL"), "times at the spacecraft");
}

fn tform_len(t: &str) -> usize {
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let n: usize = digits.parse().unwrap_or(1);
    n * match t.chars().last() {
        Some('D' | 'K') => 8,
        Some('E' | 'J') => 4,
        Some('I') => 2,
        _ => 1,
    }
}

impl FitsTableWriter {
    fn create(
        path: &Path,
        extname: &str,
        columns: &[ColumnDef],
        comments: &[&str],
    ) -> std::io::Result<Self> {
        let mut h = Vec::with_capacity(4 * BLOCK_LEN);
        card(&mut h, "SIMPLE", Value::Logical(true), "conforms to FITS standard");
        card(&mut h, "BITPIX", Value::Int(8), "array data type");
        card(&mut h, "NAXIS", Value::Int(0), "no primary array");
        card(&mut h, "EXTEND", Value::Logical(true), "extensions follow");
        common_cards(&mut h);
        card(&mut h, "CREATOR", Value::Str("eic-bench simulate"), "software that wrote it");
        end_header(&mut h);

        let row_len: usize = columns.iter().map(|c| tform_len(c.tform)).sum();
        card(&mut h, "XTENSION", Value::Str("BINTABLE"), "binary table extension");
        card(&mut h, "BITPIX", Value::Int(8), "8-bit bytes");
        card(&mut h, "NAXIS", Value::Int(2), "2-dimensional binary table");
        card(&mut h, "NAXIS1", Value::Int(row_len as i64), "octets per row");
        let naxis2_at = h.len() as u64;
        card(&mut h, "NAXIS2", Value::Int(0), "rows");
        card(&mut h, "PCOUNT", Value::Int(0), "no heap");
        card(&mut h, "GCOUNT", Value::Int(1), "one group");
        card(&mut h, "TFIELDS", Value::Int(columns.len() as i64), "columns per row");
        for (k, c) in columns.iter().enumerate() {
            card(&mut h, &format!("TTYPE{}", k + 1), Value::Str(c.name), c.comment);
            card(&mut h, &format!("TFORM{}", k + 1), Value::Str(c.tform), "");
            if !c.unit.is_empty() {
                card(&mut h, &format!("TUNIT{}", k + 1), Value::Str(c.unit), "");
            }
        }
        card(&mut h, "EXTNAME", Value::Str(extname), "");
        common_cards(&mut h);
        let tstart_at = h.len() as u64;
        card(&mut h, "TSTART", Value::Float(0.0), "start of the data, s since MJDREF");
        let tstop_at = h.len() as u64;
        card(&mut h, "TSTOP", Value::Float(0.0), "end of the data, s since MJDREF");
        card(&mut h, "CREATOR", Value::Str("eic-bench simulate"), "software that wrote it");
        for c in comments {
            push_card(&mut h, &format!("COMMENT {c}"));
        }
        end_header(&mut h);
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        out.write_all(&h)?;
        Ok(FitsTableWriter {
            path: path.to_path_buf(),
            out,
            row_len,
            rows: 0,
            naxis2_at,
            tstart_at,
            tstop_at,
            first_tick: None,
            data_start: h.len() as u64,
        })
    }

    fn row(&mut self, tick: u64, bytes: &[u8]) -> std::io::Result<()> {
        debug_assert_eq!(bytes.len(), self.row_len);
        self.first_tick.get_or_insert(tick);
        self.rows += 1;
        self.out.write_all(bytes)
    }

    fn finish(mut self, start_tick: u64, stop_tick: u64) -> std::io::Result<PathBuf> {
        let data = self.rows * self.row_len as u64;
        let rem = (data % BLOCK_LEN as u64) as usize;
        if rem != 0 {
            self.out.write_all(&vec![0u8; BLOCK_LEN - rem])?;
        }
        let patch = |out: &mut BufWriter<File>, at: u64, key: &str, v: Value<'_>, c: &str| {
            let mut buf = Vec::with_capacity(CARD_LEN);
            card(&mut buf, key, v, c);
            out.seek(SeekFrom::Start(at))?;
            out.write_all(&buf)
        };
        let rows = i64::try_from(self.rows).unwrap_or(i64::MAX);
        patch(&mut self.out, self.naxis2_at, "NAXIS2", Value::Int(rows), "rows")?;
        let start = tick_to_s(self.first_tick.unwrap_or(start_tick).min(start_tick));
        patch(
            &mut self.out,
            self.tstart_at,
            "TSTART",
            Value::Float(start),
            "start of the data, s since MJDREF",
        )?;
        patch(
            &mut self.out,
            self.tstop_at,
            "TSTOP",
            Value::Float(tick_to_s(stop_tick)),
            "end of the data, s since MJDREF",
        )?;
        self.out.seek(SeekFrom::Start(self.data_start + data))?;
        self.out.flush()?;
        Ok(self.path)
    }
}

/// The files a [`DirSink`] wrote.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Outputs {
    /// `ECL-EVT-SEC_<name>.fits`.
    pub events: PathBuf,
    /// `SVO-ATT-CNV_<name>.fits`.
    pub attitude: PathBuf,
    /// `SVO-ORB-CNV_<name>.fits`.
    pub orbit: PathBuf,
    /// `ECL-EVT-SEC_<name>.csv`, if asked for.
    pub csv: Option<PathBuf>,
    /// Events written.
    pub events_written: u64,
}

/// Writes the triplet (and optionally the CSV) of ICD §6 into a directory, streaming.
pub struct DirSink {
    events: Option<FitsTableWriter>,
    attitude: Option<FitsTableWriter>,
    orbit: Option<FitsTableWriter>,
    csv: Option<(PathBuf, BufWriter<File>)>,
    start_tick: u64,
    done: Option<Outputs>,
    row: [u8; 15],
}

impl std::fmt::Debug for DirSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirSink").field("done", &self.done).finish_non_exhaustive()
    }
}

fn closed() -> std::io::Error {
    std::io::Error::other("the simulation output is already finished")
}

impl DirSink {
    /// Creates the files `<dir>/{ECL-EVT-SEC,SVO-ATT-CNV,SVO-ORB-CNV}_<name>.fits` (and the
    /// CSV if `csv`), creating `dir` if needed; `start_tick` is the scenario start.
    ///
    /// # Errors
    /// The directory or a file cannot be created.
    pub fn create(dir: &Path, name: &str, csv: bool, start_tick: u64) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let events = FitsTableWriter::create(
            &dir.join(format!("ECL-EVT-SEC_{name}.fits")),
            "EVENTS",
            &[
                ColumnDef {
                    name: "TIME",
                    tform: "D",
                    unit: "s",
                    comment: "event time, s since MJDREF (TT)",
                },
                ColumnDef { name: "Y", tform: "I", unit: "", comment: "pixel row 0-79" },
                ColumnDef { name: "Z", tform: "I", unit: "", comment: "pixel column 0-79" },
                ColumnDef { name: "PHA", tform: "I", unit: "chan", comment: "pulse height 0-1023" },
                ColumnDef {
                    name: "MULT",
                    tform: "B",
                    unit: "",
                    comment: "multiplicity, 1 = single",
                },
            ],
            &[
                "Simulated ECLAIRs single events (eic-bench simulate): time, pixel (Y, Z),",
                "PHA; pixel ID = 80*Y + Z; E [keV] = GAIN * PHA + OFFSET per pixel.",
            ],
        )?;
        let attitude = FitsTableWriter::create(
            &dir.join(format!("SVO-ATT-CNV_{name}.fits")),
            "ATTITUDE",
            &[
                ColumnDef { name: "TIME", tform: "D", unit: "s", comment: "s since MJDREF (TT)" },
                ColumnDef {
                    name: "QPARAM",
                    tform: "4D",
                    unit: "",
                    comment: "quaternion x, y, z, w",
                },
                ColumnDef {
                    name: "RA_PNT",
                    tform: "D",
                    unit: "deg",
                    comment: "boresight RA J2000",
                },
                ColumnDef {
                    name: "DEC_PNT",
                    tform: "D",
                    unit: "deg",
                    comment: "boresight Dec J2000",
                },
            ],
            &[
                "QPARAM rotates instrument-frame vectors (X boresight, Y, Z along the",
                "detector indices) into J2000: v_J2000 = q v q*, vector part first.",
            ],
        )?;
        let orbit = FitsTableWriter::create(
            &dir.join(format!("SVO-ORB-CNV_{name}.fits")),
            "ORBIT",
            &[
                ColumnDef { name: "TIME", tform: "D", unit: "s", comment: "s since MJDREF (TT)" },
                ColumnDef {
                    name: "LON",
                    tform: "D",
                    unit: "deg",
                    comment: "geographic longitude east",
                },
                ColumnDef { name: "LAT", tform: "D", unit: "deg", comment: "geographic latitude" },
                ColumnDef { name: "ALT", tform: "D", unit: "km", comment: "altitude" },
            ],
            &["Sub-satellite point and altitude (circular orbit model)."],
        )?;
        let csv = if csv {
            let p = dir.join(format!("ECL-EVT-SEC_{name}.csv"));
            let mut w = BufWriter::with_capacity(1 << 20, File::create(&p)?);
            w.write_all(b"TIME,Y,Z,PHA,MULT\n")?;
            Some((p, w))
        } else {
            None
        };
        Ok(DirSink {
            events: Some(events),
            attitude: Some(attitude),
            orbit: Some(orbit),
            csv,
            start_tick,
            done: None,
            row: [0; 15],
        })
    }

    /// What was written, after [`EventSink::finish`].
    pub fn outputs(&self) -> Option<&Outputs> {
        self.done.as_ref()
    }
}

/// `TIME` of a tick with five decimals, exactly (ticks are 2·10⁻⁵ s).
pub fn time_text(tick: u64) -> String {
    let s = tick / crate::events::TICKS_PER_S;
    let frac = (tick % crate::events::TICKS_PER_S) * 2;
    format!("{s}.{frac:05}")
}

impl EventSink for DirSink {
    fn event(&mut self, e: &Event) -> std::io::Result<()> {
        let w = self.events.as_mut().ok_or_else(closed)?;
        let r = &mut self.row;
        r[..8].copy_from_slice(&tick_to_s(e.tick).to_be_bytes());
        r[8..10].copy_from_slice(&i16::from(e.y).to_be_bytes());
        r[10..12].copy_from_slice(&i16::from(e.z).to_be_bytes());
        r[12..14].copy_from_slice(&(e.pha as i16).to_be_bytes());
        r[14] = e.mult;
        w.row(e.tick, &r[..15])?;
        if let Some((_, c)) = self.csv.as_mut() {
            writeln!(c, "{},{},{},{},{}", time_text(e.tick), e.y, e.z, e.pha, e.mult)?;
        }
        Ok(())
    }

    fn attitude(&mut self, a: &AttitudeSample) -> std::io::Result<()> {
        let w = self.attitude.as_mut().ok_or_else(closed)?;
        let [qw, qx, qy, qz] = a.q;
        let att = onboard::trigger::geometry::Attitude::new(a.q)
            .unwrap_or(onboard::trigger::geometry::Attitude::IDENTITY);
        let (ra, dec) = att.pointing();
        let mut r = [0u8; 56];
        for (k, v) in [tick_to_s(a.tick), qx, qy, qz, qw, ra, dec].into_iter().enumerate() {
            r[k * 8..k * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        w.row(a.tick, &r)
    }

    fn orbit(&mut self, o: &OrbitSample) -> std::io::Result<()> {
        let w = self.orbit.as_mut().ok_or_else(closed)?;
        let mut r = [0u8; 32];
        for (k, v) in [tick_to_s(o.tick), o.lon_deg, o.lat_deg, o.alt_km].into_iter().enumerate() {
            r[k * 8..k * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        w.row(o.tick, &r)
    }

    fn finish(&mut self, stop_tick: u64) -> std::io::Result<()> {
        let (Some(ev), Some(att), Some(orb)) =
            (self.events.take(), self.attitude.take(), self.orbit.take())
        else {
            return Err(closed());
        };
        let events_written = ev.rows;
        let events = ev.finish(self.start_tick, stop_tick)?;
        let attitude = att.finish(self.start_tick, stop_tick)?;
        let orbit = orb.finish(self.start_tick, stop_tick)?;
        let csv = match self.csv.take() {
            Some((p, mut w)) => {
                w.flush()?;
                Some(p)
            }
            None => None,
        };
        self.done = Some(Outputs { events, attitude, orbit, csv, events_written });
        Ok(())
    }
}
