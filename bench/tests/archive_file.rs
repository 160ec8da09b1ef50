//! The TM archive on disk: append, reopen, damage, resume, and arbitrary input.

use std::fs::OpenOptions;
use std::io::Write;

use eic_bench::archive::{
    ArchiveReader, ArchiveWriter, Damage, Durability, Error, HEADER_LEN, Record, RecordKind,
    SOURCE_STIMULUS, SOURCE_TCTM, TRAILER_LEN, encode_record, read_file,
};

fn cadu(i: u32) -> Vec<u8> {
    let mut v = vec![0x1A, 0xCF, 0xFC, 0x1D];
    v.extend((0..1115u32).map(|k| (k.wrapping_mul(31).wrapping_add(i)) as u8));
    v
}

fn read_all(path: &std::path::Path) -> (Vec<Record>, Vec<Error>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for item in read_file(path).unwrap() {
        match item {
            Ok(r) => good.push(r),
            Err(e) => bad.push(e),
        }
    }
    (good, bad)
}

#[test]
fn append_reopen_append_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tm.eica");
    let (mut w, report) = ArchiveWriter::open(&path, Durability::Flush).unwrap();
    assert_eq!(report.records, 0);
    for i in 0..10 {
        w.append_at(1_000 + i64::from(i), RecordKind::Cadu, SOURCE_TCTM, &cadu(i)).unwrap();
    }
    drop(w);
    let len_before = std::fs::metadata(&path).unwrap().len();
    let (mut w, report) = ArchiveWriter::open(&path, Durability::Sync).unwrap();
    assert_eq!(report.records, 10);
    assert_eq!(report.len, len_before);
    assert!(report.damage.is_empty());
    w.append(RecordKind::Raw, SOURCE_STIMULUS, b"stimulus").unwrap();
    drop(w);

    let (good, bad) = read_all(&path);
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(good.len(), 11);
    for (i, r) in good.iter().take(10).enumerate() {
        assert_eq!(r.octets, cadu(i as u32));
        assert_eq!(r.time_ns, 1_000 + i as i64);
        assert_eq!(r.kind, RecordKind::Cadu);
    }
    let last = &good[10];
    assert_eq!(
        (last.kind, last.source, &last.octets[..]),
        (RecordKind::Raw, SOURCE_STIMULUS, &b"stimulus"[..])
    );
    assert!(last.time_ns > 1_600_000_000_000_000_000, "real UTC time");
    assert_eq!(last.offset, len_before);
    // Offsets chain: nothing between records.
    for pair in good.windows(2) {
        assert_eq!(pair[0].offset + pair[0].encoded_len() as u64, pair[1].offset);
    }
}

#[test]
fn every_record_is_on_disk_when_append_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tm.eica");
    let (mut w, _) = ArchiveWriter::open(&path, Durability::Flush).unwrap();
    for i in 0..5u32 {
        w.append(RecordKind::Cadu, SOURCE_TCTM, &cadu(i)).unwrap();
        // Read back through another handle while the writer is still open.
        assert_eq!(read_all(&path).0.len(), i as usize + 1);
    }
}

#[test]
fn torn_tail_is_reported_and_nothing_before_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tm.eica");
    let (mut w, _) = ArchiveWriter::open(&path, Durability::Flush).unwrap();
    for i in 0..3 {
        w.append_at(i64::from(i), RecordKind::Cadu, SOURCE_TCTM, &cadu(i)).unwrap();
    }
    drop(w);
    let full = std::fs::metadata(&path).unwrap().len();
    // Every possible cut inside the 4th record.
    let mut rec = Vec::new();
    encode_record(RecordKind::Cadu, SOURCE_TCTM, 3, &cadu(3), &mut rec).unwrap();
    for cut in [1usize, 3, 4, 5, 19, 20, 21, 600, rec.len() - 1] {
        let p = dir.path().join(format!("torn{cut}.eica"));
        std::fs::copy(&path, &p).unwrap();
        OpenOptions::new().append(true).open(&p).unwrap().write_all(&rec[..cut]).unwrap();
        let (good, bad) = read_all(&p);
        assert_eq!(good.len(), 3, "cut {cut}");
        assert_eq!(bad, vec![Error::TornTail { offset: full, len: cut as u64 }], "cut {cut}");
    }
}

#[test]
fn resume_after_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tm.eica");
    let (mut w, _) = ArchiveWriter::open(&path, Durability::Flush).unwrap();
    for i in 0..3 {
        w.append_at(i64::from(i), RecordKind::Cadu, SOURCE_TCTM, &cadu(i)).unwrap();
    }
    drop(w);
    let mut rec = Vec::new();
    encode_record(RecordKind::Cadu, SOURCE_TCTM, 3, &cadu(3), &mut rec).unwrap();
    OpenOptions::new().append(true).open(&path).unwrap().write_all(&rec[..700]).unwrap();
    let before = std::fs::read(&path).unwrap();
    let torn_len = before.len() as u64;

    let (mut w, report) = ArchiveWriter::open(&path, Durability::Flush).unwrap();
    assert_eq!(report.records, 3);
    assert!(matches!(report.damage.as_slice(), [Error::TornTail { len: 700, .. }]), "{report:?}");
    for i in 10..12 {
        w.append_at(i64::from(i), RecordKind::Cadu, SOURCE_TCTM, &cadu(i)).unwrap();
    }
    drop(w);
    // The file was only appended to.
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() as u64 > torn_len);
    assert_eq!(&bytes[..before.len()], &before[..]);

    let (good, bad) = read_all(&path);
    let kinds: Vec<_> = good.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            RecordKind::Cadu,
            RecordKind::Cadu,
            RecordKind::Cadu,
            RecordKind::Note,
            RecordKind::Cadu,
            RecordKind::Cadu
        ]
    );
    let note = String::from_utf8(good[3].octets.clone()).unwrap();
    assert!(note.contains("resumed") && note.contains(&torn_len.to_string()), "{note}");
    assert_eq!(good[4].octets, cadu(10));
    assert_eq!(good[5].octets, cadu(11));
    // The torn record is now reported as damage, exactly its 700 octets.
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(matches!(bad[0], Error::Damaged { skipped: 700, .. }), "{bad:?}");
    // A third open finds the same single damaged stretch and adds one more note.
    let (_, report) = ArchiveWriter::open(&path, Durability::Flush).unwrap();
    assert_eq!(report.records, 6);
    assert_eq!(report.damage.len(), 1);
}

#[test]
fn corrupted_record_in_the_middle_is_skipped_alone() {
    let mut file = Vec::new();
    let mut rec = Vec::new();
    let mut offsets = Vec::new();
    for i in 0..5u32 {
        encode_record(RecordKind::Cadu, SOURCE_TCTM, i64::from(i), &cadu(i), &mut rec).unwrap();
        offsets.push(file.len());
        file.extend_from_slice(&rec);
    }
    let rec_len = rec.len() as u64;
    // Flip one payload bit of record 2, break the sync of record 3.
    file[offsets[2] + HEADER_LEN + 100] ^= 0x04;
    file[offsets[3]] = b'X';
    let items: Vec<_> = ArchiveReader::new(&file[..]).collect();
    let good: Vec<u32> =
        items.iter().filter_map(|r| r.as_ref().ok()).map(|r| r.time_ns as u32).collect();
    assert_eq!(good, [0, 1, 4]);
    let bad: Vec<_> = items.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(bad.len(), 1, "{bad:?}: both damaged records form one stretch");
    match bad[0] {
        Error::Damaged { offset, skipped, reason: Damage::BadCrc { .. } } => {
            assert_eq!(*offset, offsets[2] as u64);
            assert_eq!(*skipped, 2 * rec_len);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn damage_kinds_are_named() {
    let mut rec = Vec::new();
    encode_record(RecordKind::Raw, 0, 0, b"abc", &mut rec).unwrap();
    let mut bad_version = rec.clone();
    bad_version[4] = 9;
    let first: Vec<_> = ArchiveReader::new(&bad_version[..]).collect();
    assert!(matches!(
        first[0],
        Err(Error::Damaged { reason: Damage::BadVersion { found: 9 }, .. })
    ));
    let mut too_long = rec.clone();
    too_long[16] = 0xFF;
    let first: Vec<_> = ArchiveReader::new(&too_long[..]).collect();
    assert!(matches!(first[0], Err(Error::Damaged { reason: Damage::TooLong { .. }, .. })));
    let garbage = b"this is not an archive at all";
    let items: Vec<_> = ArchiveReader::new(&garbage[..]).collect();
    assert_eq!(
        items,
        vec![Err(Error::Damaged {
            offset: 0,
            skipped: garbage.len() as u64,
            reason: Damage::BadSync
        })]
    );
    let text = items[0].as_ref().unwrap_err().to_string();
    assert!(text.contains("offset 0") && text.contains("sync"), "{text}");
    assert_eq!(HEADER_LEN + 3 + TRAILER_LEN, rec.len());
}

#[test]
fn empty_file_has_no_records() {
    assert_eq!(ArchiveReader::new(&[][..]).count(), 0);
}

#[test]
fn missing_file_is_an_io_error_with_the_path() {
    let e = read_file("/nonexistent/tm.eica").unwrap_err();
    assert!(e.to_string().contains("/nonexistent/tm.eica"), "{e}");
}

mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn reading_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let mut consumed = 0u64;
            for item in ArchiveReader::new(&bytes[..]) {
                match item {
                    Ok(r) => consumed += r.encoded_len() as u64,
                    Err(Error::Damaged { skipped, .. }) => consumed += skipped,
                    Err(Error::TornTail { len, .. }) => consumed += len,
                    Err(e) => prop_assert!(false, "unexpected {e:?}"),
                }
            }
            // Every octet is accounted for exactly once.
            prop_assert_eq!(consumed, bytes.len() as u64);
        }

        #[test]
        fn mutated_archives_never_panic_and_keep_records_before_the_damage(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..6),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut file = Vec::new();
            let mut rec = Vec::new();
            for (i, p) in payloads.iter().enumerate() {
                encode_record(RecordKind::Raw, 0, i as i64, p, &mut rec).unwrap();
                file.extend_from_slice(&rec);
            }
            let mut first_damage = file.len();
            for (at, x) in &flips {
                let i = at.index(file.len());
                if *x != 0 {
                    file[i] ^= x;
                    first_damage = first_damage.min(i);
                }
            }
            file.truncate(cut.index(file.len() + 1));
            let mut consumed = 0u64;
            let mut intact_before = 0usize;
            for item in ArchiveReader::new(&file[..]) {
                match item {
                    Ok(r) => {
                        if (r.offset + r.encoded_len() as u64) <= first_damage.min(file.len()) as u64 {
                            prop_assert_eq!(&r.octets, &payloads[r.time_ns as usize]);
                            intact_before += 1;
                        }
                        consumed += r.encoded_len() as u64;
                    }
                    Err(Error::Damaged { skipped, .. }) => consumed += skipped,
                    Err(Error::TornTail { len, .. }) => consumed += len,
                    Err(e) => prop_assert!(false, "unexpected {e:?}"),
                }
            }
            prop_assert_eq!(consumed, file.len() as u64);
            // Every record that ends before the first damage (flip or cut) was read.
            let mut end = 0usize;
            let mut expected = 0usize;
            for p in &payloads {
                end += HEADER_LEN + p.len() + TRAILER_LEN;
                if end <= first_damage.min(file.len()) { expected += 1; }
            }
            prop_assert_eq!(intact_before, expected);
        }

        #[test]
        fn records_survive_surrounding_garbage(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..8),
            junk in proptest::collection::vec(any::<u8>(), 0..64),
            at in any::<prop::sample::Index>(),
        ) {
            let mut file = Vec::new();
            let mut rec = Vec::new();
            let mut starts = Vec::new();
            for (i, p) in payloads.iter().enumerate() {
                starts.push(file.len());
                encode_record(RecordKind::Raw, 0, i as i64, p, &mut rec).unwrap();
                file.extend_from_slice(&rec);
            }
            // Insert junk at a record boundary: every record must still be read.
            let cut = starts[at.index(starts.len())];
            file.splice(cut..cut, junk.iter().copied());
            let got: Vec<Vec<u8>> = ArchiveReader::new(&file[..]).filter_map(Result::ok).map(|r| r.octets).collect();
            prop_assert_eq!(got, payloads);
        }
    }
}
