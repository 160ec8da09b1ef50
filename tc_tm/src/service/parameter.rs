//! ST\[20\] on-board parameter management (ECSS-E-ST-70-41C §6.20) and the parameter registry.
//!
//! | subtype | dir | application data (big-endian) |
//! |---|---|---|
//! | 20,1 report values | TC | N u8 (1..=[`MAX_PARAMS`]), N × parameter ID u16 |
//! | 20,2 values report | TM | N u8 (1..=[`MAX_PARAMS`]), N × (parameter ID u16, value 4 octets) |
//! | 20,3 set values | TC | N u8 (1..=[`MAX_PARAMS`]), N × (parameter ID u16, value 4 octets) |
//!
//! Values are a fixed 4-octet field, interpreted by the parameter's [`ParamType`]: `u32`,
//! `i32` (two's complement), `f32` (IEEE 754 binary32) or `bool` (0 or 1). `parse` does not
//! look the IDs up; the unit calls [`check`] at start of execution and reports
//! `parameter_unknown`, `parameter_read_only` or `parameter_out_of_range`.

use core::fmt;

use super::Error;
use super::failure::FailureCode;
use super::wire::{Item, List, Writer, be16, be32, emit_with, parse_all};

/// Service type number.
pub const SERVICE: u8 = 20;
/// Largest number of parameters in one request or report.
pub const MAX_PARAMS: usize = 32;

/// On-board parameter identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(pub u16);

impl ParamId {
    /// The registry entry, if the ID is known.
    pub fn def(self) -> Option<&'static ParamDef> {
        PARAMETERS.iter().find(|p| p.id == self)
    }
}

impl fmt::Display for ParamId {
    /// The registry name, or `0x` and four hex digits for unknown IDs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.def() {
            Some(d) => f.write_str(d.name),
            None => write!(f, "0x{:04X}", self.0),
        }
    }
}

impl Item for ParamId {
    const LEN: usize = 2;
    const FIELD: &'static str = "parameter_ids";
    fn decode(data: &[u8]) -> Result<Self, Error> {
        be16(data, 0).map(ParamId)
    }
    fn encode(&self, out: &mut [u8]) -> Result<(), Error> {
        Writer::new(out).u16(self.0)
    }
}

/// A parameter ID with its raw 4-octet value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamEntry {
    /// Parameter.
    pub id: ParamId,
    /// Raw value (see [`ParamDef::decode`]).
    pub raw: u32,
}

impl Item for ParamEntry {
    const LEN: usize = 6;
    const FIELD: &'static str = "parameters";
    fn decode(data: &[u8]) -> Result<Self, Error> {
        Ok(ParamEntry { id: ParamId(be16(data, 0)?), raw: be32(data, 2)? })
    }
    fn encode(&self, out: &mut [u8]) -> Result<(), Error> {
        let mut w = Writer::new(out);
        w.u16(self.id.0)?;
        w.u32(self.raw)
    }
}

/// How a parameter's 4 octets are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamType {
    /// Unsigned 32-bit integer.
    U32,
    /// Signed 32-bit integer.
    I32,
    /// IEEE 754 binary32; NaN and infinities are out of range.
    F32,
    /// 0 = false, 1 = true.
    Bool,
}

impl ParamType {
    /// Lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            ParamType::U32 => "u32",
            ParamType::I32 => "i32",
            ParamType::F32 => "f32",
            ParamType::Bool => "bool",
        }
    }
}

/// A typed parameter value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// Unsigned integer.
    U32(u32),
    /// Signed integer.
    I32(i32),
    /// Float.
    F32(f32),
    /// Boolean.
    Bool(bool),
}

impl Value {
    /// The 4-octet raw form.
    pub fn raw(self) -> u32 {
        match self {
            Value::U32(v) => v,
            Value::I32(v) => v as u32,
            Value::F32(v) => v.to_bits(),
            Value::Bool(v) => u32::from(v),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::U32(v) => write!(f, "{v}"),
            Value::I32(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v:?}"),
            Value::Bool(v) => write!(f, "{v}"),
        }
    }
}

/// One entry of the parameter registry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamDef {
    /// Identifier.
    pub id: ParamId,
    /// Name (snake case, with unit suffix where there is one).
    pub name: &'static str,
    /// Value type.
    pub ty: ParamType,
    /// Unit (empty if none).
    pub unit: &'static str,
    /// Smallest value allowed.
    pub min: Value,
    /// Largest value allowed.
    pub max: Value,
    /// Value after boot.
    pub default: Value,
    /// Whether 20,3 may change it.
    pub writable: bool,
    /// What it does.
    pub description: &'static str,
}

impl ParamDef {
    /// The typed value of `raw`; `None` if `raw` is not a value of the type (bool other than
    /// 0/1, non-finite float).
    pub fn decode(&self, raw: u32) -> Option<Value> {
        match self.ty {
            ParamType::U32 => Some(Value::U32(raw)),
            ParamType::I32 => Some(Value::I32(raw as i32)),
            ParamType::F32 => Some(Value::F32(f32::from_bits(raw))).filter(|v| match v {
                Value::F32(x) => x.is_finite(),
                _ => false,
            }),
            ParamType::Bool => match raw {
                0 => Some(Value::Bool(false)),
                1 => Some(Value::Bool(true)),
                _ => None,
            },
        }
    }

    /// Whether `raw` is a value of the type within `min ..= max`.
    pub fn in_range(&self, raw: u32) -> bool {
        match (self.decode(raw), self.min, self.max) {
            (Some(Value::U32(v)), Value::U32(lo), Value::U32(hi)) => (lo..=hi).contains(&v),
            (Some(Value::I32(v)), Value::I32(lo), Value::I32(hi)) => (lo..=hi).contains(&v),
            (Some(Value::F32(v)), Value::F32(lo), Value::F32(hi)) => v >= lo && v <= hi,
            (Some(Value::Bool(_)), _, _) => true,
            _ => false,
        }
    }
}

/// Checks a 20,3 item against the registry, as the unit does at start of execution.
///
/// # Errors
/// [`FailureCode::ParameterUnknown`], [`FailureCode::ParameterReadOnly`],
/// [`FailureCode::ParameterOutOfRange`].
pub fn check(id: ParamId, raw: u32) -> Result<&'static ParamDef, FailureCode> {
    let def = id.def().ok_or(FailureCode::ParameterUnknown)?;
    if !def.writable {
        return Err(FailureCode::ParameterReadOnly);
    }
    if !def.in_range(raw) {
        return Err(FailureCode::ParameterOutOfRange);
    }
    Ok(def)
}

/// The parameter called `name` (ASCII case-insensitive).
pub fn by_name(name: &str) -> Option<&'static ParamDef> {
    PARAMETERS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

const fn u32_param(
    id: u16,
    name: &'static str,
    unit: &'static str,
    min: u32,
    max: u32,
    default: u32,
    description: &'static str,
) -> ParamDef {
    ParamDef {
        id: ParamId(id),
        name,
        ty: ParamType::U32,
        unit,
        min: Value::U32(min),
        max: Value::U32(max),
        default: Value::U32(default),
        writable: true,
        description,
    }
}

const fn bool_param(
    id: u16,
    name: &'static str,
    default: bool,
    description: &'static str,
) -> ParamDef {
    ParamDef {
        id: ParamId(id),
        name,
        ty: ParamType::Bool,
        unit: "",
        min: Value::Bool(false),
        max: Value::Bool(true),
        default: Value::Bool(default),
        writable: true,
        description,
    }
}

const fn f32_param(
    id: u16,
    name: &'static str,
    unit: &'static str,
    min: f32,
    max: f32,
    default: f32,
    description: &'static str,
) -> ParamDef {
    ParamDef {
        id: ParamId(id),
        name,
        ty: ParamType::F32,
        unit,
        min: Value::F32(min),
        max: Value::F32(max),
        default: Value::F32(default),
        writable: true,
        description,
    }
}

/// The on-board parameter registry.
pub const PARAMETERS: &[ParamDef] = &[
    u32_param(
        0x0001,
        "hk_period_ms",
        "ms",
        100,
        60_000,
        1000,
        "period of the SID 1 housekeeping report",
    ),
    u32_param(0x0002, "arm_timeout_ms", "ms", 1000, 120_000, 30_000, "time an arming stays valid"),
    u32_param(
        0x0003,
        "tm_flush_timeout_ms",
        "ms",
        10,
        5000,
        200,
        "delay before a partly filled AOS frame is completed with an idle packet and sent",
    ),
    u32_param(
        0x0004,
        "idle_frame_period_ms",
        "ms",
        100,
        1000,
        1000,
        "longest gap between downlink frames (an idle frame is sent to keep the CLCW fresh)",
    ),
    ParamDef {
        id: ParamId(0x0005),
        name: "time_correction_ms",
        ty: ParamType::I32,
        unit: "ms",
        min: Value::I32(-1000),
        max: Value::I32(1000),
        default: Value::I32(0),
        writable: true,
        description: "correction added to the on-board clock before time stamping",
    },
    bool_param(
        0x0010,
        "crt_enabled",
        true,
        "Count-Rate Trigger enabled at boot and in observation",
    ),
    bool_param(0x0011, "imt_enabled", true, "Image Trigger enabled at boot and in observation"),
    bool_param(0x0012, "saa_inhibit", true, "inhibit both triggers inside the SAA polygon"),
    f32_param(
        0x0020,
        "alert_min_snr",
        "sigma",
        3.0,
        50.0,
        6.5,
        "minimum image SNR to issue an alert",
    ),
    f32_param(
        0x0021,
        "slew_min_snr",
        "sigma",
        5.0,
        100.0,
        8.0,
        "minimum image SNR to request a slew",
    ),
    f32_param(
        0x0022,
        "crt_min_rate_snr",
        "sigma",
        3.0,
        20.0,
        5.5,
        "minimum rate SNR for the CRT to image an excess",
    ),
    ParamDef {
        id: ParamId(0x0030),
        name: "sw_version",
        ty: ParamType::U32,
        unit: "",
        min: Value::U32(0),
        max: Value::U32(u32::MAX),
        default: Value::U32(0),
        writable: false,
        description: "software version of the running image (read-only)",
    },
];

/// ST\[20\] requests.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// 20,1: report parameter values.
    Report(List<'a, ParamId>),
    /// 20,3: set parameter values.
    Set(List<'a, ParamEntry>),
}

impl<'a> Request<'a> {
    /// Parses the application data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`], [`Error::Truncated`], [`Error::TrailingData`],
    /// [`Error::BadCount`] for N = 0 or above [`MAX_PARAMS`].
    pub fn parse(subtype: u8, data: &'a [u8]) -> Result<Self, Error> {
        parse_all(data, |r| {
            Ok(match subtype {
                1 => Request::Report(List::read(r, 1, MAX_PARAMS)?),
                3 => Request::Set(List::read(r, 1, MAX_PARAMS)?),
                _ => return Err(Error::UnknownSubtype { service: SERVICE, subtype }),
            })
        })
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        match self {
            Request::Report(_) => 1,
            Request::Set(_) => 3,
        }
    }

    /// Octets of application data.
    pub fn buffer_len(&self) -> usize {
        match self {
            Request::Report(l) => l.wire_len(),
            Request::Set(l) => l.wire_len(),
        }
    }

    /// Writes the application data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; [`Error::BadCount`] as in [`Request::parse`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_with(out, self.buffer_len(), |w| match self {
            Request::Report(l) => l.write(w, 1, MAX_PARAMS),
            Request::Set(l) => l.write(w, 1, MAX_PARAMS),
        })
    }
}

/// ST\[20\] reports.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report<'a> {
    /// 20,2: parameter values.
    Values(List<'a, ParamEntry>),
}

impl<'a> Report<'a> {
    /// Parses the source data of subtype `subtype`.
    ///
    /// # Errors
    /// As [`Request::parse`].
    pub fn parse(subtype: u8, data: &'a [u8]) -> Result<Self, Error> {
        match subtype {
            2 => parse_all(data, |r| Ok(Report::Values(List::read(r, 1, MAX_PARAMS)?))),
            _ => Err(Error::UnknownSubtype { service: SERVICE, subtype }),
        }
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        2
    }

    /// Octets of source data.
    pub fn buffer_len(&self) -> usize {
        let Report::Values(l) = self;
        l.wire_len()
    }

    /// Writes the source data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; [`Error::BadCount`] as in [`Request::parse`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let Report::Values(l) = self;
        emit_with(out, self.buffer_len(), |w| l.write(w, 1, MAX_PARAMS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_consistent() {
        for (i, p) in PARAMETERS.iter().enumerate() {
            assert!(p.in_range(p.default.raw()), "{} default out of range", p.name);
            assert!(p.in_range(p.min.raw()) && p.in_range(p.max.raw()), "{}", p.name);
            assert_eq!(by_name(p.name).map(|d| d.id), Some(p.id));
            for q in &PARAMETERS[i + 1..] {
                assert_ne!(p.id, q.id);
                assert_ne!(p.name, q.name);
            }
        }
    }

    #[test]
    fn range_checks() {
        let hk = ParamId(0x0001);
        assert!(check(hk, 2000).is_ok());
        assert_eq!(check(hk, 99).unwrap_err(), FailureCode::ParameterOutOfRange);
        assert_eq!(check(ParamId(0x7777), 0).unwrap_err(), FailureCode::ParameterUnknown);
        assert_eq!(check(ParamId(0x0030), 0).unwrap_err(), FailureCode::ParameterReadOnly);
        assert_eq!(check(ParamId(0x0010), 2).unwrap_err(), FailureCode::ParameterOutOfRange);
        assert!(check(ParamId(0x0005), (-1000i32) as u32).is_ok());
        assert!(check(ParamId(0x0005), (-1001i32) as u32).is_err());
        assert!(check(ParamId(0x0020), 7.0f32.to_bits()).is_ok());
        assert!(check(ParamId(0x0020), f32::NAN.to_bits()).is_err());
        assert!(check(ParamId(0x0020), 2.9f32.to_bits()).is_err());
    }

    #[test]
    fn parse_set_and_report() {
        let v = [2, 0x00, 0x01, 0x00, 0x00, 0x07, 0xD0, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00];
        let r = Request::parse(3, &v).unwrap();
        let Request::Set(l) = r else { panic!() };
        assert_eq!(
            l.iter().collect::<std::vec::Vec<_>>(),
            [ParamEntry { id: ParamId(1), raw: 2000 }, ParamEntry { id: ParamId(0x10), raw: 0 }]
        );
        let rep = Report::parse(2, &v).unwrap();
        let mut out = [0u8; 13];
        rep.emit(&mut out).unwrap();
        assert_eq!(out, v);
        assert_eq!(Request::parse(1, &[1, 0, 1]).unwrap().subtype(), 1);
        assert!(matches!(Request::parse(1, &[33]), Err(Error::BadCount { count: 33, .. })));
        assert!(matches!(Request::parse(3, &v[..12]), Err(Error::Truncated { .. })));
        assert!(matches!(Report::parse(1, &v), Err(Error::UnknownSubtype { .. })));
    }

    #[test]
    fn display_ids() {
        assert_eq!(std::format!("{}", ParamId(1)), "hk_period_ms");
        assert_eq!(std::format!("{}", ParamId(0xABCD)), "0xABCD");
    }
}
