//! Throttled I/O in real time: a lower bound only, as the machine is shared.

use std::io::Write;
use std::time::{Duration, Instant};

use eic_bench::link::{PtyPair, SerialLink, ThrottledWriter, Timeouts};

#[test]
fn throttled_write_takes_at_least_the_line_time() {
    // 600 octets at 9600 Bd = 625 ms; the first 16-octet burst is free.
    let mut sink = Vec::new();
    let mut w = ThrottledWriter::new(&mut sink, 9600, 16).unwrap();
    let data = vec![0xA5u8; 600];
    let t0 = Instant::now();
    w.write_all(&data).unwrap();
    w.flush().unwrap();
    let took = t0.elapsed();
    let min = Duration::from_nanos((600 - 16) * 10 * 1_000_000_000 / 9600);
    assert!(took >= min, "took {took:?}, expected at least {min:?}");
    assert_eq!(sink, data);
}

#[test]
fn throttled_twin_output_over_a_real_pty() {
    let pty = PtyPair::open().unwrap();
    let mut link = SerialLink::open(pty.slave_path(), 19_200, Timeouts::default()).unwrap();
    let data: Vec<u8> = (0..=255u8).cycle().take(480).collect();
    let t0 = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut w = ThrottledWriter::new(&pty, 19_200, 1).unwrap();
            w.write_all(&data).unwrap();
        });
        let mut got = vec![0u8; data.len()];
        link.read_exact_deadline(&mut got, Instant::now() + Duration::from_secs(10)).unwrap();
        assert_eq!(got, data);
    });
    // 479 octet times at 19 200 Bd (the first octet is the free burst): 249.5 ms.
    assert!(t0.elapsed() >= Duration::from_micros(479 * 10 * 1_000_000 / 19_200));
}
