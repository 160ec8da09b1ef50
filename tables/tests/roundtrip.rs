//! Property tests of the image codec and the text forms.
//!
//! - any valid table set → image → decode is the identity;
//! - text → image → text keeps every value;
//! - decoding arbitrary bytes never panics (raw, and behind a valid header and CRC);
//! - a flipped bit anywhere in an image is always caught.
#![cfg(feature = "std")]

use proptest::prelude::*;
use tables::defaults::{Rng, default_set};
use tables::image::{self, CRC_LEN, HEADER_LEN, ImageHeader};
use tables::pixels::{PIXELS, PixelEntry, PixelStatus, PixelTable};
use tables::set::{TableSet, file_name};
use tables::{
    Accumulation, AlertTable, Band, BandTable, BkgCorrection, CatalogTable, CrtTable, ImtTable,
    PixelImage, SaaTable, Source, TableId, Timescale, TriggerBand, Vertex, Zone,
};

fn pixels(seed: u64) -> Box<PixelTable> {
    let mut rng = Rng::new(seed);
    let mut t = Box::<PixelTable>::default();
    t.version = rng.below(65_536) as u16;
    let u = |rng: &mut Rng, lo: f64, hi: f64| (lo + (hi - lo) * rng.uniform()) as f32;
    for e in t.entries.iter_mut() {
        let status = PixelStatus::from_code(rng.below(4) as u8);
        *e = PixelEntry {
            status,
            threshold_kev: u(&mut rng, 2.0, 20.0),
            gain: u(&mut rng, 0.05, 0.5),
            offset_kev: u(&mut rng, -20.0, 20.0),
            efficiency: if status == PixelStatus::Dead { 0.0 } else { u(&mut rng, 0.05, 1.0) },
        };
    }
    t
}

prop_compose! {
    fn band_table()(version in any::<u16>(), start in 1.0f32..20.0,
                    widths in prop::collection::vec(0.5f32..30.0, 1..=8)) -> BandTable {
        let mut t = BandTable { version, bands: heapless::Vec::new() };
        let mut low = start;
        for w in widths {
            let high = low + w;
            t.bands.push(Band { low_kev: low, high_kev: high }).unwrap();
            low = high;
        }
        t
    }
}

fn trigger_bands(n: usize) -> impl Strategy<Value = Vec<TriggerBand>> {
    prop::collection::vec((0..n as u8, 0..n as u8), 1..=4).prop_map(|v| {
        v.into_iter().map(|(a, b)| TriggerBand { first: a.min(b), last: a.max(b) }).collect()
    })
}

fn snr() -> impl Strategy<Value = f32> {
    3.0f32..50.0
}

fn zone() -> impl Strategy<Value = Zone> {
    (0u8..80, 0u8..80, 0u8..80, 0u8..80).prop_map(|(a, b, c, d)| Zone {
        y_min: a.min(b),
        y_max: a.max(b),
        z_min: c.min(d),
        z_max: c.max(d),
    })
}

fn crt(n_bands: usize) -> impl Strategy<Value = CrtTable> {
    (
        any::<u16>(),
        snr(),
        (1_000u32..=600_000, 0u8..=2, 0u32..=60_000),
        trigger_bands(n_bands),
        prop::collection::vec(zone(), 1..=8),
        prop::collection::btree_set(1u32..=2048, 1..=16),
    )
        .prop_flat_map(|(version, image_snr, bg, bands, zones, steps)| {
            let nb = bands.len();
            let snrs = prop::collection::vec(prop::collection::vec(snr(), nb), steps.len());
            (Just((version, image_snr, bg, bands, zones, steps)), snrs)
        })
        .prop_map(
            |((version, image_snr, (window_ms, order, gap_ms), bands, zones, steps), snrs)| {
                let mut t = CrtTable {
                    version,
                    image_snr,
                    background: tables::BackgroundFit { window_ms, order, gap_ms },
                    ..CrtTable::default()
                };
                t.bands.extend_from_slice(&bands).unwrap();
                t.zones.extend_from_slice(&zones).unwrap();
                for (s, r) in steps.into_iter().zip(snrs) {
                    let mut ts = Timescale { duration_ms: s * 10, rate_snr: heapless::Vec::new() };
                    ts.rate_snr.extend_from_slice(&r).unwrap();
                    t.timescales.push(ts).unwrap();
                }
                t
            },
        )
}

fn imt(n_bands: usize) -> impl Strategy<Value = ImtTable> {
    (
        any::<u16>(),
        1_000u32..=60_000,
        prop::bool::ANY,
        1u16..=256,
        trigger_bands(n_bands),
        prop::collection::btree_map(1u16..=256, snr(), 1..=8),
    )
        .prop_map(|(version, cycle_ms, quad, bkg_min_cycles, bands, acc)| {
            let mut t = ImtTable {
                version,
                cycle_ms,
                bkg_correction: if quad { BkgCorrection::Quadratic } else { BkgCorrection::None },
                bkg_min_cycles,
                ..ImtTable::default()
            };
            t.bands.extend_from_slice(&bands).unwrap();
            for (cycles, snr) in acc {
                t.accumulations.push(Accumulation { cycles, snr }).unwrap();
            }
            t
        })
}

fn catalog(n_bands: usize) -> impl Strategy<Value = CatalogTable> {
    let source = (
        "[A-Za-z0-9 +.-]{1,16}",
        0.0f32..360.0,
        -90.0f32..=90.0,
        0.01f32..=10.0,
        prop::collection::vec(1e-4f32..1e3, n_bands),
    );
    (any::<u16>(), prop::collection::btree_set(1u16.., 0..12), prop::collection::vec(source, 12))
        .prop_map(|(version, ids, sources)| {
            let mut t = CatalogTable { version, sources: heapless::Vec::new() };
            for (id, (name, ra_deg, dec_deg, radius_deg, flux)) in ids.into_iter().zip(sources) {
                let mut s = Source {
                    id,
                    name: heapless::String::try_from(name.as_str()).unwrap(),
                    ra_deg,
                    dec_deg,
                    radius_deg,
                    flux_threshold: heapless::Vec::new(),
                };
                s.flux_threshold.extend_from_slice(&flux).unwrap();
                t.sources.push(s).unwrap();
            }
            t
        })
}

/// A star-shaped polygon around a centre: vertices at increasing angles, so always simple.
fn saa() -> impl Strategy<Value = SaaTable> {
    (
        any::<u16>(),
        (-150.0f64..150.0, -60.0f64..60.0),
        prop::collection::vec((0.0f64..0.8, 1.0f64..20.0), 3..=31),
    )
        .prop_map(|(version, (cx, cy), pts)| {
            let n = pts.len() as f64;
            let mut t = SaaTable { version, vertices: heapless::Vec::new() };
            for (i, (jitter, r)) in pts.iter().enumerate() {
                let a = (i as f64 + jitter) / n * std::f64::consts::TAU;
                let v = Vertex {
                    lon_deg: (cx + r * a.cos()) as f32,
                    lat_deg: (cy + r * a.sin()) as f32,
                };
                t.vertices.push(v).unwrap();
            }
            let first = t.vertices[0];
            t.vertices.push(first).unwrap();
            t
        })
}

fn alert() -> impl Strategy<Value = AlertTable> {
    (
        any::<u16>(),
        snr(),
        0.0f32..=1.0,
        [0.0f32..=180.0, 0.0f32..=180.0, 0.0f32..=180.0],
        0u32..=86_400,
        0u16..=100,
        any::<bool>(),
    )
        .prop_map(|(version, a, k, [sun, moon, earth], interval, per_day, cat)| AlertTable {
            version,
            min_alert_snr: a,
            min_slew_snr: a + (50.0 - a) * k,
            sun_angle_deg: sun,
            moon_angle_deg: moon,
            earth_limb_deg: earth,
            min_slew_interval_s: interval,
            max_slews_per_day: per_day,
            slew_on_catalog: cat,
        })
}

fn table_set() -> impl Strategy<Value = TableSet> {
    (any::<u64>(), band_table()).prop_flat_map(|(seed, bands)| {
        let n = bands.bands.len();
        (Just(seed), Just(bands), crt(n), imt(n), catalog(n), saa(), alert()).prop_map(
            |(seed, bands, crt, imt, catalog, saa, alert)| TableSet {
                pixels: pixels(seed),
                bands,
                crt,
                imt,
                catalog,
                saa,
                alert,
            },
        )
    })
}

fn images(set: &TableSet) -> Vec<Vec<u8>> {
    TableId::ALL.iter().map(|&id| set.image(id).unwrap()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn valid_set_image_decode_is_identity(set in table_set()) {
        let problems = set.problems();
        prop_assert!(problems.is_empty(), "generator made an invalid set: {:?}", problems.first().map(ToString::to_string));
        let imgs = images(&set);
        let refs: Vec<&[u8]> = imgs.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(&TableSet::from_images(&refs).unwrap(), &set);
        for img in &imgs {
            let mut n = 0;
            tables::validate_image(img, &set.bands, &mut |_| n += 1).unwrap();
            prop_assert_eq!(n, 0);
        }
    }

    #[test]
    fn text_image_text_keeps_every_value(set in table_set()) {
        let texts: Vec<String> = TableId::ALL.iter().map(|&id| set.to_text(id)).collect();
        let from_text = TableSet::from_texts(|name| {
            let i = TableId::ALL.iter().position(|&id| file_name(id) == name).unwrap();
            Ok((name.to_string(), texts[i].clone()))
        }).unwrap();
        prop_assert_eq!(&from_text, &set);
        let imgs = images(&from_text);
        let refs: Vec<&[u8]> = imgs.iter().map(Vec::as_slice).collect();
        let back = TableSet::from_images(&refs).unwrap();
        for (i, &id) in TableId::ALL.iter().enumerate() {
            prop_assert_eq!(&back.to_text(id), &texts[i]);
        }
    }
}

fn decode_all(bytes: &[u8]) {
    let bands = default_set().bands;
    let _ = ImageHeader::parse(bytes);
    let _ = image::Image::new_checked(bytes);
    let _ = image::parse::<BandTable>(bytes);
    let _ = image::parse::<CrtTable>(bytes);
    let _ = image::parse::<ImtTable>(bytes);
    let _ = image::parse::<CatalogTable>(bytes);
    let _ = image::parse::<SaaTable>(bytes);
    let _ = image::parse::<AlertTable>(bytes);
    let _ = image::parse::<PixelTable>(bytes);
    let _ = PixelImage::new_checked(bytes);
    let _ = tables::validate_image(bytes, &bands, &mut |p| {
        let _ = p.to_string();
    });
    let _ = tables::CompactProblem::from_bytes(bytes);
}

/// Wraps `payload` in a correct header and CRC for table `id`, so the payload parsers run.
fn framed(id: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![id, 1];
    v.extend_from_slice(&version.to_be_bytes());
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    let crc = tc_tm::crc::crc32(&v);
    v.extend_from_slice(&crc.to_be_bytes());
    v
}

proptest! {
    #[test]
    fn decode_of_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        decode_all(&bytes);
    }

    #[test]
    fn decode_of_framed_garbage_never_panics(id in 0u8..9, version: u16,
                                             payload in prop::collection::vec(any::<u8>(), 0..600)) {
        decode_all(&framed(id, version, &payload));
    }

    #[test]
    fn flipped_bit_is_always_caught(table in 0usize..7, bit: usize) {
        let set = default_set();
        let id = TableId::ALL[table];
        let mut img = set.image(id).unwrap();
        let bit = bit % (img.len() * 8);
        img[bit / 8] ^= 1 << (bit % 8);
        let caught = match id {
            TableId::Pixels => image::parse::<PixelTable>(&img).is_err(),
            TableId::Bands => image::parse::<BandTable>(&img).is_err(),
            TableId::Crt => image::parse::<CrtTable>(&img).is_err(),
            TableId::Imt => image::parse::<ImtTable>(&img).is_err(),
            TableId::Catalog => image::parse::<CatalogTable>(&img).is_err(),
            TableId::Saa => image::parse::<SaaTable>(&img).is_err(),
            TableId::Alert => image::parse::<AlertTable>(&img).is_err(),
        };
        prop_assert!(caught, "bit {} of the {} image not caught", bit, id);
        let validated = tables::validate_image(&img, &set.bands, &mut |_| ());
        prop_assert!(validated.is_err());
    }
}

#[test]
fn image_lengths_are_as_documented() {
    let set = default_set();
    assert_eq!(set.image(TableId::Pixels).unwrap().len(), HEADER_LEN + PIXELS * 17 + CRC_LEN);
    assert_eq!(tables::MAX_IMAGE_LEN, 108_812);
}
