//! Fault injection: spec parsing, determinism, and observed rates against the spec.

use eic_bench::link::faults::FaultSpecErrorKind;
use eic_bench::link::{FaultInjector, FaultSpec, FrameFate};

fn stream(len: usize) -> Vec<u8> {
    let mut x = 0x1234_5678_9ABC_DEF0u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn run(spec: &str, input: &[u8]) -> (Vec<u8>, eic_bench::link::FaultCounters) {
    let mut inj = FaultInjector::new(FaultSpec::parse(spec).unwrap());
    let mut out = Vec::new();
    inj.apply(input, &mut out);
    (out, inj.counters())
}

/// |observed - expected| within 5 standard deviations of a binomial count.
fn assert_rate(what: &str, observed: u64, trials: u64, p: f64) {
    let mean = trials as f64 * p;
    let sd = (trials as f64 * p * (1.0 - p)).sqrt();
    let dev = (observed as f64 - mean).abs();
    assert!(dev <= 5.0 * sd, "{what}: observed {observed}, expected {mean:.1} ± {sd:.1}");
}

#[test]
fn same_seed_same_output_other_seed_differs() {
    let input = stream(200_000);
    let spec = "bitflip=1e-3,drop=1e-3,garbage=1e-3:8,seed=7";
    assert_eq!(run(spec, &input), run(spec, &input));
    let (a, _) = run(spec, &input);
    let (b, _) = run("bitflip=1e-3,drop=1e-3,garbage=1e-3:8,seed=8", &input);
    assert_ne!(a, b);
}

#[test]
fn output_does_not_depend_on_chunking() {
    let input = stream(100_000);
    let spec = FaultSpec::parse("bitflip=2e-3,drop=5e-3,garbage=2e-3:5,seed=99").unwrap();
    let (whole, counters) = run(&spec.to_string(), &input);
    let mut inj = FaultInjector::new(spec);
    let mut chunked = Vec::new();
    let mut rest = &input[..];
    let mut size = 1usize;
    while !rest.is_empty() {
        let (a, b) = rest.split_at(size.min(rest.len()));
        inj.apply(a, &mut chunked);
        rest = b;
        size = size % 997 + 13;
    }
    assert_eq!(chunked, whole);
    assert_eq!(inj.counters(), counters);
}

#[test]
fn bitflip_rate_and_hamming_distance_match() {
    let input = stream(4_000_000);
    let (out, c) = run("bitflip=1e-4,seed=1", &input);
    assert_eq!(out.len(), input.len());
    let hamming: u64 = input.iter().zip(&out).map(|(a, b)| u64::from((a ^ b).count_ones())).sum();
    assert_eq!(hamming, c.bits_flipped);
    assert_rate("bit flips", c.bits_flipped, 8 * 4_000_000, 1e-4);
}

#[test]
fn low_bitflip_rate_is_still_correct() {
    let input = vec![0u8; 8_000_000];
    let (out, c) = run("bitflip=1e-5,seed=3", &input);
    let ones: u64 = out.iter().map(|b| u64::from(b.count_ones())).sum();
    assert_eq!(ones, c.bits_flipped);
    assert_rate("bit flips at 1e-5", c.bits_flipped, 64_000_000, 1e-5);
}

#[test]
fn drop_and_garbage_rates() {
    let n = 2_000_000u64;
    let input = stream(n as usize);
    let (out, c) = run("drop=1e-3,garbage=1e-4:16,seed=5", &input);
    assert_rate("drops", c.octets_dropped, n, 1e-3);
    assert_rate("garbage bursts", c.garbage_bursts, n, 1e-4);
    assert_eq!(c.garbage_octets, 16 * c.garbage_bursts);
    assert_eq!(c.octets_in, n);
    assert_eq!(out.len() as u64, n - c.octets_dropped + c.garbage_octets);
    assert_eq!(c.octets_out, out.len() as u64);
}

#[test]
fn only_drops_keep_order_of_survivors() {
    let input: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let (out, c) = run("drop=0.1,seed=11", &input);
    // Survivors form a subsequence of the input.
    let mut it = input.iter();
    assert!(out.iter().all(|o| it.any(|i| i == o)));
    assert_eq!(out.len() as u64, 50_000 - c.octets_dropped);
}

#[test]
fn frame_drop_rate() {
    let mut inj = FaultInjector::new(FaultSpec::parse("frame-drop=0.01,seed=42").unwrap());
    let frame = stream(1119);
    let mut out = Vec::new();
    let mut dropped = 0u64;
    for _ in 0..50_000 {
        let before = out.len();
        match inj.apply_frame(&frame, &mut out) {
            FrameFate::Dropped => {
                dropped += 1;
                assert_eq!(out.len(), before);
            }
            FrameFate::Delivered => assert_eq!(&out[before..], &frame[..]),
        }
    }
    let c = inj.counters();
    assert_eq!((c.frames_in, c.frames_dropped), (50_000, dropped));
    assert_rate("frame drops", dropped, 50_000, 0.01);
}

#[test]
fn bad_specs_say_what_is_expected() {
    let cases = [
        ("bitflip", FaultSpecErrorKind::NotKeyValue),
        ("flip=0.1", FaultSpecErrorKind::UnknownKey),
        ("drop=0.1,drop=0.2", FaultSpecErrorKind::Duplicate),
        ("drop=1.5", FaultSpecErrorKind::BadProbability),
        ("drop=-0.1", FaultSpecErrorKind::BadProbability),
        ("bitflip=nan", FaultSpecErrorKind::BadProbability),
        ("bitflip=abc", FaultSpecErrorKind::BadProbability),
        ("garbage=0.1:0", FaultSpecErrorKind::BadBurstLength),
        ("garbage=0.1:5000", FaultSpecErrorKind::BadBurstLength),
        ("seed=-1", FaultSpecErrorKind::BadSeed),
        ("seed=0xZZ", FaultSpecErrorKind::BadSeed),
    ];
    for (spec, kind) in cases {
        let e = FaultSpec::parse(spec).unwrap_err();
        assert_eq!(e.kind, kind, "{spec}");
        let text = e.to_string();
        assert!(text.contains("expected") && text.contains("bitflip=P"), "{text}");
    }
    let e = FaultSpec::parse("drop=0.1,flip=2").unwrap_err();
    assert_eq!(e.item, "flip=2");
}

mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn display_parses_back(
            bitflip in 0.0f64..=1.0, drop in 0.0f64..=1.0, garbage in 0.0f64..=1.0,
            len in 1u16..=4096, frame_drop in 0.0f64..=1.0, seed: u64,
        ) {
            let s = FaultSpec { bitflip, drop, garbage, garbage_len: len, frame_drop, seed };
            prop_assert_eq!(FaultSpec::parse(&s.to_string()).unwrap(), s);
        }

        #[test]
        fn parse_never_panics(s in ".{0,64}") {
            let _ = FaultSpec::parse(&s);
        }

        #[test]
        fn counters_balance(input in proptest::collection::vec(any::<u8>(), 0..2000), seed: u64) {
            let spec = FaultSpec { seed, ..FaultSpec::parse("bitflip=0.01,drop=0.05,garbage=0.02:3").unwrap() };
            let mut inj = FaultInjector::new(spec);
            let mut out = Vec::new();
            inj.apply(&input, &mut out);
            let c = inj.counters();
            prop_assert_eq!(c.octets_in, input.len() as u64);
            prop_assert_eq!(c.octets_out, out.len() as u64);
            prop_assert_eq!(out.len() as u64, c.octets_in - c.octets_dropped + c.garbage_octets);
        }
    }
}
