//! End to end: the request history (17,128 → 17,129) and the table dump range (200,9), the two
//! on-board services the bench's recovery uses when the downlink loses reports.

mod unit_harness;

use tc_tm::crc::crc32;
use tc_tm::pus::AckFlags;
use tc_tm::service::table::{self as table, BufferSel, DumpRange};
use tc_tm::service::test::{self as st17, Progress, RequestStatus};
use tc_tm::service::verification::RequestId;
use tc_tm::service::{FailureCode, List, Report, Request, Stage};
use unit_harness::{Ground, raw_tc};

fn query(
    g: &mut Ground<onboard::storage_fs::FsStorage>,
    ids: &[RequestId],
) -> (u32, u16, Vec<RequestStatus>) {
    g.take();
    let mut buf = vec![0u8; ids.len() * 4];
    let list = List::encode_into(ids, &mut buf).unwrap();
    let rid = g.exec(&Request::Test(st17::Request::QueryStatus(list)));
    g.assert_ok(rid);
    let reports = g.of(17, 129);
    assert_eq!(reports.len(), 1);
    let Report::Test(st17::Report::Status { recorded, capacity, entries, .. }) =
        reports[0].report()
    else {
        panic!("17,129 expected")
    };
    (recorded, capacity, entries.iter().collect())
}

#[test]
fn the_unit_reports_how_far_each_queried_tc_got() {
    let mut g = Ground::new("history");
    // Completed without any success report requested: only the history knows.
    let ok = g.send_ack(&Request::Test(st17::Request::AreYouAlive), AckFlags::NONE);
    g.drain();
    // Refused at start (not allowed in safe mode).
    let refused = g.exec(&Request::Table(table::Request::Activate { table_id: 1 }));
    // Refused at acceptance (wrong APID, PEC fixed by raw_tc).
    let bad = raw_tc(0x241, 3, 17, 1, &[]);
    let bad_id = g.send_packet(&bad);
    g.drain();
    let never = RequestId { packet_id: 0x1A40, seq_ctrl: 0xC000 | 0x3FFF };
    let (recorded, capacity, st) = query(&mut g, &[ok, refused, bad_id, never]);
    assert_eq!(capacity as usize, onboard::limits::HISTORY_LEN);
    assert!(recorded >= 3, "{recorded}");
    assert_eq!(st[0].state, Progress::Completed);
    assert_eq!(
        (st[1].state, st[1].stage, st[1].code),
        (Progress::Failed, Some(Stage::Start), Some(FailureCode::NotAllowedInMode))
    );
    assert_eq!(
        (st[2].state, st[2].stage, st[2].code),
        (Progress::Failed, Some(Stage::Acceptance), Some(FailureCode::BadApid))
    );
    assert_eq!(st[3].state, Progress::Unknown);
    assert_eq!(st.iter().map(|s| s.request_id).collect::<Vec<_>>(), [ok, refused, bad_id, never]);
}

#[test]
fn a_query_of_no_id_or_too_many_is_refused_at_acceptance() {
    let mut g = Ground::new("history-bad");
    let p = g.packet(17, 128, &[0], AckFlags::ALL);
    let rid = g.send_packet(&p);
    g.drain();
    g.assert_failed(rid, FailureCode::BadCount);
    let mut data = vec![33u8];
    data.extend(std::iter::repeat_n(0u8, 33 * 4));
    let p = g.packet(17, 128, &data, AckFlags::ALL);
    let rid = g.send_packet(&p);
    g.drain();
    g.assert_failed(rid, FailureCode::BadCount);
}

#[test]
fn dump_range_sends_exactly_the_range_and_refuses_one_outside_the_image() {
    let mut g = Ground::new("dumprange");
    g.maintenance();
    let set = tables::defaults::default_set();
    let img = set.image(tables::TableId::Pixels).unwrap();
    install(&mut g, &img);
    let id = tables::TableId::Pixels as u8;
    g.take();
    // Two ranges: 2 500 octets from 1 000 (three segments), then 10 octets from 50 000.
    let ranges =
        [DumpRange { offset: 1000, length: 2500 }, DumpRange { offset: 50_000, length: 10 }];
    let rid = g.exec(&dump_ranges(id, &ranges));
    g.advance(5_000, 100);
    assert_eq!(g.stages(rid), [1, 3, 5, 5, 5, 5, 7], "four segments of 1024 at most");
    let mut got = Vec::new();
    let mut want = Vec::new();
    for t in g.of(200, 6) {
        let Report::Table(table::Report::DumpSegment(s)) = t.report() else { panic!() };
        assert_eq!(s.total_len, img.len() as u32);
        got.push((s.offset, s.data.to_vec()));
    }
    for (o, n) in [(1000, 1024), (2024, 1024), (3048, 452), (50_000, 10)] {
        want.push((o as u32, img[o..o + n].to_vec()));
    }
    assert_eq!(got, want);
    let total = img.len() as u32;
    for (offset, length) in [(total - 10, 11u32), (0, 0), (total, 1)] {
        let p = {
            let mut d = vec![id, 1, 2, 0, 0, 0, 0, 0, 0, 0, 1];
            d.extend_from_slice(&offset.to_be_bytes());
            d.extend_from_slice(&length.to_be_bytes());
            g.packet(200, 9, &d, AckFlags::ALL)
        };
        let rid = g.send_packet(&p);
        g.drain();
        let code = if length == 0 { FailureCode::BadCount } else { FailureCode::SegmentOutOfRange };
        g.assert_failed(rid, code);
    }
    // The last octet alone.
    g.take();
    let rid = g.exec(&dump_ranges(id, &[DumpRange { offset: total - 1, length: 1 }]));
    g.advance(1_000, 100);
    assert_eq!(g.stages(rid), [1, 3, 5, 7]);
    let segs = g.of(200, 6);
    assert_eq!(segs.len(), 1);
    let Report::Table(table::Report::DumpSegment(s)) = segs[0].report() else { panic!() };
    assert_eq!((s.offset, s.data), (total - 1, &img[img.len() - 1..]));
}

fn dump_ranges(id: u8, ranges: &[DumpRange]) -> Request<'static> {
    let buf: &'static mut [u8] = Box::leak(vec![0u8; ranges.len() * 8].into_boxed_slice());
    let ranges = List::encode_into(ranges, buf).unwrap();
    Request::Table(table::Request::DumpRanges { table_id: id, buffer: BufferSel::Active, ranges })
}

/// Loads, validates and activates `img` (in maintenance).
fn install(g: &mut Ground<onboard::storage_fs::FsStorage>, img: &[u8]) {
    let id = img[0];
    let total = img.len() as u32;
    let version = tables::image::ImageHeader::parse(img).unwrap().table_version;
    for (i, chunk) in img.chunks(table::MAX_LOAD_SEGMENT_LEN).enumerate() {
        let seg = table::LoadSegment {
            table_id: id,
            version,
            total_len: total,
            offset: (i * table::MAX_LOAD_SEGMENT_LEN) as u32,
            data: chunk,
        };
        let rid = g.exec(&Request::Table(table::Request::LoadSegment(seg)));
        g.assert_ok(rid);
    }
    let rid = g
        .exec(&Request::Table(table::Request::Validate { table_id: id, expected_crc: crc32(img) }));
    g.assert_ok(rid);
    let rid = g.exec(&Request::Table(table::Request::Activate { table_id: id }));
    g.assert_ok(rid);
}
