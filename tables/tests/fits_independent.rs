//! The pixel calibration FITS form read by independent readers: the `fitsrs` crate, a
//! Python standard-library reader, and astropy when it is installed (ICD §6 layout).
#![cfg(feature = "std")]

use std::io::Cursor;
use std::process::Command;

use fitsrs::{DataValue, Fits, HDU};
use tables::defaults::default_set;
use tables::fits::{CALIBRATION_FILE_LEN, write_calibration};

#[test]
fn fitsrs_reads_detnum_gain_offset() {
    let set = default_set();
    let bytes = write_calibration(&set.pixels);
    assert_eq!(bytes.len(), CALIBRATION_FILE_LEN, "DOMAIN.md: the real file is 74 880 octets");
    let mut list = Fits::from_reader(Cursor::new(&bytes[..]));
    let mut tables_seen = 0;
    while let Some(hdu) = list.next() {
        let hdu = hdu.expect("fitsrs parses every HDU");
        if let HDU::XBinaryTable(hdu) = hdu {
            tables_seen += 1;
            let x = hdu.get_header().get_xtension();
            assert_eq!(x.get_num_rows(), 6400);
            assert_eq!(x.get_num_cols(), 3);
            assert_eq!(x.find_field_by_ttype("DETNUM"), Some(0));
            assert_eq!(x.find_field_by_ttype("GAIN"), Some(1));
            assert_eq!(x.find_field_by_ttype("OFFSET"), Some(2));
            let values: Vec<DataValue> = list.get_data(&hdu).table_data().collect();
            assert_eq!(values.len(), 3 * 6400);
            for (d, row) in values.chunks(3).enumerate() {
                let e = &set.pixels.entries[d];
                match row {
                    [
                        DataValue::Short { value: detnum, .. },
                        DataValue::Float { value: gain, .. },
                        DataValue::Float { value: offset, .. },
                    ] => {
                        assert_eq!(*detnum as usize, d);
                        assert_eq!(gain.to_bits(), e.gain.to_bits());
                        assert_eq!(offset.to_bits(), e.offset_kev.to_bits());
                    }
                    other => panic!("row {d}: unexpected types {other:?}"),
                }
            }
        }
    }
    assert_eq!(tables_seen, 1);
}

const PY_STDLIB_READER: &str = r#"
import struct, sys
data = open(sys.argv[1], 'rb').read()
assert len(data) == 74880, len(data)
def header(pos):
    cards = {}
    while True:
        card = data[pos:pos + 80].decode('ascii'); pos += 80
        if card.startswith('END'): break
        if card[8:10] == '= ':
            v = card[10:].split('/')[0].strip().strip("'").strip()
            cards[card[:8].strip()] = v
    return cards, (pos + 2879) // 2880 * 2880
prim, pos = header(0)
assert prim['SIMPLE'] == 'T' and prim['NAXIS'] == '0', prim
ext, pos = header(pos)
assert pos == 3 * 2880, pos
assert ext['XTENSION'] == 'BINTABLE' and ext['NAXIS1'] == '10' and ext['NAXIS2'] == '6400'
assert [ext['TTYPE%d' % i] for i in (1, 2, 3)] == ['DETNUM', 'GAIN', 'OFFSET']
assert [ext['TFORM%d' % i] for i in (1, 2, 3)] == ['I', 'E', 'E']
rows = [struct.unpack('>hff', data[pos + 10 * r: pos + 10 * r + 10]) for r in range(6400)]
assert [r[0] for r in rows] == list(range(6400))
print(repr(rows[1234][1]), repr(rows[1234][2]))
"#;

const PY_ASTROPY_READER: &str = r#"
import sys
from astropy.io import fits
with fits.open(sys.argv[1]) as h:
    t = h['PIX_CAL'].data
    assert h['PIX_CAL'].columns.names == ['DETNUM', 'GAIN', 'OFFSET']
    assert len(t) == 6400 and list(t['DETNUM'][:3]) == [0, 1, 2]
    print(repr(float(t['GAIN'][1234])), repr(float(t['OFFSET'][1234])))
"#;

fn python(script: &str, file: &std::path::Path) -> Option<String> {
    let out = Command::new("python3").arg("-c").arg(script).arg(file).output().ok()?;
    assert!(out.status.success(), "python reader failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn python_readers_agree() {
    let set = default_set();
    let dir = std::env::temp_dir().join(format!("tables-fits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cal.fits");
    std::fs::write(&file, write_calibration(&set.pixels)).unwrap();
    let e = &set.pixels.entries[1234];
    let expected = format!("{} {}", f64::from(e.gain), f64::from(e.offset_kev));
    let norm = |s: String| -> String {
        s.split_whitespace()
            .map(|v| v.parse::<f64>().unwrap().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    match python(PY_STDLIB_READER, &file) {
        Some(s) => assert_eq!(norm(s), expected),
        None => println!("note: python3 not found, stdlib FITS cross-check skipped"),
    }
    let has_astropy = Command::new("python3")
        .args(["-c", "import astropy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_astropy {
        let s = python(PY_ASTROPY_READER, &file).unwrap();
        assert_eq!(norm(s), expected);
    } else {
        println!("note: astropy not installed, astropy FITS cross-check skipped");
    }
    std::fs::remove_dir_all(&dir).ok();
}
