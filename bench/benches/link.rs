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
//! 3. **The same on the firmware under QEMU** (issue 13, `docs/firmware.md`), when
//!    qemu-system-arm is found (`scripts/install-qemu.sh`): TC round trip as in 1 (100 TCs), and
//!    the 64 KiB bank load at the full speed of the emulated UART.
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
    let rt = round_trips(SessionConfig::fast(t.tctm_path()), 300);
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

/// `n` round trips after 20 warm-up TCs, sorted.
fn round_trips(cfg: SessionConfig, n: usize) -> Vec<Duration> {
    let mut s = Session::open(cfg).expect("open");
    s.connect().expect("connect");
    let mut rt = Vec::new();
    for i in 0..n + 20 {
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
    rt
}

fn qemu() {
    use eic_bench::qemu::{FACTORY_VERSION, QemuConfig, QemuUnit, build_firmware, find_qemu};
    if let Err(e) = find_qemu() {
        println!("firmware under QEMU: not measured ({e})");
        return;
    }
    let fw = build_firmware(FACTORY_VERSION).expect("firmware build");
    let dir = tempfile::tempdir().expect("tempdir");
    let q =
        QemuUnit::start(dir.path(), QemuConfig { firmware: Some(fw), blank: false }).expect("QEMU");
    // Single TCs, one at a time: the full-speed settings, as for the twin (a window of
    // pipelined loads below needs the line's).
    let rt = round_trips(SessionConfig::fast(q.tctm_path()), 100);
    let pct = |p: usize| rt[(rt.len() - 1) * p / 100].as_secs_f64() * 1e3;
    println!(
        "round trip (17,1 sent -> 1,7 received, firmware under QEMU mps2-an386, {} TCs): \
         median {:.3} ms, p10 {:.3} ms, p90 {:.3} ms, max {:.3} ms",
        rt.len(),
        pct(50),
        pct(10),
        pct(90),
        pct(100)
    );
    // The emulated UART takes the uplink at about 10 kB/s: paced session settings, as
    // `eic-bench` uses for DEVICE `qemu`.
    let mut s = Session::open(eic_bench::qemu::session_config(q.tctm_path())).expect("open");
    s.connect().expect("connect");
    // The provisioned firmware runs in safe mode: memory loads need maintenance.
    let mut data = [0u8; tc_tm::service::MAX_TC_APP_DATA_LEN];
    let (service, subtype, len) =
        tc_tm::service::text::parse_request("function mode mode=maintenance", &mut data)
            .expect("request");
    let id = s.send_raw(service, subtype, &data[..len]).expect("send");
    assert!(s.wait(id).expect("wait").is_success());
    let (octets, secs) = load_64k(&mut s);
    println!(
        "memory load on the firmware under QEMU (full speed of the emulated UART): {octets} \
         octets in {secs:.2} s = {:.0} octets/s",
        octets as f64 / secs
    );
}

/// A 64 KiB image into bank B as pipelined ST[06,2] loads: (octets, seconds).
fn load_64k(s: &mut Session) -> (usize, f64) {
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
    (image.len(), last.duration_since(start).as_secs_f64())
}

fn goodput() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = twin(dir.path(), Some(BAUD));
    let mut s = Session::open(SessionConfig::new(t.tctm_path(), BAUD)).expect("open");
    s.connect().expect("connect");
    let (octets, secs) = load_64k(&mut s);
    // Theoretical maximum: the largest load's data per CLTU-coded frame, 10 bits per octet.
    let packet = pus_tc::OVERHEAD_LEN + 1 + 4 + 2 + MAX_LOAD_LEN + 4;
    let frame = tc_frame::HEADER_LEN + tc_frame::SEG_HEADER_LEN + packet + tc_frame::FECF_LEN;
    let cltu = tc_tm::cltu::encoded_len(frame);
    let line_octets_per_s = f64::from(BAUD) / 10.0;
    let max = line_octets_per_s * MAX_LOAD_LEN as f64 / cltu as f64;
    let got = octets as f64 / secs;
    println!(
        "memory-load goodput at {BAUD} Bd: {} octets in {secs:.2} s = {got:.0} octets/s; \
         maximum for CLTU-coded frames {max:.0} octets/s ({MAX_LOAD_LEN} data octets per \
         {cltu}-octet CLTU, frame {frame}, packet {packet}); {:.1} % of the maximum (target >= 90 %); \
         {} preamble octets per CLTU on our line ({:.1} %)",
        octets,
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
    qemu();
}
