//! The ECLAIRs on-board science trigger (`docs/trigger.md`): the same code in the firmware, in
//! the twin and in the bench's `replay --local`.
//!
//! ```text
//! stimulus octets ─► stimulus: frames, packets, time order, acks ──► items, in event time
//!                                                                      │
//!     attitude ◄── attitude samples          orbit ─► saa: inhibit? ◄──┤
//!                                                                      ▼ events
//!                                 dpix: status, energy, threshold, band, weight
//!                                   │                               │
//!                                   ▼                               ▼
//!            crt: 10-ms bins per (band, zone), rate tests     imt: cycles, aligned sums
//!                 excess window ─► shadowgram                     block due ─► shadowgram
//!                                   └──────────────┬────────────────┘
//!                                                  ▼
//!                    imaging: sky image, peak (geometry: directions, RA/Dec)
//!                                                  ▼
//!                    catalog: known source? flux ≥ threshold? else mask it, search again
//!                                                  ▼
//!                    alert: SNR gate, burst ID and sequence, r90, slew ─► sink(AlertReport)
//! ```
//!
//! | file | stage |
//! |---|---|
//! | [`stimulus`] | stimulus byte stream → packets → items; counters; acknowledgements |
//! | [`dpix`] | per-event pixel processing with the pixel and band tables |
//! | [`crt`] | Count-Rate Trigger: rate tests, background fit, excess shadowgrams |
//! | [`imt`] | Image Trigger: cycles and accumulations |
//! | [`geometry`], [`fft`], [`imaging`] | coded-mask geometry and imaging (sky image, peak) |
//! | [`localise`] | fine localisation of a peak against the exact mask geometry |
//! | [`catalog`] | known sources, flux estimate, thresholds |
//! | [`saa`] | SAA polygon and inhibition |
//! | [`alert`] | alert policy: bursts, sequence numbers, r90, slew requests |
//!
//! # Embedding
//! ```
//! use onboard::trigger::{ActiveTables, Trigger};
//! use tc_tm::stimulus::{Body, Event, Events, Repr, MAX_FRAME_LEN};
//!
//! let set = tables::defaults::default_set();
//! let mut trigger = Trigger::boxed(); // ~2.6 MiB: a `static` on the firmware
//! trigger.configure(&ActiveTables::from_set(&set)).unwrap();
//! trigger.set_observing(true);
//! let events = [Event { tick: 1_000, y: 10, z: 20, pha: 100, multiplicity: 1 }];
//! let mut frame = [0u8; MAX_FRAME_LEN];
//! let n = Repr { seq_count: 0, body: Body::Events(Events::Slice(&events)) }
//!     .emit_frame(&mut frame)
//!     .unwrap();
//! let mut alerts = 0;
//! trigger.receive_stimulus(&frame[..n], &mut |_report| alerts += 1);
//! assert_eq!(trigger.stats().intake.accepted, 1);
//! let mut ack = [0u8; MAX_FRAME_LEN];
//! assert!(trigger.take_ack(&mut ack) > 0);
//! ```
//!
//! Results depend on event time only: the same events give the same alerts in one batch or
//! many, at any replay speed.

pub mod alert;
pub mod catalog;
pub mod crt;
pub mod dpix;
pub mod fft;
pub mod geometry;
pub mod imaging;
pub mod imt;
pub mod localise;
#[cfg(feature = "std")]
pub mod pipeline;
pub mod saa;
pub mod selfcheck;
pub mod stimulus;

use tables::TableId;
use tables::alert::AlertTable;
use tables::bands::BandTable;
use tables::catalog::CatalogTable;
use tables::crt::CrtTable;
use tables::imt::ImtTable;
use tables::pixels::{PIXELS, PixelEntry, PixelImage, PixelTable};
use tables::saa::SaaTable;
use tc_tm::service::trigger::{Alert, TriggerType};
use tc_tm::stimulus::{Body, Event, Events};

use self::alert::{AlertStats, Alerts, Detection};
use self::catalog::Catalog;
use self::crt::{Crt, CrtStats};
use self::dpix::{Dpix, DpixStats, SECTORS};
use self::geometry::Attitude;
use self::imaging::{
    Background, Exclusion, ImageOptions, Imager, Peak, PeakOptions, Shadowgram, SkyImage,
};
use self::imt::{Imt, ImtStats};
use self::saa::{Saa, Transition};
use self::stimulus::{Intake, IntakeStats, Refusal};
use crate::limits::{CRT_BIN_TICKS, MAX_MASKED_SOURCES};

/// Half-width of the point-spread function: the angle of one mask element seen from the
/// detector, atan(11.4 / 460) = 1.42°.
pub const PSF_HALF_WIDTH_DEG: f32 = 1.42;

/// A validation problem sink.
type ProblemSink<'a> = dyn FnMut(tables::problem::Problem) + 'a;

/// Ticks of event time per second.
pub const TICKS_PER_SECOND: u64 = tc_tm::stimulus::TICKS_PER_SECOND;

/// Where the trigger reads the pixel table from: an owned table on the host, the active image
/// in place on the unit.
pub trait PixelSource {
    /// Entry of pixel `detnum` (80·Y + Z), `None` beyond the table.
    fn pixel(&self, detnum: u16) -> Option<PixelEntry>;
}

impl PixelSource for PixelTable {
    fn pixel(&self, detnum: u16) -> Option<PixelEntry> {
        self.entry(detnum).copied()
    }
}

impl<T: AsRef<[u8]>> PixelSource for PixelImage<T> {
    fn pixel(&self, detnum: u16) -> Option<PixelEntry> {
        self.entry(detnum)
    }
}

/// The active tables the trigger runs with.
#[derive(Clone, Copy)]
pub struct ActiveTables<'a> {
    /// Pixel configuration.
    pub pixels: &'a dyn PixelSource,
    /// Energy bands.
    pub bands: &'a BandTable,
    /// Count-Rate Trigger.
    pub crt: &'a CrtTable,
    /// Image Trigger.
    pub imt: &'a ImtTable,
    /// Known sources.
    pub catalog: &'a CatalogTable,
    /// SAA contour.
    pub saa: &'a SaaTable,
    /// Alert and slew policy.
    pub alert: &'a AlertTable,
}

#[cfg(feature = "std")]
impl<'a> ActiveTables<'a> {
    /// The tables of a host table set.
    pub fn from_set(set: &'a tables::set::TableSet) -> Self {
        ActiveTables {
            pixels: &*set.pixels,
            bands: &set.bands,
            crt: &set.crt,
            imt: &set.imt,
            catalog: &set.catalog,
            saa: &set.saa,
            alert: &set.alert,
        }
    }
}

/// Why [`Trigger::configure`] refused the tables (the previous configuration stays).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The first table with a problem.
    pub table: TableId,
    /// Problems found in it.
    pub problems: u32,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?} table refused by the trigger: {} problem(s)", self.table, self.problems)
    }
}

/// What the sink receives with each alert: the ST\[201,1\] content, the detection it came from,
/// and the sky image and peak (the host replay writes the image to FITS; the unit ignores it).
#[derive(Clone, Copy, Debug)]
pub struct AlertReport<'a> {
    /// The alert as it goes on VC1.
    pub alert: Alert,
    /// The detection.
    pub detection: Detection,
    /// The peak in the image.
    pub peak: Peak,
    /// The sky image (valid during the call).
    pub sky: SkyImage<'a>,
    /// Exposure of the image, s.
    pub exposure_s: f32,
    /// Estimated flux at the peak, photons cm⁻² s⁻¹ (computed for catalogue sources, else 0).
    pub flux: f32,
}

/// Housekeeping of the trigger (HK parameters 90 and 91).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TriggerHk {
    /// The last orbit position is inside the SAA polygon.
    pub in_saa: bool,
    /// The triggers are inhibited by the SAA.
    pub saa_inhibited: bool,
    /// Counts per sector in the last complete second of event time (all events received).
    pub sector_rates: [u16; SECTORS],
}

/// Every counter of the trigger.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TriggerStats {
    /// Stimulus intake.
    pub intake: IntakeStats,
    /// DPIX decisions.
    pub dpix: DpixStats,
    /// CRT.
    pub crt: CrtStats,
    /// IMT.
    pub imt: ImtStats,
    /// Alert policy.
    pub alerts: AlertStats,
    /// Events received and not used (not observing, trigger off, SAA, not configured) plus
    /// those DPIX rejected.
    pub events_ignored: u64,
    /// Images that failed (non-finite input: should not happen).
    pub image_errors: u32,
    /// Detections above their image threshold (before the catalogue and the alert policy).
    pub detections: u32,
    /// Peaks found to be catalogue sources below their threshold (masked).
    pub catalogue_below: u32,
    /// Excess windows imaged after losing events from the event ring.
    pub truncated_windows: u32,
    /// Detections made with no attitude received (RA/Dec by the identity attitude).
    pub no_attitude: u32,
}

/// One image search, as the event side hands it to the [`Searcher`]: what to search for and
/// the shadowgram to image (copied: the event side goes on accumulating while a host searches on
/// another thread, see `pipeline`). Fixed size, ~57 KB.
#[derive(Clone, Debug)]
pub struct SearchJob {
    search: Search,
    /// Efficiency-corrected counts per pixel (the searcher cleans catalogue sources from them).
    counts: [f32; PIXELS],
    /// Their variance.
    variance: [f32; PIXELS],
    /// The pixels imaged: those in use for the search's band ([`Dpix::active_for_band`]).
    active: [bool; PIXELS],
    /// The attitude when the search was due.
    attitude: Option<Attitude>,
}

impl SearchJob {
    /// An empty job (a buffer to copy jobs into).
    pub const fn new() -> Self {
        SearchJob {
            search: Search {
                trigger: TriggerType::Imt,
                timescale_ms: 0,
                start_tick: 0,
                end_tick: 0,
                band: (0, 0),
                rate_snr: 0.0,
                threshold: 0.0,
                background: Background::None,
            },
            counts: [0.0; PIXELS],
            variance: [0.0; PIXELS],
            active: [false; PIXELS],
            attitude: None,
        }
    }

    /// Which trigger asked for the search.
    pub fn trigger(&self) -> TriggerType {
        self.search.trigger
    }

    /// The searched time span, ticks (start inclusive, end exclusive).
    pub fn span(&self) -> (u64, u64) {
        (self.search.start_tick, self.search.end_tick)
    }
}

impl Default for SearchJob {
    fn default() -> Self {
        Self::new()
    }
}

/// Counters of the image searches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SearchStats {
    image_errors: u32,
    detections: u32,
    catalogue_below: u32,
    no_attitude: u32,
}

/// The image-search side of the trigger: imaging, peak search, catalogue, alert policy. It
/// takes [`SearchJob`]s in the order the event side made them; its results depend on that
/// order only, so the searches may run on another thread than the events (hosts:
/// `pipeline`) with the same alerts, bit for bit, as in line (the unit, the twin).
#[derive(Debug)]
pub struct Searcher {
    parts: SearchParts,
    alerts: Alerts,
}

/// Everything of a [`Searcher`] but its alert policy.
#[derive(Debug)]
struct SearchParts {
    imager: Imager,
    catalog: Catalog,
    /// Pixel weights (1/efficiency, 0 for pixels not in use), taken at configuration.
    weights: [f32; PIXELS],
    band_kev: [(f32, f32); tables::MAX_BANDS],
    /// The shadow of a catalogue source, for its effective area and its cleaning.
    illumination: [f32; PIXELS],
    /// The direction (`y_deg`, `z_deg` bits) `illumination` holds the shadow of, if it holds
    /// one: a catalogue source is cleaned from image after image at the same direction (the
    /// attitude is fixed over a pointing), and its shadow is the same each time.
    illumination_at: Option<(u32, u32)>,
    stats: SearchStats,
}

/// The event side: everything but the intake and the searches.
#[derive(Debug)]
struct Core {
    configured: bool,
    observing: bool,
    crt_on: bool,
    imt_on: bool,
    crt_live: bool,
    imt_live: bool,
    dpix: Dpix,
    crt: Crt,
    imt: Imt,
    saa: Saa,
    attitude: Option<Attitude>,
    /// The search being made ready (its shadowgram is built in place).
    job: SearchJob,
    crt_image_snr: f32,
    crt_ts_ms: [u32; tables::MAX_TIMESCALES],
    crt_bands: [(u8, u8); tables::MAX_TRIGGER_BANDS],
    imt_bands: [(u8, u8); tables::MAX_TRIGGER_BANDS],
    band_kev: [(f32, f32); tables::MAX_BANDS],
    second: u64,
    /// Earliest event time at which `advance` has work (a second, a bin or a cycle ends).
    wake: u64,
    sector_now: [u32; SECTORS],
    sector_last: [u32; SECTORS],
    stats: TriggerStats,
}

/// The trigger: owns every stage (fixed memory, [`TRIGGER_SIZE`] octets).
#[derive(Debug)]
pub struct Trigger {
    intake: Intake,
    core: Core,
    searcher: Searcher,
}

/// Size of a [`Trigger`] in octets.
pub const TRIGGER_SIZE: usize = core::mem::size_of::<Trigger>();

impl Default for Trigger {
    fn default() -> Self {
        Self::new()
    }
}

impl Trigger {
    /// An unconfigured trigger (`const`: a `static` on the firmware). It consumes and
    /// acknowledges stimulus but ignores events until configured and observing.
    pub const fn new() -> Self {
        Trigger {
            intake: Intake::new(),
            core: Core {
                configured: false,
                observing: false,
                crt_on: true,
                imt_on: true,
                crt_live: false,
                imt_live: false,
                dpix: Dpix::new(),
                crt: Crt::new(),
                imt: Imt::new(),
                saa: Saa::new(),
                attitude: None,
                job: SearchJob::new(),
                crt_image_snr: 0.0,
                crt_ts_ms: [0; tables::MAX_TIMESCALES],
                crt_bands: [(0, 0); tables::MAX_TRIGGER_BANDS],
                imt_bands: [(0, 0); tables::MAX_TRIGGER_BANDS],
                band_kev: [(0.0, 0.0); tables::MAX_BANDS],
                second: 0,
                wake: 0,
                sector_now: [0; SECTORS],
                sector_last: [0; SECTORS],
                stats: TriggerStats {
                    intake: Intake::new().stats_const(),
                    dpix: DpixStats {
                        accepted: 0,
                        multiple: 0,
                        excluded: 0,
                        below_threshold: 0,
                        out_of_band: 0,
                    },
                    crt: CrtStats {
                        bins: 0,
                        tests: 0,
                        excesses: 0,
                        images: 0,
                        truncated_windows: 0,
                    },
                    imt: ImtStats { cycles: 0, images: 0, partial_blocks: 0 },
                    alerts: AlertStats {
                        alerts: 0,
                        bursts: 0,
                        below_snr: 0,
                        not_improving: 0,
                        slews: 0,
                    },
                    events_ignored: 0,
                    image_errors: 0,
                    detections: 0,
                    catalogue_below: 0,
                    truncated_windows: 0,
                    no_attitude: 0,
                },
            },
            searcher: Searcher::new(),
        }
    }

    /// A trigger on the heap, built on a helper thread with a stack large enough for it (a
    /// debug build would otherwise build the 2.6 MiB value on the caller's stack).
    ///
    /// # Panics
    /// If the helper thread cannot be spawned.
    #[cfg(feature = "std")]
    #[allow(clippy::expect_used)]
    pub fn boxed() -> std::boxed::Box<Trigger> {
        std::thread::Builder::new()
            .name("trigger-init".into())
            .stack_size(4 * TRIGGER_SIZE)
            .spawn(|| {
                let mut t = std::boxed::Box::new(Trigger::new());
                t.searcher.parts.imager.init();
                t
            })
            .expect("spawn the trigger construction thread")
            .join()
            .expect("trigger construction thread")
    }

    /// Validates and takes the active tables; every stage restarts (histories, accumulations;
    /// the burst counter and the intake go on). On error nothing changes.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first table with a validation problem.
    pub fn configure(&mut self, t: &ActiveTables<'_>) -> Result<(), ConfigError> {
        let mut problems = 0u32;
        let mut first: Option<TableId> = None;
        let mut check = |id: TableId, f: &mut dyn FnMut(&mut ProblemSink<'_>)| {
            let mut n = 0u32;
            f(&mut |_| n += 1);
            if n > 0 && first.is_none() {
                first = Some(id);
                problems = n;
            }
        };
        check(TableId::Pixels, &mut |sink| {
            for d in 0..PIXELS as u16 {
                match t.pixels.pixel(d) {
                    Some(e) => tables::pixels::validate_entry(d, &e, sink),
                    None => sink(tables::problem::Problem {
                        table: TableId::Pixels,
                        entry: None,
                        field: tables::problem::Field::Status,
                        kind: tables::problem::ProblemKind::Count {
                            found: d,
                            min: PIXELS as u16,
                            max: PIXELS as u16,
                        },
                    }),
                }
            }
        });
        check(TableId::Bands, &mut |sink| t.bands.validate(sink));
        check(TableId::Crt, &mut |sink| t.crt.validate(t.bands, sink));
        check(TableId::Imt, &mut |sink| t.imt.validate(t.bands, sink));
        check(TableId::Catalog, &mut |sink| t.catalog.validate(t.bands, sink));
        check(TableId::Saa, &mut |sink| t.saa.validate(sink));
        check(TableId::Alert, &mut |sink| t.alert.validate(sink));
        if let Some(table) = first {
            return Err(ConfigError { table, problems });
        }
        let c = &mut self.core;
        c.dpix.configure(t.pixels, t.bands, &t.crt.zones);
        c.crt.configure(t.crt);
        c.imt.configure(t.imt);
        if c.saa.configure(t.saa) == Some(Transition::Entered) {
            c.crt.reset();
            c.imt.reset();
        }
        c.crt_image_snr = t.crt.image_snr;
        c.band_kev = [(0.0, 0.0); tables::MAX_BANDS];
        for (k, b) in c.band_kev.iter_mut().zip(&t.bands.bands) {
            *k = (b.low_kev, b.high_kev);
        }
        let se = &mut self.searcher;
        se.parts.catalog.configure(t.catalog);
        se.alerts.configure(t.alert);
        se.parts.weights.copy_from_slice(c.dpix.weights());
        se.parts.band_kev = c.band_kev;
        for (d, s) in c.crt_ts_ms.iter_mut().zip(&t.crt.timescales) {
            *d = s.duration_ms;
        }
        for (d, b) in c.crt_bands.iter_mut().zip(&t.crt.bands) {
            *d = (b.first, b.last);
        }
        for (d, b) in c.imt_bands.iter_mut().zip(&t.imt.bands) {
            *d = (b.first, b.last);
        }
        c.configured = true;
        c.crt_live = false;
        c.imt_live = false;
        c.wake = 0;
        Ok(())
    }

    /// Enables or disables each trigger (ST\[08\] trigger-enable/disable, parameters
    /// `crt_enabled`/`imt_enabled`). A disabled trigger forgets its history.
    pub fn set_enabled(&mut self, crt: bool, imt: bool) {
        self.core.crt_on = crt;
        self.core.imt_on = imt;
        self.core.sync_live();
    }

    /// Whether the unit observes (mode observation): otherwise events are consumed, counted
    /// and ignored.
    pub fn set_observing(&mut self, on: bool) {
        self.core.observing = on;
        self.core.sync_live();
    }

    /// The `saa_inhibit` parameter.
    pub fn set_saa_inhibit(&mut self, on: bool) {
        self.core.saa.set_inhibit(on);
        self.core.sync_live();
    }

    /// The `alert_min_snr` parameter, σ.
    pub fn set_alert_min_snr(&mut self, snr: f32) {
        self.searcher.alerts.set_min_snr(snr);
    }

    /// Feeds stimulus octets (any chunking); alerts go to `sink` as they are decided.
    pub fn receive_stimulus(&mut self, octets: &[u8], sink: &mut dyn FnMut(&AlertReport<'_>)) {
        let Trigger { intake, core, searcher } = self;
        intake.push(octets, &mut |body| core.item(body, &mut |job| searcher.run(job, sink)));
        intake.set_events_ignored(u32::try_from(core.stats.events_ignored).unwrap_or(u32::MAX));
    }

    /// The event side and the searcher, borrowed apart: [`Front::receive_stimulus`] hands the
    /// image searches out as [`SearchJob`]s; given to [`Searcher::run`] in the same order, they
    /// give what [`Trigger::receive_stimulus`] gives, bit for bit (hosts run the searcher on
    /// another thread: `pipeline`).
    pub fn split(&mut self) -> (Front<'_>, &mut Searcher) {
        let Trigger { intake, core, searcher } = self;
        (Front { intake, core }, searcher)
    }

    /// Feeds one stimulus packet (header through CRC, no sync marker), with the same checks
    /// and counters as [`Trigger::receive_stimulus`].
    ///
    /// # Errors
    /// The [`Refusal`] of a packet refused (also counted).
    pub fn feed_packet(
        &mut self,
        packet: &[u8],
        sink: &mut dyn FnMut(&AlertReport<'_>),
    ) -> Result<(), Refusal> {
        let Trigger { intake, core, searcher } = self;
        let r = intake.push_packet(packet, &mut |body| {
            core.item(body, &mut |job| searcher.run(job, sink));
        });
        intake.set_events_ignored(u32::try_from(core.stats.events_ignored).unwrap_or(u32::MAX));
        r
    }

    /// Writes the pending stimulus acknowledgement frame into `out`; 0 if none is pending.
    pub fn take_ack(&mut self, out: &mut [u8]) -> usize {
        self.intake.take_ack(out)
    }

    /// Every counter.
    pub fn stats(&self) -> TriggerStats {
        let c = &self.core;
        TriggerStats {
            intake: self.intake.stats(),
            dpix: c.dpix.stats(),
            crt: c.crt.stats(),
            imt: c.imt.stats(),
            alerts: self.searcher.alerts.stats(),
            image_errors: self.searcher.parts.stats.image_errors,
            detections: self.searcher.parts.stats.detections,
            catalogue_below: self.searcher.parts.stats.catalogue_below,
            no_attitude: self.searcher.parts.stats.no_attitude,
            ..c.stats
        }
    }

    /// Housekeeping flags and sector rates.
    pub fn hk(&self) -> TriggerHk {
        let c = &self.core;
        TriggerHk {
            in_saa: c.saa.inside(),
            saa_inhibited: c.saa.inhibited(),
            sector_rates: c.sector_last.map(|n| u16::try_from(n).unwrap_or(u16::MAX)),
        }
    }

    /// Latest event time consumed, ticks since the epoch.
    pub fn now_tick(&self) -> u64 {
        self.intake.now()
    }

    /// Whether tables were taken.
    pub fn configured(&self) -> bool {
        self.core.configured
    }
}

/// The event side of a [`Trigger`] ([`Trigger::split`]): intake, DPIX, CRT, IMT, SAA; the
/// image searches come out as [`SearchJob`]s.
pub struct Front<'a> {
    intake: &'a mut Intake,
    core: &'a mut Core,
}

impl Front<'_> {
    /// [`Trigger::receive_stimulus`], with the image searches handed to `jobs` in order (the
    /// job may be changed: it is the event side's buffer, rebuilt for the next search).
    pub fn receive_stimulus(&mut self, octets: &[u8], jobs: &mut dyn FnMut(&mut SearchJob)) {
        let Front { intake, core } = self;
        intake.push(octets, &mut |body| core.item(body, jobs));
        intake.set_events_ignored(u32::try_from(core.stats.events_ignored).unwrap_or(u32::MAX));
    }

    /// [`Trigger::take_ack`].
    pub fn take_ack(&mut self, out: &mut [u8]) -> usize {
        self.intake.take_ack(out)
    }

    /// [`Trigger::now_tick`].
    pub fn now_tick(&self) -> u64 {
        self.intake.now()
    }
}

impl Intake {
    /// Zero counters, in a `const` context.
    const fn stats_const(&self) -> IntakeStats {
        IntakeStats {
            octets: 0,
            skipped_octets: 0,
            malformed: 0,
            consumed: 0,
            accepted: 0,
            refused: 0,
            time_order: 0,
            seq_gaps: 0,
            events: 0,
            last_refusal: None,
        }
    }
}

/// One image search: what the CRT and the IMT share.
#[derive(Clone, Copy, Debug)]
struct Search {
    trigger: TriggerType,
    timescale_ms: u32,
    start_tick: u64,
    end_tick: u64,
    band: (u8, u8),
    rate_snr: f32,
    threshold: f32,
    background: Background,
}

impl Core {
    fn running(&self) -> bool {
        self.configured && self.observing && !self.saa.inhibited()
    }

    /// Brings the live flags in line with the settings; a trigger that stops forgets its
    /// history, one that starts begins afresh.
    fn sync_live(&mut self) {
        let run = self.running();
        let crt = run && self.crt_on;
        let imt = run && self.imt_on;
        if self.crt_live && !crt {
            self.crt.reset();
        }
        if self.imt_live && !imt {
            self.imt.reset();
        }
        self.crt_live = crt;
        self.imt_live = imt;
        self.wake = 0;
    }

    fn item(&mut self, body: &Body<'_>, jobs: &mut dyn FnMut(&mut SearchJob)) {
        match body {
            Body::Events(events) => {
                // Per event: the time check (`advance` only when a second, bin or cycle
                // ends), the sector count, the pixel's PHA table, the CRT cell and the IMT
                // pixel. The DPIX decisions and the ignored events are counted per batch (no
                // stage reads those counters while the batch runs).
                let mut counts = dpix::Counts::default();
                let mut ignored = 0u64;
                // The live flags change only between items (`sync_live`): read once.
                let live = (self.crt_live, self.imt_live);
                match *events {
                    Events::Wire { .. } => {
                        events.for_each(|e| self.event(&e, live, &mut counts, &mut ignored, jobs));
                    }
                    Events::Slice(s) => {
                        for e in s {
                            self.event(e, live, &mut counts, &mut ignored, jobs);
                        }
                    }
                }
                self.dpix.add_counts(&counts);
                self.stats.events_ignored += ignored;
            }
            Body::Attitude(a) => {
                self.advance(a.tick, jobs);
                if let Some(att) = Attitude::new(a.q) {
                    self.attitude = Some(att);
                }
            }
            Body::Orbit(o) => {
                self.advance(o.tick, jobs);
                if self.saa.update(o.lon_deg, o.lat_deg).is_some() {
                    self.sync_live();
                }
            }
            Body::TimeTick { tick } | Body::Flush { tick } => self.advance(*tick, jobs),
            Body::Ack(_) => {}
        }
    }

    /// One event of a batch (`Core::item`): the DPIX decisions and the ignored events are
    /// counted in `counts` and `ignored`, added to the counters once per batch (no stage reads
    /// those counters while a batch runs).
    #[inline(always)]
    fn event(
        &mut self,
        e: &Event,
        (crt_live, imt_live): (bool, bool),
        counts: &mut dpix::Counts,
        ignored: &mut u64,
        jobs: &mut dyn FnMut(&mut SearchJob),
    ) {
        // `advance` only when a second, a bin or a cycle ends.
        if e.tick >= self.wake {
            self.advance(e.tick, jobs);
        }
        // Y and Z are below 80 (checked by the stimulus codec).
        let p = usize::from(e.y) * tables::pixels::PLANE_SIDE + usize::from(e.z);
        let s = dpix::SECTOR_OF_PIXEL.get(p).map_or(0, |&s| usize::from(s));
        if let Some(n) = self.sector_now.get_mut(s) {
            *n = n.saturating_add(1);
        }
        if !(crt_live || imt_live) {
            *ignored += 1;
            return;
        }
        // The pixel's PHA table, the CRT cell, the IMT pixel.
        let r = self.dpix.decide(p, e.pha, e.multiplicity);
        counts.count(&r);
        match r {
            Ok(h) => {
                if crt_live {
                    self.crt.count(p as u16, h.band, h.zones);
                }
                if imt_live {
                    self.imt.add(p as u16, h.band);
                }
            }
            Err(_) => *ignored += 1,
        }
    }

    /// Advances event time: sector-rate seconds, CRT bins, IMT cycles.
    fn advance(&mut self, tick: u64, jobs: &mut dyn FnMut(&mut SearchJob)) {
        if tick < self.wake {
            return;
        }
        self.advance_now(tick, jobs);
        let mut wake = (self.second + 1).saturating_mul(TICKS_PER_SECOND);
        if self.crt_live {
            wake = wake.min(self.crt.next_boundary());
        }
        if self.imt_live {
            wake = wake.min(self.imt.next_boundary());
        }
        self.wake = wake;
    }

    fn advance_now(&mut self, tick: u64, jobs: &mut dyn FnMut(&mut SearchJob)) {
        let second = tick / TICKS_PER_SECOND;
        if second != self.second {
            self.sector_last =
                if second == self.second + 1 { self.sector_now } else { [0; SECTORS] };
            self.sector_now = [0; SECTORS];
            self.second = second;
        }
        if self.crt_live {
            let Core {
                crt,
                dpix,
                attitude,
                job,
                stats,
                crt_image_snr,
                crt_ts_ms,
                crt_bands,
                band_kev,
                ..
            } = self;
            crt.advance(tick, &mut |crt, cand| {
                let (_, truncated) = crt.excess_shadowgram(
                    &cand,
                    dpix.weights(),
                    &mut job.counts,
                    &mut job.variance,
                );
                if truncated {
                    stats.truncated_windows += 1;
                }
                let band = crt_bands.get(cand.band).copied().unwrap_or((0, 0));
                let low_kev = band_kev.get(usize::from(band.0)).map_or(0.0, |b| b.0);
                dpix.active_for_band(low_kev, &mut job.active);
                job.attitude = *attitude;
                job.search = Search {
                    trigger: TriggerType::Crt,
                    timescale_ms: crt_ts_ms
                        .get(cand.timescale)
                        .copied()
                        .unwrap_or((cand.bins * 10) as u32),
                    start_tick: cand.start_tick(),
                    end_tick: cand.end_tick(),
                    band,
                    rate_snr: cand.rate_snr,
                    threshold: *crt_image_snr,
                    background: Background::None,
                };
                jobs(job);
            });
        }
        if self.imt_live {
            let Core { imt, dpix, attitude, job, imt_bands, band_kev, .. } = self;
            imt.advance(tick, &mut |imt, due| {
                imt.shadowgram(&due, dpix.weights(), &mut job.counts, &mut job.variance);
                let band = imt_bands.get(due.band).copied().unwrap_or((0, 0));
                let low_kev = band_kev.get(usize::from(band.0)).map_or(0.0, |b| b.0);
                dpix.active_for_band(low_kev, &mut job.active);
                job.attitude = *attitude;
                job.search = Search {
                    trigger: TriggerType::Imt,
                    timescale_ms: ((due.end_tick - due.start_tick) / (CRT_BIN_TICKS / 10)) as u32,
                    start_tick: due.start_tick,
                    end_tick: due.end_tick,
                    band,
                    rate_snr: 0.0,
                    threshold: due.snr,
                    background: imt.background(&due),
                };
                jobs(job);
            });
        }
    }
}

impl Searcher {
    /// An unconfigured searcher (`const`).
    pub const fn new() -> Self {
        Searcher {
            parts: SearchParts {
                imager: Imager::new(),
                catalog: Catalog::new(),
                weights: [0.0; PIXELS],
                band_kev: [(0.0, 0.0); tables::MAX_BANDS],
                illumination: [0.0; PIXELS],
                illumination_at: None,
                stats: SearchStats {
                    image_errors: 0,
                    detections: 0,
                    catalogue_below: 0,
                    no_attitude: 0,
                },
            },
            alerts: Alerts::new(),
        }
    }

    /// Makes the search of `job`: images its shadowgram, looks for a peak above the threshold
    /// that is not a catalogue source below its flux threshold, and applies the alert policy;
    /// alerts go to `sink`. `job`'s counts are left cleaned of the catalogue sources.
    ///
    /// A catalogue source below its threshold is **cleaned**: its modelled shadow (the
    /// estimated source counts spread over the pixels in use like
    /// `geometry::pixel_illumination` at its refined position) is subtracted from the
    /// shadowgram, its disc widened by the point-spread function is excluded, and the image is
    /// made again, so that neither the source nor its coding sidelobes elsewhere in the field
    /// pose as a new source. At most [`MAX_MASKED_SOURCES`] sources are cleaned per image.
    pub fn run(&mut self, job: &mut SearchJob, sink: &mut dyn FnMut(&AlertReport<'_>)) {
        self.parts.search(job, &mut self.alerts, sink);
    }

    /// [`Searcher::run`] with the alert policy held elsewhere (`gate`): several searchers
    /// may then image jobs at once, the policy taking their detections in job order (hosts:
    /// `pipeline`). The search consults `gate` only once it has a detection to report.
    pub fn run_with(
        &mut self,
        job: &mut SearchJob,
        gate: &mut dyn AlertGate,
        sink: &mut dyn FnMut(&AlertReport<'_>),
    ) {
        self.parts.search(job, gate, sink);
    }
}

impl SearchParts {
    /// [`Searcher::run_with`].
    fn search(
        &mut self,
        job: &mut SearchJob,
        alerts: &mut dyn AlertGate,
        sink: &mut dyn FnMut(&AlertReport<'_>),
    ) {
        let SearchParts {
            imager,
            catalog,
            weights,
            band_kev,
            illumination,
            illumination_at,
            stats,
        } = self;
        let SearchJob { search: s, counts, variance, active, attitude } = job;
        let att = attitude.unwrap_or(Attitude::IDENTITY);
        let exposure_s = (s.end_tick - s.start_tick) as f32 / TICKS_PER_SECOND as f32;
        let mut exclude: heapless::Vec<Exclusion, MAX_MASKED_SOURCES> = heapless::Vec::new();
        let opts = ImageOptions { background: s.background };
        // The scale of the source shadow (in `illumination`) just cleaned from the counts: the
        // next image is the last one minus that shadow's image (linear; see
        // `Imager::subtract_model`), not a new decoding of the counts.
        let mut cleaned: Option<f32> = None;
        loop {
            let shadow = Shadowgram { counts, variance, active };
            let image = match cleaned {
                None => imager.image(&shadow, &opts),
                // The cleaned counts pass the checks a new image would make of them.
                Some(k) => {
                    shadow.check().and_then(|()| imager.subtract_model(illumination, k, &opts))
                }
            };
            let sky = match image {
                Ok(sky) => sky,
                Err(_) => {
                    stats.image_errors += 1;
                    return;
                }
            };
            let Some(mut peak) =
                sky.find_peak(&PeakOptions { exclude: &exclude, ..PeakOptions::default() })
            else {
                return;
            };
            if peak.snr < s.threshold {
                return;
            }
            stats.detections += 1;
            let (ra0, dec0) =
                geometry::to_radec(&att, f64::from(peak.y_deg), f64::from(peak.z_deg));
            let mut flux = 0.0;
            let mut catalogue_id = 0;
            if let Some(m) = catalog.find(ra0, dec0, s.band.0, s.band.1) {
                // A known source: its catalogue position is better than the peak's; the shadow
                // there gives the effective area for the flux and the model to clean it.
                let src = catalog.sources().get(m.index);
                let (sy, sz) = src
                    .and_then(|src| {
                        geometry::from_radec(&att, f64::from(src.ra_deg), f64::from(src.dec_deg))
                    })
                    .map_or((peak.y_deg, peak.z_deg), |(y, z)| (y as f32, z as f32));
                let at = Some((sy.to_bits(), sz.to_bits()));
                if *illumination_at != at {
                    geometry::pixel_illumination(sy, sz, illumination);
                    *illumination_at = at;
                }
                let area = catalog::effective_area_of(sy, sz, weights, illumination);
                flux = catalog::flux(peak.counts, exposure_s, area);
                if flux < m.threshold {
                    stats.catalogue_below += 1;
                    let radius = src.map_or(0.5, |src| src.radius_deg);
                    let e =
                        Exclusion { y_deg: sy, z_deg: sz, radius_deg: radius + PSF_HALF_WIDTH_DEG };
                    if exclude.push(e).is_err() {
                        return;
                    }
                    // `illumination` holds the shadow at the source (the effective area was
                    // computed from it): subtract the source's modelled counts.
                    let lit: f32 = illumination
                        .iter()
                        .zip(active.iter())
                        .filter(|(_, a)| **a)
                        .map(|(f, _)| *f)
                        .sum();
                    let k = if lit > 0.0 { peak.counts / lit } else { 0.0 };
                    if k != 0.0 {
                        for ((c, &f), &a) in
                            counts.iter_mut().zip(illumination.iter()).zip(active.iter())
                        {
                            if a {
                                *c -= k * f;
                            }
                        }
                    }
                    cleaned = Some(k);
                    continue;
                }
                catalogue_id = m.id;
            }
            if alerts.would_issue(peak.snr, peak.y_deg, peak.z_deg, s.start_tick) {
                *illumination_at = None;
                let (y, z, _) = localise::refine(
                    peak.y_deg,
                    peak.z_deg,
                    counts,
                    variance,
                    active,
                    illumination,
                );
                peak.y_deg = y;
                peak.z_deg = z;
            }
            let (ra, dec) = geometry::to_radec(&att, f64::from(peak.y_deg), f64::from(peak.z_deg));
            if attitude.is_none() {
                stats.no_attitude += 1;
            }
            let lo = band_kev.get(usize::from(s.band.0)).map_or(0.0, |b| b.0);
            let hi = band_kev.get(usize::from(s.band.1)).map_or(0.0, |b| b.1);
            let detection = Detection {
                trigger: s.trigger,
                timescale_ms: s.timescale_ms,
                start_tick: s.start_tick,
                end_tick: s.end_tick,
                band_kev: (lo, hi),
                rate_snr: s.rate_snr,
                image_snr: peak.snr,
                y_deg: peak.y_deg,
                z_deg: peak.z_deg,
                ra_deg: ra,
                dec_deg: dec,
                catalogue_id,
            };
            if let Some(alert) = alerts.decide(&detection) {
                sink(&AlertReport { alert, detection, peak, sky, exposure_s, flux });
            }
            return;
        }
    }
}

impl Searcher {
    /// A searcher with this one's configuration (catalogue, pixel weights, bands) and its own
    /// imager, counters at zero and no alert policy of its own: a helper for
    /// [`Searcher::run_with`] on another thread.
    ///
    /// # Panics
    /// If the construction thread cannot be spawned (it is built on a thread with a stack
    /// large enough for it, like [`Trigger::boxed`]).
    #[cfg(feature = "std")]
    #[allow(clippy::expect_used)]
    pub fn boxed_like(&self) -> std::boxed::Box<Searcher> {
        let p = &self.parts;
        let (catalog, weights, band_kev) = (p.catalog.clone(), p.weights, p.band_kev);
        std::thread::Builder::new()
            .name("searcher-init".into())
            .stack_size(4 * core::mem::size_of::<Searcher>())
            .spawn(move || {
                let mut s = std::boxed::Box::new(Searcher::new());
                s.parts.catalog = catalog;
                s.parts.weights = weights;
                s.parts.band_kev = band_kev;
                s.parts.imager.init();
                s
            })
            .expect("spawn the searcher construction thread")
            .join()
            .expect("searcher construction thread")
    }

    /// Adds the counters of a helper (`Searcher::boxed_like`, feature `std`) to this one's.
    pub fn add_counters(&mut self, helper: &Searcher) {
        let (a, b) = (&mut self.parts.stats, &helper.parts.stats);
        a.image_errors += b.image_errors;
        a.detections += b.detections;
        a.catalogue_below += b.catalogue_below;
        a.no_attitude += b.no_attitude;
    }

    /// The alert policy (the gate of helpers' searches).
    pub fn alerts_mut(&mut self) -> &mut Alerts {
        &mut self.alerts
    }
}

/// The alert policy as a search consults it: in line the trigger's [`Alerts`]; on hosts with
/// several search threads, the same policy taken in job order (`pipeline`).
pub trait AlertGate {
    /// [`Alerts::would_issue`].
    fn would_issue(&mut self, image_snr: f32, y_deg: f32, z_deg: f32, start_tick: u64) -> bool;
    /// [`Alerts::decide`].
    fn decide(&mut self, detection: &Detection) -> Option<Alert>;
}

impl AlertGate for Alerts {
    fn would_issue(&mut self, image_snr: f32, y_deg: f32, z_deg: f32, start_tick: u64) -> bool {
        Alerts::would_issue(self, image_snr, y_deg, z_deg, start_tick)
    }

    fn decide(&mut self, detection: &Detection) -> Option<Alert> {
        Alerts::decide(self, detection)
    }
}

impl Default for Searcher {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs a test body on a thread with a 64 MiB stack: debug builds build the large trigger
/// structures on the stack before boxing them.
#[cfg(test)]
pub(crate) fn big_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new().stack_size(64 << 20).spawn(f).unwrap().join().unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tc_tm::stimulus::{Event, Events, MAX_FRAME_LEN, Repr};

    fn frame(seq: u16, body: Body<'_>) -> std::vec::Vec<u8> {
        let mut f = [0u8; MAX_FRAME_LEN];
        let n = Repr { seq_count: seq, body }.emit_frame(&mut f).unwrap();
        f[..n].to_vec()
    }

    #[test]
    fn extreme_times_and_mode_changes_never_panic() {
        big_stack(|| {
            let set = tables::defaults::default_set();
            let mut t = Trigger::boxed();
            t.configure(&ActiveTables::from_set(&set)).unwrap();
            t.set_observing(true);
            let ev = [Event { tick: 10, y: 3, z: 4, pha: 200, multiplicity: 1 }];
            t.receive_stimulus(&frame(0, Body::Events(Events::Slice(&ev))), &mut |_| {});
            t.set_enabled(false, true);
            t.receive_stimulus(&frame(1, Body::TimeTick { tick: 1 << 40 }), &mut |_| {});
            t.set_enabled(true, true);
            t.receive_stimulus(&frame(2, Body::TimeTick { tick: u64::MAX - 1 }), &mut |_| {});
            let late = [Event { tick: u64::MAX, y: 3, z: 4, pha: 200, multiplicity: 1 }];
            t.receive_stimulus(&frame(3, Body::Events(Events::Slice(&late))), &mut |_| {});
            // Back in time: refused.
            t.receive_stimulus(&frame(4, Body::Events(Events::Slice(&ev))), &mut |_| {});
            let s = t.stats();
            assert_eq!((s.intake.accepted, s.intake.refused, s.intake.time_order), (4, 1, 1));
            assert_eq!(t.now_tick(), u64::MAX);
        });
    }

    #[test]
    fn configure_refuses_an_invalid_set_and_keeps_the_previous_one() {
        big_stack(|| {
            let mut set = tables::defaults::default_set();
            let mut t = Trigger::boxed();
            t.configure(&ActiveTables::from_set(&set)).unwrap();
            set.crt.image_snr = 0.5;
            let e = t.configure(&ActiveTables::from_set(&set)).unwrap_err();
            assert_eq!(e.table, TableId::Crt);
            assert!(t.configured());
        });
    }
}
