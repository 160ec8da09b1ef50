//! The simulator's files (ICD §6): deterministic bytes, readable by an independent FITS reader
//! (`fitsrs`, and astropy when installed) with the ICD columns and keywords; the CSV and FITS
//! readers agree; malformed inputs give located errors.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use eic_bench::events::{EventReader, Input, Item};
use eic_bench::sim::{Scenario, Simulator, simulate_to_dir};
use fitsrs::card::Value;
use fitsrs::{DataValue, Fits, HDU};

const SCENARIO: &str = r#"
name = "t"
seed = 11
start = 2026-03-01T12:00:00Z
duration_s = 4
[background]
rate_cps = 1500
[[burst]]
t0_s = 1.0
y_deg = 2.0
z_deg = 1.0
peak_flux = 3.0
[[source]]
name = "Crab"
ra_deg = 83.6331
dec_deg = 22.0145
flux = 0.5
"#;

fn scenario(seed: u64) -> Scenario {
    let mut s = Scenario::parse(SCENARIO, "t.toml").unwrap();
    s.seed = seed;
    s
}

fn write(dir: &Path, sc: &Scenario, threads: usize) -> eic_bench::sim::Summary {
    let sim = Simulator::new(sc).unwrap().threads(threads);
    let mut sink = eic_bench::sim::DirSink::create(dir, &sc.name, true, sim.start_tick()).unwrap();
    sim.run(&mut sink, |_| {}).unwrap()
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

fn tmp(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(name).tempdir().unwrap()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (tmp("sim-a"), tmp("sim-b"), tmp("sim-c"));
    let sa = write(a.path(), &scenario(11), 1);
    let sb = write(b.path(), &scenario(11), 4);
    write(c.path(), &scenario(12), 2);
    assert_eq!(sa, sb);
    let (fa, fb, fc) = (files(a.path()), files(b.path()), files(c.path()));
    assert_eq!(fa.len(), 4, "triplet + CSV");
    assert_eq!(fa, fb, "same scenario and seed, different thread counts: same bytes");
    assert_ne!(fa[1].1, fc[1].1, "another seed gives other events");
    assert!(sa.events > 5_000, "{sa:?}");
}

fn header_str(h: &fitsrs::hdu::header::Header<impl std::fmt::Debug>, key: &str) -> String {
    match h.get(key) {
        Some(Value::String { value, .. }) => value.trim().to_owned(),
        Some(Value::Integer { value, .. }) => value.to_string(),
        Some(Value::Float { value, .. }) => value.to_string(),
        other => panic!("{key}: {other:?}"),
    }
}

#[test]
fn fitsrs_reads_the_icd_columns_and_keywords() {
    let dir = tmp("sim-fitsrs");
    let sc = scenario(11);
    let (summary, out) = simulate_to_dir(&sc, dir.path(), false, |_| {}).unwrap();
    let bytes = std::fs::read(&out.events).unwrap();
    let mut list = Fits::from_reader(Cursor::new(&bytes[..]));
    let mut seen = 0;
    let mut ours = EventReader::open(&out.events).unwrap();
    while let Some(hdu) = list.next() {
        match hdu.expect("fitsrs parses every HDU") {
            HDU::Primary(p) => {
                let h = p.get_header();
                assert_eq!(header_str(h, "TELESCOP"), "SVOM");
            }
            HDU::XBinaryTable(hdu) => {
                seen += 1;
                let h = hdu.get_header();
                for (k, v) in [
                    ("EXTNAME", "EVENTS"),
                    ("MJDREFI", "57754"),
                    ("TIMESYS", "TT"),
                    ("TELESCOP", "SVOM"),
                    ("INSTRUME", "ECLAIRs"),
                ] {
                    assert_eq!(header_str(h, k), v, "{k}");
                }
                let x = h.get_xtension();
                assert_eq!(x.get_num_rows() as u64, summary.events);
                for (i, c) in ["TIME", "Y", "Z", "PHA", "MULT"].iter().enumerate() {
                    assert_eq!(x.find_field_by_ttype(c), Some(i), "{c}");
                }
                let values: Vec<DataValue> = list.get_data(&hdu).table_data().collect();
                assert_eq!(values.len() as u64, 5 * summary.events);
                for row in values.chunks(5).take(2000) {
                    let e = ours.next_event().unwrap().unwrap();
                    match row {
                        [
                            DataValue::Double { value: t, .. },
                            DataValue::Short { value: y, .. },
                            DataValue::Short { value: z, .. },
                            DataValue::Short { value: pha, .. },
                            DataValue::UnsignedByte { value: m, .. },
                        ] => {
                            assert_eq!(t.to_bits(), e.time_s().to_bits());
                            assert_eq!(
                                (*y as u8, *z as u8, *pha as u16, *m),
                                (e.y, e.z, e.pha, e.mult)
                            );
                        }
                        other => panic!("unexpected types {other:?}"),
                    }
                }
            }
            _ => {}
        }
    }
    assert_eq!(seen, 1);
    for (path, ext, cols) in [
        (&out.attitude, "ATTITUDE", &["TIME", "QPARAM", "RA_PNT", "DEC_PNT"][..]),
        (&out.orbit, "ORBIT", &["TIME", "LON", "LAT", "ALT"][..]),
    ] {
        let bytes = std::fs::read(path).unwrap();
        let list = Fits::from_reader(Cursor::new(&bytes[..]));
        let mut tables = 0;
        for hdu in list {
            if let HDU::XBinaryTable(hdu) = hdu.unwrap() {
                tables += 1;
                let h = hdu.get_header();
                assert_eq!(header_str(h, "EXTNAME"), ext);
                assert_eq!(header_str(h, "MJDREFI"), "57754");
                assert_eq!(h.get_xtension().get_num_rows(), 4, "one sample per second");
                for (i, c) in cols.iter().enumerate() {
                    assert_eq!(h.get_xtension().find_field_by_ttype(c), Some(i), "{c}");
                }
            }
        }
        assert_eq!(tables, 1, "{}", path.display());
    }
}

fn all_items(p: &Path) -> Vec<Item> {
    Input::open(p).unwrap().map(Result::unwrap).collect()
}

#[test]
fn csv_and_fits_readers_agree_and_the_triplet_merges_in_time_order() {
    let dir = tmp("sim-csv");
    let (summary, out) = simulate_to_dir(&scenario(3), dir.path(), true, |_| {}).unwrap();
    let fits = all_items(&out.events);
    let csv = all_items(out.csv.as_ref().unwrap());
    assert_eq!(fits.len() as u64, summary.events);
    assert_eq!(fits, csv);
    let triplet = all_items(dir.path());
    assert_eq!(triplet.len() as u64, summary.events + 8, "4 attitude + 4 orbit samples");
    assert!(triplet.windows(2).all(|w| w[0].tick() <= w[1].tick()));
    assert!(matches!(triplet[0], Item::Attitude(_)));
}

fn err_of(path: &Path) -> String {
    match Input::open(path) {
        Err(e) => e.to_string(),
        Ok(input) => {
            for r in input {
                if let Err(e) = r {
                    return e.to_string();
                }
            }
            panic!("{} read without error", path.display())
        }
    }
}

#[test]
fn malformed_inputs_give_located_errors() {
    let dir = tmp("sim-bad");
    let p = |n: &str| -> PathBuf { dir.path().join(n) };
    std::fs::write(p("a.csv"), "TIME,Y,Z,PHA\n1.0,3,4,100\n1.5,3,4,1024\n").unwrap();
    assert_eq!(
        err_of(&p("a.csv")),
        format!("{}:3:4 (PHA): 1024 is not an integer in 0..1023", p("a.csv").display())
    );
    std::fs::write(p("b.csv"), "TIME,Y,PHA\n1.0,3,100\n").unwrap();
    assert!(
        err_of(&p("b.csv")).contains(":1:1: header has no column Z"),
        "{}",
        err_of(&p("b.csv"))
    );
    std::fs::write(p("c.csv"), "# comment\nTIME,Y,Z,PHA,MULT\n2.0,1,1,1,1\n1.0,1,1,1,1\n").unwrap();
    let e = err_of(&p("c.csv"));
    assert!(e.contains(":4:1 (TIME): TIME 1.00000 is earlier"), "{e}");
    std::fs::write(p("d.csv"), "TIME,Y,Z,PHA\n1.0,x,4,100\n").unwrap();
    assert!(err_of(&p("d.csv")).contains(":2:2 (Y): \"x\" is not a number"));

    let (_, out) = simulate_to_dir(&scenario(3), &dir.path().join("ok"), false, |_| {}).unwrap();
    let bytes = std::fs::read(&out.events).unwrap();
    std::fs::write(p("trunc.fits"), &bytes[..bytes.len() / 2]).unwrap();
    let e = err_of(&p("trunc.fits"));
    assert!(e.contains("HDU 2, keyword NAXIS2") && e.contains("truncated"), "{e}");
    // Row 3's Y set to 80.
    let mut bad = bytes.clone();
    let at = header_len(&bytes) + 2 * 15 + 8;
    bad[at..at + 2].copy_from_slice(&80i16.to_be_bytes());
    std::fs::write(p("y.fits"), &bad).unwrap();
    assert!(
        err_of(&p("y.fits")).ends_with("HDU 2, row 3, column Y: 80 is not an integer in 0..79")
    );
    std::fs::write(p("junk.fits"), b"not a fits file at all").unwrap();
    assert!(
        err_of(&p("junk.fits"))
            .ends_with("junk.fits: shorter than one header card: not a FITS file")
    );
    std::fs::write(p("junk2.fits"), vec![b' '; 200]).unwrap();
    assert!(err_of(&p("junk2.fits")).contains("HDU 1, keyword END: header not terminated"));
    let e = err_of(dir.path().join("nothing").as_path());
    assert!(e.contains("cannot read"), "{e}");
}

/// Octets before the data of the second HDU.
fn header_len(bytes: &[u8]) -> usize {
    let mut ends = bytes
        .chunks(80)
        .enumerate()
        .filter(|(_, c)| c.starts_with(b"END     "))
        .map(|(i, _)| (i + 1) * 80);
    let _primary = ends.next().unwrap();
    ends.next().unwrap().div_ceil(2880) * 2880
}

const ASTROPY: &str = r#"
import sys
from astropy.io import fits
from astropy.time import Time
with fits.open(sys.argv[1]) as h:
    e = h['EVENTS']
    assert e.header['MJDREFI'] == 57754 and e.header['TIMESYS'] == 'TT'
    assert e.columns.names == ['TIME', 'Y', 'Z', 'PHA', 'MULT'], e.columns.names
    t = e.data
    t0 = Time(e.header['MJDREFI'], format='mjd', scale='tt') + t['TIME'][0] / 86400.0
    print(len(t), int(t['Y'][0]), int(t['PHA'][0]), t0.utc.isot[:10])
"#;

#[test]
fn astropy_reads_the_events_when_installed() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import astropy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("note: astropy not installed, astropy cross-check skipped");
        return;
    }
    let dir = tmp("sim-astropy");
    let (summary, out) = simulate_to_dir(&scenario(3), dir.path(), false, |_| {}).unwrap();
    let o = std::process::Command::new("python3")
        .args(["-c", ASTROPY])
        .arg(&out.events)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let first = EventReader::open(&out.events).unwrap().next_event().unwrap().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("{} {} {} 2026-03-01", summary.events, first.y, first.pha)
    );
}
