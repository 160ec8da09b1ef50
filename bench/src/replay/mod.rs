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

use crate::events::{AttitudeSample, Input, InputError, Item};
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
    /// Whether the source carries attitude samples (else [`DEFAULT_POINTING`] is sent first).
    fn has_attitude(&self) -> bool;
    /// Events read so far (for progress reports).
    fn events_read(&self) -> u64;
}

impl ItemSource for Input {
    fn next_item(&mut self) -> Result<Option<Item>, ReplayError> {
        Ok(Input::next_item(self)?)
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
/// has none, every item in time order (`on_item` sees each after it was encoded), then a
/// flush at the last tick. `progress` gets the number of events read now and then.
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
    while let Some(item) = input.next_item()? {
        if first && default_attitude {
            let (ra, dec, roll) = DEFAULT_POINTING;
            let q = onboard::trigger::geometry::Attitude::from_pointing(ra, dec, roll).quaternion();
            let a = Item::Attitude(AttitudeSample { tick: item.tick(), q });
            enc.push(&a, feed)?;
            on_item(&a);
        }
        first = false;
        enc.push(&item, feed)?;
        on_item(&item);
        last = item.tick();
        n += 1;
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
}
