//! Alerts: bursts, sequence numbers, error radius, slew requests, ST\[201,1\] content.
//!
//! - **Gate.** A detection alerts only if its image SNR is at least the larger of the alert
//!   table's `min_alert_snr` and the `alert_min_snr` parameter.
//! - **Bursts.** A detection whose window starts at most [`BURST_GAP_TICKS`] (120 s of event
//!   time) after the end of the burst's last alert window, within [`SAME_BURST_DEG`] of its
//!   position, continues that burst (an IMT accumulation covering the earlier alert's time is
//!   the same burst however long it is); otherwise it
//!   opens a new burst with the next burst ID (IDs count from 1 since configuration). Within a
//!   burst, alerts are numbered 1, 2, … and a further alert is issued only if its image SNR
//!   exceeds the best of the burst by [`ALERT_IMPROVEMENT`] (10 %): one burst gives a short
//!   sequence of improving alerts (DOMAIN.md §6: 6 to 17 alerts per burst in flight).
//! - **Error radius.** r90 = √((77′/SNR)² + (2′)²) (DOMAIN.md §3, the law fitted to flight
//!   alerts).
//! - **Slew request** (alert table): image SNR ≥ `min_slew_snr`; not a catalogue source unless
//!   `slew_on_catalog`; at least `min_slew_interval_s` of event time since the last request;
//!   fewer than `max_slews_per_day` requests in the current day of event time (days counted from
//!   the epoch, 2017-01-01T00:00 TT); one request per burst. Sun, Moon and Earth-limb angles
//!   are not checked: the unit has no ephemeris on the stimulus link (`docs/trigger.md`).
//! - **Times** are CUC (4 + 2 octets) of event time: coarse = tick / 50 000, fine = the
//!   remainder in units of 2⁻¹⁶ s, rounded down.

use libm::sqrt;
use tables::alert::AlertTable;
use tc_tm::service::trigger::{Alert, CucTime, SlewRequest, TriggerType};

use crate::limits::{ALERT_IMPROVEMENT, BURST_GAP_TICKS};

/// Ticks per second.
const TICKS_PER_S: u64 = 50_000;
/// Largest distance between two detections of one burst, degrees (instrument frame).
pub const SAME_BURST_DEG: f32 = 2.0;

/// What a trigger found, before the alert policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    /// CRT or IMT.
    pub trigger: TriggerType,
    /// Timescale, ms.
    pub timescale_ms: u32,
    /// Window start, ticks.
    pub start_tick: u64,
    /// Window end (exclusive), ticks.
    pub end_tick: u64,
    /// Energy band, keV.
    pub band_kev: (f32, f32),
    /// Rate SNR (0 for the IMT).
    pub rate_snr: f32,
    /// Image SNR.
    pub image_snr: f32,
    /// Instrument-frame position, degrees.
    pub y_deg: f32,
    /// Instrument-frame position, degrees.
    pub z_deg: f32,
    /// RA, degrees.
    pub ra_deg: f64,
    /// Dec, degrees.
    pub dec_deg: f64,
    /// Catalogue ID, 0 for a new source.
    pub catalogue_id: u16,
}

/// CUC time of a tick.
pub fn cuc(tick: u64) -> CucTime {
    let coarse = u32::try_from(tick / TICKS_PER_S).unwrap_or(u32::MAX);
    let fine = ((tick % TICKS_PER_S) << 16) / TICKS_PER_S;
    CucTime { coarse, fine: u16::try_from(fine).unwrap_or(u16::MAX) }
}

/// r90 in degrees for an image SNR: √((77′/SNR)² + (2′)²).
pub fn r90_deg(snr: f32) -> f64 {
    let s = f64::from(snr).max(1e-3);
    sqrt((77.0 / s) * (77.0 / s) + 4.0) / 60.0
}

fn udeg(deg: f64) -> i64 {
    libm::round(deg * 1e6) as i64
}

/// Counters of the alert stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlertStats {
    /// Alerts issued.
    pub alerts: u32,
    /// Bursts opened.
    pub bursts: u32,
    /// Detections below the alert SNR.
    pub below_snr: u32,
    /// Detections of a burst that did not improve enough.
    pub not_improving: u32,
    /// Slews requested.
    pub slews: u32,
}

/// Burst bookkeeping and the slew policy.
#[derive(Clone, Debug)]
pub struct Alerts {
    policy: AlertTable,
    min_snr_param: f32,
    next_burst: u32,
    burst: Option<Burst>,
    last_slew: Option<u64>,
    slew_day: u64,
    slews_today: u16,
    stats: AlertStats,
}

#[derive(Clone, Copy, Debug)]
struct Burst {
    id: u32,
    seq: u16,
    best_snr: f32,
    last_tick: u64,
    y_deg: f32,
    z_deg: f32,
    slewed: bool,
}

impl Default for Alerts {
    fn default() -> Self {
        Self::new()
    }
}

impl Alerts {
    /// No burst yet; policy from the alert table given to [`Alerts::configure`].
    pub const fn new() -> Self {
        Alerts {
            policy: AlertTable {
                version: 0,
                min_alert_snr: 6.5,
                min_slew_snr: 8.0,
                sun_angle_deg: 45.0,
                moon_angle_deg: 10.0,
                earth_limb_deg: 20.0,
                min_slew_interval_s: 600,
                max_slews_per_day: 10,
                slew_on_catalog: false,
            },
            min_snr_param: 6.5,
            next_burst: 1,
            burst: None,
            last_slew: None,
            slew_day: 0,
            slews_today: 0,
            stats: AlertStats { alerts: 0, bursts: 0, below_snr: 0, not_improving: 0, slews: 0 },
        }
    }

    /// Takes the alert table (the burst counter goes on).
    pub fn configure(&mut self, table: &AlertTable) {
        self.policy = table.clone();
    }

    /// Sets the `alert_min_snr` parameter.
    pub fn set_min_snr(&mut self, snr: f32) {
        self.min_snr_param = snr;
    }

    /// The alert SNR threshold in force.
    pub fn min_snr(&self) -> f32 {
        self.min_snr_param.max(self.policy.min_alert_snr)
    }

    /// Counters.
    pub fn stats(&self) -> AlertStats {
        self.stats
    }

    /// Whether a detection of this SNR, position and window start would pass the SNR gate and
    /// the improvement rule (what [`Alerts::decide`] checks first), without changing anything.
    pub fn would_issue(&self, image_snr: f32, y_deg: f32, z_deg: f32, start_tick: u64) -> bool {
        if image_snr < self.min_snr() {
            return false;
        }
        match self.same_burst(start_tick, y_deg, z_deg) {
            Some(b) => image_snr >= b.best_snr * ALERT_IMPROVEMENT,
            None => true,
        }
    }

    fn same_burst(&self, start_tick: u64, y_deg: f32, z_deg: f32) -> Option<Burst> {
        self.burst.filter(|b| {
            start_tick <= b.last_tick.saturating_add(BURST_GAP_TICKS)
                && libm::hypotf(y_deg - b.y_deg, z_deg - b.z_deg) <= SAME_BURST_DEG
        })
    }

    /// Applies the policy to a detection: the alert to issue, if any.
    pub fn decide(&mut self, d: &Detection) -> Option<Alert> {
        if d.image_snr < self.min_snr() {
            self.stats.below_snr += 1;
            return None;
        }
        let same = self.same_burst(d.start_tick, d.y_deg, d.z_deg);
        let mut burst = match same {
            Some(b) => {
                if d.image_snr < b.best_snr * ALERT_IMPROVEMENT {
                    self.stats.not_improving += 1;
                    return None;
                }
                Burst { seq: b.seq.saturating_add(1), best_snr: d.image_snr, ..b }
            }
            None => {
                let id = self.next_burst;
                self.next_burst = self.next_burst.wrapping_add(1).max(1);
                self.stats.bursts += 1;
                Burst {
                    id,
                    seq: 1,
                    best_snr: d.image_snr,
                    last_tick: 0,
                    y_deg: 0.0,
                    z_deg: 0.0,
                    slewed: false,
                }
            }
        };
        burst.last_tick = d.end_tick;
        burst.y_deg = d.y_deg;
        burst.z_deg = d.z_deg;
        let slew = self.slew(d, &mut burst);
        self.burst = Some(burst);
        self.stats.alerts += 1;
        let ra = {
            let r = libm::fmod(d.ra_deg, 360.0);
            if r < 0.0 { r + 360.0 } else { r }
        };
        Some(Alert {
            trigger_type: d.trigger,
            burst_id: burst.id,
            seq_num: burst.seq,
            timescale_ms: d.timescale_ms,
            window_start: cuc(d.start_tick),
            window_end: cuc(d.end_tick),
            energy_min_kev: libm::floorf(d.band_kev.0) as u16,
            energy_max_kev: (libm::ceilf(d.band_kev.1) as u16)
                .max(libm::floorf(d.band_kev.0) as u16 + 1),
            rate_snr_centi: (libm::roundf(d.rate_snr.max(0.0) * 100.0) as u32)
                .min(u32::from(u16::MAX)) as u16,
            image_snr_centi: (libm::roundf(d.image_snr.max(0.0) * 100.0) as u32)
                .min(u32::from(u16::MAX)) as u16,
            y_udeg: udeg(f64::from(d.y_deg)).clamp(-89_999_999, 89_999_999) as i32,
            z_udeg: udeg(f64::from(d.z_deg)).clamp(-89_999_999, 89_999_999) as i32,
            ra_udeg: udeg(ra).clamp(0, 359_999_999) as u32,
            dec_udeg: udeg(d.dec_deg).clamp(-90_000_000, 90_000_000) as i32,
            error_radius_udeg: udeg(r90_deg(d.image_snr)).clamp(0, i64::from(u32::MAX)) as u32,
            catalogue_id: d.catalogue_id,
            slew,
        })
    }

    fn slew(&mut self, d: &Detection, burst: &mut Burst) -> SlewRequest {
        let p = &self.policy;
        let day = d.end_tick / (86_400 * TICKS_PER_S);
        if day != self.slew_day {
            self.slew_day = day;
            self.slews_today = 0;
        }
        let interval = u64::from(p.min_slew_interval_s) * TICKS_PER_S;
        let ok = !burst.slewed
            && d.image_snr >= p.min_slew_snr
            && (d.catalogue_id == 0 || p.slew_on_catalog)
            && self.last_slew.is_none_or(|t| d.end_tick >= t.saturating_add(interval))
            && self.slews_today < p.max_slews_per_day;
        if ok {
            burst.slewed = true;
            self.last_slew = Some(d.end_tick);
            self.slews_today += 1;
            self.stats.slews += 1;
            SlewRequest::Requested
        } else {
            SlewRequest::NotRequested
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(t_s: u64, snr: f32) -> Detection {
        Detection {
            trigger: TriggerType::Crt,
            timescale_ms: 1280,
            start_tick: t_s * TICKS_PER_S,
            end_tick: t_s * TICKS_PER_S + 64_000,
            band_kev: (8.0, 120.0),
            rate_snr: 9.0,
            image_snr: snr,
            y_deg: 5.0,
            z_deg: -3.0,
            ra_deg: -10.0,
            dec_deg: 20.0,
            catalogue_id: 0,
        }
    }

    fn alerts() -> Alerts {
        let mut a = Alerts::new();
        a.configure(&tables::defaults::default_set().alert);
        a
    }

    #[test]
    fn one_burst_gives_improving_alerts_then_a_new_burst() {
        let mut a = alerts();
        let first = a.decide(&det(1000, 9.0)).unwrap();
        assert_eq!((first.burst_id, first.seq_num), (1, 1));
        assert_eq!(first.slew, SlewRequest::Requested);
        assert_eq!(first.ra_udeg, 350_000_000);
        assert!(a.decide(&det(1001, 9.5)).is_none(), "not 10 % better");
        let second = a.decide(&det(1002, 10.0)).unwrap();
        assert_eq!((second.burst_id, second.seq_num), (1, 2));
        assert_eq!(second.slew, SlewRequest::NotRequested, "one slew per burst");
        // Elsewhere in the field: a new burst.
        let mut d = det(1003, 7.0);
        d.y_deg = -20.0;
        let other = a.decide(&d).unwrap();
        assert_eq!((other.burst_id, other.seq_num), (2, 1));
        // After the gap: a new burst even at the same place.
        let late = a.decide(&det(1003 + 200, 7.0)).unwrap();
        assert_eq!(late.burst_id, 3);
        // Below the alert SNR: nothing.
        assert!(a.decide(&det(5000, 6.0)).is_none());
        a.set_min_snr(8.0);
        assert!(a.decide(&det(9000, 7.5)).is_none());
        assert_eq!(a.stats().below_snr, 2);
    }

    #[test]
    fn slew_policy_interval_day_and_catalogue() {
        let mut a = alerts();
        // Default: slew at 8 sigma, 600 s apart, 10 a day, not on catalogue sources.
        assert_eq!(a.decide(&det(0, 8.5)).unwrap().slew, SlewRequest::Requested);
        assert_eq!(a.decide(&det(300, 8.5)).unwrap().slew, SlewRequest::NotRequested);
        assert_eq!(a.decide(&det(1000, 7.9)).unwrap().slew, SlewRequest::NotRequested);
        let mut c = det(2000, 20.0);
        c.catalogue_id = 4;
        assert_eq!(a.decide(&c).unwrap().slew, SlewRequest::NotRequested);
        let mut requested = 0;
        for k in 0..20 {
            if a.decide(&det(3000 + 700 * k, 9.0)).unwrap().slew == SlewRequest::Requested {
                requested += 1;
            }
        }
        // 0 .. 86 400 s: one at t = 0, then at most nine more in day 0.
        assert_eq!(requested, 9);
    }

    #[test]
    fn r90_law_and_cuc() {
        // DOMAIN.md: SNR 7.95 -> 9.89', 18.74 -> 4.57', 32.31 -> 3.11'.
        for (snr, arcmin) in [(7.95f32, 9.89), (18.74, 4.57), (32.31, 3.11)] {
            assert!((r90_deg(snr) * 60.0 - arcmin).abs() < 0.01);
        }
        assert_eq!(cuc(50_000 * 1000 + 25_000), CucTime { coarse: 1000, fine: 0x8000 });
    }
}
