//! Regression campaign figures: `cargo bench -p eic-bench --bench regress`.
//!
//! - the example suite (`examples/regress/suite.toml`, both table sets) on 1 and 2 workers;
//! - a simulated day of background (one 24 h scenario, both table sets);
//! - rendering the report (JSON, HTML with every plot, JUnit).
//!
//! Medians of 5 samples (1 when run as a test without `--bench`). The target is named in the
//! output: with the model target the figures measure the campaign machinery, not the trigger.

use std::path::Path;
use std::time::Instant;

use eic_bench::regress::html;
use eic_bench::regress::junit::{self, RunMeta};
use eic_bench::regress::model::ModelTarget;
use eic_bench::regress::run::run_shard;
use eic_bench::regress::suite::Suite;
use eic_bench::regress::target::{Tables, Target};
use indicatif::ProgressBar;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let samples = if std::env::args().any(|a| a == "--bench") { 5 } else { 1 };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace");
    let suite = Suite::load(&root.join("examples/regress/suite.toml")).expect("suite");
    let base = Tables::load("baseline", &root.join("examples/workplan-tables")).expect("baseline");
    let cand = Tables::load("candidate", &root.join("examples/regress/candidate-raised-imt"))
        .expect("candidate");
    let target = ModelTarget;
    let n = suite.instances().len();
    println!("eic-bench regress benchmarks, target: {} (median of {samples})", target.name());
    let bar = ProgressBar::hidden();
    let mut one = 0.0;
    for workers in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(workers).build().expect("pool");
        let t = median(
            (0..samples)
                .map(|_| {
                    let s = Instant::now();
                    let f = pool.install(|| run_shard(&target, &suite, (1, 1), &base, &cand, &bar));
                    assert_eq!(f.results.len(), n);
                    s.elapsed().as_secs_f64()
                })
                .collect(),
        );
        if workers == 1 {
            one = t;
        }
        println!(
            "example suite, {n} scenarios x 2 sets, {workers} worker(s): {:>9.3} s  ({:.2} x)",
            t,
            one / t
        );
    }
    let day = Suite::from_text(
        "name = \"day\"\n[[background]]\nname = \"day\"\nhours = 24.0\nseeds = [1]\n",
        root,
    )
    .expect("day suite");
    let t = median(
        (0..samples)
            .map(|_| {
                let s = Instant::now();
                let f = run_shard(&target, &day, (1, 1), &base, &cand, &bar);
                assert_eq!(f.results.len(), 1);
                s.elapsed().as_secs_f64()
            })
            .collect(),
    );
    println!("a simulated day of background (24 h, both sets):            {t:>9.6} s");
    let file = run_shard(&target, &suite, (1, 1), &base, &cand, &bar);
    let t = median(
        (0..samples)
            .map(|_| {
                let s = Instant::now();
                let r = file.report();
                let json = serde_json::to_string_pretty(&r).expect("json");
                let page = html::render(&r, &file.details).expect("html");
                let x = junit::render(&r, &RunMeta::now(0.0));
                assert!(json.len() + page.len() + x.len() > 0);
                s.elapsed().as_secs_f64()
            })
            .collect(),
    );
    println!("report: analysis + JSON + HTML (every plot) + JUnit:          {t:>9.3} s");
}
