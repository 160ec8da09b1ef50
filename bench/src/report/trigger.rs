//! ST\[201\] trigger: the GRB alert (trigger, burst, window, band, SNRs, position in degrees).

use tc_tm::service::trigger::{self, Alert};

use super::Body;

fn alert_text(a: &Alert) -> String {
    let catalogue = match a.catalogue_id {
        0 => "none".to_owned(),
        id => id.to_string(),
    };
    format!(
        "alert {} burst={} seq={} timescale={} ms window={:.3}..{:.3} s band={}-{} keV \
         snr rate={:.2} image={:.2} sigma y={:.4} z={:.4} ra={:.4} dec={:.4} r90={:.4} deg \
         catalogue={catalogue} slew={}",
        a.trigger_type,
        a.burst_id,
        a.seq_num,
        a.timescale_ms,
        a.window_start.seconds(),
        a.window_end.seconds(),
        a.energy_min_kev,
        a.energy_max_kev,
        a.rate_snr(),
        a.image_snr(),
        a.y_deg(),
        a.z_deg(),
        a.ra_deg(),
        a.dec_deg(),
        a.error_radius_deg(),
        a.slew,
    )
}

pub(super) fn text(r: &trigger::Report) -> Option<String> {
    match r {
        trigger::Report::Alert(a) => Some(alert_text(a)),
        _ => None,
    }
}

pub(super) fn json(r: &trigger::Report) -> Option<Body> {
    let trigger::Report::Alert(a) = r else { return None };
    Some(
        Body::new("alert")
            .with("trigger", a.trigger_type.name())
            .with("burst_id", a.burst_id)
            .with("seq_num", a.seq_num)
            .with("timescale_ms", a.timescale_ms)
            .with("window_start_s", a.window_start.seconds())
            .with("window_end_s", a.window_end.seconds())
            .with("energy_min_kev", a.energy_min_kev)
            .with("energy_max_kev", a.energy_max_kev)
            .with("rate_snr", a.rate_snr())
            .with("image_snr", a.image_snr())
            .with("y_deg", a.y_deg())
            .with("z_deg", a.z_deg())
            .with("ra_deg", a.ra_deg())
            .with("dec_deg", a.dec_deg())
            .with("r90_deg", a.error_radius_deg())
            .with("catalogue_id", a.catalogue_id)
            .with("slew", a.slew.name()),
    )
}

#[cfg(test)]
mod tests {
    use tc_tm::service::Report;
    use tc_tm::service::trigger::{CucTime, SlewRequest, TriggerType};

    use super::*;
    use crate::report::{json, text};

    #[test]
    fn st201_alert() {
        let a = Alert {
            trigger_type: TriggerType::Imt,
            burst_id: 12,
            seq_num: 1,
            timescale_ms: 20_480,
            window_start: CucTime { coarse: 1000, fine: 0x8000 },
            window_end: CucTime { coarse: 1020, fine: 0 },
            energy_min_kev: 4,
            energy_max_kev: 120,
            rate_snr_centi: 0,
            image_snr_centi: 920,
            y_udeg: 1_234_567,
            z_udeg: -2_000_000,
            ra_udeg: 123_456_789,
            dec_udeg: -45_000_000,
            error_radius_udeg: 200_000,
            catalogue_id: 0,
            slew: SlewRequest::Requested,
        };
        let r = Report::Trigger(trigger::Report::Alert(a));
        assert_eq!(
            text(&r),
            "201,1 alert imt burst=12 seq=1 timescale=20480 ms window=1000.500..1020.000 s \
             band=4-120 keV snr rate=0.00 image=9.20 sigma y=1.2346 z=-2.0000 ra=123.4568 \
             dec=-45.0000 r90=0.2000 deg catalogue=none slew=requested"
        );
        let j = json(&r);
        assert_eq!(j["type"], "alert");
        assert_eq!(j["trigger"], "imt");
        assert_eq!(j["image_snr"], 9.2);
        assert_eq!(j["dec_deg"], -45.0);
        assert_eq!(j["r90_deg"], 0.2);
        assert_eq!(j["catalogue_id"], 0);
        assert_eq!(j["slew"], "requested");
        assert_eq!(j["window_start_s"], 1000.5);
    }
}
