//! The readable request syntax of the bench: text → application data, and back.
//!
//! ```text
//! request := service verb { " " argument }
//! argument := key "=" value
//! ```
//! Numbers are decimal or `0x` hexadecimal; octet strings are hexadecimal without separators
//! (`data=DEADBEEF`); lists are comma-separated without spaces (`sid=1,2`). Names are ASCII
//! case-insensitive. Arguments come in the order shown. [`parse_request`] writes the
//! application data into a caller-provided buffer (no heap, runs on board) and then checks it
//! with [`Request::parse`], so whatever it accepts is a valid request. `Display` on
//! [`Request`] prints the canonical form, which parses back to the same request.
//!
//! | text | TC |
//! |---|---|
//! | `test are-you-alive` | 17,1 |
//! | `hk enable sid=1` / `hk disable sid=1` / `hk one-shot sid=1,2` | 3,5 / 3,6 / 3,27 |
//! | `hk interval 1=2000 2=500` (SID=ms …) | 3,31 |
//! | `event enable id=saa-entry,0x0100` / `event disable id=…` | 5,5 / 5,6 |
//! | `memory load mem=patch addr=0x0 data=DEADBEEF [crc=0x…]` (CRC-32 computed if absent) | 6,2 |
//! | `memory dump mem=bank-a addr=0x100 len=64` | 6,5 |
//! | `memory check mem=bank-b addr=0x0 len=65536` | 6,9 |
//! | `function arm target=reset` (`select-boot-bank`, `reset`, `write-running-bank`) | 8,1 |
//! | `function select-boot-bank bank=B` / `function reset` / `function clear-counters` | 8,1 |
//! | `function trigger-enable which=crt` / `function trigger-disable which=both` | 8,1 |
//! | `function mode mode=observation` | 8,1 |
//! | `schedule enable` / `schedule disable` / `schedule reset` | 11,1 / 11,2 / 11,3 |
//! | `schedule summary` | 11,17 (answered by 11,13) |
//! | `schedule insert at=1000:0 tc=1A40C0… [at=… tc=…]` (CUC coarse:fine, whole TC packet) | 11,4 |
//! | `param get id=hk_period_ms,0x0002` | 20,1 |
//! | `param set hk_period_ms=2000 alert_min_snr=7.5 crt_enabled=false` | 20,3 |
//! | `table load id=3 version=2 total=256 offset=0 data=…` | 200,1 |
//! | `table validate id=3 crc=0x1234ABCD` / `table activate id=3` / `table abort id=3` | 200,2 / 3 / 4 |
//! | `table dump id=3 buffer=inactive` / `table directory` | 200,5 / 200,7 |
//!
//! Memory IDs: `eeprom`, `bank-a`, `bank-b`, `patch` or a number. Event IDs and parameter IDs:
//! registry name or number. Parameter values follow the registry type (`2000`, `-5`, `7.5`,
//! `true`); `0x…` gives the raw 4 octets for any parameter.

use core::fmt;

use nom::IResult;
use nom::bytes::complete::{tag_no_case, take_while1};
use nom::character::complete::{digit1, hex_digit1, space0, space1};

use super::event::{self, EventId};
use super::function::{self, ArmTarget, Bank, Function, Mode, TriggerSelect};
use super::housekeeping;
use super::memory::{self, MemoryId};
use super::parameter::{self, ParamDef, ParamId, ParamType};
use super::schedule;
use super::table::{self, BufferSel};
use super::test;
use super::wire::{Hex, Writer};
use super::{Error, Request};

/// One form of the request syntax: what the bench's `tc requests` and `tc send --help` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Form {
    /// The form, arguments as `key=WHAT` (`[...]` optional, `...` repeatable).
    pub syntax: &'static str,
    /// A complete request of this form that [`parse_request`] accepts.
    pub example: &'static str,
    /// Service type of the TC it gives.
    pub service: u8,
    /// Message subtype of the TC it gives.
    pub subtype: u8,
    /// What the TC asks of the unit.
    pub what: &'static str,
}

const fn form(
    syntax: &'static str,
    example: &'static str,
    service: u8,
    subtype: u8,
    what: &'static str,
) -> Form {
    Form { syntax, example, service, subtype, what }
}

/// Every form of the request syntax, in service order (each example is checked by a test to
/// parse into its TC).
pub const FORMS: &[Form] = &[
    form("test are-you-alive", "test are-you-alive", 17, 1, "connection test"),
    form("hk enable sid=SID[,SID...]", "hk enable sid=1", 3, 5, "start periodic reports"),
    form("hk disable sid=SID[,SID...]", "hk disable sid=1", 3, 6, "stop periodic reports"),
    form("hk one-shot sid=SID[,SID...]", "hk one-shot sid=1", 3, 27, "one report now"),
    form("hk interval SID=MS [SID=MS...]", "hk interval 1=2000", 3, 31, "report periods"),
    form("event enable id=EVENT[,EVENT...]", "event enable id=saa-entry", 5, 5, "report events"),
    form("event disable id=EVENT[,EVENT...]", "event disable id=saa-entry", 5, 6, "mask events"),
    form(
        "memory load mem=MEMORY addr=ADDRESS data=HEX [crc=CRC32]",
        "memory load mem=patch addr=0x0 data=DEADBEEF",
        6,
        2,
        "write octets (CRC-32 computed when absent)",
    ),
    form(
        "memory dump mem=MEMORY addr=ADDRESS len=OCTETS",
        "memory dump mem=bank-a addr=0x100 len=64",
        6,
        5,
        "read octets back",
    ),
    form(
        "memory check mem=MEMORY addr=ADDRESS len=OCTETS",
        "memory check mem=bank-b addr=0x0 len=65536",
        6,
        9,
        "CRC-32 of a range",
    ),
    form(
        "function arm target=ARM_TARGET",
        "function arm target=reset",
        8,
        1,
        "arm a critical function",
    ),
    form(
        "function select-boot-bank bank=BANK",
        "function select-boot-bank bank=B",
        8,
        1,
        "boot this bank next (critical: arm first)",
    ),
    form("function reset", "function reset", 8, 1, "reset the unit (critical: arm first)"),
    form(
        "function trigger-enable which=TRIGGER",
        "function trigger-enable which=crt",
        8,
        1,
        "enable a trigger",
    ),
    form(
        "function trigger-disable which=TRIGGER",
        "function trigger-disable which=both",
        8,
        1,
        "disable a trigger",
    ),
    form("function mode mode=MODE", "function mode mode=maintenance", 8, 1, "change mode"),
    form("function clear-counters", "function clear-counters", 8, 1, "clear the TC counters"),
    form("schedule enable", "schedule enable", 11, 1, "release scheduled TCs"),
    form("schedule disable", "schedule disable", 11, 2, "hold scheduled TCs"),
    form("schedule reset", "schedule reset", 11, 3, "delete every scheduled TC"),
    form(
        "schedule insert at=COARSE:FINE tc=PACKET_HEX [at=... tc=...]",
        "schedule insert at=1000:0 tc=1A40C000000629110100017655",
        11,
        4,
        "schedule whole TC packets at on-board times (CUC)",
    ),
    form(
        "param get id=PARAMETER[,PARAMETER...]",
        "param get id=hk_period_ms",
        20,
        1,
        "report parameter values",
    ),
    form(
        "param set PARAMETER=VALUE [PARAMETER=VALUE...]",
        "param set hk_period_ms=2000",
        20,
        3,
        "change parameters (VALUE per the parameter's type, or 0x... raw)",
    ),
    form(
        "table load id=TABLE version=N total=OCTETS offset=OCTETS data=HEX",
        "table load id=3 version=2 total=4 offset=0 data=01020304",
        200,
        1,
        "load a segment into the inactive buffer (maintenance mode)",
    ),
    form(
        "table validate id=TABLE crc=CRC32",
        "table validate id=3 crc=0x1234ABCD",
        200,
        2,
        "check the loaded image",
    ),
    form("table activate id=TABLE", "table activate id=3", 200, 3, "swap buffers"),
    form("table abort id=TABLE", "table abort id=3", 200, 4, "discard a load"),
    form(
        "table dump id=TABLE buffer=BUFFER",
        "table dump id=3 buffer=active",
        200,
        5,
        "dump a table image",
    ),
    form("table directory", "table directory", 200, 7, "list the tables"),
];

/// Why a text request was rejected: where, and what was expected there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextError {
    /// Column (1-based, in characters) where parsing stopped.
    pub column: usize,
    /// What was expected at that column.
    pub expected: &'static str,
    /// The service-layer error, when the text was well formed but the request is not valid
    /// (count above the maximum, segment outside its image, output buffer too small ...).
    pub cause: Option<Error>,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: expected {}", self.column, self.expected)?;
        if let Some(cause) = self.cause {
            write!(f, " ({cause})")?;
        }
        Ok(())
    }
}

impl core::error::Error for TextError {}

type Res<'t, O> = IResult<&'t str, O, nom::error::Error<&'t str>>;

/// A position in the text with nom-driven token readers.
struct Cursor<'t> {
    text: &'t str,
    rest: &'t str,
}

impl<'t> Cursor<'t> {
    fn column(&self) -> usize {
        let consumed = self.text.len().saturating_sub(self.rest.len());
        self.text.get(..consumed).map_or(consumed, |t| t.chars().count()) + 1
    }

    fn err<T>(&self, expected: &'static str) -> Result<T, TextError> {
        Err(TextError { column: self.column(), expected, cause: None })
    }

    fn fail(&self, expected: &'static str, cause: Error) -> TextError {
        TextError { column: self.column(), expected, cause: Some(cause) }
    }

    fn run<O>(
        &mut self,
        expected: &'static str,
        p: impl FnOnce(&'t str) -> Res<'t, O>,
    ) -> Result<O, TextError> {
        match p(self.rest) {
            Ok((rest, o)) => {
                self.rest = rest;
                Ok(o)
            }
            Err(_) => self.err(expected),
        }
    }

    /// A name token: letters, digits, `-`, `_`.
    fn word(&mut self, expected: &'static str) -> Result<&'t str, TextError> {
        self.run(expected, |i| {
            take_while1(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_')(i)
        })
    }

    /// A value token: anything up to white space or a comma.
    fn token(&mut self, expected: &'static str) -> Result<&'t str, TextError> {
        self.run(expected, |i| take_while1(|c: char| !c.is_whitespace() && c != ',')(i))
    }

    fn sep(&mut self, expected: &'static str) -> Result<(), TextError> {
        self.run(expected, space1).map(|_| ())
    }

    /// White space, then `key` (which includes its `=`).
    fn key(&mut self, key: &'static str) -> Result<(), TextError> {
        self.sep(key)?;
        self.run(key, |i| tag_no_case(key)(i)).map(|_| ())
    }

    /// Whether only white space is left.
    fn at_end(&self) -> bool {
        self.rest.trim_start().is_empty()
    }

    /// Whether the next argument starts with `key`.
    fn next_is(&self, key: &str) -> bool {
        let t = self.rest.trim_start();
        t.len() < self.rest.len() && t.get(..key.len()).is_some_and(|k| k.eq_ignore_ascii_case(key))
    }

    fn end(&mut self) -> Result<(), TextError> {
        let _ = self.run("end of request", space0)?;
        if self.rest.is_empty() { Ok(()) } else { self.err("end of request") }
    }

    fn comma(&mut self) -> bool {
        match self.rest.strip_prefix(',') {
            Some(r) => {
                self.rest = r;
                true
            }
            None => false,
        }
    }

    /// A decimal or `0x` hexadecimal number up to `max`.
    fn number(&mut self, max: u64, expected: &'static str) -> Result<u64, TextError> {
        let start = Cursor { text: self.text, rest: self.rest };
        let value = if let Some(hex) =
            self.rest.strip_prefix("0x").or_else(|| self.rest.strip_prefix("0X"))
        {
            self.rest = hex;
            let digits = self.run(expected, hex_digit1)?;
            u64::from_str_radix(digits, 16).ok()
        } else {
            let digits = self.run(expected, digit1)?;
            digits.parse::<u64>().ok()
        };
        match value {
            Some(v) if v <= max => Ok(v),
            _ => start.err(expected),
        }
    }

    fn u8(&mut self, expected: &'static str) -> Result<u8, TextError> {
        self.number(u64::from(u8::MAX), expected).map(|v| v as u8)
    }

    fn u16(&mut self, expected: &'static str) -> Result<u16, TextError> {
        self.number(u64::from(u16::MAX), expected).map(|v| v as u16)
    }

    fn u32(&mut self, expected: &'static str) -> Result<u32, TextError> {
        self.number(u64::from(u32::MAX), expected).map(|v| v as u32)
    }

    /// Hexadecimal octets, written to `w`; returns how many.
    fn hex_bytes(&mut self, w: &mut Writer<'_>) -> Result<usize, TextError> {
        const EXPECTED: &str = "an even number of hex digits";
        let start = Cursor { text: self.text, rest: self.rest };
        let digits = self.run(EXPECTED, hex_digit1)?;
        if digits.len() % 2 != 0 {
            return start.err(EXPECTED);
        }
        let from = w.pos();
        for pair in digits.as_bytes().chunks_exact(2) {
            let b = pair.iter().fold(0u8, |acc, d| (acc << 4) | nibble(*d));
            w.u8(b).map_err(|e| start.fail("fewer octets (output buffer full)", e))?;
        }
        Ok(w.pos() - from)
    }

    /// A named enumeration value.
    fn named<T>(
        &mut self,
        expected: &'static str,
        from_name: impl Fn(&str) -> Option<T>,
    ) -> Result<T, TextError> {
        let start = Cursor { text: self.text, rest: self.rest };
        let w = self.word(expected)?;
        from_name(w).map_or_else(|| start.err(expected), Ok)
    }

    /// A name from a registry or a number.
    fn name_or_number<T>(
        &mut self,
        expected: &'static str,
        max: u64,
        from_name: impl Fn(&str) -> Option<T>,
        from_number: impl Fn(u64) -> T,
    ) -> Result<T, TextError> {
        if self.rest.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            self.number(max, expected).map(from_number)
        } else {
            self.named(expected, from_name)
        }
    }
}

/// Value of a hexadecimal digit (the caller has checked it is one).
fn nibble(d: u8) -> u8 {
    match d {
        b'0'..=b'9' => d - b'0',
        b'a'..=b'f' => d - b'a' + 10,
        b'A'..=b'F' => d - b'A' + 10,
        _ => 0,
    }
}

/// Writes through `w`, turning a full buffer into a [`TextError`] at the cursor.
fn put(c: &Cursor<'_>, r: Result<(), Error>) -> Result<(), TextError> {
    r.map_err(|e| c.fail("a shorter request (output buffer full)", e))
}

/// Writes `N` and a comma-separated list of items; `item` writes one.
fn list<'t>(
    c: &mut Cursor<'t>,
    w: &mut Writer<'_>,
    mut item: impl FnMut(&mut Cursor<'t>, &mut Writer<'_>) -> Result<(), TextError>,
) -> Result<(), TextError> {
    let at = w.pos();
    put(c, w.u8(0))?;
    let mut n = 0usize;
    loop {
        item(c, w)?;
        n += 1;
        if !c.comma() {
            break;
        }
    }
    let n = u8::try_from(n).map_err(|_| {
        c.fail("at most 255 items", Error::BadCount { field: "items", count: n, max: 255 })
    })?;
    put(c, w.patch_u8(at, n))
}

/// Writes `N` and repeated `key=value` arguments until the end of the text.
fn pairs<'t>(
    c: &mut Cursor<'t>,
    w: &mut Writer<'_>,
    expected: &'static str,
    mut item: impl FnMut(&mut Cursor<'t>, &mut Writer<'_>) -> Result<(), TextError>,
) -> Result<(), TextError> {
    let at = w.pos();
    put(c, w.u8(0))?;
    let mut n = 0usize;
    while !c.at_end() || n == 0 {
        c.sep(expected)?;
        item(c, w)?;
        n += 1;
    }
    let n = u8::try_from(n).map_err(|_| {
        c.fail("at most 255 items", Error::BadCount { field: "items", count: n, max: 255 })
    })?;
    put(c, w.patch_u8(at, n))
}

/// Parses one parameter value of `def` (or a raw `0x` value) into its 4 octets.
fn param_value(c: &mut Cursor<'_>, def: Option<&ParamDef>) -> Result<u32, TextError> {
    let raw_hex = c.rest.starts_with("0x") || c.rest.starts_with("0X");
    let Some(def) = def.filter(|_| !raw_hex) else {
        return c.u32("a value (decimal, or 0x and up to 8 hex digits)");
    };
    match def.ty {
        ParamType::U32 => c.u32("an unsigned integer"),
        ParamType::I32 => {
            let start = Cursor { text: c.text, rest: c.rest };
            let t = c.token("a signed integer")?;
            t.parse::<i32>().map(|v| v as u32).or_else(|_| start.err("a signed integer"))
        }
        ParamType::F32 => {
            let start = Cursor { text: c.text, rest: c.rest };
            let t = c.token("a finite number")?;
            match t.parse::<f32>() {
                Ok(v) if v.is_finite() => Ok(v.to_bits()),
                _ => start.err("a finite number"),
            }
        }
        ParamType::Bool => {
            let start = Cursor { text: c.text, rest: c.rest };
            match c.token("true or false")? {
                t if t.eq_ignore_ascii_case("true") => Ok(1),
                t if t.eq_ignore_ascii_case("false") => Ok(0),
                _ => start.err("true or false"),
            }
        }
    }
}

fn param_id(c: &mut Cursor<'_>) -> Result<ParamId, TextError> {
    c.name_or_number(
        "a parameter name or number",
        u64::from(u16::MAX),
        |n| parameter::by_name(n).map(|d| d.id),
        |v| ParamId(v as u16),
    )
}

fn memory_id(c: &mut Cursor<'_>) -> Result<MemoryId, TextError> {
    c.key("mem=")?;
    c.name_or_number("eeprom, bank-a, bank-b, patch or a number", 0xFF, MemoryId::from_name, |v| {
        MemoryId::from_value(v as u8)
    })
}

/// Parses a text request and writes its application data into `app_data_out`.
///
/// Returns `(service, subtype, length)`.
///
/// # Errors
/// [`TextError`] with the column and what was expected; its `cause` carries the service
/// error when the text is well formed but the request is not valid or does not fit.
///
/// # Panics
/// Never.
pub fn parse_request(text: &str, app_data_out: &mut [u8]) -> Result<(u8, u8, usize), TextError> {
    let mut c = Cursor { text, rest: text };
    let _ = c.run("a service", space0)?;
    let mut w = Writer::new(app_data_out);
    let service_start = c.column();
    let service = c.word("a service: test, hk, event, memory, function, schedule, param, table")?;
    c.sep("a verb")?;
    let verb_col = Cursor { text: c.text, rest: c.rest };
    let verb = c.word("a verb")?;
    let is = |s: &str| verb.eq_ignore_ascii_case(s);
    let bad_verb = |expected| verb_col.err(expected);
    let (svc, sub) = match service.to_ascii_lowercase_fixed().as_str() {
        "test" => match () {
            () if is("are-you-alive") => (test::SERVICE, 1),
            () if is("query") => {
                c.key("id=")?;
                list(&mut c, &mut w, |c, w| {
                    let v = c.u32("a request ID (8 hex digits, e.g. 0x1A40C001)")?;
                    put(c, w.u32(v))
                })?;
                (test::SERVICE, 128)
            }
            () => return bad_verb("are-you-alive or query"),
        },
        "hk" => {
            let sub = match () {
                () if is("enable") => 5,
                () if is("disable") => 6,
                () if is("one-shot") => 27,
                () if is("interval") => 31,
                () => return bad_verb("enable, disable, one-shot or interval"),
            };
            if sub == 31 {
                pairs(&mut c, &mut w, "SID=milliseconds", |c, w| {
                    let sid = c.u16("a SID")?;
                    c.run("=", |i| tag_no_case("=")(i))?;
                    let ms = c.u32("an interval in ms")?;
                    put(c, w.u16(sid))?;
                    put(c, w.u32(ms))
                })?;
            } else {
                c.key("sid=")?;
                list(&mut c, &mut w, |c, w| {
                    let v = c.u16("a SID")?;
                    put(c, w.u16(v))
                })?;
            }
            (housekeeping::SERVICE, sub)
        }
        "event" => {
            let sub = match () {
                () if is("enable") => 5,
                () if is("disable") => 6,
                () => return bad_verb("enable or disable"),
            };
            c.key("id=")?;
            list(&mut c, &mut w, |c, w| {
                let id = c.name_or_number(
                    "an event name or number",
                    u64::from(u16::MAX),
                    EventId::from_name,
                    |v| EventId::from_value(v as u16),
                )?;
                put(c, w.u16(id.value()))
            })?;
            (event::SERVICE, sub)
        }
        "memory" => {
            let sub = match () {
                () if is("load") => 2,
                () if is("dump") => 5,
                () if is("check") => 9,
                () => return bad_verb("load, dump or check"),
            };
            let mem = memory_id(&mut c)?;
            put(&c, w.u8(mem.value()))?;
            c.key("addr=")?;
            let addr = c.u32("an address")?;
            put(&c, w.u32(addr))?;
            match sub {
                2 => {
                    c.key("data=")?;
                    let len_at = w.pos();
                    put(&c, w.u16(0))?;
                    let from = w.pos();
                    let n = c.hex_bytes(&mut w)?;
                    let crc = crate::crc::crc32(w.written(from));
                    let n = u16::try_from(n).map_err(|_| {
                        c.fail(
                            "fewer octets",
                            Error::BadCount {
                                field: "load_length",
                                count: n,
                                max: memory::MAX_LOAD_LEN,
                            },
                        )
                    })?;
                    put(&c, w.patch_u16(len_at, n))?;
                    let crc = if c.next_is("crc=") {
                        c.key("crc=")?;
                        c.u32("a CRC-32")?
                    } else {
                        crc
                    };
                    put(&c, w.u32(crc))?;
                }
                5 => {
                    c.key("len=")?;
                    let len = c.u16("a length up to 65535")?;
                    put(&c, w.u16(len))?;
                }
                _ => {
                    c.key("len=")?;
                    let len = c.u32("a length")?;
                    put(&c, w.u32(len))?;
                }
            }
            (memory::SERVICE, sub)
        }
        "function" => {
            let f = match () {
                () if is("arm") => {
                    c.key("target=")?;
                    Function::Arm(c.named(
                        "select-boot-bank, reset or write-running-bank",
                        ArmTarget::from_name,
                    )?)
                }
                () if is("select-boot-bank") => {
                    c.key("bank=")?;
                    Function::SelectBootBank(c.named("A or B", Bank::from_name)?)
                }
                () if is("reset") => Function::Reset,
                () if is("trigger-enable") => {
                    c.key("which=")?;
                    Function::TriggerEnable(c.named("crt, imt or both", TriggerSelect::from_name)?)
                }
                () if is("trigger-disable") => {
                    c.key("which=")?;
                    Function::TriggerDisable(c.named("crt, imt or both", TriggerSelect::from_name)?)
                }
                () if is("mode") => {
                    c.key("mode=")?;
                    Function::ChangeMode(c.named(
                        "boot, safe, standby, observation or maintenance",
                        Mode::from_name,
                    )?)
                }
                () if is("clear-counters") => Function::ClearCounters,
                () => {
                    return bad_verb(
                        "arm, select-boot-bank, reset, trigger-enable, trigger-disable, mode or \
                         clear-counters",
                    );
                }
            };
            let req = function::Request::Perform(f);
            let mut tmp = [0u8; 2];
            let n = req.emit(&mut tmp).map_err(|e| c.fail("a valid function", e))?;
            put(&c, w.bytes(tmp.get(..n).unwrap_or_default()))?;
            (function::SERVICE, 1)
        }
        "schedule" => {
            let sub = match () {
                () if is("enable") => 1,
                () if is("disable") => 2,
                () if is("reset") => 3,
                () if is("insert") => 4,
                () if is("summary") => 17,
                () => return bad_verb("enable, disable, reset, insert or summary"),
            };
            if sub == 4 {
                let at = w.pos();
                put(&c, w.u8(0))?;
                let mut n = 0usize;
                while !c.at_end() || n == 0 {
                    c.key("at=")?;
                    let coarse = c.u32("CUC coarse seconds")?;
                    c.run(": between coarse and fine time", |i| tag_no_case(":")(i))?;
                    let fine = c.u16("CUC fine time (0..=65535)")?;
                    put(&c, w.u32(coarse))?;
                    put(&c, w.u16(fine))?;
                    c.key("tc=")?;
                    c.hex_bytes(&mut w)?;
                    n += 1;
                }
                let n = u8::try_from(n).map_err(|_| {
                    c.fail(
                        "fewer time-tagged TCs",
                        Error::BadCount {
                            field: "time_tagged_tcs",
                            count: n,
                            max: schedule::MAX_INSERT,
                        },
                    )
                })?;
                put(&c, w.patch_u8(at, n))?;
            }
            (schedule::SERVICE, sub)
        }
        "param" => {
            let sub = match () {
                () if is("get") => 1,
                () if is("set") => 3,
                () => return bad_verb("get or set"),
            };
            if sub == 1 {
                c.key("id=")?;
                list(&mut c, &mut w, |c, w| {
                    let id = param_id(c)?;
                    put(c, w.u16(id.0))
                })?;
            } else {
                pairs(&mut c, &mut w, "name=value", |c, w| {
                    let id = param_id(c)?;
                    c.run("=", |i| tag_no_case("=")(i))?;
                    let raw = param_value(c, id.def())?;
                    put(c, w.u16(id.0))?;
                    put(c, w.u32(raw))
                })?;
            }
            (parameter::SERVICE, sub)
        }
        "table" => {
            let sub = match () {
                () if is("load") => 1,
                () if is("validate") => 2,
                () if is("activate") => 3,
                () if is("abort") => 4,
                () if is("dump") => 5,
                () if is("directory") => 7,
                () if is("dump-range") => 9,
                () => {
                    return bad_verb(
                        "load, validate, activate, abort, dump, dump-range or directory",
                    );
                }
            };
            if sub != 7 {
                c.key("id=")?;
                let id = c.u8("a table ID (0..=255)")?;
                put(&c, w.u8(id))?;
            }
            match sub {
                1 => {
                    c.key("version=")?;
                    let v = c.u16("a version (0..=65535)")?;
                    c.key("total=")?;
                    let total = c.u32("the image length")?;
                    c.key("offset=")?;
                    let offset = c.u32("the segment offset")?;
                    put(&c, w.u16(v))?;
                    put(&c, w.u32(total))?;
                    put(&c, w.u32(offset))?;
                    c.key("data=")?;
                    let len_at = w.pos();
                    put(&c, w.u16(0))?;
                    let n = c.hex_bytes(&mut w)?;
                    let n = u16::try_from(n).map_err(|_| {
                        c.fail(
                            "fewer octets",
                            Error::BadCount {
                                field: "segment_length",
                                count: n,
                                max: table::MAX_LOAD_SEGMENT_LEN,
                            },
                        )
                    })?;
                    put(&c, w.patch_u16(len_at, n))?;
                }
                2 => {
                    c.key("crc=")?;
                    let crc = c.u32("a CRC-32")?;
                    put(&c, w.u32(crc))?;
                }
                5 | 9 => {
                    c.key("buffer=")?;
                    let b = c.named("active or inactive", BufferSel::from_name)?;
                    put(&c, w.u8(b.value()))?;
                    if sub == 9 {
                        c.key("ranges=")?;
                        list(&mut c, &mut w, |c, w| {
                            let offset = c.u32("a range OFFSET+LENGTH")?;
                            c.run("+", |i| tag_no_case("+")(i))?;
                            let len = c.u32("a length of 1 octet at least")?;
                            put(c, w.u32(offset))?;
                            put(c, w.u32(len))
                        })?;
                    }
                }
                _ => {}
            }
            (table::SERVICE, sub)
        }
        _ => {
            return Err(TextError {
                column: service_start,
                expected: "a service: test, hk, event, memory, function, schedule, param, table",
                cause: None,
            });
        }
    };
    c.end()?;
    let len = w.pos();
    let data = app_data_out.get(..len).unwrap_or_default();
    Request::parse(svc, sub, data).map_err(|e| TextError {
        column: text.chars().count() + 1,
        expected: "a valid request",
        cause: Some(e),
    })?;
    Ok((svc, sub, len))
}

/// ASCII lower-casing into a small fixed buffer (service words are short).
trait LowerFixed {
    fn to_ascii_lowercase_fixed(&self) -> LowerBuf;
}

/// A lower-cased short word; longer words become empty (and match nothing).
struct LowerBuf {
    buf: [u8; 16],
    len: usize,
}

impl LowerBuf {
    fn as_str(&self) -> &str {
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

impl LowerFixed for str {
    fn to_ascii_lowercase_fixed(&self) -> LowerBuf {
        let mut out = LowerBuf { buf: [0; 16], len: 0 };
        if let Some(dst) = out.buf.get_mut(..self.len()) {
            dst.copy_from_slice(self.as_bytes());
            dst.make_ascii_lowercase();
            out.len = self.len();
        }
        out
    }
}

/// Writes `sep`-separated items.
fn join<T>(
    f: &mut fmt::Formatter<'_>,
    items: impl Iterator<Item = T>,
    sep: &str,
    mut item: impl FnMut(&mut fmt::Formatter<'_>, T) -> fmt::Result,
) -> fmt::Result {
    for (i, t) in items.enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        item(f, t)?;
    }
    Ok(())
}

/// The text of a parameter value: typed when that round-trips exactly, raw hex otherwise.
struct ParamText(ParamId, u32);

impl fmt::Display for ParamText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.def().and_then(|d| d.decode(self.1)) {
            Some(v) => write!(f, "{v}"),
            None => write!(f, "0x{:X}", self.1),
        }
    }
}

impl fmt::Display for Request<'_> {
    /// The canonical text form, which [`parse_request`] reads back to the same request.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use housekeeping::Request as Hk;
        match self {
            Request::Test(test::Request::AreYouAlive) => f.write_str("test are-you-alive"),
            Request::Test(test::Request::QueryStatus(ids)) => {
                f.write_str("test query id=")?;
                for (i, id) in ids.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "," };
                    write!(f, "{sep}0x{:04X}{:04X}", id.packet_id, id.seq_ctrl)?;
                }
                Ok(())
            }
            Request::Housekeeping(r) => {
                let verb = match r {
                    Hk::EnablePeriodic(_) => "enable",
                    Hk::DisablePeriodic(_) => "disable",
                    Hk::OneShot(_) => "one-shot",
                    Hk::ModifyInterval(l) => {
                        f.write_str("hk interval")?;
                        for i in l {
                            write!(f, " {}={}", i.sid.0, i.interval_ms)?;
                        }
                        return Ok(());
                    }
                };
                write!(f, "hk {verb} sid=")?;
                match r {
                    Hk::EnablePeriodic(l) | Hk::DisablePeriodic(l) | Hk::OneShot(l) => {
                        join(f, l.iter(), ",", |f, s| write!(f, "{}", s.0))
                    }
                    Hk::ModifyInterval(_) => Ok(()),
                }
            }
            Request::Event(r) => {
                let verb = if r.subtype() == 5 { "enable" } else { "disable" };
                write!(f, "event {verb} id=")?;
                join(f, r.ids().iter(), ",", |f, e| write!(f, "{e}"))
            }
            Request::Memory(r) => match r {
                memory::Request::Load(l) => {
                    write!(
                        f,
                        "memory load mem={} addr=0x{:X} data={}",
                        l.memory_id,
                        l.address,
                        Hex(l.data)
                    )?;
                    if !l.crc_matches() {
                        write!(f, " crc=0x{:08X}", l.crc)?;
                    }
                    Ok(())
                }
                memory::Request::Dump(d) => write!(
                    f,
                    "memory dump mem={} addr=0x{:X} len={}",
                    d.memory_id, d.address, d.length
                ),
                memory::Request::Check(c) => write!(
                    f,
                    "memory check mem={} addr=0x{:X} len={}",
                    c.memory_id, c.address, c.length
                ),
            },
            Request::Function(function::Request::Perform(func)) => {
                write!(f, "function {}", func.id())?;
                match func {
                    Function::Arm(t) => write!(f, " target={t}"),
                    Function::SelectBootBank(b) => write!(f, " bank={b}"),
                    Function::TriggerEnable(t) | Function::TriggerDisable(t) => {
                        write!(f, " which={t}")
                    }
                    Function::ChangeMode(m) => write!(f, " mode={m}"),
                    Function::Reset | Function::ClearCounters => Ok(()),
                }
            }
            Request::Schedule(r) => match r {
                schedule::Request::Enable => f.write_str("schedule enable"),
                schedule::Request::Disable => f.write_str("schedule disable"),
                schedule::Request::Reset => f.write_str("schedule reset"),
                schedule::Request::SummaryReport => f.write_str("schedule summary"),
                schedule::Request::Insert(l) => {
                    f.write_str("schedule insert")?;
                    for item in l {
                        write!(f, " at={} tc={}", item.release, Hex(item.packet))?;
                    }
                    Ok(())
                }
            },
            Request::Parameter(r) => match r {
                parameter::Request::Report(l) => {
                    f.write_str("param get id=")?;
                    join(f, l.iter(), ",", |f, id| write!(f, "{id}"))
                }
                parameter::Request::Set(l) => {
                    f.write_str("param set")?;
                    for e in l {
                        write!(f, " {}={}", e.id, ParamText(e.id, e.raw))?;
                    }
                    Ok(())
                }
            },
            Request::Table(r) => match *r {
                table::Request::LoadSegment(s) => write!(
                    f,
                    "table load id={} version={} total={} offset={} data={}",
                    s.table_id,
                    s.version,
                    s.total_len,
                    s.offset,
                    Hex(s.data)
                ),
                table::Request::Validate { table_id, expected_crc } => {
                    write!(f, "table validate id={table_id} crc=0x{expected_crc:08X}")
                }
                table::Request::Activate { table_id } => write!(f, "table activate id={table_id}"),
                table::Request::Abort { table_id } => write!(f, "table abort id={table_id}"),
                table::Request::Dump { table_id, buffer } => {
                    write!(f, "table dump id={table_id} buffer={buffer}")
                }
                table::Request::ReportDirectory => f.write_str("table directory"),
                table::Request::DumpRanges { table_id, buffer, ranges } => {
                    write!(f, "table dump-range id={table_id} buffer={buffer} ranges=")?;
                    for (i, r) in ranges.iter().enumerate() {
                        let sep = if i == 0 { "" } else { "," };
                        write!(f, "{sep}{}+{}", r.offset, r.length)?;
                    }
                    Ok(())
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    fn round_trip(text: &str) -> (u8, u8, std::vec::Vec<u8>) {
        let mut buf = [0u8; 1100];
        let (s, t, n) = parse_request(text, &mut buf).unwrap_or_else(|e| panic!("{text}: {e}"));
        let req = Request::parse(s, t, &buf[..n]).unwrap();
        assert_eq!(req.to_string(), text, "canonical text");
        (s, t, buf[..n].to_vec())
    }

    #[test]
    fn every_form_example_parses_into_its_tc() {
        let mut buf = [0u8; crate::service::MAX_TC_APP_DATA_LEN];
        for f in FORMS {
            let (service, subtype, _) =
                parse_request(f.example, &mut buf).unwrap_or_else(|e| panic!("{}: {e}", f.example));
            assert_eq!((service, subtype), (f.service, f.subtype), "{}", f.example);
            let (sv, verb) = (f.syntax.split(' ').next(), f.syntax.split(' ').nth(1));
            assert_eq!(sv, f.example.split(' ').next(), "{}", f.syntax);
            assert_eq!(verb, f.example.split(' ').nth(1), "{}", f.syntax);
        }
    }

    #[test]
    fn bench_examples() {
        assert_eq!(round_trip("test are-you-alive"), (17, 1, std::vec![]));
        assert_eq!(round_trip("function select-boot-bank bank=B"), (8, 1, std::vec![2, 2]));
        assert_eq!(round_trip("function arm target=reset"), (8, 1, std::vec![1, 2]));
        assert_eq!(round_trip("hk one-shot sid=1"), (3, 27, std::vec![1, 0, 1]));
        assert_eq!(
            round_trip("memory dump mem=bank-a addr=0x100 len=64"),
            (6, 5, std::vec![2, 0, 0, 1, 0, 0, 64])
        );
        assert_eq!(
            round_trip("memory load mem=patch addr=0x0 data=DEADBEEF"),
            (6, 2, std::vec![4, 0, 0, 0, 0, 0, 4, 0xDE, 0xAD, 0xBE, 0xEF, 0x7C, 0x9C, 0xA3, 0x5A])
        );
        assert_eq!(
            round_trip("param set hk_period_ms=2000"),
            (20, 3, std::vec![1, 0, 1, 0, 0, 0x07, 0xD0])
        );
        assert_eq!(round_trip("table activate id=3"), (200, 3, std::vec![3]));
        assert_eq!(
            round_trip("event disable id=saa-entry,0x1234"),
            (5, 6, std::vec![2, 0, 0x32, 0x12, 0x34])
        );
    }

    #[test]
    fn every_request_has_a_text() {
        for t in [
            "hk enable sid=1,2",
            "hk disable sid=1",
            "hk interval 1=2000 7=500",
            "event enable id=boot",
            "memory load mem=0x09 addr=0x10 data=00 crc=0x00000001",
            "memory check mem=bank-b addr=0x0 len=65536",
            "function reset",
            "function trigger-enable which=crt",
            "function trigger-disable which=both",
            "function mode mode=maintenance",
            "function clear-counters",
            "function arm target=write-running-bank",
            "schedule enable",
            "schedule disable",
            "schedule reset",
            "schedule summary",
            "schedule insert at=100:32768 tc=1A40C00100062F110100011234 at=5:0 tc=1A40C00100062F110100011234",
            "param get id=hk_period_ms,0x0099",
            "param set alert_min_snr=7.5 crt_enabled=false time_correction_ms=-5 0x0099=0x5",
            "table load id=3 version=2 total=256 offset=253 data=AABBCC",
            "table validate id=3 crc=0x1234ABCD",
            "table abort id=3",
            "table dump id=3 buffer=inactive",
            "table dump-range id=3 buffer=active ranges=990+1990,5000+1",
            "test query id=0x1A40C001,0x1A40C002",
            "table directory",
        ] {
            round_trip(t);
        }
    }

    #[test]
    fn lenient_input_is_canonicalised() {
        let mut buf = [0u8; 64];
        let (s, t, n) =
            parse_request("  MEMORY Dump mem=BANK-A addr=256 len=0x40  ", &mut buf).unwrap();
        let req = Request::parse(s, t, &buf[..n]).unwrap();
        assert_eq!(req.to_string(), "memory dump mem=bank-a addr=0x100 len=64");
    }

    #[test]
    fn errors_name_column_and_expectation() {
        let mut buf = [0u8; 64];
        let e = parse_request("memory dump mem=bank-c addr=0 len=1", &mut buf).unwrap_err();
        assert_eq!(e.column, 17);
        assert_eq!(e.expected, "eeprom, bank-a, bank-b, patch or a number");
        let e = parse_request("memory dump mem=bank-a len=1", &mut buf).unwrap_err();
        assert_eq!((e.column, e.expected), (24, "addr="));
        let e = parse_request("function explode", &mut buf).unwrap_err();
        assert_eq!(e.column, 10);
        let e = parse_request("rocket launch", &mut buf).unwrap_err();
        assert_eq!(e.column, 1);
        let e = parse_request("memory load mem=patch addr=0 data=ABC", &mut buf).unwrap_err();
        assert_eq!((e.column, e.expected), (35, "an even number of hex digits"));
        let e = parse_request("table activate id=256", &mut buf).unwrap_err();
        assert_eq!(e.column, 19);
        let e = parse_request("memory dump mem=é", &mut buf).unwrap_err();
        assert_eq!(e.column, 17);
        let e = parse_request("test are-you-alive now", &mut buf).unwrap_err();
        assert_eq!(e.expected, "end of request");
        let e = parse_request("param set hk_period_ms=fast", &mut buf).unwrap_err();
        assert_eq!((e.column, e.expected), (24, "an unsigned integer"));
        // Well formed but not a valid request: the service error is the cause.
        let e = parse_request("memory dump mem=patch addr=0 len=0", &mut buf).unwrap_err();
        assert_eq!(e.cause, Some(Error::BadValue { field: "length", value: 0 }));
        let e = parse_request("hk one-shot sid=1,2,3,4,5,6,7,8,9", &mut buf).unwrap_err();
        assert!(matches!(e.cause, Some(Error::BadCount { count: 9, .. })));
        let mut tiny = [0u8; 4];
        let e = parse_request("memory dump mem=patch addr=0 len=1", &mut tiny).unwrap_err();
        assert!(matches!(e.cause, Some(Error::BufferTooSmall { .. })));
        assert!(std::format!("{e}").starts_with("column "));
    }
}
