//! Replaying event files through the on-board trigger (`eic-bench replay`, `docs/replay.md`).
//!
//! The input ([`crate::events::Input`]: an event file or a triplet directory) is encoded into
//! the stimulus frames of `docs/icd/stimulus.md` by one [`encode::Encoder`]; the same octets
//! then go either to the trigger in this process ([`run_local`]) or over the stimulus link to a
//! unit (`replay --on DEVICE`), so a local replay and a replay on the twin run the same code on
//! the same packets and give the same alerts.
//!
//! Without attitude and orbit samples the replay sends [`DEFAULT_POINTING`] once, before the
//! first event, and no orbit (the SAA never inhibits).

pub mod encode;
pub mod image;
pub mod local;
pub mod notice;
pub mod remote;

use serde::{Deserialize, Serialize};
use tc_tm::service::trigger::{Alert, SlewRequest, TriggerType};

pub use local::{LocalOptions, LocalOutcome, run_local, run_local_source, run_local_with};
pub use notice::Notice;

use crate::events::{AttitudeSample, Input, InputError, Item, Run};
use encode::{Encoder, FrameSink};

/// Why a replay stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReplayError {
    /// The input file(s).
    Input(InputError),
    /// The tables directory.
    Tables(tables::text::TextError),
    /// The trigger refused the tables.
    Config(String),
    /// Writing frames or outputs.
    Io(std::io::Error),
    /// The unit or its link.
    Link(String),
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::Input(e) => e.fmt(f),
            ReplayError::Tables(e) => write!(f, "tables: {e}"),
            ReplayError::Config(e) => write!(f, "trigger configuration: {e}"),
            ReplayError::Io(e) => write!(f, "{e}"),
            ReplayError::Link(e) => write!(f, "stimulus link: {e}"),
        }
    }
}

impl std::error::Error for ReplayError {}

impl From<InputError> for ReplayError {
    fn from(e: InputError) -> Self {
        ReplayError::Input(e)
    }
}

impl From<std::io::Error> for ReplayError {
    fn from(e: std::io::Error) -> Self {
        ReplayError::Io(e)
    }
}

/// Where the items of a replay come from: an event file or triplet ([`Input`]), or items
/// already in memory (the Python package's numpy arrays), in time order.
pub trait ItemSource {
    /// The next item in time order, `None` at the end.
    ///
    /// # Errors
    /// What stops reading (a damaged file, an interruption).
    fn next_item(&mut self) -> Result<Option<Item>, ReplayError>;
    /// The next context sample or events in a row, up to `max` (at least one): the items of
    /// [`ItemSource::next_item`], many events at a time where the source can (by default one
    /// item at a time).
    ///
    /// # Errors
    /// As [`ItemSource::next_item`].
    fn next_run(&mut self, max: usize) -> Result<Run<'_>, ReplayError> {
        let _ = max;
        Ok(self.next_item()?.map_or(Run::End, Run::Item))
    }
    /// Whether the source carries attitude samples (else [`DEFAULT_POINTING`] is sent first).
    fn has_attitude(&self) -> bool;
    /// Events read so far (for progress reports).
    fn events_read(&self) -> u64;
}

impl ItemSource for Input {
    fn next_item(&mut self) -> Result<Option<Item>, ReplayError> {
        Ok(Input::next_item(self)?)
    }
    fn next_run(&mut self, max: usize) -> Result<Run<'_>, ReplayError> {
        Ok(Input::next_run(self, max)?)
    }
    fn has_attitude(&self) -> bool {
        Input::has_attitude(self)
    }
    fn events_read(&self) -> u64 {
        Input::events_read(self)
    }
}

/// Items between two progress reports.
const PROGRESS_EVERY: u64 = 1 << 16;

/// Streams an input through an encoder into `feed`: the default attitude first when the input
/// has none, every item in time order (`on_item` sees each context sample, attitude or orbit,
/// after it was encoded; events go to the encoder in runs), then a flush at the last tick.
/// `progress` gets the number of events read now and then.
///
/// # Errors
/// Input errors, and those of `feed`.
pub fn items(
    input: &mut dyn ItemSource,
    enc: &mut Encoder,
    feed: &mut FrameSink<'_>,
    on_item: &mut dyn FnMut(&Item),
    progress: &mut dyn FnMut(u64),
) -> Result<(), ReplayError> {
    let default_attitude = !input.has_attitude();
    let mut first = true;
    let mut last = 0u64;
    let mut n = 0u64;
    loop {
        // Runs end where a progress report falls due, as if items came one by one.
        let due = PROGRESS_EVERY - n % PROGRESS_EVERY;
        let run = input.next_run(usize::try_from(due).unwrap_or(usize::MAX))?;
        let (tick, count) = match &run {
            Run::End => break,
            Run::Item(i) => (i.tick(), 1),
            Run::Events(e) => match e.first() {
                Some(f) => (f.tick, e.len() as u64),
                None => continue,
            },
        };
        if first && default_attitude {
            let (ra, dec, roll) = DEFAULT_POINTING;
            let q = onboard::trigger::geometry::Attitude::from_pointing(ra, dec, roll).quaternion();
            let a = Item::Attitude(AttitudeSample { tick, q });
            enc.push(&a, feed)?;
            on_item(&a);
        }
        first = false;
        match run {
            Run::Item(item) => {
                enc.push(&item, feed)?;
                if !matches!(item, Item::Event(_)) {
                    on_item(&item);
                }
                last = item.tick();
            }
            Run::Events(events) => {
                enc.push_events(events, feed)?;
                last = events.last().map_or(last, |e| e.tick);
            }
            Run::End => break,
        }
        n += count;
        if n.is_multiple_of(PROGRESS_EVERY) {
            progress(input.events_read());
        }
    }
    enc.finish(last, feed)?;
    progress(input.events_read());
    Ok(())
}

/// Boresight used when the input has no attitude: RA 0°, Dec 0°, roll 0° (the identity
/// attitude: instrument axes along the J2000 axes).
pub const DEFAULT_POINTING: (f64, f64, f64) = (0.0, 0.0, 0.0);

/// A sky image attached to an alert: `n` × `n` pixels, row-major (`data[n·iy + iz]`), sky
/// pixel (iy, iz) centred at projected angles given by the trigger's geometry
/// (`onboard::trigger::geometry::sky_to_angles`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkyImage {
    /// Pixels per side (199).
    pub n: usize,
    /// SNR per sky pixel.
    pub data: Vec<f32>,
}

/// One alert of a replay: the ST\[201,1\] report decoded, its GCN notice, and the sky image
/// when the trigger ran in this process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// The GCN notice (valid against the SVOM trigger schema).
    pub notice: Notice,
    /// Projected angle atan(y/x), degrees (instrument frame, ICD §4).
    pub y_deg: f64,
    /// Projected angle atan(z/x), degrees.
    pub z_deg: f64,
    /// Rate SNR (CRT), σ; `None` for IMT.
    pub rate_snr: Option<f64>,
    /// Image SNR, σ.
    pub image_snr: f64,
    /// Timescale, s.
    pub timescale_s: f64,
    /// Time window: start and end, s since MJDREF 57754 TT.
    pub window_s: [f64; 2],
    /// Energy band, keV.
    pub energy_kev: [u16; 2],
    /// `crt` or `imt`.
    pub trigger_type: String,
    /// On-board catalogue ID, when the source is a known one.
    pub catalog_id: Option<u16>,
    /// Burst ID (`sbYYMMDDNN`).
    pub burst_id: String,
    /// On-board burst counter.
    pub burst_number: u32,
    /// Alert sequence number within the burst.
    pub seq_num: u16,
    /// Error radius r90, degrees.
    pub error_radius_deg: f64,
    /// Whether the unit requested a slew.
    pub slew_requested: bool,
    /// The sky image of the alert (local replays only; not in `--json` lines).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub image: Option<SkyImage>,
}

impl AlertRecord {
    /// The record of an alert.
    pub fn new(a: &Alert, image: Option<SkyImage>) -> Self {
        let crt = a.trigger_type == TriggerType::Crt;
        AlertRecord {
            notice: notice::notice(a),
            y_deg: a.y_deg(),
            z_deg: a.z_deg(),
            rate_snr: crt.then(|| a.rate_snr()),
            image_snr: a.image_snr(),
            timescale_s: f64::from(a.timescale_ms) / 1000.0,
            window_s: [a.window_start.seconds(), a.window_end.seconds()],
            energy_kev: [a.energy_min_kev, a.energy_max_kev],
            trigger_type: if crt { "crt" } else { "imt" }.to_owned(),
            catalog_id: (a.catalogue_id != 0).then_some(a.catalogue_id),
            burst_id: notice::burst_id(a),
            burst_number: a.burst_id,
            seq_num: a.seq_num,
            error_radius_deg: a.error_radius_deg(),
            slew_requested: a.slew == SlewRequest::Requested,
            image,
        }
    }

    /// The record without its image (what the JSON lines and comparisons across links use).
    pub fn without_image(&self) -> Self {
        AlertRecord { image: None, ..self.clone() }
    }

    /// One readable line.
    pub fn line(&self) -> String {
        let rate = self.rate_snr.map_or(String::new(), |r| format!(" rate {r:.2}σ"));
        let cat = self.catalog_id.map_or(String::new(), |c| format!(" catalogue #{c}"));
        format!(
            "{} #{} {} {:.3}–{:.3} s ({:.3} s, {}–{} keV) image {:.2}σ{rate} at y {:+.3}° z \
             {:+.3}° = RA {:.3}° Dec {:+.3}° ± {:.1}′{cat}{}",
            self.burst_id,
            self.seq_num,
            self.trigger_type.to_uppercase(),
            self.window_s[0],
            self.window_s[1],
            self.timescale_s,
            self.energy_kev[0],
            self.energy_kev[1],
            self.image_snr,
            self.y_deg,
            self.z_deg,
            self.notice.ra,
            self.notice.dec,
            self.error_radius_deg * 60.0,
            if self.slew_requested { ", slew requested" } else { "" },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_through_json() {
        let a = notice::tests::sample_alert();
        let r = AlertRecord::new(&a, None);
        let text = serde_json::to_string(&r).unwrap();
        let back: AlertRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
        assert!(r.line().starts_with("sb26030107 #1 CRT"), "{}", r.line());
        assert_eq!(r.catalog_id, None);
    }

    /// 60 s at 1 200 counts/s (72 000 events: progress is reported on the way), attitude and
    /// orbit every 0.25 s, so that batches close on size, context samples and gaps.
    const PINNED: &str = r#"
name = "pinned"
seed = 18
start = 2026-06-15T06:00:00Z
duration_s = 60
[background]
rate_cps = 1200
[orbit]
sample_s = 0.25
[attitude]
mode = "fixed"
ra_deg = 89.0
dec_deg = 19.0
roll_deg = 30.0
"#;

    /// FNV-1a, 64 bits: a digest of frames that needs no dependency.
    fn fnv(h: &mut u64, octets: &[u8]) {
        for &b in octets {
            *h = (*h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// What [`items`] made of an input: a digest of every frame (in order, each with its
    /// length), the number of frames, the items `on_item` saw that are context samples, the
    /// progress reports, the encoder's counters, and the error (its place and message).
    fn replay_digest(path: &std::path::Path) -> (u64, u64, u64, Vec<u64>, u64, u64, String) {
        let mut input = Input::open(path).unwrap();
        let mut enc = Encoder::new();
        let (mut h, mut frames, mut context) = (0xcbf2_9ce4_8422_2325u64, 0u64, 0u64);
        let mut feed = |f: &[u8]| {
            fnv(&mut h, &(f.len() as u64).to_le_bytes());
            fnv(&mut h, f);
            frames += 1;
            Ok(())
        };
        let mut on_item = |i: &Item| context += u64::from(!matches!(i, Item::Event(_)));
        let mut reports = Vec::new();
        let r = items(&mut input, &mut enc, &mut feed, &mut on_item, &mut |n| reports.push(n));
        let err = match r {
            Ok(()) => String::new(),
            Err(ReplayError::Input(e)) => format!("{:?}: {}", e.place, e.message),
            Err(e) => e.to_string(),
        };
        (h, frames, context, reports, enc.events, enc.packets, err)
    }

    fn simulated() -> (tempfile::TempDir, crate::sim::Outputs) {
        let sc = crate::sim::Scenario::parse(PINNED, "pinned.toml").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (_, out) = crate::sim::simulate_to_dir(&sc, dir.path(), true, |_| {}).unwrap();
        (dir, out)
    }

    /// Offset of the first row of the events table (the data after the second header).
    fn data_start(fits: &[u8]) -> usize {
        let ends: Vec<usize> = fits
            .chunks_exact(80)
            .enumerate()
            .filter(|(_, c)| c.starts_with(b"END     "))
            .map(|(i, _)| i)
            .take(2)
            .collect();
        (ends[1] * 80 + 80).div_ceil(2880) * 2880
    }

    /// The frames fed to the trigger for a triplet and for its events alone (CSV, default
    /// attitude), pinned by digests computed with the reader and encoder of main 70ad21f:
    /// any change to the reading or the encoding that changes one octet fails here.
    #[test]
    fn frames_of_a_simulated_triplet_are_pinned() {
        let (dir, out) = simulated();
        let triplet = replay_digest(dir.path());
        let csv = replay_digest(out.csv.as_ref().unwrap());
        let fits_alone = replay_digest(&out.events);
        assert_eq!(csv, fits_alone, "CSV and FITS of the same events encode alike");
        assert_eq!(triplet.4, out.events_written);
        let as_ref = |d: &(u64, u64, u64, Vec<u64>, u64, u64, String)| {
            format!("{:?}", (d.0, d.1, d.2, d.3.as_slice(), d.4, d.5, d.6.as_str()))
        };
        assert_eq!(as_ref(&triplet), format!("{PINNED_TRIPLET_DIGEST:?}"));
        assert_eq!(as_ref(&csv), format!("{PINNED_EVENTS_DIGEST:?}"));
    }

    /// A damaged row stops the replay with its place, after the same frames as main 70ad21f
    /// (rows at the edges of the reader's blocks of 4 096 rows, values and time order).
    #[test]
    fn frames_before_a_damaged_row_are_pinned() {
        let (dir, out) = simulated();
        let clean = std::fs::read(&out.events).unwrap();
        let start = data_start(&clean);
        let mut got = Vec::new();
        for (row, what) in [
            (0usize, "pha"),
            (1, "time"),
            (2, "y"),
            (4095, "pha"),
            (4096, "time"),
            (4097, "mult"),
            (8191, "time"),
            (8192, "z"),
            (30_001, "time"),
        ] {
            let mut f = clean.clone();
            let at = start + 15 * row;
            match what {
                "pha" => f[at + 12..at + 14].copy_from_slice(&2000i16.to_be_bytes()),
                "y" => f[at + 8..at + 10].copy_from_slice(&80i16.to_be_bytes()),
                "z" => f[at + 10..at + 12].copy_from_slice(&(-1i16).to_be_bytes()),
                "mult" => f[at + 14] = 0,
                _ => f[at..at + 8].copy_from_slice(&1.0f64.to_be_bytes()),
            }
            std::fs::write(&out.events, &f).unwrap();
            let (h, frames, context, reports, events, packets, err) = replay_digest(dir.path());
            got.push(format!(
                "{:?}",
                (row, h, frames, context, reports.as_slice(), events, packets, err.as_str())
            ));
        }
        let want: Vec<String> = PINNED_DAMAGED.iter().map(|d| format!("{d:?}")).collect();
        assert_eq!(got, want);
    }

    type Digest<'a> = (u64, u64, u64, &'a [u64], u64, u64, &'a str);

    const PINNED_TRIPLET_DIGEST: Digest<'_> =
        (14602899559133084035, 1191, 480, &[65079, 68388], 68388, 1191, "");
    const PINNED_EVENTS_DIGEST: Digest<'_> =
        (5039995665697893815, 537, 1, &[65537, 68388], 68388, 537, "");
    /// Per damaged row: the row (from 0), then the digest as [`replay_digest`] gives it.
    type Damaged<'a> = (usize, u64, u64, u64, &'a [u64], u64, u64, &'a str);
    const PINNED_DAMAGED: &[Damaged<'_>] = &[
        (
            0,
            14695981039346656037,
            0,
            0,
            &[],
            0,
            0,
            "Cell { hdu: 2, row: 1, column: \"PHA\" }: 2000 is not an integer in 0..1023",
        ),
        (
            1,
            16165724290027107968,
            2,
            2,
            &[],
            0,
            2,
            "Cell { hdu: 2, row: 2, column: \"TIME\" }: TIME 1.00000 is earlier than the previous event's 298274469.18446: events must be in time order (sort the file by TIME)",
        ),
        (
            2,
            16165724290027107968,
            2,
            2,
            &[],
            0,
            2,
            "Cell { hdu: 2, row: 3, column: \"Y\" }: 80 is not an integer in 0..79",
        ),
        (
            4095,
            17310135578418310402,
            72,
            30,
            &[],
            4047,
            72,
            "Cell { hdu: 2, row: 4096, column: \"PHA\" }: 2000 is not an integer in 0..1023",
        ),
        (
            4096,
            17310135578418310402,
            72,
            30,
            &[],
            4047,
            72,
            "Cell { hdu: 2, row: 4097, column: \"TIME\" }: TIME 1.00000 is earlier than the previous event's 298274472.71212: events must be in time order (sort the file by TIME)",
        ),
        (
            4097,
            17310135578418310402,
            72,
            30,
            &[],
            4047,
            72,
            "Cell { hdu: 2, row: 4098, column: \"MULT\" }: 0 is not an integer in 1..255",
        ),
        (
            8191,
            7938797335832563947,
            142,
            58,
            &[],
            8146,
            142,
            "Cell { hdu: 2, row: 8192, column: \"TIME\" }: TIME 1.00000 is earlier than the previous event's 298274476.35806: events must be in time order (sort the file by TIME)",
        ),
        (
            8192,
            7938797335832563947,
            142,
            58,
            &[],
            8146,
            142,
            "Cell { hdu: 2, row: 8193, column: \"Z\" }: -1 is not an integer in 0..79",
        ),
        (
            30001,
            969276825436377794,
            521,
            210,
            &[],
            29946,
            521,
            "Cell { hdu: 2, row: 30002, column: \"TIME\" }: TIME 1.00000 is earlier than the previous event's 298274495.34820: events must be in time order (sort the file by TIME)",
        ),
    ];
}
