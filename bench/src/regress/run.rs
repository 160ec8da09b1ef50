//! Running a suite: every scenario through both table sets, in parallel over the machine's
//! cores (rayon) when the target allows it, with a progress bar; shards and their results
//! files; merging shards back into one report.

use std::collections::BTreeSet;

use indicatif::ProgressBar;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::analysis::{Report, ScenarioResult, SetInfo, analyse};
use super::html::Details;
use super::suite::{ScenarioInstance, Suite};
use super::target::{Tables, Target};

/// Format tag of a shard results file.
pub const SHARD_FORMAT: &str = "eic-bench-regress-shard/1";

/// The results of one shard (or of a whole run, as shard 1/1): everything `merge` needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardFile {
    /// [`SHARD_FORMAT`].
    pub format: String,
    /// The suite as read (tolerances, matching, families).
    pub suite: Suite,
    /// CRC-32 of the canonical instance list, hex: shards of one campaign agree on it.
    pub instances_digest: String,
    /// Instances in the whole suite.
    pub instances_total: usize,
    /// Shard `[k, n]`, 1-based.
    pub shard: [usize; 2],
    /// What ran.
    pub target: String,
    /// Baseline tables.
    pub baseline: SetInfo,
    /// Candidate tables.
    pub candidate: SetInfo,
    /// Results of this shard's scenarios.
    pub results: Vec<ScenarioResult>,
    /// Scenarios whose target failed.
    pub errors: Vec<String>,
    /// Light curves and sky images of this shard's changed alerts (for the HTML page only).
    pub details: Details,
}

/// The digest of an instance list (order-sensitive; the list is canonical).
pub fn instances_digest(instances: &[ScenarioInstance]) -> String {
    let ids: Vec<&str> = instances.iter().map(|i| i.id.as_str()).collect();
    let text = serde_json::to_string(&(ids, instances)).unwrap_or_default();
    format!("{:08x}", tc_tm::crc::crc32(text.as_bytes()))
}

/// Report identification of a table set.
pub fn set_info(t: &Tables) -> SetInfo {
    SetInfo {
        label: t.label.clone(),
        dir: t.dir.as_ref().map(|d| d.display().to_string()),
        digest: format!("{:08x}", t.digest),
    }
}

/// Runs `instances` through both table sets and takes the details (light curve, sky image)
/// of every alert that changed. Parallel targets run scenarios concurrently (each scenario with
/// both sets, its details, then [`Target::done`]); others load the baseline, run everything,
/// then the candidate. Returns the results in instance order, the failures and the details.
pub fn run_pair(
    target: &dyn Target,
    suite: &Suite,
    instances: &[ScenarioInstance],
    baseline: &Tables,
    candidate: &Tables,
    bar: &ProgressBar,
) -> (Vec<ScenarioResult>, Vec<String>, Details) {
    type Run = Result<Vec<super::target::Alert>, super::target::TargetError>;
    bar.set_length(2 * instances.len() as u64);
    let one = |s: &ScenarioInstance, b: &Run, c: &Run| -> Vec<Option<super::target::AlertDetail>> {
        match (b, c) {
            (Ok(b), Ok(c)) => {
                let r = ScenarioResult {
                    instance: s.clone(),
                    baseline: b.clone(),
                    candidate: c.clone(),
                };
                details_of(target, suite, &r, baseline, candidate)
            }
            _ => Vec::new(),
        }
    };
    let runs: Vec<(Run, Run, Vec<Option<super::target::AlertDetail>>)> = if target.parallel() {
        for t in [baseline, candidate] {
            if let Err(e) = target.prepare(t) {
                return (Vec::new(), vec![format!("{} tables: {e}", t.label)], Details::new());
            }
        }
        instances
            .par_iter()
            .map(|s| {
                let b = target.run(s, baseline);
                bar.inc(1);
                let c = target.run(s, candidate);
                bar.inc(1);
                let d = one(s, &b, &c);
                target.done(s);
                (b, c, d)
            })
            .collect()
    } else {
        let mut sides = Vec::new();
        for t in [baseline, candidate] {
            if let Err(e) = target.prepare(t) {
                return (Vec::new(), vec![format!("{} tables: {e}", t.label)], Details::new());
            }
            sides.push(
                instances
                    .iter()
                    .map(|s| {
                        let r = target.run(s, t);
                        bar.inc(1);
                        r
                    })
                    .collect::<Vec<_>>(),
            );
        }
        let c = sides.pop().unwrap_or_default();
        let b = sides.pop().unwrap_or_default();
        instances
            .iter()
            .zip(b.into_iter().zip(c))
            .map(|(s, (b, c))| {
                let d = one(s, &b, &c);
                target.done(s);
                (b, c, d)
            })
            .collect()
    };
    bar.finish_and_clear();
    let mut results = Vec::new();
    let mut errors = Vec::new();
    let mut details = Details::new();
    for (s, (b, c, d)) in instances.iter().zip(runs) {
        match (b, c) {
            (Ok(baseline), Ok(candidate)) => {
                if !d.is_empty() {
                    details.insert(s.id.clone(), d);
                }
                results.push(ScenarioResult { instance: s.clone(), baseline, candidate });
            }
            (Err(e), _) | (_, Err(e)) => errors.push(e.to_string()),
        }
    }
    (results, errors, details)
}

/// Runs shard `k` of `n` (1/1 for a whole run) and returns its results file.
pub fn run_shard(
    target: &dyn Target,
    suite: &Suite,
    shard: (usize, usize),
    baseline: &Tables,
    candidate: &Tables,
    bar: &ProgressBar,
) -> ShardFile {
    let all = suite.instances();
    let mine = super::suite::shard(&all, shard.0, shard.1);
    let (results, errors, details) = run_pair(target, suite, &mine, baseline, candidate, bar);
    ShardFile {
        format: SHARD_FORMAT.into(),
        suite: suite.clone(),
        instances_digest: instances_digest(&all),
        instances_total: all.len(),
        shard: [shard.0, shard.1],
        target: target.name(),
        baseline: set_info(baseline),
        candidate: set_info(candidate),
        results,
        errors,
        details,
    }
}

/// Asks the target for the light curve and sky image of every changed alert of one scenario,
/// in the order of the report's changes for it.
fn details_of(
    target: &dyn Target,
    suite: &Suite,
    result: &ScenarioResult,
    baseline: &Tables,
    candidate: &Tables,
) -> Vec<Option<super::target::AlertDetail>> {
    let results = std::slice::from_ref(result);
    let report = analyse(suite, "", set_info(baseline), set_info(candidate), results, Vec::new());
    report
        .changes
        .iter()
        .map(|c| {
            let (tables, alert) = match &c.candidate {
                Some(a) => (candidate, a),
                None => (baseline, c.baseline.as_ref()?),
            };
            target.detail(&result.instance, tables, alert)
        })
        .collect()
}

impl ShardFile {
    /// The report of this file alone (complete when it is shard 1/1).
    pub fn report(&self) -> Report {
        analyse(
            &self.suite,
            &self.target,
            self.baseline.clone(),
            self.candidate.clone(),
            &self.results,
            self.errors.clone(),
        )
    }
}

/// Combines the shards of one campaign into the report of a single run.
///
/// # Errors
/// Files of different campaigns (suite, tables or target differ), a shard missing or given
/// twice, or a scenario result missing or duplicated.
pub fn merge(shards: &[ShardFile]) -> Result<Report, String> {
    let first = shards.first().ok_or("no shard results given")?;
    let n = first.shard[1];
    let mut seen = BTreeSet::new();
    for s in shards {
        if s.format != SHARD_FORMAT {
            return Err(format!("not a shard results file (format {:?})", s.format));
        }
        let same = s.instances_digest == first.instances_digest
            && s.suite == first.suite
            && s.target == first.target
            && s.baseline.digest == first.baseline.digest
            && s.candidate.digest == first.candidate.digest
            && s.shard[1] == n;
        if !same {
            return Err(format!(
                "shard {}/{} belongs to another campaign (suite, instances, target, tables or \
                 shard count differ from shard {}/{})",
                s.shard[0], s.shard[1], first.shard[0], n
            ));
        }
        if !seen.insert(s.shard[0]) {
            return Err(format!("shard {}/{n} given twice", s.shard[0]));
        }
    }
    let missing: Vec<String> =
        (1..=n).filter(|k| !seen.contains(k)).map(|k| format!("{k}/{n}")).collect();
    if !missing.is_empty() {
        return Err(format!("missing shards: {}", missing.join(", ")));
    }
    let mut results: Vec<ScenarioResult> =
        shards.iter().flat_map(|s| s.results.iter().cloned()).collect();
    let errors: Vec<String> = shards.iter().flat_map(|s| s.errors.iter().cloned()).collect();
    results.sort_by(|a, b| a.instance.id.cmp(&b.instance.id));
    let ids: BTreeSet<&str> = results.iter().map(|r| r.instance.id.as_str()).collect();
    if ids.len() != results.len() {
        return Err("a scenario appears in two shards".into());
    }
    if results.len() + errors.len() != first.instances_total {
        return Err(format!(
            "{} results and {} errors for {} scenarios",
            results.len(),
            errors.len(),
            first.instances_total
        ));
    }
    let mut errors = errors;
    errors.sort();
    Ok(analyse(
        &first.suite,
        &first.target,
        first.baseline.clone(),
        first.candidate.clone(),
        &results,
        errors,
    ))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::regress::model::ModelTarget;

    const SUITE: &str = r#"
name = "shards"
[[burst]]
name = "grid"
peak_flux = [0.3, 1.0, 3.0]
duration_s = [5.0]
directions = [[0.0, 0.0], [20.0, 10.0]]
seeds = [1, 2]
[[background]]
name = "bkg"
hours = 2.0
seeds = [1, 2]
"#;

    #[test]
    fn shards_merge_to_the_single_run() {
        let suite = Suite::from_text(SUITE, Path::new(".")).unwrap();
        let b = Tables::from_set("baseline", tables::defaults::default_set()).unwrap();
        let mut set = tables::defaults::default_set();
        for a in &mut set.imt.accumulations {
            a.snr = 8.0;
        }
        let c = Tables::from_set("candidate", set).unwrap();
        let bar = ProgressBar::hidden();
        let whole = run_shard(&ModelTarget, &suite, (1, 1), &b, &c, &bar).report();
        let shards: Vec<ShardFile> =
            (1..=3).map(|k| run_shard(&ModelTarget, &suite, (k, 3), &b, &c, &bar)).collect();
        let merged = merge(&shards).unwrap();
        assert_eq!(
            serde_json::to_string_pretty(&merged).unwrap(),
            serde_json::to_string_pretty(&whole).unwrap()
        );
        // Through the JSON files, as the CLI does.
        let back: Vec<ShardFile> = shards
            .iter()
            .map(|s| serde_json::from_str(&serde_json::to_string(s).unwrap()).unwrap())
            .collect();
        assert_eq!(merge(&back).unwrap(), whole);
        assert!(merge(&shards[..2]).unwrap_err().contains("missing shards: 3/3"));
        let twice = [shards[0].clone(), shards[0].clone(), shards[2].clone()];
        assert!(merge(&twice).unwrap_err().contains("given twice"));
    }
}
