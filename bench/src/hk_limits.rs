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
#[derive(Debug, Clone, PartialEq, Default)]
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
}

impl Limits {
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

/// One parameter's table as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    soft_low: Option<Spanned<f64>>,
    soft_high: Option<Spanned<f64>>,
    hard_low: Option<Spanned<f64>>,
    hard_high: Option<Spanned<f64>>,
    unit: Option<String>,
    description: Option<String>,
}

/// The limits of every listed housekeeping parameter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LimitSet {
    params: BTreeMap<String, Limits>,
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
        for (name, table) in raw {
            let span = name.span();
            let name = name.into_inner();
            if name.is_empty() {
                return Err(at(Some(span), "empty parameter name".to_owned()));
            }
            let raw = table.into_inner();
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
            };
            params.insert(name, limits);
        }
        Ok(Self { params })
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
}
