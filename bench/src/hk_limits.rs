//! Housekeeping limits: soft and hard alarm limits per parameter, from a TOML file.
//!
//! # File format
//!
//! One table per housekeeping parameter, named as in the housekeeping report, with any subset
//! of four limits and optional documentation:
//!
//! ```toml
//! [rate_sector_0]
//! unit = "counts/s"
//! description = "Event rate of detector sector 0"
//! hard_low = 10
//! soft_low = 100
//! soft_high = 2000
//! hard_high = 5000
//! ```
//!
//! Rules checked on load, each reported as `file:line:column: message`:
//! - every limit is a finite number;
//! - every low limit is below every high limit (`soft_low < soft_high`, `hard_low <
//!   hard_high`, `soft_low < hard_high`, `hard_low < soft_high`);
//! - soft limits lie strictly inside hard limits (`hard_low < soft_low`, `soft_high <
//!   hard_high`), so that each soft band can actually be entered;
//! - no unknown key (a misspelt `sof_low` is an error, not a silently missing limit).
//!
//! # Alarm settings (read by `eic-bench monitor`, accepted and ignored by `eic-bench hk`)
//!
//! Per parameter, two more keys shape the monitor's alarms:
//! - `persistence = N`: N consecutive samples beyond a limit before the alarm is raised
//!   (default 1);
//! - `hysteresis = H`: once raised, the alarm clears only when the value is back inside the
//!   limits by at least H (in the parameter's unit; default 0).
//!
//! The table named `alarms` is reserved (not a parameter):
//!
//! ```toml
//! [alarms]
//! stale_after_s = 10          # no HK for this long is an alarm (`stale`)
//! stale_severity = "critical" # "warning" or "critical" (default)
//! [[alarms.event]]            # an ST[05] event raises an alarm (latched until acknowledged)
//! id = "fallback-boot"        # event name or number (0x0002)
//! severity = "critical"
//! [alarms.alert]              # a trigger alert raises an alarm
//! severity = "warning"
//! min_image_snr = 0.0         # only alerts at or above this image SNR
//! ```
//!
//! # Checking
//!
//! A value on a limit is within it. Hard limits are checked first: below `hard_low` is
//! [`LimitState::HardLow`], else below `soft_low` is [`LimitState::SoftLow`], and the same on the
//! high side. A name the file does not list is [`LimitState::Unlimited`]; a NaN value is
//! [`LimitState::Invalid`].

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

/// The limits of one parameter; any subset may be set.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Below this: soft (yellow) alarm.
    pub soft_low: Option<f64>,
    /// Above this: soft (yellow) alarm.
    pub soft_high: Option<f64>,
    /// Below this: hard (red) alarm.
    pub hard_low: Option<f64>,
    /// Above this: hard (red) alarm.
    pub hard_high: Option<f64>,
    /// Unit, for display.
    pub unit: Option<String>,
    /// Description, for display.
    pub description: Option<String>,
    /// Consecutive samples beyond a limit before an alarm is raised (≥ 1).
    pub persistence: u32,
    /// Band inside the limits a value must reach to clear a raised alarm (≥ 0).
    pub hysteresis: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            soft_low: None,
            soft_high: None,
            hard_low: None,
            hard_high: None,
            unit: None,
            description: None,
            persistence: 1,
            hysteresis: 0.0,
        }
    }
}

impl Limits {
    /// These limits moved inwards by the hysteresis band: where a raised alarm must come back
    /// to before it clears.
    pub fn with_hysteresis(&self) -> Limits {
        let h = self.hysteresis;
        Limits {
            soft_low: self.soft_low.map(|l| l + h),
            soft_high: self.soft_high.map(|l| l - h),
            hard_low: self.hard_low.map(|l| l + h),
            hard_high: self.hard_high.map(|l| l - h),
            ..self.clone()
        }
    }

    /// Where `value` stands against these limits (never [`LimitState::Unlimited`]).
    pub fn check(&self, value: f64) -> LimitState {
        if value.is_nan() {
            return LimitState::Invalid;
        }
        let below = |l: Option<f64>| l.is_some_and(|l| value < l);
        let above = |l: Option<f64>| l.is_some_and(|l| value > l);
        if below(self.hard_low) {
            LimitState::HardLow
        } else if above(self.hard_high) {
            LimitState::HardHigh
        } else if below(self.soft_low) {
            LimitState::SoftLow
        } else if above(self.soft_high) {
            LimitState::SoftHigh
        } else {
            LimitState::Nominal
        }
    }
}

/// Where a value stands against its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitState {
    /// Within all limits.
    Nominal,
    /// Below the soft low limit (but not the hard one).
    SoftLow,
    /// Above the soft high limit (but not the hard one).
    SoftHigh,
    /// Below the hard low limit.
    HardLow,
    /// Above the hard high limit.
    HardHigh,
    /// The parameter has no limits in the file.
    Unlimited,
    /// The value is not a number (NaN).
    Invalid,
}

impl LimitState {
    /// 0 for nominal or unlimited, 1 for a soft alarm, 2 for a hard alarm or an invalid value.
    pub fn severity(self) -> u8 {
        match self {
            Self::Nominal | Self::Unlimited => 0,
            Self::SoftLow | Self::SoftHigh => 1,
            Self::HardLow | Self::HardHigh | Self::Invalid => 2,
        }
    }

    /// Whether this state raises an alarm.
    pub fn is_alarm(self) -> bool {
        self.severity() > 0
    }
}

impl fmt::Display for LimitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Nominal => "nominal",
            Self::SoftLow => "soft low",
            Self::SoftHigh => "soft high",
            Self::HardLow => "HARD LOW",
            Self::HardHigh => "HARD HIGH",
            Self::Unlimited => "no limits",
            Self::Invalid => "INVALID",
        })
    }
}

/// A limits file that could not be loaded, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsError {
    /// The file (or origin label) the text came from.
    pub origin: String,
    /// 1-based line (0 when the file could not be read at all).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LimitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.origin, self.message)
        } else {
            write!(f, "{}:{}:{}: {}", self.origin, self.line, self.column, self.message)
        }
    }
}

impl std::error::Error for LimitsError {}

/// One top-level table as written in the file: a parameter's limits, or (named `alarms`) the
/// alarm settings. One struct for both keeps every key's position for errors.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    soft_low: Option<Spanned<f64>>,
    soft_high: Option<Spanned<f64>>,
    hard_low: Option<Spanned<f64>>,
    hard_high: Option<Spanned<f64>>,
    unit: Option<String>,
    description: Option<String>,
    persistence: Option<Spanned<i64>>,
    hysteresis: Option<Spanned<f64>>,
    // `[alarms]` only:
    stale_after_s: Option<Spanned<f64>>,
    stale_severity: Option<Spanned<String>>,
    event: Option<Vec<Spanned<RawEventRule>>>,
    alert: Option<Spanned<RawAlertRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEventRule {
    id: Spanned<toml::Value>,
    severity: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlertRule {
    severity: Option<Spanned<String>>,
    min_image_snr: Option<Spanned<f64>>,
}

/// Alarm severity: the monitor's two levels (soft and hard limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Soft limit, notable event: look at it.
    Warning = 1,
    /// Hard limit, lost housekeeping, serious event: act.
    Critical = 2,
}

impl Severity {
    /// 1 or 2, as [`LimitState::severity`].
    pub fn level(self) -> u8 {
        self as u8
    }

    /// The severity of a level (1 warning, ≥ 2 critical; 0 none).
    pub fn of_level(level: u8) -> Option<Self> {
        match level {
            0 => None,
            1 => Some(Self::Warning),
            _ => Some(Self::Critical),
        }
    }

    /// `warning` or `critical`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "warning" => Some(Self::Warning),
            "critical" => Some(Self::Critical),
            _ => None,
        }
    }
}

/// An ST\[05\] event that raises an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRule {
    /// The event ID (wire value).
    pub id: u16,
    /// The alarm's severity.
    pub severity: Severity,
}

/// Trigger alerts that raise an alarm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertRule {
    /// The alarm's severity.
    pub severity: Severity,
    /// Only alerts at or above this image SNR, σ.
    pub min_image_snr: f64,
}

/// The `[alarms]` table: staleness, event and alert rules.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlarmRules {
    /// No HK for this long (s) raises the `stale` alarm; `None`: never.
    pub stale_after_s: Option<f64>,
    /// Severity of the `stale` alarm.
    pub stale_severity: Option<Severity>,
    /// Events that raise alarms.
    pub events: Vec<EventRule>,
    /// Alerts that raise alarms; `None`: none.
    pub alert: Option<AlertRule>,
}

/// The limits of every listed housekeeping parameter, and the alarm rules.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LimitSet {
    params: BTreeMap<String, Limits>,
    alarms: AlarmRules,
}

impl LimitSet {
    /// Loads and validates a limits file.
    ///
    /// # Errors
    ///
    /// A [`LimitsError`] naming the file, line and column.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, LimitsError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = tables::set::read_text_bounded(path, 1 << 20).map_err(|e| LimitsError {
            origin: origin.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the limits file: {e}"),
        })?;
        Self::parse(&text, &origin)
    }

    /// Parses and validates limits text; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// A [`LimitsError`] naming `origin`, line and column.
    pub fn parse(text: &str, origin: &str) -> Result<Self, LimitsError> {
        let at = |span: Option<Range<usize>>, message: String| {
            let (line, column) = span.map_or((1, 1), |s| line_col(text, s.start));
            LimitsError { origin: origin.to_owned(), line, column, message }
        };
        let raw: BTreeMap<Spanned<String>, Spanned<RawLimits>> =
            toml::from_str(text).map_err(|e| at(e.span(), e.message().trim().to_owned()))?;
        let mut params = BTreeMap::new();
        let mut alarms = AlarmRules::default();
        for (name, table) in raw {
            let span = name.span();
            let name = name.into_inner();
            if name.is_empty() {
                return Err(at(Some(span), "empty parameter name".to_owned()));
            }
            let table_span = table.span();
            let raw = table.into_inner();
            let alarm_keys = raw.stale_after_s.is_some()
                || raw.stale_severity.is_some()
                || raw.event.is_some()
                || raw.alert.is_some();
            if name == "alarms" {
                alarms = parse_alarms(raw, table_span, &at)?;
                continue;
            }
            if alarm_keys {
                return Err(at(
                    Some(span),
                    format!(
                        "`{name}`: stale_after_s, stale_severity, event and alert belong in the \
                         [alarms] table"
                    ),
                ));
            }
            let persistence = match &raw.persistence {
                None => 1,
                Some(p) => {
                    u32::try_from(*p.get_ref()).ok().filter(|&p| p >= 1).ok_or_else(|| {
                        at(
                            Some(p.span()),
                            format!("`{name}`: persistence must be 1 or more samples"),
                        )
                    })?
                }
            };
            let hysteresis = match &raw.hysteresis {
                None => 0.0,
                Some(h) if h.get_ref().is_finite() && *h.get_ref() >= 0.0 => *h.get_ref(),
                Some(h) => {
                    return Err(at(
                        Some(h.span()),
                        format!("`{name}`: hysteresis must be a finite number, 0 or more"),
                    ));
                }
            };
            let fields = [
                ("hard_low", &raw.hard_low),
                ("soft_low", &raw.soft_low),
                ("soft_high", &raw.soft_high),
                ("hard_high", &raw.hard_high),
            ];
            for (field, v) in fields {
                if let Some(v) = v
                    && !v.get_ref().is_finite()
                {
                    return Err(at(
                        Some(v.span()),
                        format!("`{name}`: {field} must be a finite number"),
                    ));
                }
            }
            // Ascending order required between each present pair (i < j), strictly.
            for (i, (lo_name, lo)) in fields.iter().enumerate() {
                for (hi_name, hi) in fields.iter().skip(i + 1) {
                    let (Some(lo), Some(hi)) = (lo, hi) else { continue };
                    if lo.get_ref() >= hi.get_ref() {
                        let why = if lo_name.starts_with("hard") || hi_name.starts_with("hard") {
                            "soft limits must lie strictly inside hard limits, and every low \
                             limit below every high limit"
                        } else {
                            "every low limit must be below every high limit"
                        };
                        return Err(at(
                            Some(hi.span()),
                            format!(
                                "`{name}`: {hi_name} ({}) must be above {lo_name} ({}): {why}",
                                hi.get_ref(),
                                lo.get_ref()
                            ),
                        ));
                    }
                }
            }
            let value = |v: &Option<Spanned<f64>>| v.as_ref().map(|s| *s.get_ref());
            let limits = Limits {
                soft_low: value(&raw.soft_low),
                soft_high: value(&raw.soft_high),
                hard_low: value(&raw.hard_low),
                hard_high: value(&raw.hard_high),
                unit: raw.unit,
                description: raw.description,
                persistence,
                hysteresis,
            };
            params.insert(name, limits);
        }
        Ok(Self { params, alarms })
    }

    /// The `[alarms]` table (defaults when absent).
    pub fn alarm_rules(&self) -> &AlarmRules {
        &self.alarms
    }

    /// Where `value` of parameter `name` stands; [`LimitState::Unlimited`] for unknown names.
    pub fn check(&self, name: &str, value: f64) -> LimitState {
        self.params.get(name).map_or(LimitState::Unlimited, |l| l.check(value))
    }

    /// The limits of `name`, if listed.
    pub fn get(&self, name: &str) -> Option<&Limits> {
        self.params.get(name)
    }

    /// The listed parameter names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.params.keys().map(String::as_str)
    }

    /// Number of listed parameters.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether no parameter is listed.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
}

fn parse_alarms(
    raw: RawLimits,
    span: Range<usize>,
    at: &dyn Fn(Option<Range<usize>>, String) -> LimitsError,
) -> Result<AlarmRules, LimitsError> {
    if raw.soft_low.is_some()
        || raw.soft_high.is_some()
        || raw.hard_low.is_some()
        || raw.hard_high.is_some()
        || raw.persistence.is_some()
        || raw.hysteresis.is_some()
    {
        return Err(at(
            Some(span),
            "[alarms] is reserved for alarm settings (stale_after_s, stale_severity, event, \
             alert), not limits: no parameter is called `alarms`"
                .to_owned(),
        ));
    }
    let severity = |s: &Option<Spanned<String>>, default: Severity| match s {
        None => Ok(default),
        Some(s) => Severity::parse(s.get_ref()).ok_or_else(|| {
            at(
                Some(s.span()),
                format!("severity `{}`: expected \"warning\" or \"critical\"", s.get_ref()),
            )
        }),
    };
    let stale_after_s = match raw.stale_after_s {
        None => None,
        Some(s) if s.get_ref().is_finite() && *s.get_ref() > 0.0 => Some(*s.get_ref()),
        Some(s) => {
            return Err(at(Some(s.span()), "stale_after_s must be a positive number".to_owned()));
        }
    };
    let stale_severity = Some(severity(&raw.stale_severity, Severity::Critical)?);
    let mut events = Vec::new();
    for rule in raw.event.unwrap_or_default() {
        let rule = rule.into_inner();
        let id = match rule.id.get_ref() {
            toml::Value::Integer(n) => u16::try_from(*n).ok(),
            toml::Value::String(name) => tc_tm::service::event::EventId::from_name(name)
                .filter(|e| !matches!(e, tc_tm::service::event::EventId::Unknown(_)))
                .map(|e| e.value()),
            _ => None,
        }
        .ok_or_else(|| {
            at(
                Some(rule.id.span()),
                "event id: expected an event name (`eic-bench tc requests` lists them, e.g. \
                 \"fallback-boot\") or a number 0..=65535"
                    .to_owned(),
            )
        })?;
        events.push(EventRule { id, severity: severity(&rule.severity, Severity::Warning)? });
    }
    let alert = match raw.alert {
        None => None,
        Some(a) => {
            let a = a.into_inner();
            let min_image_snr = match a.min_image_snr {
                None => 0.0,
                Some(v) if v.get_ref().is_finite() => *v.get_ref(),
                Some(v) => {
                    return Err(at(Some(v.span()), "min_image_snr must be finite".to_owned()));
                }
            };
            Some(AlertRule { severity: severity(&a.severity, Severity::Warning)?, min_image_snr })
        }
    };
    Ok(AlarmRules { stale_after_s, stale_severity, events, alert })
}

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str =
        "[rate]\nhard_low = 10\nsoft_low = 100\nsoft_high = 2000\nhard_high = 5000\n";

    #[test]
    fn check_all_states() {
        let set = LimitSet::parse(FULL, "t.toml").unwrap();
        let c = |v| set.check("rate", v);
        assert_eq!(c(9.9), LimitState::HardLow);
        assert_eq!(c(10.0), LimitState::SoftLow);
        assert_eq!(c(99.0), LimitState::SoftLow);
        assert_eq!(c(100.0), LimitState::Nominal);
        assert_eq!(c(2000.0), LimitState::Nominal);
        assert_eq!(c(2000.5), LimitState::SoftHigh);
        assert_eq!(c(5000.0), LimitState::SoftHigh);
        assert_eq!(c(5000.1), LimitState::HardHigh);
        assert_eq!(c(f64::NAN), LimitState::Invalid);
        assert_eq!(c(f64::INFINITY), LimitState::HardHigh);
        assert_eq!(set.check("other", 1.0), LimitState::Unlimited);
    }

    #[test]
    fn subsets_of_limits() {
        let set = LimitSet::parse(
            "[a]\nsoft_high = 0\nhard_high = 10\n[b]\nhard_low = 1\n[c]\nunit = \"s\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(set.check("a", 0.0), LimitState::Nominal);
        assert_eq!(set.check("a", 1.0), LimitState::SoftHigh);
        assert_eq!(set.check("a", 11.0), LimitState::HardHigh);
        assert_eq!(set.check("a", -1e9), LimitState::Nominal);
        assert_eq!(set.check("b", 0.0), LimitState::HardLow);
        assert_eq!(set.check("c", 1e300), LimitState::Nominal);
        assert_eq!(set.names().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
        assert_eq!(line_col("", 5), (1, 1));
    }

    fn err(text: &str) -> LimitsError {
        LimitSet::parse(text, "hk.toml").unwrap_err()
    }

    #[test]
    fn soft_outside_hard_is_rejected_at_its_line() {
        let e = err("[rate]\nhard_low = 10\nsoft_low = 5\n");
        assert_eq!((e.line, e.column), (3, 12), "{e}");
        assert!(
            e.to_string()
                .starts_with("hk.toml:3:12: `rate`: soft_low (5) must be above hard_low (10)"),
            "{e}"
        );
        let e = err("[rate]\nsoft_high = 50\nhard_high = 50\n");
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("strictly inside"), "{e}");
    }

    #[test]
    fn low_above_high_is_rejected() {
        let e = err("[x]\nunit = \"V\"\n\nsoft_low = 3\nsoft_high = 2\n");
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("soft_high (2) must be above soft_low (3)"), "{e}");
        let e = err("[x]\nhard_low = 3\nsoft_high = 3\n");
        assert_eq!(e.line, 3, "{e}");
    }

    #[test]
    fn non_finite_unknown_key_and_syntax_errors_have_positions() {
        let e = err("[x]\nsoft_low = nan\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("finite"), "{e}");
        let e = err("[x]\nsof_low = 1\n");
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("sof_low"), "{e}");
        let e = err("[x]\nsoft_low = \"high\"\n");
        assert_eq!(e.line, 2, "{e}");
        let e = err("[x\nsoft_low = 1\n");
        assert_eq!(e.line, 1, "{e}");
        let e = err("x = 3\n");
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn missing_file_names_it() {
        let e = LimitSet::load("/nonexistent/hk.toml").unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/hk.toml: cannot read"), "{e}");
    }

    #[test]
    fn shipped_example_loads() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/hk-limits.toml");
        let set = LimitSet::load(path).unwrap();
        for name in ["tc_rejected", "rate_sector0", "uptime_s"] {
            assert!(set.get(name).is_some(), "{name}");
        }
        assert_eq!(set.check("tc_rejected", 0.0), LimitState::Nominal);
        assert!(set.check("rate_sector0", 1e9).is_alarm());
    }

    #[test]
    fn severity_order() {
        assert_eq!(LimitState::Nominal.severity(), 0);
        assert!(!LimitState::Unlimited.is_alarm());
        assert_eq!(LimitState::SoftLow.severity(), 1);
        assert_eq!(LimitState::HardHigh.severity(), 2);
    }

    #[test]
    fn alarm_settings_parse_and_are_checked() {
        let set = LimitSet::parse(
            "[r]\nsoft_high = 5\npersistence = 3\nhysteresis = 1.5\n[alarms]\nstale_after_s = 4\n\
             [[alarms.event]]\nid = \"fallback-boot\"\nseverity = \"critical\"\n\
             [[alarms.event]]\nid = 4660\n[alarms.alert]\nmin_image_snr = 7\n",
            "t",
        )
        .unwrap();
        let r = set.get("r").unwrap();
        assert_eq!((r.persistence, r.hysteresis), (3, 1.5));
        assert_eq!(r.with_hysteresis().soft_high, Some(3.5));
        assert_eq!(set.names().collect::<Vec<_>>(), ["r"], "[alarms] is not a parameter");
        let a = set.alarm_rules();
        assert_eq!(a.stale_after_s, Some(4.0));
        assert_eq!(
            a.events,
            [
                EventRule { id: 2, severity: Severity::Critical },
                EventRule { id: 4660, severity: Severity::Warning }
            ]
        );
        assert_eq!(a.alert, Some(AlertRule { severity: Severity::Warning, min_image_snr: 7.0 }));
        let e = err("[r]\npersistence = 0\n");
        assert_eq!(e.line, 2, "{e}");
        let e = err("[r]\nhysteresis = -1\n");
        assert_eq!(e.line, 2, "{e}");
        let e = err("[alarms]\n[[alarms.event]]\nid = \"no-such-event\"\n");
        assert_eq!(e.line, 3, "{e}");
        let e = err("[alarms]\nstale_severity = \"loud\"\n");
        assert_eq!(e.line, 2, "{e}");
        let e = err("[r]\nstale_after_s = 3\n");
        assert!(e.message.contains("[alarms]"), "{e}");
        let e = err("[alarms]\nsoft_high = 3\n");
        assert!(e.message.contains("reserved"), "{e}");
        let shipped =
            LimitSet::load(concat!(env!("CARGO_MANIFEST_DIR"), "/hk-limits.toml")).unwrap();
        assert_eq!(shipped.alarm_rules().stale_after_s, Some(10.0));
        assert_eq!(shipped.get("rate_sector3").unwrap().persistence, 3);
    }
}
