//! Host-side I/O rates of the bench: `cargo bench -p eic-bench --bench host_io`.
//!
//! - TM archive append, flushed per record (the receiver's default) and fsync'd per record;
//! - archive read-back;
//! - fault injection over a 64 MiB stream at the rates the link tests use.
//!
//! Medians of several samples; the link itself carries about 11.5 kB/s at 115 200 Bd, so these
//! show the headroom, not a target.

use std::hint::black_box;
use std::time::Instant;

use eic_bench::archive::{ArchiveReader, ArchiveWriter, Durability, RecordKind, SOURCE_TCTM};
use eic_bench::link::{FaultInjector, FaultSpec};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let dir = tempfile::tempdir().expect("temp dir");
    let cadu: Vec<u8> = (0..1119u32).map(|i| (i * 13) as u8).collect();
    println!("eic-bench host I/O benchmarks (median of 5 samples)");
    for (durability, n) in [(Durability::Flush, 20_000usize), (Durability::Sync, 200)] {
        let n = if quick { n / 100 } else { n };
        let rates = (0..5)
            .map(|s| {
                let path = dir.path().join(format!("{durability:?}-{s}.eica"));
                let (mut w, _) = ArchiveWriter::open(&path, durability).expect("archive");
                let t = Instant::now();
                for _ in 0..n {
                    w.append(RecordKind::Cadu, SOURCE_TCTM, &cadu).expect("append");
                }
                n as f64 / t.elapsed().as_secs_f64()
            })
            .collect();
        println!(
            "{:<50} {:>10.0} CADU/s",
            format!("archive append ({durability:?})"),
            median(rates)
        );
    }
    let path = dir.path().join("Flush-0.eica");
    let rates = (0..5)
        .map(|_| {
            let t = Instant::now();
            let file = std::fs::File::open(&path).expect("archive");
            let count =
                ArchiveReader::new(std::io::BufReader::new(file)).filter(|r| r.is_ok()).count();
            black_box(count) as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    println!("{:<50} {:>10.0} CADU/s", "archive read", median(rates));

    let input: Vec<u8> =
        (0..(if quick { 1usize << 20 } else { 64 << 20 })).map(|i| (i * 31) as u8).collect();
    for spec in ["bitflip=1e-5,seed=1", "bitflip=1e-5,drop=1e-3,garbage=1e-4:16,seed=1"] {
        let rates = (0..5)
            .map(|_| {
                let mut inj = FaultInjector::new(FaultSpec::parse(spec).expect("spec"));
                let mut out = Vec::with_capacity(input.len() + (1 << 20));
                let t = Instant::now();
                inj.apply(&input, &mut out);
                input.len() as f64 / t.elapsed().as_secs_f64() / 1e6
            })
            .collect();
        println!("{:<50} {:>10.0} MB/s", format!("fault injection {spec}"), median(rates));
    }
}
