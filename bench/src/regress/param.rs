//! Table parameter paths and sweeps.
//!
//! A path names numeric fields of a table set through the tables' own field names (the keys of
//! their TOML files): `TABLE.FIELD`, then `.FIELD` or `[INDEX]` or `[*]` (every element) as
//! deep as needed. Examples:
//!
//! | path | what |
//! |---|---|
//! | `imt.accumulations[*].snr` | every IMT accumulation's SNR threshold |
//! | `imt.accumulations[0].snr` | the first one's |
//! | `crt.image_snr` | the CRT's image SNR threshold |
//! | `crt.timescales[*].rate_snr[0]` | the rate SNR of trigger band 0 on every timescale |
//! | `alert.min_alert_snr` | the smallest SNR that makes an alert |
//!
//! A sweep is `PATH=FROM:TO:STEP` (inclusive of `TO` within half a step) or `PATH=V1,V2,...`.
//! Setting goes through serde, so the set is rebuilt by the same code that reads the TOML
//! files and validated as any other set.

use serde_json::Value;
use tables::TableId;
use tables::set::TableSet;

/// One step of a path.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
}

/// A parsed parameter path.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamPath {
    /// The table.
    pub table: TableId,
    steps: Vec<Step>,
    text: String,
}

impl std::fmt::Display for ParamPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for ParamPath {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("parameter path {text:?}: {why}");
        let (table, rest) = text.split_once('.').ok_or_else(|| bad("expected TABLE.FIELD"))?;
        let table = TableId::ALL.into_iter().find(|t| t.key() == table).ok_or_else(|| {
            let keys: Vec<&str> = TableId::ALL.iter().map(|t| t.key()).collect();
            bad(&format!("unknown table {table:?}, expected one of {}", keys.join(", ")))
        })?;
        let mut steps = Vec::new();
        for part in rest.split('.') {
            let (name, mut idx) = match part.find('[') {
                Some(p) => part.split_at(p),
                None => (part, ""),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(bad(&format!("bad field name {name:?}")));
            }
            steps.push(Step::Field(name.into()));
            while !idx.is_empty() {
                let close = idx.find(']').ok_or_else(|| bad("unclosed '['"))?;
                let inner = idx.get(1..close).unwrap_or("");
                steps.push(if inner == "*" {
                    Step::All
                } else {
                    Step::Index(inner.parse().map_err(|_| bad(&format!("bad index {inner:?}")))?)
                });
                idx = idx.get(close + 1..).unwrap_or("");
                if !idx.is_empty() && !idx.starts_with('[') {
                    return Err(bad("expected '[' or '.' after ']'"));
                }
            }
        }
        Ok(ParamPath { table, steps, text: text.into() })
    }
}

/// The pixel table has no serde form (it is CSV/FITS): `pixels.entries[I|*].FIELD` is set
/// directly, for the numeric fields of an entry.
fn set_pixels(set: &mut TableSet, steps: &[Step], value: f64) -> Result<usize, String> {
    let (sel, field) = match steps {
        [Step::Field(e), sel @ (Step::Index(_) | Step::All), Step::Field(f)] if e == "entries" => {
            (sel, f.as_str())
        }
        _ => {
            return Err("pixel paths are pixels.entries[I].FIELD or pixels.entries[*].FIELD".into());
        }
    };
    let v = value as f32;
    let apply = |e: &mut tables::PixelEntry| -> Result<(), String> {
        match field {
            "threshold_kev" => e.threshold_kev = v,
            "gain" => e.gain = v,
            "offset_kev" => e.offset_kev = v,
            "efficiency" => e.efficiency = v,
            other => {
                return Err(format!(
                    "pixel field {other:?} is not numeric-settable (threshold_kev, gain, \
                     offset_kev, efficiency)"
                ));
            }
        }
        Ok(())
    };
    let entries = &mut set.pixels.entries;
    match sel {
        Step::Index(i) => {
            let len = entries.len();
            let e = entries
                .get_mut(*i)
                .ok_or_else(|| format!("pixels.entries[{i}] out of range (len {len})"))?;
            apply(e)?;
            Ok(1)
        }
        _ => {
            for e in entries.iter_mut() {
                apply(e)?;
            }
            Ok(entries.len())
        }
    }
}

fn table_value(set: &TableSet, id: TableId) -> Result<Value, String> {
    let v = match id {
        TableId::Pixels => return Err("the pixel table is set directly".into()),
        TableId::Bands => serde_json::to_value(&set.bands),
        TableId::Crt => serde_json::to_value(&set.crt),
        TableId::Imt => serde_json::to_value(&set.imt),
        TableId::Catalog => serde_json::to_value(&set.catalog),
        TableId::Saa => serde_json::to_value(&set.saa),
        TableId::Alert => serde_json::to_value(&set.alert),
    };
    v.map_err(|e| e.to_string())
}

fn store(set: &mut TableSet, id: TableId, v: Value) -> Result<(), String> {
    let e = |e: serde_json::Error| e.to_string();
    match id {
        TableId::Pixels => return Err("the pixel table is set directly".into()),
        TableId::Bands => set.bands = serde_json::from_value(v).map_err(e)?,
        TableId::Crt => set.crt = serde_json::from_value(v).map_err(e)?,
        TableId::Imt => set.imt = serde_json::from_value(v).map_err(e)?,
        TableId::Catalog => set.catalog = serde_json::from_value(v).map_err(e)?,
        TableId::Saa => set.saa = serde_json::from_value(v).map_err(e)?,
        TableId::Alert => set.alert = serde_json::from_value(v).map_err(e)?,
    }
    Ok(())
}

fn walk(v: &mut Value, steps: &[Step], value: f64, at: &str, n: &mut usize) -> Result<(), String> {
    let Some((first, rest)) = steps.split_first() else {
        return match v {
            Value::Number(_) => {
                *v = serde_json::Number::from_f64(value)
                    .map(Value::Number)
                    .ok_or_else(|| format!("{value} is not a finite number"))?;
                *n += 1;
                Ok(())
            }
            other => Err(format!("{at} is not a number but {other}")),
        };
    };
    match (first, v) {
        (Step::Field(f), Value::Object(map)) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let next = map
                .get_mut(f)
                .ok_or_else(|| format!("{at} has no field {f:?} (fields: {})", keys.join(", ")))?;
            walk(next, rest, value, &format!("{at}.{f}"), n)
        }
        (Step::Index(i), Value::Array(a)) => {
            let len = a.len();
            let next =
                a.get_mut(*i).ok_or_else(|| format!("{at}[{i}] out of range (len {len})"))?;
            walk(next, rest, value, &format!("{at}[{i}]"), n)
        }
        (Step::All, Value::Array(a)) => {
            for (i, next) in a.iter_mut().enumerate() {
                walk(next, rest, value, &format!("{at}[{i}]"), n)?;
            }
            Ok(())
        }
        (s, _) => Err(format!("{at}: cannot apply {s:?} here")),
    }
}

impl ParamPath {
    /// Sets every field the path names to `value` and returns how many were set.
    ///
    /// # Errors
    /// The path does not exist in the set, names no number, or the result does not
    /// deserialise (e.g. a fraction into an integer field).
    pub fn set(&self, set: &mut TableSet, value: f64) -> Result<usize, String> {
        if self.table == TableId::Pixels {
            return set_pixels(set, &self.steps, value).map_err(|e| format!("{}: {e}", self.text));
        }
        let mut v = table_value(set, self.table)?;
        let mut n = 0;
        walk(&mut v, &self.steps, value, self.table.key(), &mut n)
            .map_err(|e| format!("{}: {e}", self.text))?;
        if n == 0 {
            return Err(format!("{}: names no field in this table set", self.text));
        }
        store(set, self.table, v).map_err(|e| format!("{} = {value}: {e}", self.text))?;
        Ok(n)
    }
}

/// A sweep: a path and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// The parameter.
    pub path: ParamPath,
    /// Values in order.
    pub values: Vec<f64>,
}

/// Most points of a sweep.
pub const MAX_SWEEP_POINTS: usize = 200;

impl std::str::FromStr for Sweep {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (p, range) = s
            .split_once('=')
            .ok_or_else(|| format!("sweep {s:?}: expected PATH=FROM:TO:STEP or PATH=V1,V2"))?;
        let path: ParamPath = p.parse()?;
        let num = |x: &str| {
            x.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("sweep {s:?}: bad number {x:?}"))
        };
        let values = if range.contains(':') {
            let parts: Vec<&str> = range.split(':').collect();
            let [from, to, step] = parts.as_slice() else {
                return Err(format!("sweep {s:?}: expected FROM:TO:STEP"));
            };
            let (from, to, step) = (num(from)?, num(to)?, num(step)?);
            if step <= 0.0 || to < from {
                return Err(format!("sweep {s:?}: need FROM <= TO and STEP > 0"));
            }
            let n = ((to - from) / step + 0.5).floor() as usize + 1;
            if n > MAX_SWEEP_POINTS {
                return Err(format!("sweep {s:?}: {n} points, at most {MAX_SWEEP_POINTS}"));
            }
            (0..n).map(|i| from + i as f64 * step).collect()
        } else {
            range.split(',').map(num).collect::<Result<Vec<_>, _>>()?
        };
        Ok(Sweep { path, values })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_every_accumulation() {
        let mut set = tables::defaults::default_set();
        let p: ParamPath = "imt.accumulations[*].snr".parse().unwrap();
        assert_eq!(p.set(&mut set, 7.5).unwrap(), set.imt.accumulations.len());
        assert!(set.imt.accumulations.iter().all(|a| a.snr == 7.5));
        let p: ParamPath = "crt.timescales[2].rate_snr[0]".parse().unwrap();
        assert_eq!(p.set(&mut set, 9.0).unwrap(), 1);
        assert_eq!(set.crt.timescales[2].rate_snr[0], 9.0);
        let p: ParamPath = "crt.image_snr".parse().unwrap();
        p.set(&mut set, 7.0).unwrap();
        assert_eq!(set.crt.image_snr, 7.0);
    }

    #[test]
    fn bad_paths_say_why() {
        let mut set = tables::defaults::default_set();
        assert!("foo.x".parse::<ParamPath>().unwrap_err().contains("unknown table"));
        let p: ParamPath = "imt.nope".parse().unwrap();
        assert!(p.set(&mut set, 1.0).unwrap_err().contains("no field \"nope\""));
        let p: ParamPath = "imt.accumulations[99].snr".parse().unwrap();
        assert!(p.set(&mut set, 1.0).unwrap_err().contains("out of range"));
        let p: ParamPath = "imt.accumulations[*].cycles".parse().unwrap();
        assert!(p.set(&mut set, 1.5).is_err());
        assert!("imt.a[x]".parse::<ParamPath>().is_err());
        let p: ParamPath = "pixels.entries[*].threshold_kev".parse().unwrap();
        assert_eq!(p.set(&mut set, 5.0).unwrap(), 6400);
        assert!(set.pixels.entries.iter().all(|e| e.threshold_kev == 5.0));
        let p: ParamPath = "pixels.entries[6400].gain".parse().unwrap();
        assert!(p.set(&mut set, 0.1).unwrap_err().contains("out of range"));
    }

    #[test]
    fn sweep_ranges() {
        let s: Sweep = "imt.accumulations[*].snr=5.5:8:0.5".parse().unwrap();
        assert_eq!(s.values, vec![5.5, 6.0, 6.5, 7.0, 7.5, 8.0]);
        let s: Sweep = "crt.image_snr=6,7".parse().unwrap();
        assert_eq!(s.values, vec![6.0, 7.0]);
        assert!("crt.image_snr=8:5:1".parse::<Sweep>().is_err());
        assert!("crt.image_snr=0:1000:0.001".parse::<Sweep>().is_err());
    }
}
