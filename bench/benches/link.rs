//! Link benchmark (a bench binary, not a timed test): `cargo bench -p eic-bench --bench link`.
//!
//! 1. **TC round trip** on the twin at full speed: `test are-you-alive` sent → its completion
//!    report (1,7) received, over the real pseudo-terminal, real unit, real codec. Median,
//!    10th and 90th percentiles of 300 TCs after 20 warm-up TCs.
//! 2. **Memory-load goodput** on the twin throttled to 115 200 Bd: a 64 KiB image into bank B
//!    as ST\[06,2\] loads of the largest size, pipelined through the FOP-1 window; data octets per
//!    second from the first send to the last completion, against the theoretical maximum for
//!    CLTU-coded frames of that size at 10 bits per octet.
//!
//! Targets (issue 5): round trip ≤ 5 ms; goodput ≥ 90 % of the maximum.

use std::time::{Duration, Instant};

use eic_bench::session::{Session, SessionConfig, Verdict, uplink};
use eic_bench::twin::{Twin, TwinConfig, cuc_now};
use onboard::storage::Geometry;
use onboard::storage_fs::FsStorage;
use onboard::unit::Unit;
use tc_tm::pus::tc as pus_tc;
use tc_tm::service::Request;
use tc_tm::service::memory::{self, MAX_LOAD_LEN, MemoryId, MemoryLoad};
use tc_tm::tc_frame;

const BAUD: u32 = 115_200;

fn twin(dir: &std::path::Path, baud: Option<u32>) -> Twin<Unit<FsStorage>> {
    let (storage, _) = FsStorage::open(dir, Geometry::FLIGHT).expect("state dir");
    Twin::start(Unit::power_on(storage, cuc_now()), TwinConfig { baud, ..TwinConfig::default() })
        .expect("twin")
}

fn round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = twin(dir.path(), None);
    let mut s = Session::open(SessionConfig::fast(t.tctm_path())).expect("open");
    s.connect().expect("connect");
    let mut rt = Vec::new();
    for i in 0..320 {
        let id = s.send_raw(17, 1, &[]).expect("send");
        let o = s.wait(id).expect("wait");
        let Verdict::Completed { round_trip, .. } = o.verdict else { panic!("{o:?}") };
        s.forget(id);
        s.clear_packets();
        if i >= 20 {
            rt.push(round_trip);
        }
    }
    rt.sort();
    let pct = |p: usize| rt[(rt.len() - 1) * p / 100].as_secs_f64() * 1e3;
    println!(
        "round trip (17,1 sent -> 1,7 received, twin at full speed, {} TCs): median {:.3} ms, \
         p10 {:.3} ms, p90 {:.3} ms, max {:.3} ms (target <= 5 ms)",
        rt.len(),
        pct(50),
        pct(10),
        pct(90),
        pct(100)
    );
}

fn goodput() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = twin(dir.path(), Some(BAUD));
    let mut s = Session::open(SessionConfig::new(t.tctm_path(), BAUD)).expect("open");
    s.connect().expect("connect");
    let image: Vec<u8> =
        (0..64 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let start = Instant::now();
    let mut ids = Vec::new();
    for (k, chunk) in image.chunks(MAX_LOAD_LEN).enumerate() {
        let load = MemoryLoad::new(MemoryId::BankB, (k * MAX_LOAD_LEN) as u32, chunk);
        let req = Request::Memory(memory::Request::Load(load));
        ids.push(s.send(&req).expect("send"));
    }
    let mut last = start;
    for id in &ids {
        let o = s.wait(*id).expect("wait");
        assert!(o.is_success(), "{o:?}");
        last = Instant::now();
    }
    let secs = last.duration_since(start).as_secs_f64();
    // Theoretical maximum: the largest load's data per CLTU-coded frame, 10 bits per octet.
    let packet = pus_tc::OVERHEAD_LEN + 1 + 4 + 2 + MAX_LOAD_LEN + 4;
    let frame = tc_frame::HEADER_LEN + tc_frame::SEG_HEADER_LEN + packet + tc_frame::FECF_LEN;
    let cltu = tc_tm::cltu::encoded_len(frame);
    let line_octets_per_s = f64::from(BAUD) / 10.0;
    let max = line_octets_per_s * MAX_LOAD_LEN as f64 / cltu as f64;
    let got = image.len() as f64 / secs;
    println!(
        "memory-load goodput at {BAUD} Bd: {} octets in {secs:.2} s = {got:.0} octets/s; \
         maximum for CLTU-coded frames {max:.0} octets/s ({MAX_LOAD_LEN} data octets per \
         {cltu}-octet CLTU, frame {frame}, packet {packet}); {:.1} % of the maximum (target >= 90 %); \
         {} preamble octets per CLTU on our line ({:.1} %)",
        image.len(),
        100.0 * got / max,
        uplink::PREAMBLE_LEN,
        100.0 * uplink::PREAMBLE_LEN as f64 / cltu as f64
    );
    let st = s.stats();
    println!(
        "  session: {} frames, {} retransmissions, {} CLCWs",
        st.frames, st.retransmissions, st.clcws
    );
    drop(s);
    let _ = t.stop();
    let _ = Duration::ZERO;
}

fn main() {
    // `cargo test --benches` runs this with `--test`-like flags; only measure under `cargo bench`.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    round_trip();
    goodput();
}
