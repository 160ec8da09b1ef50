//! The calibration loop end to end (README, job 4; `docs/calib.md`), every command with its
//! default options: data simulated with the instrument truth of `examples/calib/truth` (new
//! noisy and dead pixels, drifted gains, a shifted SAA) while the unit runs the factory
//! tables → `calib pixels`, `calib gain`, `calib saa` → a candidate table directory → `regress` against the
//! current tables on data simulated with the same truth (no regression) → `plan` a workplan
//! whose slot is the candidate → `run` on the twin → `tables pull` equals the candidate.
//!
//! Scaled for CI (~55 s of CPU in a debug build): 300 s of data for the pixels; for the SAA a
//! day of particles only at 20 counts/s with the truth's contour (the orbit's coverage
//! matters, not the counts); a two-scenario campaign. `calib gain` needs 2 000 counts per
//! pixel in its 18–140 keV window at its defaults, about 6 hours of the nominal background
//! per pixel: here the truth's background is compressed in time instead (particles and lines
//! at 64 × their rates, no sky, 200 s: the lines keep their share of the particles) and only
//! the first four rows of the plane (320 pixels) are live for that data, so that the fits stay
//! within CI time; `calib gain` calibrates those and keeps the others, listed. The full-plane
//! day is measured in docs/calib.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use eic_bench::sim::{DirSink, Scenario, Simulator};
use tables::set::TableSet;

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn simulate(dir: &Path, truth: &Path, extra: &str, seed: u64, duration_s: f64) {
    let text = format!(
        "name = \"loop\"\nseed = {seed}\nstart = 2026-03-01T00:00:00Z\nduration_s = {duration_s}\n\
         tables = {:?}\ntruth = {:?}\n{extra}",
        repo().join("tables/defaults").display().to_string(),
        truth.display().to_string()
    );
    let sc = Scenario::parse(&text, "loop.toml").unwrap();
    let sim = Simulator::new(&sc).unwrap();
    let mut sink = DirSink::create(dir, &sc.name, false, sim.start_tick()).unwrap();
    sim.run(&mut sink, |_| {}).unwrap();
}

/// The default lines of a truth (`sim::truth::default_lines`) at `k` × their rates, as
/// `[[line]]` tables.
fn scaled_lines(k: f64) -> String {
    eic_bench::sim::truth::default_lines()
        .iter()
        .map(|l| {
            format!(
                "\n[[line]]\nname = {:?}\nenergy_kev = {}\nrate_cps = {}\n",
                l.name,
                l.energy_kev,
                l.rate_cps * k
            )
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

#[test]
fn the_loop_from_data_to_the_unit() {
    let work = tempfile::Builder::new().prefix("loop").tempdir().unwrap();
    let w = work.path();
    let twin_state = w.join("twin");
    let bench = |args: &[&str]| -> Output {
        let o = Command::new(BIN)
            .args(args)
            .env("EIC_TWIN_STATE", &twin_state)
            .env("XDG_STATE_HOME", w)
            .current_dir(w)
            .output()
            .unwrap();
        eprintln!("$ eic-bench {}\n{}", args.join(" "), String::from_utf8_lossy(&o.stdout));
        o
    };
    let ok = |o: &Output| assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let current = repo().join("tables/defaults");
    let cand = w.join("cand");
    copy_dir(&current, &cand);

    // 1. Data.
    let truth = repo().join("examples/calib/truth");
    let dense = w.join("dense");
    simulate(&dense, &truth, "", 1, 300.0);
    // For the SAA: the truth's contour, particles only at 20 counts/s (its lines and noise
    // would be 10 times the events without changing the particle band's contour).
    let saa_truth = w.join("saa-truth");
    std::fs::create_dir_all(&saa_truth).unwrap();
    std::fs::copy(truth.join("saa.toml"), saa_truth.join("saa.toml")).unwrap();
    std::fs::write(saa_truth.join("truth.toml"), "default_lines = false\n").unwrap();
    let sparse = w.join("sparse");
    simulate(&sparse, &saa_truth, "[background]\nrate_cps = 20\ncxb_fraction = 0\n", 2, 86_400.0);
    // For the gains: the truth's detector (its scatter and drift), in time-compressed
    // background: particles (flat, 80 % of them in the fit window) and the lines, both at 64 ×
    // their nominal rates; rows 4..79 dead for this data.
    let gain_truth = w.join("gain-truth");
    std::fs::create_dir_all(&gain_truth).unwrap();
    let spec = std::fs::read_to_string(truth.join("truth.toml")).unwrap();
    let (live, dead_rows): (Vec<u16>, Vec<u16>) = (0..6400u16).partition(|k| k / 80 < 4);
    let dead_list = dead_rows.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
    let spec = spec.replace("dead = [1523, 2787, 4410]", &format!("dead = [{dead_list}]"));
    assert!(spec.contains("dead = [320, 321"), "the truth's dead list moved: {spec}");
    std::fs::write(
        gain_truth.join("truth.toml"),
        format!("default_lines = false\n{spec}{}", scaled_lines(64.0)),
    )
    .unwrap();
    let gain_data = w.join("gain");
    simulate(
        &gain_data,
        &gain_truth,
        "[background]\nrate_cps = 80000\ncxb_fraction = 0\n",
        3,
        200.0,
    );

    // 2. Products into the candidate.
    let o =
        bench(&["calib", "pixels", s(&dense), "--tables", s(&cand), "-o", "cal/pixels", "--json"]);
    ok(&o);
    let px: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let noisy: Vec<u64> =
        px["noisy"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    // The steady noisy pixels of the truth (the bursty ones may not burst in 300 s).
    for p in [611, 2050, 3333, 5120] {
        assert!(noisy.contains(&p), "pixel {p} of the truth not found noisy: {px}");
    }
    let dead: Vec<u64> =
        px["dead"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(dead, [1523, 2787, 4410]);
    std::fs::copy(w.join("cal/pixels/pixels.csv"), cand.join("pixels.csv")).unwrap();

    let o =
        bench(&["calib", "gain", s(&gain_data), "--tables", s(&cand), "-o", "cal/gain", "--json"]);
    ok(&o);
    let g: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let kept: Vec<u64> =
        g["kept_pixels"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    let calibrated = g["calibrated"].as_u64().unwrap();
    assert!(calibrated >= 250, "{calibrated} of the 320 live pixels calibrated: {g}");
    assert_eq!(calibrated as usize + kept.len(), 6400);
    assert!(dead_rows.iter().all(|k| kept.contains(&u64::from(*k))), "the dark rows are kept");
    let before_gain = TableSet::load_dir(&cand).unwrap().pixels;
    std::fs::copy(w.join("cal/gain/pixels.csv"), cand.join("pixels.csv")).unwrap();
    let after_gain = TableSet::load_dir(&cand).unwrap().pixels;
    // The calibrated pixels' gains and offsets go to the truth's at the data's middle; the
    // kept ones do not move; the statuses of `calib pixels` stay.
    let sc = Scenario::parse(
        &format!(
            "name = \"g\"\nseed = 3\nstart = 2026-03-01T00:00:00Z\nduration_s = 200\n\
             tables = {:?}\ntruth = {:?}\n",
            current.display().to_string(),
            gain_truth.display().to_string()
        ),
        "g.toml",
    )
    .unwrap();
    let real =
        Simulator::new(&sc).unwrap().truth().unwrap().pixels_at(sc.start_s().unwrap() + 100.0);
    let (mut dg_new, mut dg_old, mut do_new) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..6400usize {
        let (b, a, t) = (before_gain.entries[k], after_gain.entries[k], real.entries[k]);
        assert_eq!(a.status, b.status, "pixel {k}: calib gain keeps the status");
        if kept.contains(&(k as u64)) {
            assert_eq!((a.gain, a.offset_kev), (b.gain, b.offset_kev), "kept pixel {k}");
        } else {
            assert!(live.contains(&(k as u16)));
            dg_new.push(f64::from(a.gain) / f64::from(t.gain) - 1.0);
            dg_old.push(f64::from(b.gain) / f64::from(t.gain) - 1.0);
            do_new.push(f64::from(a.offset_kev) - f64::from(t.offset_kev));
        }
    }
    let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
    let (gn, go, on) = (rms(&dg_new), rms(&dg_old), rms(&do_new));
    eprintln!("gain rms against the truth: {go:.4} before, {gn:.4} after; offset rms {on:.3} keV");
    assert!(gn < 0.01 && gn < go / 2.0, "gain rms {gn} (before {go})");
    assert!(on < 0.4, "offset rms {on} keV");

    let o = bench(&["calib", "saa", s(&sparse), "--tables", s(&cand), "-o", "cal/saa"]);
    ok(&o);
    std::fs::copy(w.join("cal/saa/saa.toml"), cand.join("saa.toml")).unwrap();
    ok(&bench(&["tables", "validate", s(&cand)]));
    let before = TableSet::load_dir(&current).unwrap();
    let candidate = TableSet::load_dir(&cand).unwrap();
    assert_ne!(candidate.pixels, before.pixels);
    assert_ne!(candidate.saa, before.saa);
    // The new contour agrees with the truth's on at least 90 % of a 1° grid over the region
    // the orbit crosses (the old one on less).
    let real: tables::saa::SaaTable = tables::text::from_toml(
        "saa.toml",
        &std::fs::read_to_string(truth.join("saa.toml")).unwrap(),
    )
    .unwrap();
    let agree = |t: &tables::saa::SaaTable| {
        let mut n = (0, 0);
        for lon in -110..60 {
            for lat in -30..=10 {
                let (x, y) = (lon as f32 + 0.5, lat as f32 + 0.5);
                n.0 += usize::from(t.contains(x, y) == real.contains(x, y));
                n.1 += 1;
            }
        }
        n.0 as f64 / n.1 as f64
    };
    let (new, old) = (agree(&candidate.saa), agree(&before.saa));
    eprintln!("SAA grid agreement with the truth: candidate {new:.3}, current {old:.3}");
    assert!(new >= 0.9 && new > old, "candidate {new}, current {old}");

    // 3. The campaign on data made with the same truth: the candidate must not regress.
    let suite = w.join("suite.toml");
    std::fs::write(
        &suite,
        format!(
            "name = \"loop\"\ntruth = {:?}\n[tolerances]\nmax_localisation_outside_increase = 1.0\n\
             max_latency_increase_s = 60.0\n\
             [[burst]]\nname = \"grid\"\npeak_flux = [2.0]\nduration_s = [20.0]\n\
             directions = [[0.0, 0.0]]\nseeds = [1]\nonset_s = 60.0\nlength_s = 200.0\n\
             [[background]]\nname = \"quiet\"\nhours = 0.05\nseeds = [1]\n",
            repo().join("examples/calib/truth").display().to_string()
        ),
    )
    .unwrap();
    let o = bench(&[
        "regress",
        s(&suite),
        "--baseline",
        s(&current),
        "--candidate",
        s(&cand),
        "-o",
        "cal/regress",
    ]);
    ok(&o);
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.join("cal/regress/report.json")).unwrap()).unwrap();
    assert!(r.to_string().contains("truth"), "the campaign names its truth");

    // 4. To the unit: plan, run on the twin, read back.
    std::fs::write(
        w.join("workplan.toml"),
        format!(
            "profile = {:?}\n[[slot]]\nname = \"calibration\"\nstart = 2026-03-02T00:00:00Z\n\
             profile = {:?}\n",
            current.display().to_string(),
            cand.display().to_string()
        ),
    )
    .unwrap();
    ok(&bench(&["plan", "workplan.toml", "--against", "twin", "-o", "calib.stack"]));
    ok(&bench(&["run", "twin", "calib.stack", "--evidence", "cal/run"]));
    ok(&bench(&["tables", "pull", "twin", "-o", "on-board"]));
    let pulled = TableSet::load_dir(&w.join("on-board")).unwrap();
    assert_eq!(pulled, candidate, "the unit's tables are the candidate");
}
