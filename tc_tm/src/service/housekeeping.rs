//! ST\[03\] housekeeping (ECSS-E-ST-70-41C §6.3) and the UGTS housekeeping structure, SID 1.
//!
//! | subtype | dir | application data (big-endian) |
//! |---|---|---|
//! | 3,5 enable periodic | TC | N u8 (1..=[`MAX_SIDS`]), N × SID u16 |
//! | 3,6 disable periodic | TC | N u8, N × SID u16 |
//! | 3,27 one-shot report | TC | N u8, N × SID u16 |
//! | 3,31 modify interval | TC | N u8, N × (SID u16, interval ms u32, non-zero) |
//! | 3,25 housekeeping report | TM | SID u16, parameters (SID 1: [`HkReport`], 119 octets) |
//!
//! SID 1 ([`Sid::UGTS`]) is the only structure the unit defines; reports of other SIDs are
//! passed through as raw octets ([`HousekeepingReport::Other`]).

use super::Error;
use super::failure::FailureCode;
use super::function::{ArmTarget, Bank, Mode};
use super::table::InactiveState;
use super::wire::{Item, List, Reader, Writer, be16, be32, emit_with, parse_all};

/// Service type number.
pub const SERVICE: u8 = 3;
/// Largest number of SIDs in one request.
pub const MAX_SIDS: usize = 8;
/// Table slots in the UGTS housekeeping report.
pub const HK_TABLE_SLOTS: usize = 8;
/// Detector sectors (8 sectors of 25 XRDPIX modules, `ICD.md` §4).
pub const SECTORS: usize = 8;
/// Octets of the SID 1 parameters (after the SID).
pub const HK_REPORT_LEN: usize = 119;

/// Housekeeping structure ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid(pub u16);

impl Sid {
    /// SID 1: UGTS housekeeping ([`HkReport`]).
    pub const UGTS: Sid = Sid(1);
}

impl Item for Sid {
    const LEN: usize = 2;
    const FIELD: &'static str = "sids";
    fn decode(data: &[u8]) -> Result<Self, Error> {
        be16(data, 0).map(Sid)
    }
    fn encode(&self, out: &mut [u8]) -> Result<(), Error> {
        Writer::new(out).u16(self.0)
    }
}

/// A new reporting interval for a SID (3,31 item).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SidInterval {
    /// Structure.
    pub sid: Sid,
    /// Reporting period in milliseconds (non-zero).
    pub interval_ms: u32,
}

impl Item for SidInterval {
    const LEN: usize = 6;
    const FIELD: &'static str = "sid_intervals";
    fn decode(data: &[u8]) -> Result<Self, Error> {
        let interval_ms = be32(data, 2)?;
        if interval_ms == 0 {
            return Err(Error::BadValue { field: "interval_ms", value: 0 });
        }
        Ok(SidInterval { sid: Sid(be16(data, 0)?), interval_ms })
    }
    fn encode(&self, out: &mut [u8]) -> Result<(), Error> {
        let mut w = Writer::new(out);
        w.u16(self.sid.0)?;
        w.u32(self.interval_ms)
    }
}

/// ST\[03\] requests.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// 3,5: enable periodic generation.
    EnablePeriodic(List<'a, Sid>),
    /// 3,6: disable periodic generation.
    DisablePeriodic(List<'a, Sid>),
    /// 3,27: generate one report of each SID now.
    OneShot(List<'a, Sid>),
    /// 3,31: modify reporting intervals.
    ModifyInterval(List<'a, SidInterval>),
}

impl<'a> Request<'a> {
    /// Parses the application data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`], [`Error::Truncated`], [`Error::TrailingData`],
    /// [`Error::BadCount`] for N = 0 or N above [`MAX_SIDS`], [`Error::BadValue`] for a zero
    /// interval.
    pub fn parse(subtype: u8, data: &'a [u8]) -> Result<Self, Error> {
        parse_all(data, |r| {
            Ok(match subtype {
                5 => Request::EnablePeriodic(List::read(r, 1, MAX_SIDS)?),
                6 => Request::DisablePeriodic(List::read(r, 1, MAX_SIDS)?),
                27 => Request::OneShot(List::read(r, 1, MAX_SIDS)?),
                31 => Request::ModifyInterval(List::read(r, 1, MAX_SIDS)?),
                _ => return Err(Error::UnknownSubtype { service: SERVICE, subtype }),
            })
        })
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        match self {
            Request::EnablePeriodic(_) => 5,
            Request::DisablePeriodic(_) => 6,
            Request::OneShot(_) => 27,
            Request::ModifyInterval(_) => 31,
        }
    }

    /// Octets of application data.
    pub fn buffer_len(&self) -> usize {
        match self {
            Request::EnablePeriodic(l) | Request::DisablePeriodic(l) | Request::OneShot(l) => {
                l.wire_len()
            }
            Request::ModifyInterval(l) => l.wire_len(),
        }
    }

    /// Writes the application data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; [`Error::BadCount`] as in [`Request::parse`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_with(out, self.buffer_len(), |w| match self {
            Request::EnablePeriodic(l) | Request::DisablePeriodic(l) | Request::OneShot(l) => {
                l.write(w, 1, MAX_SIDS)
            }
            Request::ModifyInterval(l) => l.write(w, 1, MAX_SIDS),
        })
    }
}

/// One table slot of [`HkReport`] (8 octets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HkTable {
    /// Table ID.
    pub table_id: u8,
    /// Active version.
    pub active_version: u16,
    /// CRC-32 of the active image.
    pub active_crc: u32,
    /// State of the inactive buffer.
    pub inactive_state: InactiveState,
}

/// The UGTS housekeeping structure (SID 1), fixed layout of [`HK_REPORT_LEN`] octets.
///
/// | offset | field | type |
/// |---|---|---|
/// | 0 | mode | u8 ([`Mode`]) |
/// | 1 | boot bank | u8 ([`Bank`]) |
/// | 2 | fallback boot | u8 bool |
/// | 3 | software version | u32 |
/// | 7 | image CRC-32 | u32 |
/// | 11 | TCs accepted, rejected, executed, failed | 4 × u16 (wrapping) |
/// | 19 | last failure code | u16 |
/// | 21 | FARM V(R) | u8 |
/// | 22 | FARM lockout | u8 bool |
/// | 23 | FARM lockout count | u16 |
/// | 25 | table count (0..=8) | u8 |
/// | 26 | 8 table slots | 8 × (ID u8, active version u16, active CRC-32 u32, inactive state u8) |
/// | 90 | trigger flags | u8: bit 0 CRT enabled, 1 IMT enabled, 2 inhibited by SAA, 3 in SAA; others 0 |
/// | 91 | count rate per sector (counts/s, saturating) | 8 × u16 |
/// | 107 | armed critical operation | u8 (0 = none, else [`ArmTarget`]) |
/// | 108 | arm time remaining (ms) | u32 |
/// | 112 | scheduler enabled | u8 bool |
/// | 113 | scheduler entries | u16 |
/// | 115 | uptime (s) | u32 |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HkReport {
    /// Unit mode.
    pub mode: Mode,
    /// Bank the running image was booted from.
    pub boot_bank: Bank,
    /// Whether the boot fell back to that bank because the selected one failed its check.
    pub boot_fallback: bool,
    /// Software version of the running image.
    pub sw_version: u32,
    /// CRC-32 of the running image.
    pub image_crc: u32,
    /// TCs accepted.
    pub tc_accepted: u16,
    /// TCs rejected at acceptance.
    pub tc_rejected: u16,
    /// TCs executed successfully.
    pub tc_executed: u16,
    /// TCs failed at start, progress or completion.
    pub tc_failed: u16,
    /// Last failure code reported.
    pub last_failure: FailureCode,
    /// FARM-1 receiver frame sequence number V(R).
    pub farm_vr: u8,
    /// Whether FARM-1 is in lockout.
    pub farm_lockout: bool,
    /// Number of lockouts since boot.
    pub farm_lockout_count: u16,
    /// Number of meaningful slots in `tables` (0..=8).
    pub table_count: u8,
    /// Table directory summary.
    pub tables: [HkTable; HK_TABLE_SLOTS],
    /// Count-Rate Trigger enabled.
    pub crt_enabled: bool,
    /// Image Trigger enabled.
    pub imt_enabled: bool,
    /// Triggers currently inhibited by the SAA.
    pub saa_inhibited: bool,
    /// The spacecraft is inside the SAA polygon.
    pub in_saa: bool,
    /// Count rate per detector sector, counts/s (saturating at 65 535).
    pub sector_rates: [u16; SECTORS],
    /// Armed critical operation, if any.
    pub armed: Option<ArmTarget>,
    /// Time left before the arming expires, ms.
    pub arm_remaining_ms: u32,
    /// Time-based scheduler enabled.
    pub schedule_enabled: bool,
    /// Time-tagged TCs waiting.
    pub schedule_entries: u16,
    /// Time since boot, s.
    pub uptime_s: u32,
}

impl Default for HkReport {
    fn default() -> Self {
        HkReport {
            mode: Mode::Boot,
            boot_bank: Bank::A,
            boot_fallback: false,
            sw_version: 0,
            image_crc: 0,
            tc_accepted: 0,
            tc_rejected: 0,
            tc_executed: 0,
            tc_failed: 0,
            last_failure: FailureCode::Unknown(0),
            farm_vr: 0,
            farm_lockout: false,
            farm_lockout_count: 0,
            table_count: 0,
            tables: [HkTable::default(); HK_TABLE_SLOTS],
            crt_enabled: false,
            imt_enabled: false,
            saa_inhibited: false,
            in_saa: false,
            sector_rates: [0; SECTORS],
            armed: None,
            arm_remaining_ms: 0,
            schedule_enabled: false,
            schedule_entries: 0,
            uptime_s: 0,
        }
    }
}

const FLAG_CRT: u8 = 0x01;
const FLAG_IMT: u8 = 0x02;
const FLAG_SAA_INHIBITED: u8 = 0x04;
const FLAG_IN_SAA: u8 = 0x08;

impl HkReport {
    /// Decodes the SID 1 parameters (without the SID).
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::TrailingData`], [`Error::BadValue`] for undefined mode,
    /// bank, boolean, table state, flag bits or arm target; [`Error::BadCount`] for a table
    /// count above 8.
    pub fn parse(data: &[u8]) -> Result<Self, Error> {
        parse_all(data, Self::read)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let mode = Mode::read(r)?;
        let boot_bank = Bank::read(r)?;
        let boot_fallback = r.bool("boot_fallback")?;
        let sw_version = r.u32()?;
        let image_crc = r.u32()?;
        let tc_accepted = r.u16()?;
        let tc_rejected = r.u16()?;
        let tc_executed = r.u16()?;
        let tc_failed = r.u16()?;
        let last_failure = FailureCode::from_value(r.u16()?);
        let farm_vr = r.u8()?;
        let farm_lockout = r.bool("farm_lockout")?;
        let farm_lockout_count = r.u16()?;
        let table_count = r.u8()?;
        super::wire::check_count("table_count", usize::from(table_count), 0, HK_TABLE_SLOTS)?;
        let mut tables = [HkTable::default(); HK_TABLE_SLOTS];
        for t in &mut tables {
            *t = HkTable {
                table_id: r.u8()?,
                active_version: r.u16()?,
                active_crc: r.u32()?,
                inactive_state: InactiveState::read(r)?,
            };
        }
        let flags = r.u8()?;
        if flags & !(FLAG_CRT | FLAG_IMT | FLAG_SAA_INHIBITED | FLAG_IN_SAA) != 0 {
            return Err(Error::BadValue { field: "trigger_flags", value: u32::from(flags) });
        }
        let mut sector_rates = [0u16; SECTORS];
        for s in &mut sector_rates {
            *s = r.u16()?;
        }
        let armed = match r.u8()? {
            0 => None,
            v => Some(
                ArmTarget::from_value(v)
                    .ok_or(Error::BadValue { field: "armed", value: u32::from(v) })?,
            ),
        };
        Ok(HkReport {
            mode,
            boot_bank,
            boot_fallback,
            sw_version,
            image_crc,
            tc_accepted,
            tc_rejected,
            tc_executed,
            tc_failed,
            last_failure,
            farm_vr,
            farm_lockout,
            farm_lockout_count,
            table_count,
            tables,
            crt_enabled: flags & FLAG_CRT != 0,
            imt_enabled: flags & FLAG_IMT != 0,
            saa_inhibited: flags & FLAG_SAA_INHIBITED != 0,
            in_saa: flags & FLAG_IN_SAA != 0,
            sector_rates,
            armed,
            arm_remaining_ms: r.u32()?,
            schedule_enabled: r.bool("schedule_enabled")?,
            schedule_entries: r.u16()?,
            uptime_s: r.u32()?,
        })
    }

    /// Encodes the SID 1 parameters (without the SID) into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; [`Error::BadCount`] for a table count above 8.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_with(out, HK_REPORT_LEN, |w| self.write(w))
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        super::wire::check_count("table_count", usize::from(self.table_count), 0, HK_TABLE_SLOTS)?;
        w.u8(self.mode.value())?;
        w.u8(self.boot_bank.value())?;
        w.bool(self.boot_fallback)?;
        w.u32(self.sw_version)?;
        w.u32(self.image_crc)?;
        w.u16(self.tc_accepted)?;
        w.u16(self.tc_rejected)?;
        w.u16(self.tc_executed)?;
        w.u16(self.tc_failed)?;
        w.u16(self.last_failure.value())?;
        w.u8(self.farm_vr)?;
        w.bool(self.farm_lockout)?;
        w.u16(self.farm_lockout_count)?;
        w.u8(self.table_count)?;
        for t in &self.tables {
            w.u8(t.table_id)?;
            w.u16(t.active_version)?;
            w.u32(t.active_crc)?;
            w.u8(t.inactive_state.value())?;
        }
        let mut flags = 0;
        for (set, bit) in [
            (self.crt_enabled, FLAG_CRT),
            (self.imt_enabled, FLAG_IMT),
            (self.saa_inhibited, FLAG_SAA_INHIBITED),
            (self.in_saa, FLAG_IN_SAA),
        ] {
            if set {
                flags |= bit;
            }
        }
        w.u8(flags)?;
        for s in &self.sector_rates {
            w.u16(*s)?;
        }
        w.u8(self.armed.map_or(0, ArmTarget::value))?;
        w.u32(self.arm_remaining_ms)?;
        w.bool(self.schedule_enabled)?;
        w.u16(self.schedule_entries)?;
        w.u32(self.uptime_s)
    }

    /// Every parameter by name with its value as `f64`, in layout order, for limit checking
    /// (booleans are 0/1, enumerations their wire value, an unset arm target 0). All 8 table
    /// slots are listed whatever `table_count` says.
    pub fn fields(&self) -> HkFields<'_> {
        HkFields { hk: self, index: 0 }
    }

    /// The value of the parameter called `name` (see [`HkReport::fields`]).
    pub fn field(&self, name: &str) -> Option<f64> {
        self.fields().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Every parameter name, in layout order.
    pub fn field_names() -> impl Iterator<Item = &'static str> {
        (0..FIELD_COUNT).filter_map(|i| HkReport::default().field_at(i).map(|(n, _)| n))
    }

    fn field_at(&self, i: usize) -> Option<(&'static str, f64)> {
        const SCALAR: usize = 23;
        let b = |v: bool| if v { 1.0 } else { 0.0 };
        let v = match i {
            0 => ("mode", f64::from(self.mode.value())),
            1 => ("boot_bank", f64::from(self.boot_bank.value())),
            2 => ("boot_fallback", b(self.boot_fallback)),
            3 => ("sw_version", f64::from(self.sw_version)),
            4 => ("image_crc", f64::from(self.image_crc)),
            5 => ("tc_accepted", f64::from(self.tc_accepted)),
            6 => ("tc_rejected", f64::from(self.tc_rejected)),
            7 => ("tc_executed", f64::from(self.tc_executed)),
            8 => ("tc_failed", f64::from(self.tc_failed)),
            9 => ("last_failure", f64::from(self.last_failure.value())),
            10 => ("farm_vr", f64::from(self.farm_vr)),
            11 => ("farm_lockout", b(self.farm_lockout)),
            12 => ("farm_lockout_count", f64::from(self.farm_lockout_count)),
            13 => ("table_count", f64::from(self.table_count)),
            14 => ("crt_enabled", b(self.crt_enabled)),
            15 => ("imt_enabled", b(self.imt_enabled)),
            16 => ("saa_inhibited", b(self.saa_inhibited)),
            17 => ("in_saa", b(self.in_saa)),
            18 => ("armed", f64::from(self.armed.map_or(0, ArmTarget::value))),
            19 => ("arm_remaining_ms", f64::from(self.arm_remaining_ms)),
            20 => ("schedule_enabled", b(self.schedule_enabled)),
            21 => ("schedule_entries", f64::from(self.schedule_entries)),
            22 => ("uptime_s", f64::from(self.uptime_s)),
            _ => {
                let j = i.checked_sub(SCALAR)?;
                if let Some(rate) = self.sector_rates.get(j) {
                    return Some((*SECTOR_NAMES.get(j)?, f64::from(*rate)));
                }
                let k = j.checked_sub(SECTORS)?;
                let (slot, f) = (k / 4, k % 4);
                let t = self.tables.get(slot)?;
                let name = *TABLE_FIELD_NAMES.get(slot)?.get(f)?;
                let value = match f {
                    0 => f64::from(t.table_id),
                    1 => f64::from(t.active_version),
                    2 => f64::from(t.active_crc),
                    _ => f64::from(t.inactive_state.value()),
                };
                (name, value)
            }
        };
        Some(v)
    }
}

const FIELD_COUNT: usize = 23 + SECTORS + 4 * HK_TABLE_SLOTS;

const SECTOR_NAMES: [&str; SECTORS] = [
    "rate_sector0",
    "rate_sector1",
    "rate_sector2",
    "rate_sector3",
    "rate_sector4",
    "rate_sector5",
    "rate_sector6",
    "rate_sector7",
];

macro_rules! table_names {
    ($($i:literal),*) => {
        [$([
            concat!("table", $i, "_id"),
            concat!("table", $i, "_active_version"),
            concat!("table", $i, "_active_crc"),
            concat!("table", $i, "_inactive_state"),
        ]),*]
    };
}

const TABLE_FIELD_NAMES: [[&str; 4]; HK_TABLE_SLOTS] = table_names!(0, 1, 2, 3, 4, 5, 6, 7);

/// Iterator over `(name, value)` of an [`HkReport`].
#[derive(Clone, Debug)]
pub struct HkFields<'a> {
    hk: &'a HkReport,
    index: usize,
}

impl Iterator for HkFields<'_> {
    type Item = (&'static str, f64);
    fn next(&mut self) -> Option<Self::Item> {
        let v = self.hk.field_at(self.index)?;
        self.index += 1;
        Some(v)
    }
}

/// The parameters of a 3,25 report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HousekeepingReport<'a> {
    /// SID 1, decoded.
    Ugts(HkReport),
    /// Any other SID, passed through as raw parameter octets.
    Other {
        /// Structure ID (never 1).
        sid: Sid,
        /// Parameter octets.
        data: &'a [u8],
    },
}

impl HousekeepingReport<'_> {
    /// The structure ID.
    pub fn sid(&self) -> Sid {
        match self {
            HousekeepingReport::Ugts(_) => Sid::UGTS,
            HousekeepingReport::Other { sid, .. } => *sid,
        }
    }
}

/// ST\[03\] reports.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report<'a> {
    /// 3,25: housekeeping parameter report.
    Housekeeping(HousekeepingReport<'a>),
}

impl<'a> Report<'a> {
    /// Parses the source data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`]; the errors of [`HkReport::parse`] for SID 1.
    pub fn parse(subtype: u8, data: &'a [u8]) -> Result<Self, Error> {
        if subtype != 25 {
            return Err(Error::UnknownSubtype { service: SERVICE, subtype });
        }
        parse_all(data, |r| {
            let sid = Sid(r.u16()?);
            Ok(Report::Housekeeping(if sid == Sid::UGTS {
                HousekeepingReport::Ugts(HkReport::read(r)?)
            } else {
                HousekeepingReport::Other { sid, data: r.rest() }
            }))
        })
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        25
    }

    /// Octets of source data.
    pub fn buffer_len(&self) -> usize {
        match self {
            Report::Housekeeping(HousekeepingReport::Ugts(_)) => 2 + HK_REPORT_LEN,
            Report::Housekeeping(HousekeepingReport::Other { data, .. }) => 2 + data.len(),
        }
    }

    /// Writes the source data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; [`Error::BadValue`] for [`HousekeepingReport::Other`] with
    /// SID 1 (it would not parse back).
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_with(out, self.buffer_len(), |w| match self {
            Report::Housekeeping(HousekeepingReport::Ugts(hk)) => {
                w.u16(Sid::UGTS.0)?;
                hk.write(w)
            }
            Report::Housekeeping(HousekeepingReport::Other { sid, data }) => {
                if *sid == Sid::UGTS {
                    return Err(Error::BadValue { field: "sid", value: 1 });
                }
                w.u16(sid.0)?;
                w.bytes(data)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> HkReport {
        let mut hk = HkReport {
            mode: Mode::Observation,
            boot_bank: Bank::B,
            boot_fallback: true,
            sw_version: 0x0001_0203,
            image_crc: 0xCAFE_F00D,
            tc_accepted: 10,
            tc_rejected: 1,
            tc_executed: 8,
            tc_failed: 1,
            last_failure: FailureCode::NotArmed,
            farm_vr: 42,
            farm_lockout: false,
            farm_lockout_count: 2,
            table_count: 1,
            crt_enabled: true,
            imt_enabled: false,
            saa_inhibited: true,
            in_saa: true,
            armed: Some(ArmTarget::Reset),
            arm_remaining_ms: 15_000,
            schedule_enabled: true,
            schedule_entries: 3,
            uptime_s: 3600,
            ..HkReport::default()
        };
        hk.tables[0] = HkTable {
            table_id: 3,
            active_version: 2,
            active_crc: 0x1234_5678,
            inactive_state: InactiveState::Validated,
        };
        hk.sector_rates = [500, 510, 520, 530, 540, 550, 560, 570];
        hk
    }

    fn sample_bytes() -> [u8; 2 + HK_REPORT_LEN] {
        let mut v = [0u8; 2 + HK_REPORT_LEN];
        let head: [u8; 30] = [
            0x00, 0x01, // SID 1
            0x04, 0x02, 0x01, // observation, bank B, fallback
            0x00, 0x01, 0x02, 0x03, 0xCA, 0xFE, 0xF0, 0x0D, // version, CRC
            0x00, 0x0A, 0x00, 0x01, 0x00, 0x08, 0x00, 0x01, // counters
            0x02, 0x05, // last failure not_armed
            0x2A, 0x00, 0x00, 0x02, // FARM
            0x01, // table count
            0x03, 0x00, // table 3, version high octet
        ];
        v[..30].copy_from_slice(&head);
        v[30..36].copy_from_slice(&[0x02, 0x12, 0x34, 0x56, 0x78, 0x03]);
        // slots 1..7 are zero; flags at 2 + 90
        v[92] = 0x0D;
        for (i, r) in [500u16, 510, 520, 530, 540, 550, 560, 570].iter().enumerate() {
            v[93 + 2 * i..95 + 2 * i].copy_from_slice(&r.to_be_bytes());
        }
        v[109] = 0x02;
        v[110..114].copy_from_slice(&15_000u32.to_be_bytes());
        v[114] = 1;
        v[115..117].copy_from_slice(&3u16.to_be_bytes());
        v[117..121].copy_from_slice(&3600u32.to_be_bytes());
        v
    }

    #[test]
    fn emit_and_parse_known_vector() {
        let rep = Report::Housekeeping(HousekeepingReport::Ugts(sample()));
        let mut out = [0u8; 2 + HK_REPORT_LEN];
        assert_eq!(rep.emit(&mut out).unwrap(), 121);
        assert_eq!(out, sample_bytes());
        assert_eq!(Report::parse(25, &out).unwrap(), rep);
    }

    #[test]
    fn malformed_housekeeping() {
        let v = sample_bytes();
        assert_eq!(
            Report::parse(25, &v[..120]).unwrap_err(),
            Error::Truncated { found: 120, expected: 121 }
        );
        let mut bad = v;
        bad[92] = 0x10;
        assert_eq!(
            Report::parse(25, &bad).unwrap_err(),
            Error::BadValue { field: "trigger_flags", value: 0x10 }
        );
        let mut bad = v;
        bad[2] = 0x09;
        assert_eq!(
            Report::parse(25, &bad).unwrap_err(),
            Error::BadValue { field: "mode", value: 9 }
        );
        let mut bad = v;
        bad[27] = 9;
        assert!(matches!(Report::parse(25, &bad), Err(Error::BadCount { count: 9, .. })));
        let mut long = [0u8; 122];
        long[..121].copy_from_slice(&v);
        assert!(matches!(Report::parse(25, &long), Err(Error::TrailingData { .. })));
    }

    #[test]
    fn other_sid_passes_through() {
        let r = Report::parse(25, &[0x00, 0x07, 1, 2, 3]).unwrap();
        assert_eq!(
            r,
            Report::Housekeeping(HousekeepingReport::Other { sid: Sid(7), data: &[1, 2, 3] })
        );
        let bad = Report::Housekeeping(HousekeepingReport::Other { sid: Sid(1), data: &[] });
        assert!(bad.emit(&mut [0u8; 4]).is_err());
    }

    #[test]
    fn fields_by_name() {
        let hk = sample();
        assert_eq!(hk.field("mode"), Some(4.0));
        assert_eq!(hk.field("rate_sector7"), Some(570.0));
        assert_eq!(hk.field("table0_active_crc"), Some(f64::from(0x1234_5678u32)));
        assert_eq!(hk.field("table7_inactive_state"), Some(0.0));
        assert_eq!(hk.field("armed"), Some(2.0));
        assert_eq!(hk.field("nope"), None);
        assert_eq!(hk.fields().count(), FIELD_COUNT);
        let names: std::vec::Vec<_> = HkReport::field_names().collect();
        assert_eq!(names.len(), FIELD_COUNT);
        for (i, a) in names.iter().enumerate() {
            assert!(!names[i + 1..].contains(a), "{a} twice");
        }
    }

    #[test]
    fn sid_requests() {
        let r = Request::parse(27, &[1, 0, 1]).unwrap();
        let Request::OneShot(l) = r else { panic!() };
        assert_eq!(l.iter().collect::<std::vec::Vec<_>>(), [Sid::UGTS]);
        let mut out = [0u8; 3];
        r.emit(&mut out).unwrap();
        assert_eq!(out, [1, 0, 1]);
        assert!(matches!(Request::parse(5, &[0]), Err(Error::BadCount { count: 0, .. })));
        assert!(matches!(Request::parse(6, &[9]), Err(Error::BadCount { count: 9, .. })));
        assert_eq!(
            Request::parse(5, &[2, 0, 1]).unwrap_err(),
            Error::Truncated { found: 3, expected: 5 }
        );
        assert!(matches!(Request::parse(5, &[1, 0, 1, 0]), Err(Error::TrailingData { .. })));
        let m = Request::parse(31, &[1, 0, 1, 0, 0, 0x07, 0xD0]).unwrap();
        let Request::ModifyInterval(l) = m else { panic!() };
        assert_eq!(l.iter().next().unwrap(), SidInterval { sid: Sid(1), interval_ms: 2000 });
        assert_eq!(
            Request::parse(31, &[1, 0, 1, 0, 0, 0, 0]).unwrap_err(),
            Error::BadValue { field: "interval_ms", value: 0 }
        );
        assert!(matches!(Request::parse(25, &[]), Err(Error::UnknownSubtype { .. })));
    }
}
