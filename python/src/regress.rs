//! Regression campaigns in this process (`eic-bench regress run`, every core) and their reports.

use std::path::{Path, PathBuf};

use eic_bench::regress::host::HostTarget;
use eic_bench::regress::model::ModelTarget;
use eic_bench::regress::target::Tables;
use eic_bench::regress::{Report, Suite, Target, html, junit, run};
use pyo3::prelude::*;

use crate::{conv, errors};

fn write(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    let p = dir.join(name);
    std::fs::write(&p, text).map_err(|e| format!("writing {}: {e}", p.display()))
}

fn pretty<T: serde::Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string_pretty(v).map(|s| s + "\n").map_err(|e| e.to_string())
}

/// Runs a campaign: the suite through the baseline and the candidate tables (default: the
/// baseline) on `target` ("local": the on-board trigger in this process; "model": the
/// statistical model), with `jobs` workers (default: one per core). Writes report.json,
/// report.html, junit.xml and results.json into `output` when given, as `regress run -o`.
/// Returns the report (the dict of report.json).
#[pyfunction]
#[pyo3(signature = (suite, baseline, candidate = None, *, target = "local", jobs = None, output = None))]
fn regress_run<'py>(
    py: Python<'py>,
    suite: &Bound<'py, PyAny>,
    baseline: &Bound<'py, PyAny>,
    candidate: Option<&Bound<'py, PyAny>>,
    target: &str,
    jobs: Option<usize>,
    output: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let suite_path = conv::path_of(suite)?;
    let base_dir = conv::path_of(baseline)?;
    let cand_dir = candidate.map(conv::path_of).transpose()?.unwrap_or_else(|| base_dir.clone());
    let output: Option<PathBuf> = output.map(conv::path_of).transpose()?;
    let suite =
        Suite::load(&suite_path).map_err(|e| errors::ScenarioError::new_err(e.to_string()))?;
    let load = |label: &str, dir: &Path| {
        if !dir.is_dir() {
            return Err(errors::input_file(dir, "no such table directory".into()));
        }
        Tables::load(label, dir).map_err(errors::InvalidTablesError::new_err)
    };
    let baseline = load("baseline", &base_dir)?;
    let candidate = load("candidate", &cand_dir)?;
    let target: Box<dyn Target> = match target {
        "local" => Box::new(HostTarget::new(&baseline)),
        "model" => Box::new(ModelTarget),
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "target {other:?}: expected \"local\" or \"model\""
            )));
        }
    };
    let workers =
        jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let report = py
        .detach(|| -> Result<Report, String> {
            let started = std::time::Instant::now();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(workers.max(1))
                .build()
                .map_err(|e| e.to_string())?;
            let bar = indicatif::ProgressBar::hidden();
            let file = pool.install(|| {
                run::run_shard(target.as_ref(), &suite, (1, 1), &baseline, &candidate, &bar)
            });
            let report = file.report();
            if let Some(out) = &output {
                std::fs::create_dir_all(out)
                    .map_err(|e| format!("creating {}: {e}", out.display()))?;
                write(out, "results.json", &pretty(&file)?)?;
                write(out, "report.json", &pretty(&report)?)?;
                write(out, "report.html", &html::render(&report, &file.details)?)?;
                let meta = junit::RunMeta::now(started.elapsed().as_secs_f64());
                write(out, "junit.xml", &junit::render(&report, &meta))?;
            }
            Ok(report)
        })
        .map_err(errors::eic)?;
    conv::ser_to_py(py, &report)
}

/// Loads a campaign's report.json (checked against the report's structure): the dict.
#[pyfunction]
fn load_report<'py>(py: Python<'py>, path: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let path = conv::path_of(path)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| errors::input_file(&path, format!("cannot read: {e}")))?;
    let report: Report = serde_json::from_str(&text).map_err(|e| {
        let err = errors::input_file(
            &path,
            format!("line {}, column {}: not a regression report: {e}", e.line(), e.column()),
        );
        let _ = err.value(py).setattr("line", e.line());
        let _ = err.value(py).setattr("column", e.column().to_string());
        err
    })?;
    conv::ser_to_py(py, &report)
}

/// Adds the campaign functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(regress_run, m)?)?;
    m.add_function(wrap_pyfunction!(load_report, m)?)?;
    Ok(())
}
