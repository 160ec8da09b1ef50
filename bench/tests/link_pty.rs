//! The serial link over real pseudo-terminals: the twin's end ([`PtyPair`]) and the bench's end
//! ([`SerialLink`]) exactly as `eic-bench` and `eic-bench twin` use them.

use std::time::{Duration, Instant};

use eic_bench::link::{LinkError, PtyPair, RetryPolicy, SerialLink, Timeouts};

const WAIT: Duration = Duration::from_secs(5);

fn timeouts(read_ms: u64) -> Timeouts {
    Timeouts { read: Duration::from_millis(read_ms), write: Duration::from_secs(2) }
}

/// Reads exactly `n` octets from the twin's master.
fn master_read(pty: &PtyPair, n: usize) -> Vec<u8> {
    let deadline = Instant::now() + WAIT;
    let mut out = Vec::with_capacity(n);
    let mut buf = [0u8; 4096];
    while out.len() < n {
        assert!(Instant::now() < deadline, "master got {} of {n} octets", out.len());
        let got = pty.read_timeout(&mut buf, Duration::from_millis(100)).unwrap();
        out.extend_from_slice(&buf[..got]);
    }
    out
}

/// Reads exactly `n` octets on the bench side.
fn bench_read(link: &mut SerialLink, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    link.read_exact_deadline(&mut out, Instant::now() + WAIT).unwrap();
    out
}

#[test]
fn all_256_octet_values_pass_both_ways() {
    let pty = PtyPair::open().unwrap();
    let mut link = SerialLink::open(pty.slave_path(), 115_200, timeouts(1000)).unwrap();
    let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();

    link.write_all(&all).unwrap();
    assert_eq!(master_read(&pty, all.len()), all);

    pty.write_all_timeout(&all, WAIT).unwrap();
    assert_eq!(bench_read(&mut link, all.len()), all);

    // Nothing was echoed back to either side.
    assert_eq!(pty.read_timeout(&mut [0u8; 16], Duration::from_millis(30)).unwrap(), 0);
    let e = link.read_deadline(&mut [0u8; 16], Instant::now() + Duration::from_millis(30));
    assert!(matches!(e, Err(LinkError::NoAnswer { .. })), "{e:?}");
}

#[test]
fn large_transfer_through_small_queues() {
    // Bigger than the kernel's pty queues: both ends must make progress under deadlines.
    let pty = PtyPair::open().unwrap();
    let mut link = SerialLink::open(pty.slave_path(), 115_200, timeouts(1000)).unwrap();
    let data: Vec<u8> =
        (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let expected = data.clone();
    let slave = pty.slave_path().to_owned();
    std::thread::scope(|s| {
        s.spawn(|| pty.write_all_timeout(&data, WAIT).unwrap());
        assert_eq!(bench_read(&mut link, expected.len()), expected, "{}", slave.display());
    });
}

#[test]
fn reconnect_keeps_the_pty_alive() {
    let pty = PtyPair::open().unwrap();
    let path = pty.slave_path().to_owned();
    for round in 0..3u8 {
        let mut link = SerialLink::open(&path, 115_200, timeouts(1000)).unwrap();
        link.write_all(&[round, 0xEB, 0x90]).unwrap();
        assert_eq!(master_read(&pty, 3), [round, 0xEB, 0x90]);
        pty.write_all_timeout(&[0x1A, 0xCF, 0xFC, 0x1D, round], WAIT).unwrap();
        assert_eq!(bench_read(&mut link, 5), [0x1A, 0xCF, 0xFC, 0x1D, round]);
        drop(link);
        // With no bench connected the master neither fails nor sees data.
        assert_eq!(pty.read_timeout(&mut [0u8; 8], Duration::from_millis(20)).unwrap(), 0);
    }
    // Telemetry written while nobody is connected waits for the next bench.
    pty.write_all_timeout(b"queued", WAIT).unwrap();
    let mut link = SerialLink::open(&path, 115_200, timeouts(1000)).unwrap();
    assert_eq!(bench_read(&mut link, 6), b"queued");
}

#[test]
fn reopen_in_place_keeps_talking() {
    let pty = PtyPair::open().unwrap();
    let mut link = SerialLink::open(pty.slave_path(), 115_200, timeouts(1000)).unwrap();
    link.write_all(b"one").unwrap();
    assert_eq!(master_read(&pty, 3), b"one");
    let attempts = link.reopen(RetryPolicy::default()).unwrap();
    assert_eq!(attempts, 1);
    link.write_all(b"two").unwrap();
    assert_eq!(master_read(&pty, 3), b"two");
    pty.write_all_timeout(b"back", WAIT).unwrap();
    assert_eq!(bench_read(&mut link, 4), b"back");
}

#[test]
fn reopen_after_the_twin_is_gone_fails_within_the_bound() {
    let pty = PtyPair::open().unwrap();
    let mut link = SerialLink::open(pty.slave_path(), 115_200, timeouts(200)).unwrap();
    drop(pty);
    // The line hangs up for the bench: reads report it instead of blocking.
    let e = link.read(&mut [0u8; 4]).unwrap_err();
    assert!(matches!(e, LinkError::Disconnected { .. } | LinkError::NoAnswer { .. }), "{e:?}");
    let policy = RetryPolicy {
        attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
    };
    let t0 = Instant::now();
    let e = link.reopen(policy).unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(matches!(e, LinkError::ReopenFailed { .. }), "{e:?}");
    assert!(!link.is_open());
    assert!(matches!(link.write_all(b"x"), Err(LinkError::Closed { .. })));
}

#[test]
fn second_open_of_the_same_path_is_busy() {
    let pty = PtyPair::open().unwrap();
    let _first = SerialLink::open(pty.slave_path(), 115_200, timeouts(100)).unwrap();
    let e = SerialLink::open(pty.slave_path(), 115_200, timeouts(100)).unwrap_err();
    assert_eq!(e, LinkError::Busy { device: pty.slave_path().display().to_string() });
    let text = e.to_string();
    assert!(text.contains("busy") && text.contains("fuser"), "{text}");
}

#[test]
fn busy_is_released_on_close() {
    let pty = PtyPair::open().unwrap();
    let first = SerialLink::open(pty.slave_path(), 115_200, timeouts(100)).unwrap();
    drop(first);
    SerialLink::open(pty.slave_path(), 115_200, timeouts(100)).unwrap();
}

#[test]
fn missing_path_is_not_found_with_a_hint() {
    let e = SerialLink::open("/dev/ttyECLAIRS-missing", 115_200, timeouts(100)).unwrap_err();
    assert_eq!(e, LinkError::NotFound { device: "/dev/ttyECLAIRS-missing".into() });
    let text = e.to_string();
    assert!(text.contains("/dev/ttyECLAIRS-missing"), "{text}");
    assert!(text.contains("eic-bench twin") && text.contains("USB"), "{text}");
}

#[test]
fn read_with_no_data_times_out_within_the_bound() {
    let pty = PtyPair::open().unwrap();
    let mut link = SerialLink::open(pty.slave_path(), 115_200, timeouts(150)).unwrap();
    let t0 = Instant::now();
    let e = link.read(&mut [0u8; 64]).unwrap_err();
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    // Generous upper bound (shared machine), but a bound: never a hang.
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    match &e {
        LinkError::NoAnswer { waited_ms, baud, .. } => {
            assert!(*waited_ms >= 150);
            assert_eq!(*baud, 115_200);
        }
        other => panic!("expected NoAnswer, got {other:?}"),
    }
    assert!(e.to_string().contains("baud rate"), "{e}");
    assert_eq!(std::io::Error::from(e).kind(), std::io::ErrorKind::TimedOut);
}

#[test]
fn write_to_a_unit_that_does_not_read_is_bounded() {
    let pty = PtyPair::open().unwrap();
    let mut link = SerialLink::open(
        pty.slave_path(),
        115_200,
        Timeouts { read: Duration::from_millis(100), write: Duration::from_millis(200) },
    )
    .unwrap();
    let t0 = Instant::now();
    let e = link.write_all(&vec![0u8; 4 << 20]).unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(matches!(e, LinkError::WriteStalled { .. }), "{e:?}");
}

#[test]
fn std_io_traits_work_over_the_link() {
    use std::io::{Read, Write};
    let pty = PtyPair::open().unwrap();
    let mut link = SerialLink::open(pty.slave_path(), 9600, timeouts(1000)).unwrap();
    link.write_all(b"io").unwrap();
    Write::flush(&mut link).unwrap();
    let mut got = [0u8; 2];
    Read::read_exact(&mut &pty, &mut got).unwrap();
    assert_eq!(&got, b"io");
}
