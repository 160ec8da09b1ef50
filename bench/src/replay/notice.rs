//! Trigger alerts as GCN notices (ICD §6): the `notice` object follows the public GCN schema
//! for SVOM trigger alerts (`gcn/notices/svom/trigger.schema.json` of github.com/nasa-gcn/
//! gcn-schema, vendored with its provenance in `bench/tests/schemas/`), and the record beside
//! it carries the instrument-frame direction and what else the bench knows.
//!
//! Choices (`docs/replay.md`):
//! - `trigger_time`: start of the alert's time window, UTC ISO 8601 with microseconds;
//!   `alert_datetime`: its end (the on-board time the alert could be issued at, not the wall
//!   clock: a replay gives the same notices every time);
//! - `alert_tense`: `test` (simulated or replayed data); `alert_type`: `initial` for the first
//!   alert of a burst (sequence number ≤ 1), `subsequent` after;
//! - `id`: `sbYYMMDDNN`, the flight burst-ID format: the UTC date of the trigger and the
//!   on-board burst counter modulo 100;
//! - `ra_dec_error`: the r90 error radius of the alert, degrees; `containment_probability`
//!   0.9; `systematic_included` true (the r90 law includes a 2′ systematic term);
//! - `slew_status`: the unit only requests slews and the bench has no platform model: a
//!   requested slew is reported `accepted`, otherwise `not_requested`.

use serde::{Deserialize, Serialize};
use tc_tm::pus::time::Cuc;
use tc_tm::service::trigger::{Alert, CucTime, SlewRequest, TriggerType};

use crate::sim::scenario::civil_from_days;

/// The GCN schema a notice declares.
pub const SCHEMA: &str = "https://gcn.nasa.gov/schema/main/gcn/notices/svom/trigger.schema.json";

/// A GCN notice of an ECLAIRs trigger (fields of the SVOM trigger schema).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// The schema URI.
    #[serde(rename = "$schema")]
    pub schema: String,
    /// `SVOM`.
    pub mission: String,
    /// `ECLAIRs`.
    pub instrument: String,
    /// Creation time (here: end of the alert window), UTC ISO 8601.
    pub alert_datetime: String,
    /// `test`.
    pub alert_tense: String,
    /// `initial` or `subsequent`.
    pub alert_type: String,
    /// Burst ID(s), `sbYYMMDDNN`.
    pub id: Vec<String>,
    /// Alert sequence number within the burst.
    pub record_number: u32,
    /// Start of the time window, UTC ISO 8601.
    pub trigger_time: String,
    /// Right ascension J2000, degrees.
    pub ra: f64,
    /// Declination J2000, degrees.
    pub dec: f64,
    /// r90 error radius, degrees.
    pub ra_dec_error: f64,
    /// 0.9.
    pub containment_probability: f64,
    /// Whether the systematic error is included (true).
    pub systematic_included: bool,
    /// Image SNR, σ.
    pub image_snr: f64,
    /// Image exposure (the alert's timescale), s.
    pub image_duration: f64,
    /// Energy band of the image, keV.
    pub image_energy_range: [f64; 2],
    /// `rate` (CRT) or `image` (IMT).
    pub trigger_type: String,
    /// Rate SNR (CRT only), σ.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rate_snr: Option<f64>,
    /// Rate timescale (CRT only), s.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rate_duration: Option<f64>,
    /// Rate energy band (CRT only), keV.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rate_energy_range: Option<[f64; 2]>,
    /// `accepted` or `not_requested`.
    pub slew_status: String,
}

/// UTC ISO 8601 (`YYYY-MM-DDTHH:MM:SS.ffffffZ`) of an on-board time.
pub fn iso_utc(t: CucTime) -> String {
    let (secs, nanos) = Cuc::new(t.coarse, t.fine).to_unix_utc();
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        nanos / 1000
    )
}

/// The flight-format burst ID `sbYYMMDDNN` of an alert.
pub fn burst_id(a: &Alert) -> String {
    let (secs, _) = Cuc::new(a.window_start.coarse, a.window_start.fine).to_unix_utc();
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("sb{:02}{m:02}{d:02}{:02}", y.rem_euclid(100), a.burst_id % 100)
}

/// The notice of an alert.
pub fn notice(a: &Alert) -> Notice {
    let band = [f64::from(a.energy_min_kev), f64::from(a.energy_max_kev)];
    let timescale_s = f64::from(a.timescale_ms) / 1000.0;
    let crt = a.trigger_type == TriggerType::Crt;
    Notice {
        schema: SCHEMA.to_owned(),
        mission: "SVOM".to_owned(),
        instrument: "ECLAIRs".to_owned(),
        alert_datetime: iso_utc(a.window_end),
        alert_tense: "test".to_owned(),
        alert_type: if a.seq_num <= 1 { "initial" } else { "subsequent" }.to_owned(),
        id: vec![burst_id(a)],
        record_number: u32::from(a.seq_num),
        trigger_time: iso_utc(a.window_start),
        ra: a.ra_deg(),
        dec: a.dec_deg(),
        ra_dec_error: a.error_radius_deg(),
        containment_probability: 0.9,
        systematic_included: true,
        image_snr: a.image_snr(),
        image_duration: timescale_s,
        image_energy_range: band,
        trigger_type: if crt { "rate" } else { "image" }.to_owned(),
        rate_snr: crt.then(|| a.rate_snr()),
        rate_duration: crt.then_some(timescale_s),
        rate_energy_range: crt.then_some(band),
        slew_status: match a.slew {
            SlewRequest::Requested => "accepted",
            _ => "not_requested",
        }
        .to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A CRT alert as the unit would send it.
    pub(crate) fn sample_alert() -> Alert {
        let t0 = Cuc::from_unix_utc(1_772_366_400, 0).unwrap(); // 2026-03-01T12:00:00Z
        Alert {
            trigger_type: TriggerType::Crt,
            burst_id: 7,
            seq_num: 1,
            timescale_ms: 1280,
            window_start: CucTime { coarse: t0.coarse, fine: t0.fine },
            window_end: CucTime { coarse: t0.coarse + 1, fine: t0.fine },
            energy_min_kev: 8,
            energy_max_kev: 120,
            rate_snr_centi: 912,
            image_snr_centi: 1480,
            y_udeg: 3_000_000,
            z_udeg: -4_500_000,
            ra_udeg: 83_633_100,
            dec_udeg: 22_014_500,
            error_radius_udeg: 90_000,
            catalogue_id: 0,
            slew: SlewRequest::Requested,
        }
    }

    #[test]
    fn notice_fields() {
        let n = notice(&sample_alert());
        // CUC keeps 2⁻¹⁶ s: TT − UTC = 69.184 s does not fall on it, hence the 5 µs.
        assert_eq!(n.trigger_time, "2026-03-01T12:00:00.000005Z");
        assert_eq!(n.id, vec!["sb26030107".to_owned()]);
        assert_eq!(n.trigger_type, "rate");
        assert_eq!(n.rate_snr, Some(9.12));
        assert_eq!(n.image_energy_range, [8.0, 120.0]);
        assert_eq!(n.slew_status, "accepted");
        assert_eq!(n.alert_type, "initial");
    }
}
