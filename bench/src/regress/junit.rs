//! JUnit XML of a report, in the Ant dialect most CI systems read (`tests/vendor/junit/`
//! holds the schema it validates against): one `testsuite` for the tolerance checks and one
//! per scenario family, one `testcase` per check and per scenario. A scenario fails when the
//! candidate loses an expected burst or raises a false alert the baseline did not.

use std::fmt::Write as _;

use super::analysis::Report;

/// Run metadata the schema requires and the canonical report leaves out.
#[derive(Clone, Debug)]
pub struct RunMeta {
    /// Start of the run, `YYYY-MM-DDTHH:MM:SS` (UTC).
    pub timestamp: String,
    /// Host name.
    pub hostname: String,
    /// Wall-clock seconds of the run (0 when unknown, e.g. after a merge).
    pub elapsed_s: f64,
}

impl RunMeta {
    /// Metadata for now on this host.
    pub fn now(elapsed_s: f64) -> RunMeta {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        RunMeta { timestamp: iso8601(secs), hostname: hostname(), elapsed_s }
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix time (UTC), civil-from-days.
pub fn iso8601(unix_s: u64) -> String {
    let days = (unix_s / 86_400) as i64;
    let rem = unix_s % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Escapes text for XML attributes and content.
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => o.push(c),
        }
    }
    o
}

struct Case {
    name: String,
    failure: Option<String>,
}

fn suite_xml(
    out: &mut String,
    id: usize,
    name: &str,
    cases: &[Case],
    meta: &RunMeta,
    props: &[(&str, String)],
) {
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let _ = writeln!(
        out,
        "  <testsuite package=\"eic-bench.regress\" id=\"{id}\" name=\"{}\" timestamp=\"{}\" \
         hostname=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"0\">",
        xml_escape(name),
        meta.timestamp,
        xml_escape(&meta.hostname),
        cases.len()
    );
    out.push_str("    <properties>\n");
    for (k, v) in props {
        let _ = writeln!(out, "      <property name=\"{k}\" value=\"{}\"/>", xml_escape(v));
    }
    out.push_str("    </properties>\n");
    for c in cases {
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"{}\" time=\"0\"",
            xml_escape(&c.name),
            xml_escape(name)
        );
        match &c.failure {
            None => out.push_str("/>\n"),
            Some(msg) => {
                let _ = writeln!(
                    out,
                    ">\n      <failure type=\"regression\" message=\"{}\">{}</failure>\n    </testcase>",
                    xml_escape(msg),
                    xml_escape(msg)
                );
            }
        }
    }
    out.push_str("    <system-out></system-out>\n    <system-err></system-err>\n  </testsuite>\n");
}

/// The JUnit XML document of a report.
pub fn render(r: &Report, meta: &RunMeta) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    let props = vec![
        ("target", r.target.clone()),
        (
            "baseline",
            format!("{} {}", r.baseline.digest, r.baseline.dir.clone().unwrap_or_default()),
        ),
        (
            "candidate",
            format!("{} {}", r.candidate.digest, r.candidate.dir.clone().unwrap_or_default()),
        ),
        ("elapsed_s", format!("{:.3}", meta.elapsed_s)),
    ];
    let mut checks: Vec<Case> = r
        .verdict
        .checks
        .iter()
        .map(|c| Case {
            name: c.name.clone(),
            failure: (!c.passed).then(|| {
                format!(
                    "{}: baseline {:.4}, candidate {:.4}, degradation {:.4} beyond the limit {:.4}",
                    c.name, c.baseline, c.candidate, c.degradation, c.limit
                )
            }),
        })
        .collect();
    checks.extend(
        r.verdict
            .errors
            .iter()
            .map(|e| Case { name: "scenario ran".into(), failure: Some(e.clone()) }),
    );
    suite_xml(&mut out, 0, &format!("{} tolerances", r.suite), &checks, meta, &props);
    for (i, f) in r.families.iter().enumerate() {
        let cases: Vec<Case> = r
            .scenarios
            .iter()
            .filter(|s| s.family == f.family)
            .map(|s| {
                let new_false = s.candidate.false_alerts.saturating_sub(s.baseline.false_alerts);
                let mut why = Vec::new();
                if s.lost > 0 {
                    why.push(format!("{} expected burst(s) lost by the candidate", s.lost));
                }
                if new_false > 0 {
                    why.push(format!("{new_false} more false alert(s) with the candidate"));
                }
                Case { name: s.id.clone(), failure: (!why.is_empty()).then(|| why.join("; ")) }
            })
            .collect();
        suite_xml(&mut out, i + 1, &format!("{}.{}", r.suite, f.family), &cases, meta, &props);
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_of_known_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00");
        assert_eq!(iso8601(1_796_000_000), "2026-11-30T00:53:20");
    }

    #[test]
    fn escapes() {
        assert_eq!(xml_escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
