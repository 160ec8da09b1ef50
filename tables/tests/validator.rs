//! The validator rejects each kind of defect with a precise message (one per problem kind),
//! through the public API, starting from the valid default set.
#![cfg(feature = "std")]

use tables::defaults::default_set;
use tables::pixels::PixelStatus;
use tables::set::TableSet;
use tables::{BkgCorrection, Vertex};

/// The first problem; the only one unless `cascade` (an empty band table also invalidates
/// every reference to it), so only the first problem is checked for band-table defects.
fn first_problem(set: &TableSet, cascade: bool) -> String {
    let p = set.problems();
    let all = p.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert!(!p.is_empty());
    assert!(cascade || p.len() == 1, "{all:#?}");
    all[0].clone()
}

#[test]
fn default_set_is_accepted() {
    assert!(default_set().problems().is_empty());
}

#[test]
fn each_kind_of_defect_is_named_precisely() {
    type Edit = fn(&mut TableSet);
    let cases: &[(Edit, &str)] = &[
        (
            |s| s.pixels.entries[1234].gain = 0.0,
            "pixel table, DETNUM 1234 (Y=15, Z=34), field GAIN: 0 keV/channel is outside 0.05..0.5",
        ),
        (
            |s| s.pixels.entries[80].offset_kev = f32::NAN,
            "pixel table, DETNUM 80 (Y=1, Z=0), field OFFSET: value is not a finite number",
        ),
        (
            |s| s.pixels.entries[6399].status = PixelStatus::Unknown(7),
            "pixel table, DETNUM 6399 (Y=79, Z=79), field STATUS: unknown code 7",
        ),
        (|s| s.bands.bands.clear(), "energy band table, field BANDS: 0 entries, expected 1..8"),
        (
            |s| s.bands.bands[1].low_kev = 7.0,
            "energy band table, band 1, field LOW_KEV: overlaps or precedes band 0",
        ),
        (
            |s| s.bands.bands[3].high_kev = 40.0,
            "energy band table, band 3, field HIGH_KEV: lower bound 50 keV is not below upper bound 40 keV",
        ),
        (
            |s| s.bands.bands[2].low_kev = 21.0,
            "CRT table, trigger band 1, field LAST_BAND: energy band 2 does not start where band 1 ends (trigger bands must be contiguous)",
        ),
        (
            |s| s.crt.bands[2].last = 4,
            "CRT table, trigger band 2, field LAST_BAND: refers to energy band 4, the band table defines 4 (0..3)",
        ),
        (
            |s| s.crt.timescales[3].duration_ms = 40,
            "CRT table, timescale 3, field DURATION_MS: 40 ms is not above the previous entry's 40 ms",
        ),
        (
            |s| s.crt.timescales[0].duration_ms = 15,
            "CRT table, timescale 0, field DURATION_MS: 15 ms is not a multiple of 10 ms",
        ),
        (
            |s| {
                s.crt.timescales[5].rate_snr.pop();
            },
            "CRT table, timescale 5, field RATE_SNR_COUNT: 3 values, expected 4 (one per band)",
        ),
        (
            |s| s.crt.timescales[2].rate_snr[1] = 60.0,
            "CRT table, timescale 2, trigger band 1, field RATE_SNR: 60 sigma is outside 3..50",
        ),
        (
            |s| s.imt.bkg_correction = BkgCorrection::Unknown(9),
            "IMT table, field BKG_CORRECTION: unknown code 9",
        ),
        (
            |s| s.catalog.sources[3].id = 1,
            "catalogue table, source 3, field ID: same value as source 0",
        ),
        (
            |s| s.catalog.sources[0].name.clear(),
            "catalogue table, source 0, field NAME: must be 1 to 16 printable ASCII characters",
        ),
        (
            |s| s.catalog.sources[19].dec_deg = 91.0,
            "catalogue table, source 19, field DEC_DEG: 91 deg is outside -90..90",
        ),
        (
            |s| {
                s.saa.vertices.pop();
            },
            "SAA table, field VERTICES: polygon is not closed: the last vertex must repeat the first",
        ),
        (
            |s| s.saa.vertices[3] = Vertex { lon_deg: -70.0, lat_deg: -45.0 },
            "SAA table, edge 2, field EDGE: crosses edge 10",
        ),
        (
            |s| s.alert.min_slew_snr = 6.0,
            "alert table, field MIN_SLEW_SNR: 6 sigma is outside 6.5..50",
        ),
    ];
    for (edit, expected) in cases {
        let mut set = default_set();
        edit(&mut set);
        assert_eq!(
            first_problem(
                &set,
                expected.starts_with("energy band table")
                    || expected.contains("contiguous")
                    || expected.contains("crosses")
            ),
            *expected
        );
    }
}

#[test]
fn problems_have_a_compact_form() {
    let mut set = default_set();
    set.pixels.entries[1234].gain = 0.0;
    let p = set.problems()[0];
    assert_eq!(p.to_bytes(), [0x01, 0x04, 0xD2, 0x03, 0x01]);
    let c = tables::CompactProblem::from_bytes(&p.to_bytes()).unwrap();
    assert_eq!((c.table, c.entry, c.field), (p.table, p.entry, p.field));
}
