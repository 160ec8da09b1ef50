//! From alerts to a verdict: detection efficiency versus peak flux, false alerts per hour,
//! localisation error versus SNR against the flight law, latency from onset to first alert,
//! the alert-by-alert difference between baseline and candidate, and the tolerance checks.
//!
//! The report is a pure function of the per-scenario results (sorted by scenario ID), so a
//! merged set of shards gives the same report as one run, byte for byte. Nothing that depends
//! on the run (wall-clock time, host, worker count) is in it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::suite::{Expected, Matching, ScenarioInstance, Suite, Tolerances};
use super::target::{Alert, r90_law_arcmin, separation_deg};

/// Format tag of the report JSON.
pub const REPORT_FORMAT: &str = "eic-bench-regress-report/1";

/// The alerts of one scenario under both table sets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// The scenario.
    pub instance: ScenarioInstance,
    /// Alerts with the baseline tables.
    pub baseline: Vec<Alert>,
    /// Alerts with the candidate tables.
    pub candidate: Vec<Alert>,
}

/// Identification of a table set in a report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetInfo {
    /// Label (`baseline`, `candidate`).
    pub label: String,
    /// Directory as given on the command line.
    pub dir: Option<String>,
    /// CRC-32 over the images, hex.
    pub digest: String,
}

/// Totals of one side (baseline or candidate) over a group of scenarios.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// Bursts expected.
    pub expected: usize,
    /// Bursts detected.
    pub detected: usize,
    /// `detected / expected` (1 when nothing is expected).
    pub efficiency: f64,
    /// Alerts matching no expected burst and naming no catalogue source.
    pub false_alerts: usize,
    /// Hours of data.
    pub hours: f64,
    /// False alerts per hour.
    pub false_rate_per_hour: f64,
    /// Alerts naming a catalogue source.
    pub catalog_alerts: usize,
    /// Median time from burst onset to the first matching alert, s.
    pub median_latency_s: Option<f64>,
    /// Fraction of localisations (first matching alert) farther than the law's r90.
    pub outside_r90: f64,
    /// Localisations counted.
    pub localisations: usize,
}

/// One peak-flux bin of the efficiency curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FluxBin {
    /// Peak flux, ph/cm²/s.
    pub peak_flux: f64,
    /// Bursts expected.
    pub expected: usize,
    /// Detected with the baseline.
    pub baseline_detected: usize,
    /// Detected with the candidate.
    pub candidate_detected: usize,
    /// Baseline efficiency.
    pub baseline_efficiency: f64,
    /// Candidate efficiency.
    pub candidate_efficiency: f64,
}

/// A localisation: the first alert matching an expected burst.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Localisation {
    /// Scenario ID.
    pub scenario: String,
    /// `baseline` or `candidate`.
    pub side: String,
    /// Alert SNR.
    pub snr: f64,
    /// Distance to the true direction, arcmin.
    pub error_arcmin: f64,
    /// The flight law's r90 at that SNR, arcmin.
    pub r90_law_arcmin: f64,
    /// Time from onset, s.
    pub latency_s: f64,
}

/// What happened to one alert between baseline and candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Only with the candidate.
    Appeared,
    /// Only with the baseline.
    Disappeared,
    /// In both, with a different SNR, direction, timescale, time or catalogue ID.
    Changed,
}

/// One alert that differs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Scenario ID.
    pub scenario: String,
    /// What happened.
    pub kind: ChangeKind,
    /// Whether the alert matches an expected burst (false: a false alert or catalogue alert).
    pub burst: bool,
    /// The baseline alert.
    pub baseline: Option<Alert>,
    /// The candidate alert.
    pub candidate: Option<Alert>,
}

/// The outcome of one scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioOutcome {
    /// Scenario ID.
    pub id: String,
    /// Family.
    pub family: String,
    /// Expected bursts.
    pub expected: Vec<Expected>,
    /// Baseline totals.
    pub baseline: Side,
    /// Candidate totals.
    pub candidate: Side,
    /// Alerts with the baseline.
    pub baseline_alerts: usize,
    /// Alerts with the candidate.
    pub candidate_alerts: usize,
    /// Alerts that appeared, disappeared or changed.
    pub changes: usize,
    /// Expected bursts the candidate lost (detected by the baseline only).
    pub lost: usize,
    /// Expected bursts the candidate gained.
    pub gained: usize,
}

/// A family's totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FamilyOutcome {
    /// Family name.
    pub family: String,
    /// Scenarios.
    pub scenarios: usize,
    /// Baseline totals.
    pub baseline: Side,
    /// Candidate totals.
    pub candidate: Side,
}

/// One tolerance check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// Baseline value.
    pub baseline: f64,
    /// Candidate value.
    pub candidate: f64,
    /// Degradation (candidate worse by this much; negative when better).
    pub degradation: f64,
    /// The suite's limit on the degradation.
    pub limit: f64,
    /// Whether the degradation is within the limit.
    pub passed: bool,
}

/// A burst detected by one side only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BurstRef {
    /// Scenario ID.
    pub scenario: String,
    /// The burst.
    pub burst: Expected,
}

/// The verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// True when any check failed: the candidate regresses.
    pub regression: bool,
    /// Every check.
    pub checks: Vec<Check>,
    /// Bursts the baseline detects and the candidate loses.
    pub lost_bursts: Vec<BurstRef>,
    /// Bursts the candidate detects and the baseline misses.
    pub gained_bursts: Vec<BurstRef>,
    /// Scenarios whose target failed (their reasons); any makes the run fail.
    pub errors: Vec<String>,
}

/// The canonical report: a pure function of the suite, the table sets and the alerts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_FORMAT`].
    pub format: String,
    /// Suite name.
    pub suite: String,
    /// What ran the scenarios.
    pub target: String,
    /// Baseline tables.
    pub baseline: SetInfo,
    /// Candidate tables.
    pub candidate: SetInfo,
    /// The suite's tolerances.
    pub tolerances: Tolerances,
    /// The suite's matching rules.
    pub matching: Matching,
    /// Totals over every scenario.
    pub overall: FamilyOutcome,
    /// Totals per family.
    pub families: Vec<FamilyOutcome>,
    /// Efficiency per peak flux (every burst family together).
    pub efficiency: Vec<FluxBin>,
    /// Every localisation.
    pub localisations: Vec<Localisation>,
    /// Every scenario.
    pub scenarios: Vec<ScenarioOutcome>,
    /// Every alert that appears, disappears or changes.
    pub changes: Vec<Change>,
    /// The verdict.
    pub verdict: Verdict,
}

/// What one side did in one scenario.
struct SideEval {
    side: Side,
    /// Per expected burst: the first matching alert.
    first_match: Vec<Option<Alert>>,
    /// Per alert: does it match an expected burst.
    matches_burst: Vec<bool>,
}

fn matches(m: &Matching, e: &Expected, a: &Alert) -> bool {
    a.time_s >= e.onset_s
        && a.time_s <= e.onset_s + e.duration_s + m.window_s
        && separation_deg(a.y_deg, a.z_deg, e.y_deg, e.z_deg) <= m.radius_deg
}

fn eval_side(m: &Matching, s: &ScenarioInstance, alerts: &[Alert]) -> SideEval {
    let matches_burst: Vec<bool> =
        alerts.iter().map(|a| s.expected.iter().any(|e| matches(m, e, a))).collect();
    let first_match: Vec<Option<Alert>> = s
        .expected
        .iter()
        .map(|e| {
            alerts
                .iter()
                .filter(|a| matches(m, e, a))
                .min_by(|a, b| a.time_s.total_cmp(&b.time_s))
                .cloned()
        })
        .collect();
    let false_alerts = alerts
        .iter()
        .zip(&matches_burst)
        .filter(|(a, hit)| !**hit && a.catalog_id.is_none())
        .count();
    let catalog_alerts = alerts.iter().filter(|a| a.catalog_id.is_some()).count();
    let mut side = Side {
        expected: s.expected.len(),
        detected: first_match.iter().filter(|f| f.is_some()).count(),
        false_alerts,
        catalog_alerts,
        hours: s.length_s / 3600.0,
        ..Side::default()
    };
    let mut latencies = Vec::new();
    let mut outside = 0usize;
    for (e, f) in s.expected.iter().zip(&first_match) {
        if let Some(a) = f {
            latencies.push(a.time_s - e.onset_s);
            let err = separation_deg(a.y_deg, a.z_deg, e.y_deg, e.z_deg) * 60.0;
            if err > r90_law_arcmin(a.snr) {
                outside += 1;
            }
        }
    }
    side.localisations = latencies.len();
    finish(&mut side, latencies, outside);
    SideEval { side, first_match, matches_burst }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let mid = v.get(n / 2).copied();
    if n % 2 == 1 { mid } else { Some((v.get(n / 2 - 1).copied()? + mid?) / 2.0) }
}

fn finish(side: &mut Side, latencies: Vec<f64>, outside: usize) {
    side.efficiency =
        if side.expected == 0 { 1.0 } else { side.detected as f64 / side.expected as f64 };
    side.false_rate_per_hour =
        if side.hours > 0.0 { side.false_alerts as f64 / side.hours } else { 0.0 };
    side.outside_r90 =
        if side.localisations == 0 { 0.0 } else { outside as f64 / side.localisations as f64 };
    side.median_latency_s = median(latencies);
}

/// Accumulates sides over scenarios.
#[derive(Default)]
struct Acc {
    side: Side,
    latencies: Vec<f64>,
    outside: usize,
}

impl Acc {
    fn add(&mut self, s: &Side, latencies: &[f64]) {
        self.side.expected += s.expected;
        self.side.detected += s.detected;
        self.side.false_alerts += s.false_alerts;
        self.side.catalog_alerts += s.catalog_alerts;
        self.side.hours += s.hours;
        self.side.localisations += s.localisations;
        self.outside += (s.outside_r90 * s.localisations as f64).round() as usize;
        self.latencies.extend_from_slice(latencies);
    }
    fn done(mut self) -> Side {
        finish(&mut self.side, self.latencies, self.outside);
        self.side
    }
}

fn same_alert(m: &Matching, a: &Alert, b: &Alert) -> bool {
    a.trigger == b.trigger
        && (a.time_s - b.time_s).abs() <= m.same_alert_s
        && separation_deg(a.y_deg, a.z_deg, b.y_deg, b.z_deg) <= m.radius_deg
}

fn differs(a: &Alert, b: &Alert) -> bool {
    let rel = |x: f64, y: f64| (x - y).abs() > 1e-9 * x.abs().max(y.abs()).max(1.0);
    rel(a.snr, b.snr)
        || rel(a.y_deg, b.y_deg)
        || rel(a.z_deg, b.z_deg)
        || rel(a.time_s, b.time_s)
        || rel(a.r90_arcmin, b.r90_arcmin)
        || a.timescale_ms != b.timescale_ms
        || a.catalog_id != b.catalog_id
}

/// Pairs baseline and candidate alerts (greedy, in time order) and lists the differences.
fn diff_alerts(
    m: &Matching,
    id: &str,
    base: &[Alert],
    base_burst: &[bool],
    cand: &[Alert],
    cand_burst: &[bool],
) -> Vec<Change> {
    let mut used = vec![false; cand.len()];
    let mut out = Vec::new();
    for (i, a) in base.iter().enumerate() {
        let hit = cand
            .iter()
            .enumerate()
            .filter(|(j, b)| !used.get(*j).copied().unwrap_or(true) && same_alert(m, a, b))
            .min_by(|(_, x), (_, y)| {
                (x.time_s - a.time_s).abs().total_cmp(&(y.time_s - a.time_s).abs())
            })
            .map(|(j, _)| j);
        let burst = base_burst.get(i).copied().unwrap_or(false);
        match hit {
            Some(j) => {
                if let Some(u) = used.get_mut(j) {
                    *u = true;
                }
                if let Some(b) = cand.get(j).filter(|b| differs(a, b)) {
                    out.push(Change {
                        scenario: id.into(),
                        kind: ChangeKind::Changed,
                        burst,
                        baseline: Some(a.clone()),
                        candidate: Some(b.clone()),
                    });
                }
            }
            None => out.push(Change {
                scenario: id.into(),
                kind: ChangeKind::Disappeared,
                burst,
                baseline: Some(a.clone()),
                candidate: None,
            }),
        }
    }
    for (j, b) in cand.iter().enumerate() {
        if !used.get(j).copied().unwrap_or(false) {
            out.push(Change {
                scenario: id.into(),
                kind: ChangeKind::Appeared,
                burst: cand_burst.get(j).copied().unwrap_or(false),
                baseline: None,
                candidate: Some(b.clone()),
            });
        }
    }
    out
}

fn check(name: &str, baseline: f64, candidate: f64, degradation: f64, limit: f64) -> Check {
    Check {
        name: name.into(),
        baseline,
        candidate,
        degradation,
        limit,
        passed: degradation <= limit + 1e-12,
    }
}

/// Builds the report from the results of every scenario (any order; sorted here).
pub fn analyse(
    suite: &Suite,
    target: &str,
    baseline: SetInfo,
    candidate: SetInfo,
    results: &[ScenarioResult],
    errors: Vec<String>,
) -> Report {
    let m = &suite.matching;
    let mut sorted: Vec<&ScenarioResult> = results.iter().collect();
    sorted.sort_by(|a, b| a.instance.id.cmp(&b.instance.id));

    let mut scenarios = Vec::new();
    let mut changes = Vec::new();
    let mut localisations = Vec::new();
    let mut lost_bursts = Vec::new();
    let mut gained_bursts = Vec::new();
    let mut families: BTreeMap<String, (usize, Acc, Acc)> = BTreeMap::new();
    let mut overall = (0usize, Acc::default(), Acc::default());
    // peak flux (as ordered bits of a positive f64) -> (expected, base, cand)
    let mut bins: BTreeMap<u64, (usize, usize, usize)> = BTreeMap::new();

    for r in sorted {
        let s = &r.instance;
        let b = eval_side(m, s, &r.baseline);
        let c = eval_side(m, s, &r.candidate);
        let mut lat = [Vec::new(), Vec::new()];
        for (k, (label, ev)) in [("baseline", &b), ("candidate", &c)].into_iter().enumerate() {
            for (e, f) in s.expected.iter().zip(&ev.first_match) {
                if let Some(a) = f {
                    let latency_s = a.time_s - e.onset_s;
                    if let Some(l) = lat.get_mut(k) {
                        l.push(latency_s);
                    }
                    localisations.push(Localisation {
                        scenario: s.id.clone(),
                        side: label.into(),
                        snr: a.snr,
                        error_arcmin: separation_deg(a.y_deg, a.z_deg, e.y_deg, e.z_deg) * 60.0,
                        r90_law_arcmin: r90_law_arcmin(a.snr),
                        latency_s,
                    });
                }
            }
        }
        let (mut lost, mut gained) = (0, 0);
        for ((e, fb), fc) in s.expected.iter().zip(&b.first_match).zip(&c.first_match) {
            if e.peak_flux > 0.0 {
                let bin = bins.entry(e.peak_flux.to_bits()).or_default();
                bin.0 += 1;
                bin.1 += usize::from(fb.is_some());
                bin.2 += usize::from(fc.is_some());
            }
            let burst = BurstRef { scenario: s.id.clone(), burst: e.clone() };
            match (fb.is_some(), fc.is_some()) {
                (true, false) => {
                    lost += 1;
                    lost_bursts.push(burst);
                }
                (false, true) => {
                    gained += 1;
                    gained_bursts.push(burst);
                }
                _ => {}
            }
        }
        let ch =
            diff_alerts(m, &s.id, &r.baseline, &b.matches_burst, &r.candidate, &c.matches_burst);
        let fam = families.entry(s.family.clone()).or_default();
        let [lb, lc] = &lat;
        for acc in [&mut *fam, &mut overall] {
            acc.0 += 1;
            acc.1.add(&b.side, lb);
            acc.2.add(&c.side, lc);
        }
        scenarios.push(ScenarioOutcome {
            id: s.id.clone(),
            family: s.family.clone(),
            expected: s.expected.clone(),
            baseline: b.side,
            candidate: c.side,
            baseline_alerts: r.baseline.len(),
            candidate_alerts: r.candidate.len(),
            changes: ch.len(),
            lost,
            gained,
        });
        changes.extend(ch);
    }

    let efficiency: Vec<FluxBin> = bins
        .into_iter()
        .map(|(bits, (n, b, c))| FluxBin {
            peak_flux: f64::from_bits(bits),
            expected: n,
            baseline_detected: b,
            candidate_detected: c,
            baseline_efficiency: b as f64 / n.max(1) as f64,
            candidate_efficiency: c as f64 / n.max(1) as f64,
        })
        .collect();
    let families: Vec<FamilyOutcome> = families
        .into_iter()
        .map(|(family, (n, b, c))| FamilyOutcome {
            family,
            scenarios: n,
            baseline: b.done(),
            candidate: c.done(),
        })
        .collect();
    let overall = FamilyOutcome {
        family: "all".into(),
        scenarios: overall.0,
        baseline: overall.1.done(),
        candidate: overall.2.done(),
    };

    let t = &suite.tolerances;
    let (ob, oc) = (&overall.baseline, &overall.candidate);
    let mut checks = vec![check(
        "efficiency loss (overall)",
        ob.efficiency,
        oc.efficiency,
        ob.efficiency - oc.efficiency,
        t.max_efficiency_loss,
    )];
    if let Some(worst) = efficiency.iter().max_by(|x, y| {
        (x.baseline_efficiency - x.candidate_efficiency)
            .total_cmp(&(y.baseline_efficiency - y.candidate_efficiency))
    }) {
        checks.push(check(
            &format!("efficiency loss (worst peak-flux bin, {} ph/cm²/s)", worst.peak_flux),
            worst.baseline_efficiency,
            worst.candidate_efficiency,
            worst.baseline_efficiency - worst.candidate_efficiency,
            t.max_bin_efficiency_loss,
        ));
    }
    checks.push(check(
        "false alerts per hour",
        ob.false_rate_per_hour,
        oc.false_rate_per_hour,
        oc.false_rate_per_hour - ob.false_rate_per_hour,
        t.max_false_rate_increase_per_hour,
    ));
    checks.push(check(
        "fraction of localisations outside r90 (flight law)",
        ob.outside_r90,
        oc.outside_r90,
        oc.outside_r90 - ob.outside_r90,
        t.max_localisation_outside_increase,
    ));
    if let (Some(lb), Some(lc)) = (ob.median_latency_s, oc.median_latency_s) {
        checks.push(check("median latency, s", lb, lc, lc - lb, t.max_latency_increase_s));
    }
    let regression = checks.iter().any(|c| !c.passed) || !errors.is_empty();
    Report {
        format: REPORT_FORMAT.into(),
        suite: suite.name.clone(),
        target: target.into(),
        baseline,
        candidate,
        tolerances: suite.tolerances.clone(),
        matching: suite.matching.clone(),
        overall,
        families,
        efficiency,
        localisations,
        scenarios,
        changes,
        verdict: Verdict { regression, checks, lost_bursts, gained_bursts, errors },
    }
}

impl Report {
    /// A few lines for the terminal: verdict, checks, lost bursts.
    pub fn summary_text(&self) -> String {
        let mut s = String::new();
        let o = &self.overall;
        s.push_str(&format!(
            "suite {}: {} scenarios on {}\n",
            self.suite, o.scenarios, self.target
        ));
        s.push_str(&format!(
            "  efficiency {:.3} -> {:.3} ({} of {} bursts -> {}), false alerts/h {:.3} -> {:.3}, \
             alerts changed {}\n",
            o.baseline.efficiency,
            o.candidate.efficiency,
            o.baseline.detected,
            o.baseline.expected,
            o.candidate.detected,
            o.baseline.false_rate_per_hour,
            o.candidate.false_rate_per_hour,
            self.changes.len()
        ));
        for c in &self.verdict.checks {
            s.push_str(&format!(
                "  [{}] {}: {:.4} -> {:.4} (limit {:+.4})\n",
                if c.passed { "ok" } else { "FAIL" },
                c.name,
                c.baseline,
                c.candidate,
                c.limit
            ));
        }
        for b in &self.verdict.lost_bursts {
            s.push_str(&format!("  lost burst: {}\n", b.scenario));
        }
        for e in &self.verdict.errors {
            s.push_str(&format!("  error: {e}\n"));
        }
        s.push_str(if self.verdict.regression {
            "verdict: REGRESSION\n"
        } else {
            "verdict: no regression\n"
        });
        s
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::regress::suite::ScenarioKind;

    fn alert(t: f64, y: f64, snr: f64) -> Alert {
        Alert {
            trigger: "IMT".into(),
            time_s: t,
            timescale_ms: 20_480,
            snr,
            y_deg: y,
            z_deg: 0.0,
            r90_arcmin: r90_law_arcmin(snr),
            catalog_id: None,
        }
    }

    fn inst(id: &str, expected: bool) -> ScenarioInstance {
        ScenarioInstance {
            id: id.into(),
            family: id.split('/').next().unwrap().into(),
            seed: 1,
            length_s: 3600.0,
            background_cps: 4000.0,
            scenario: ScenarioKind::Background,
            expected: if expected {
                vec![Expected {
                    y_deg: 0.0,
                    z_deg: 0.0,
                    onset_s: 100.0,
                    duration_s: 10.0,
                    peak_flux: 1.0,
                }]
            } else {
                vec![]
            },
        }
    }

    fn info(l: &str) -> SetInfo {
        SetInfo { label: l.into(), dir: None, digest: "0".into() }
    }

    #[test]
    fn lost_burst_is_a_named_regression() {
        let suite = Suite::from_text(
            "name = \"t\"\n[[background]]\nname = \"x\"\nhours = 1.0\nseeds = [1]\n",
            Path::new("."),
        )
        .unwrap();
        let r = vec![
            ScenarioResult {
                instance: inst("g/a", true),
                baseline: vec![alert(120.0, 0.1, 8.0), alert(2000.0, 20.0, 7.0)],
                candidate: vec![alert(2000.0, 20.0, 7.0)],
            },
            ScenarioResult {
                instance: inst("g/b", true),
                baseline: vec![alert(110.0, 0.0, 9.0)],
                candidate: vec![alert(110.0, 0.0, 9.5)],
            },
        ];
        let rep = analyse(&suite, "test", info("b"), info("c"), &r, vec![]);
        assert!(rep.verdict.regression);
        assert_eq!(rep.verdict.lost_bursts.len(), 1);
        assert_eq!(rep.verdict.lost_bursts[0].scenario, "g/a");
        assert_eq!(rep.overall.baseline.false_alerts, 1);
        assert_eq!(rep.overall.candidate.false_alerts, 1);
        let kinds: Vec<_> = rep.changes.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, vec![ChangeKind::Disappeared, ChangeKind::Changed]);
        assert_eq!(rep.efficiency.len(), 1);
        assert_eq!(rep.efficiency[0].baseline_detected, 2);
        assert_eq!(rep.efficiency[0].candidate_detected, 1);
        // Order of results does not matter.
        let mut rev = r.clone();
        rev.reverse();
        assert_eq!(analyse(&suite, "test", info("b"), info("c"), &rev, vec![]), rep);
        // Same alerts on both sides: no regression, no change.
        let same: Vec<_> = r
            .iter()
            .map(|x| ScenarioResult { candidate: x.baseline.clone(), ..x.clone() })
            .collect();
        let rep = analyse(&suite, "test", info("b"), info("c"), &same, vec![]);
        assert!(!rep.verdict.regression, "{}", rep.summary_text());
        assert!(rep.changes.is_empty());
    }
}
