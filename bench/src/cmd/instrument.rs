//! `eic-bench instrument`: the instrument geometry and mask pattern the trigger images with
//! (ICD §4, §6), for independent simulators and for operators.

use std::process::ExitCode;

use clap::Args;
use onboard::trigger::geometry as g;
use serde_json::{Value, json};

/// Arguments of `instrument`.
#[derive(Debug, Args)]
pub struct InstrumentArgs {
    /// One JSON object (ICD §6: sizes, distances, conventions and `"mask"`, 46 rows of 46
    /// integers, 1 = open) instead of the text view.
    #[arg(long)]
    pub json: bool,
}

/// The instrument description as JSON (ICD §6).
pub fn description() -> Value {
    let mask: Vec<Vec<u8>> = g::MASK.iter().map(|row| row.to_vec()).collect();
    json!({
        "instrument": "ECLAIRs",
        "frame": {
            "x": "boresight, from the detector towards the mask",
            "y": "along the detector's Y index",
            "z": "along the detector's Z index",
            "direction": "y_deg = atan(y/x), z_deg = atan(z/x) for the unit vector (x, y, z)",
            "attitude": "unit quaternion (w, x, y, z), scalar first, rotating instrument vectors into J2000",
        },
        "detector": {
            "pixels_y": g::DET_N,
            "pixels_z": g::DET_N,
            "pitch_mm": g::PITCH_MM,
            "pixel_size_mm": g::PIXEL_SIZE_MM,
            "pixel_id": "80*Y + Z",
            "pixel_centre_mm": "((Y - 39.5)*4.5, (Z - 39.5)*4.5)",
        },
        "mask_plane": {
            "elements_i": g::MASK_N,
            "elements_j": g::MASK_N,
            "element_mm": g::MASK_ELEMENT_MM,
            "height_mm": g::MASK_HEIGHT_MM,
            "open_elements": g::MASK_OPEN,
            "open_fraction": g::MASK_OPEN_FRACTION,
            "element_centre_mm": "((i - 22.5)*11.4, (j - 22.5)*11.4), i along Y, j along Z",
            "outside_mask": "opaque",
            "crossing_point_mm": "(Yd + 460*y/x, Zd + 460*z/x) for a photon landing at (Yd, Zd)",
            "pattern": "xorshift32 partial Fisher-Yates, docs/trigger.md",
            "seed": g::MASK_SEED,
        },
        "sky": {
            "pixels": g::SKY_N,
            "centre_pixel": g::SKY_CENTRE,
            "pixel": "tan(angle)*460 mm = (s - 99)*4.5 mm",
            "pixel_deg_on_axis": g::SKY_PIXEL_DEG,
            "fully_coded_half_angle_deg": g::FULLY_CODED_HALF_DEG,
            "field_half_angle_deg": g::FIELD_HALF_DEG,
            "mask_rebin_cells": g::REBIN_N,
        },
        "mask": mask,
    })
}

/// Runs `instrument`.
///
/// # Errors
/// Writing to stdout.
pub fn run(a: &InstrumentArgs) -> anyhow::Result<ExitCode> {
    if a.json {
        println!("{}", serde_json::to_string(&description())?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("ECLAIRs geometry (ICD §4)");
    println!(
        "  detector   {n} x {n} pixels, pitch {p} mm, sensitive {s} mm; pixel (Y, Z) centre ((Y - 39.5)*{p}, (Z - 39.5)*{p}) mm",
        n = g::DET_N,
        p = g::PITCH_MM,
        s = g::PIXEL_SIZE_MM
    );
    println!(
        "  mask       {n} x {n} elements of {e} mm, {o} open ({f:.2} %), {h} mm above the detector; outside: opaque",
        n = g::MASK_N,
        e = g::MASK_ELEMENT_MM,
        o = g::MASK_OPEN,
        f = 100.0 * g::MASK_OPEN_FRACTION,
        h = g::MASK_HEIGHT_MM
    );
    println!(
        "  sky        {n} x {n} pixels, boresight at ({c}, {c}), {d:.4} deg per pixel on axis",
        n = g::SKY_N,
        c = g::SKY_CENTRE,
        d = g::SKY_PIXEL_DEG
    );
    println!(
        "  field      fully coded +/-{:.2} deg, total +/-{:.2} deg",
        g::FULLY_CODED_HALF_DEG,
        g::FIELD_HALF_DEG
    );
    println!("  directions y_deg = atan(y/x), z_deg = atan(z/x); X = boresight");
    println!(
        "mask (row i along Y from the top, column j along Z; # open, . closed; seed {}):",
        g::MASK_SEED
    );
    for row in &g::MASK {
        let line: String = row.iter().map(|&e| if e == 1 { '#' } else { '.' }).collect();
        println!("  {line}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_has_the_mask() {
        let d = description();
        let rows = d["mask"].as_array().unwrap();
        assert_eq!(rows.len(), 46);
        assert!(rows.iter().all(|r| r.as_array().unwrap().len() == 46));
        assert_eq!(d["detector"]["pitch_mm"], json!(4.5));
    }
}
