//! Software update of an application bank, and rollback, over a session.
//!
//! [`update`] runs, each step recorded in the [`super::evidence::Evidence`]:
//!
//! 1. **status**: one-shot housekeeping (SID 1): mode, running bank, version. The bank the unit
//!    runs from is refused (the image must go to the other bank; `rollback` or a second update
//!    moves the selection).
//! 2. **maintenance**: 6,2 loads are a maintenance activity (`safe` → `maintenance`, through
//!    `safe` from `standby`/`observation`).
//! 3. **survey**: the image is cut into chunks of [`CHUNK_LEN`] octets (8 load segments);
//!    a 6,9 check of every chunk (pipelined) tells which chunks the bank already holds. This is
//!    what makes an interrupted update resume — after a link cut, a killed bench or a unit
//!    reset, the bank keeps what was written — without any state on the ground: only the
//!    chunks whose CRC differs are sent.
//! 4. **load**: 6,2 segments of [`SEGMENT_LEN`] octets for the chunks to send, pipelined
//!    through the FOP-1 window (up to [`PIPELINE`] outstanding), each completion verified.
//! 5. **check**: every chunk checked again (6,9); a chunk that differs is sent again (at most
//!    [`MAX_ROUNDS`] rounds), then one 6,9 over the whole image must give its CRC-32.
//! 6. **spot dumps**: 6,5 dumps of the header and of two ranges picked from the image's CRC
//!    (reproducible), compared octet for octet.
//! 7. **switch**: back to `safe`; arm + select-boot-bank, arm + reset; the reset has no
//!    completion report, the boot event is its completion: `boot` (bank, version), preceded by
//!    `fallback-boot` (selected, booted) when the selected bank did not check.
//! 8. **confirm**: housekeeping again: running bank, `boot_fallback`, software version and
//!    payload CRC-32 must be those of the image.
//!
//! [`rollback`] runs steps 1, 7 and 8 towards the other bank (whose image the unit checks
//! before selecting it).

use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use onboard::image::{ImageInfo, SwVersion};
use serde_json::json;
use tc_tm::crc::crc32;
use tc_tm::pus::AckFlags;
use tc_tm::service::event::{EventId, Report as EventMsg};
use tc_tm::service::function::{Bank, Mode};
use tc_tm::service::housekeeping::{HkReport, HousekeepingReport, Report as HkMsg};
use tc_tm::service::memory::{MAX_LOAD_LEN, Report as MemMsg};
use tc_tm::service::{FailureCode, Report, Stage};

use super::evidence::{Recorder, Sent, ensure_ok, started};
use crate::session::{Session, Verdict};

/// Octets per 6,2 load segment (a round number under the 992-octet maximum).
pub const SEGMENT_LEN: usize = 992;
/// Octets per surveyed and checked chunk: 8 segments.
pub const CHUNK_LEN: usize = 8 * SEGMENT_LEN;
/// Most TCs outstanding at once.
pub const PIPELINE: usize = 60;
/// Check-and-resend rounds before giving up.
pub const MAX_ROUNDS: usize = 3;
/// How long the boot event may take after the reset was started.
const BOOT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a report may trail its TC's completion.
const REPORT_GRACE: Duration = Duration::from_millis(1500);

const _: () = assert!(SEGMENT_LEN <= MAX_LOAD_LEN);

/// The two banks.
pub fn bank_name(b: Bank) -> &'static str {
    match b {
        Bank::A => "A",
        Bank::B => "B",
    }
}

fn mem_name(b: Bank) -> &'static str {
    match b {
        Bank::B => "bank-b",
        _ => "bank-a",
    }
}

fn other(b: Bank) -> Bank {
    if b == Bank::A { Bank::B } else { Bank::A }
}

/// Software version as `1.2.0+0`.
pub fn version_text(v: u32) -> String {
    SwVersion(v).to_string()
}

/// Reads one SID 1 housekeeping report (3,27), recorded.
///
/// # Errors
/// Refusal (a unit in boot mode has no ST\[03\]), session errors, no report.
pub fn read_hk(s: &mut Session, rec: &mut Recorder, purpose: &str) -> anyhow::Result<HkReport> {
    read_hk_at(s, rec, purpose).map(|(hk, _)| hk)
}

/// As [`read_hk`], with the report's time stamp (the unit's on-board time).
///
/// # Errors
/// As [`read_hk`].
pub fn read_hk_at(
    s: &mut Session,
    rec: &mut Recorder,
    purpose: &str,
) -> anyhow::Result<(HkReport, tc_tm::pus::time::Cuc)> {
    s.clear_packets();
    let (o, r) = rec.run(s, "hk one-shot sid=1", purpose, None)?;
    if let Verdict::Failed(f) = o.verdict
        && f.stage == Stage::Acceptance
        && f.code == FailureCode::UnknownService
    {
        anyhow::bail!(
            "the unit is in boot mode (no application software runs: housekeeping refused); \
             load a bank with a lower-level procedure first"
        );
    }
    ensure_ok(&r)?;
    let deadline = Instant::now() + REPORT_GRACE;
    while let Some(p) = s.next_packet(deadline)? {
        if let Ok(Report::Housekeeping(HkMsg::Housekeeping(HousekeepingReport::Ugts(hk)))) =
            p.report()
        {
            return Ok((hk, p.time));
        }
    }
    Err(crate::cmd::exit::Exit::Unreachable
        .error("no housekeeping report (3,25) after `hk one-shot sid=1`"))
}

/// The housekeeping fields the update cares about, as JSON.
pub fn hk_json(hk: &HkReport) -> serde_json::Value {
    json!({
        "mode": hk.mode.to_string(),
        "boot_bank": bank_name(hk.boot_bank),
        "boot_fallback": hk.boot_fallback,
        "sw_version": version_text(hk.sw_version),
        "image_payload_crc32": format!("0x{:08X}", hk.image_crc),
        "schedule_enabled": hk.schedule_enabled,
        "schedule_entries": hk.schedule_entries,
        "uptime_s": hk.uptime_s,
    })
}

fn mode_path(from: Mode, to: Mode) -> Vec<Mode> {
    // Every application mode reaches safe; maintenance and standby from safe; observation
    // from standby.
    if from == to {
        return vec![];
    }
    let mut v = vec![];
    if from != Mode::Safe {
        v.push(Mode::Safe);
    }
    match to {
        Mode::Maintenance => v.push(Mode::Maintenance),
        Mode::Standby => v.push(Mode::Standby),
        Mode::Observation => v.extend([Mode::Standby, Mode::Observation]),
        _ => {}
    }
    v
}

/// Changes mode along the allowed transitions, recorded.
///
/// # Errors
/// A refused transition, session errors.
pub fn change_mode(
    s: &mut Session,
    rec: &mut Recorder,
    from: Mode,
    to: Mode,
    purpose: &str,
) -> anyhow::Result<()> {
    for m in mode_path(from, to) {
        rec.run_ok(s, &format!("function mode mode={m}"), purpose)?;
        rec.journal("mode", m.name())?;
    }
    Ok(())
}

/// Settings of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateOptions {
    /// The bank to load.
    pub bank: Bank,
    /// Select the bank and reset into it after the load (else stop after the checks).
    pub switch: bool,
}

/// Figures of an update.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UpdateFigures {
    /// Image length.
    pub image_len: usize,
    /// Chunks already right on board at the survey.
    pub chunks_already_on_board: usize,
    /// Chunks in all.
    pub chunks: usize,
    /// Image octets sent in 6,2 loads (resends included).
    pub octets_sent: usize,
    /// Chunks sent again after the check.
    pub chunks_resent: usize,
    /// Wall time of the load step.
    pub load_time: Duration,
    /// Wall time of the whole update.
    pub total_time: Duration,
}

/// How the unit came back after the reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootOutcome {
    /// The bank selected.
    pub selected: Bank,
    /// The bank booted (boot event).
    pub booted: Option<Bank>,
    /// Whether the unit reported a fallback boot.
    pub fallback: bool,
    /// The version in the boot event.
    pub version: Option<u32>,
}

fn chunks(len: usize) -> Vec<(usize, usize)> {
    (0..len.div_ceil(CHUNK_LEN)).map(|i| (i * CHUNK_LEN, ((i + 1) * CHUNK_LEN).min(len))).collect()
}

/// 6,9 over each range (pipelined); returns the CRC the unit reports per range.
fn check_ranges(
    s: &mut Session,
    rec: &mut Recorder,
    bank: Bank,
    ranges: &[(usize, usize)],
    purpose: &str,
) -> anyhow::Result<Vec<Option<u32>>> {
    s.clear_packets();
    let mut crcs: Vec<Option<u32>> = vec![None; ranges.len()];
    let mut pending: std::collections::VecDeque<Sent> = Default::default();
    let mem = if bank == Bank::B { 3 } else { 2 };
    let absorb =
        |s: &mut Session, crcs: &mut Vec<Option<u32>>, until: Instant| -> anyhow::Result<()> {
            while crcs.iter().any(Option::is_none) {
                let Some(p) = s.next_packet(until)? else { break };
                if let Ok(Report::Memory(MemMsg::Check(c))) = p.report()
                    && c.memory_id.value() == mem
                    && let Some(i) = ranges
                        .iter()
                        .position(|&(a, b)| a as u32 == c.address && (b - a) as u32 == c.length)
                    && let Some(slot) = crcs.get_mut(i)
                {
                    *slot = Some(c.crc);
                }
            }
            Ok(())
        };
    for &(a, b) in ranges {
        let text = format!("memory check mem={} addr=0x{a:X} len={}", mem_name(bank), b - a);
        let tc = super::evidence::encode(&text).map_err(anyhow::Error::msg)?;
        pending.push_back(rec.send(s, &text, &tc, purpose, None)?);
        if pending.len() >= PIPELINE
            && let Some(p) = pending.pop_front()
        {
            let (_, r) = rec.settle(s, p)?;
            ensure_ok(&r)?;
            absorb(s, &mut crcs, Instant::now())?;
        }
    }
    while let Some(p) = pending.pop_front() {
        let (_, r) = rec.settle(s, p)?;
        ensure_ok(&r)?;
        absorb(s, &mut crcs, Instant::now())?;
    }
    absorb(s, &mut crcs, Instant::now() + REPORT_GRACE)?;
    Ok(crcs)
}

/// 6,2 loads of the given chunks, pipelined; returns the octets sent.
fn load_chunks(
    s: &mut Session,
    rec: &mut Recorder,
    bank: Bank,
    image: &[u8],
    which: &[(usize, usize)],
    progress: &ProgressBar,
    purpose: &str,
) -> anyhow::Result<usize> {
    let mut pending: std::collections::VecDeque<(Sent, usize)> = Default::default();
    let mut sent = 0usize;
    for &(a, b) in which {
        let mut off = a;
        while off < b {
            let end = (off + SEGMENT_LEN).min(b);
            let data = image.get(off..end).unwrap_or(&[]);
            let text = format!(
                "memory load mem={} addr=0x{off:X} data={}",
                mem_name(bank),
                hex::encode_upper(data)
            );
            let tc = super::evidence::encode(&text).map_err(anyhow::Error::msg)?;
            pending.push_back((rec.send(s, &text, &tc, purpose, None)?, data.len()));
            sent += data.len();
            off = end;
            if pending.len() >= PIPELINE
                && let Some((p, n)) = pending.pop_front()
            {
                let (_, r) = rec.settle(s, p)?;
                ensure_ok(&r)?;
                progress.inc(n as u64);
            }
        }
    }
    while let Some((p, n)) = pending.pop_front() {
        let (_, r) = rec.settle(s, p)?;
        ensure_ok(&r)?;
        progress.inc(n as u64);
    }
    Ok(sent)
}

fn spot_ranges(image: &[u8]) -> Vec<(usize, usize)> {
    let len = image.len();
    let n = 512.min(len);
    let mut v = vec![(0, n)];
    let h = crc32(image) as usize;
    for k in [h % len.max(1), (h >> 11) % len.max(1)] {
        let a = k.min(len.saturating_sub(n));
        if !v.contains(&(a, a + n)) {
            v.push((a, a + n));
        }
    }
    v
}

fn dump_range(
    s: &mut Session,
    rec: &mut Recorder,
    bank: Bank,
    (a, b): (usize, usize),
) -> anyhow::Result<Vec<u8>> {
    s.clear_packets();
    let text = format!("memory dump mem={} addr=0x{a:X} len={}", mem_name(bank), b - a);
    let (_, r) = rec.run(s, &text, "spot dump: compare the bank with the image", None)?;
    ensure_ok(&r)?;
    let mut out = vec![0u8; b - a];
    let mut have = vec![false; b - a];
    let deadline = Instant::now() + REPORT_GRACE + Duration::from_secs(2);
    while have.iter().any(|h| !h) && Instant::now() < deadline {
        let Some(p) = s.next_packet(deadline)? else { break };
        if let Ok(Report::Memory(MemMsg::Dump(d))) = p.report() {
            let Some(off) = (d.address as usize).checked_sub(a) else { continue };
            let end = off + d.data.len();
            if let (Some(dst), Some(h)) = (out.get_mut(off..end), have.get_mut(off..end)) {
                dst.copy_from_slice(d.data);
                h.fill(true);
            }
        }
    }
    if have.iter().any(|h| !h) {
        anyhow::bail!("spot dump of 0x{a:X}..0x{b:X}: not every octet arrived");
    }
    Ok(out)
}

/// Loads `image` into a bank (steps 1–6 of the module documentation) and, with
/// `opts.switch`, boots it (7–8). Every step goes into `rec.evidence`.
///
/// # Errors
/// The first failing step, explained (the evidence holds what happened until then).
pub fn update(
    s: &mut Session,
    rec: &mut Recorder,
    image: &[u8],
    info: &ImageInfo,
    opts: UpdateOptions,
    progress: &ProgressBar,
) -> anyhow::Result<UpdateFigures> {
    let t0 = Instant::now();
    let bank = opts.bank;
    let mut fig = UpdateFigures { image_len: image.len(), ..UpdateFigures::default() };

    let st = started();
    let hk = read_hk(s, rec, "status: running bank, mode and version before the update")?;
    rec.evidence.section("before", hk_json(&hk));
    if hk.boot_bank == bank {
        let detail = format!(
            "refused: the unit runs from bank {} — load the other bank (--bank {}), then \
             switch to it",
            bank_name(bank),
            bank_name(other(bank))
        );
        rec.evidence.step("status", st, false, detail.clone(), hk_json(&hk));
        return Err(crate::cmd::exit::Exit::Usage.error(detail));
    }
    rec.evidence.step(
        "status",
        st,
        true,
        format!(
            "running {} from bank {} in {}; loading bank {}{}",
            version_text(hk.sw_version),
            bank_name(hk.boot_bank),
            hk.mode,
            bank_name(bank),
            if hk.boot_fallback {
                format!(
                    ". NOTE: the unit fell back to bank {} at its last boot: the selected bank's \
                     image did not check (the survey below finds the damage)",
                    bank_name(hk.boot_bank)
                )
            } else {
                String::new()
            }
        ),
        hk_json(&hk),
    );

    let st = started();
    rec.begin_journal(hk.mode)?;
    change_mode(s, rec, hk.mode, Mode::Maintenance, "memory loads need maintenance mode")?;
    rec.evidence.step("maintenance", st, true, format!("{} → maintenance", hk.mode), json!({}));

    if let Err(e) = load_and_check(s, rec, image, bank, &mut fig, progress) {
        progress.abandon();
        // Leave the unit as it was found (best effort: the link may be what failed).
        let st = started();
        let back = if hk.mode == Mode::Maintenance { Mode::Safe } else { hk.mode };
        let restored =
            change_mode(s, rec, Mode::Maintenance, back, "restore the mode after the failure");
        rec.evidence.step(
            "restore",
            st,
            restored.is_ok(),
            match &restored {
                Ok(()) => format!("maintenance → {back}; run the same update again to resume"),
                Err(r) => format!("could not restore the mode: {r:#}"),
            },
            json!({}),
        );
        return Err(e);
    }

    let st = started();
    change_mode(s, rec, Mode::Maintenance, Mode::Safe, "leave maintenance before switching")?;
    rec.evidence.step("safe", st, true, "maintenance → safe", json!({}));
    if opts.switch {
        let boot = switch_bank(s, rec, bank)?;
        confirm(s, rec, bank, Some(info), &boot)?;
    }
    fig.total_time = t0.elapsed();
    Ok(fig)
}

/// Steps 4–7 of [`update`]: survey, load, check and resend, spot dumps.
fn load_and_check(
    s: &mut Session,
    rec: &mut Recorder,
    image: &[u8],
    bank: Bank,
    fig: &mut UpdateFigures,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    let all = chunks(image.len());
    fig.chunks = all.len();
    let st = started();
    let crcs = check_ranges(s, rec, bank, &all, "survey: which chunks the bank already holds")?;
    let todo: Vec<(usize, usize)> = all
        .iter()
        .zip(&crcs)
        .filter(|((a, b), c)| **c != Some(crc32(image.get(*a..*b).unwrap_or(&[]))))
        .map(|(r, _)| *r)
        .collect();
    fig.chunks_already_on_board = all.len() - todo.len();
    rec.evidence.step(
        "survey",
        st,
        true,
        format!(
            "{} of {} chunks of {CHUNK_LEN} octets already on board; {} to send",
            fig.chunks_already_on_board,
            all.len(),
            todo.len()
        ),
        json!({"chunks": all.len(), "on_board": fig.chunks_already_on_board,
               "to_send": todo.iter().map(|r| format!("0x{:X}..0x{:X}", r.0, r.1)).collect::<Vec<_>>()}),
    );

    let st = started();
    let to_send: usize = todo.iter().map(|(a, b)| b - a).sum();
    progress.set_length(to_send as u64);
    progress.set_position(0);
    progress.set_message(format!("loading bank {}", bank_name(bank)));
    rec.journal("loading", mem_name(bank))?;
    let t_load = Instant::now();
    fig.octets_sent = load_chunks(s, rec, bank, image, &todo, progress, "load image segment")?;
    fig.load_time = t_load.elapsed();
    rec.evidence.step(
        "load",
        st,
        true,
        format!(
            "{} octets in {} segments in {:.1} s ({:.0} octets/s)",
            fig.octets_sent,
            fig.octets_sent.div_ceil(SEGMENT_LEN),
            fig.load_time.as_secs_f64(),
            fig.octets_sent as f64 / fig.load_time.as_secs_f64().max(1e-9)
        ),
        json!({"octets": fig.octets_sent, "seconds": fig.load_time.as_secs_f64()}),
    );

    let st = started();
    let mut round = 0;
    loop {
        let crcs = check_ranges(s, rec, bank, &all, "check the written range on board")?;
        let bad: Vec<(usize, usize)> = all
            .iter()
            .zip(&crcs)
            .filter(|((a, b), c)| **c != Some(crc32(image.get(*a..*b).unwrap_or(&[]))))
            .map(|(r, _)| *r)
            .collect();
        if bad.is_empty() {
            break;
        }
        round += 1;
        if round > MAX_ROUNDS {
            rec.evidence.step("check", st, false, "chunks still differ", json!({"bad": bad.len()}));
            anyhow::bail!(
                "{} chunks of bank {} still differ from the image after {MAX_ROUNDS} resends: \
                 the memory may be faulty",
                bad.len(),
                bank_name(bank)
            );
        }
        fig.chunks_resent += bad.len();
        fig.octets_sent +=
            load_chunks(s, rec, bank, image, &bad, progress, "resend a chunk that did not check")?;
    }
    let whole = check_ranges(s, rec, bank, &[(0, image.len())], "check the whole image")?;
    let want = crc32(image);
    if whole.first().copied().flatten() != Some(want) {
        rec.evidence.step("check", st, false, "whole-image CRC differs", json!({}));
        anyhow::bail!(
            "the whole-image check of bank {} does not give 0x{want:08X}",
            bank_name(bank)
        );
    }
    rec.evidence.step(
        "check",
        st,
        true,
        format!(
            "every chunk and the whole image (CRC-32 0x{want:08X}) check on board; {} chunks resent",
            fig.chunks_resent
        ),
        json!({"image_crc32": format!("0x{want:08X}"), "chunks_resent": fig.chunks_resent}),
    );
    progress.finish_and_clear();

    let st = started();
    let spots = spot_ranges(image);
    for &r in &spots {
        let got = dump_range(s, rec, bank, r)?;
        if image.get(r.0..r.1) != Some(got.as_slice()) {
            rec.evidence.step("spot dumps", st, false, format!("0x{:X}.. differs", r.0), json!({}));
            anyhow::bail!(
                "spot dump of bank {} at 0x{:X} differs from the image",
                bank_name(bank),
                r.0
            );
        }
    }
    rec.evidence.step(
        "spot dumps",
        st,
        true,
        format!("{} ranges dumped and equal to the image", spots.len()),
        json!(spots.iter().map(|r| format!("0x{:X}..0x{:X}", r.0, r.1)).collect::<Vec<_>>()),
    );

    Ok(())
}

/// Arms and selects `bank`, arms and resets, waits for the boot event.
///
/// # Errors
/// A refused TC, no boot event.
pub fn switch_bank(s: &mut Session, rec: &mut Recorder, bank: Bank) -> anyhow::Result<BootOutcome> {
    let st = started();
    rec.journal("select", bank_name(bank))?;
    rec.run_ok(s, "function arm target=select-boot-bank", "arm the boot-bank selection")?;
    rec.run_ok(
        s,
        &format!("function select-boot-bank bank={}", bank_name(bank)),
        "select the bank for the next boot (the unit checks its image first)",
    )?;
    rec.evidence.step("select", st, true, format!("bank {} selected", bank_name(bank)), json!({}));
    reset(s, rec, bank)
}

/// Arms and resets; waits for the boot event. `selected` is the bank the unit should boot.
///
/// # Errors
/// A refused TC, no boot event.
pub fn reset(s: &mut Session, rec: &mut Recorder, selected: Bank) -> anyhow::Result<BootOutcome> {
    let st = started();
    rec.journal("reset", bank_name(selected))?;
    rec.run_ok(s, "function arm target=reset", "arm the reset")?;
    s.clear_packets();
    // No completion report: the boot event is the completion.
    let (_, r) =
        rec.run(s, "function reset", "reset: boot the selected bank", AckFlags::new(0b1100))?;
    ensure_ok(&r)?;
    let mut out = BootOutcome { selected, booted: None, fallback: false, version: None };
    let deadline = Instant::now() + BOOT_TIMEOUT;
    while out.booted.is_none() && Instant::now() < deadline {
        let Some(p) = s.next_packet(deadline)? else { break };
        if let Ok(Report::Event(EventMsg::Event(e))) = p.report() {
            match e.id {
                EventId::FallbackBoot => out.fallback = true,
                EventId::Boot => {
                    out.booted = e.aux.first().and_then(|&b| Bank::from_value(b));
                    out.version = e
                        .aux
                        .get(1..5)
                        .and_then(|v| <[u8; 4]>::try_from(v).ok())
                        .map(u32::from_be_bytes);
                }
                _ => {}
            }
        }
    }
    let data = json!({
        "selected": bank_name(selected),
        "booted": out.booted.map(bank_name),
        "fallback": out.fallback,
        "version": out.version.map(version_text),
    });
    match out.booted {
        None => {
            rec.evidence.step("reset", st, false, "no boot event", data);
            return Err(crate::cmd::exit::Exit::Unreachable.error(format!(
                "no boot event within {} s of the reset: check the unit (`eic-bench tm listen`)",
                BOOT_TIMEOUT.as_secs()
            )));
        }
        Some(b) if out.fallback || b != selected => {
            let detail = format!(
                "FALLBACK: bank {} was selected but did not check at boot; the unit booted bank \
                 {} instead",
                bank_name(selected),
                bank_name(b)
            );
            rec.evidence.step("reset", st, false, detail, data);
        }
        Some(b) => {
            rec.evidence.step(
                "reset",
                st,
                true,
                format!(
                    "booted bank {} ({})",
                    bank_name(b),
                    out.version.map(version_text).unwrap_or_default()
                ),
                data,
            );
        }
    }
    Ok(out)
}

/// Confirms from housekeeping that the unit runs `bank` (and the image of `info`, if given).
///
/// # Errors
/// A fallback, another bank, version or CRC.
pub fn confirm(
    s: &mut Session,
    rec: &mut Recorder,
    bank: Bank,
    info: Option<&ImageInfo>,
    boot: &BootOutcome,
) -> anyhow::Result<HkReport> {
    let st = started();
    let hk = read_hk(s, rec, "confirm the running bank, version and CRC")?;
    rec.evidence.section("after", hk_json(&hk));
    let mut problems = Vec::new();
    if boot.fallback || hk.boot_fallback || hk.boot_bank != bank {
        problems.push(format!(
            "the unit FELL BACK to bank {}: bank {} was selected but its image did not check at \
             boot. Run the update of bank {} again (its check finds and resends the damaged \
             range), or `eic-bench rollback` to select the running bank",
            bank_name(hk.boot_bank),
            bank_name(bank),
            bank_name(bank)
        ));
    }
    if let Some(i) = info {
        if hk.boot_bank == bank && hk.sw_version != i.sw_version.0 {
            problems.push(format!(
                "running version {} is not the image's {}",
                version_text(hk.sw_version),
                i.sw_version
            ));
        }
        if hk.boot_bank == bank && hk.image_crc != i.payload_crc {
            problems.push(format!(
                "running payload CRC-32 0x{:08X} is not the image's 0x{:08X}",
                hk.image_crc, i.payload_crc
            ));
        }
    }
    let ok = problems.is_empty();
    let detail = if ok {
        format!(
            "running {} from bank {}, payload CRC-32 0x{:08X}",
            version_text(hk.sw_version),
            bank_name(hk.boot_bank),
            hk.image_crc
        )
    } else {
        problems.join("; ")
    };
    rec.evidence.step("confirm", st, ok, detail.clone(), hk_json(&hk));
    if !ok {
        anyhow::bail!(detail);
    }
    Ok(hk)
}

/// Boots the other bank than the running one (steps 1, 7, 8).
///
/// # Errors
/// As [`switch_bank`] and [`confirm`]; the unit refuses to select a bank whose image does not
/// check (`bank_image_invalid`).
pub fn rollback(s: &mut Session, rec: &mut Recorder) -> anyhow::Result<HkReport> {
    let st = started();
    let hk = read_hk(s, rec, "status before the rollback")?;
    rec.evidence.section("before", hk_json(&hk));
    let target = other(hk.boot_bank);
    rec.begin_journal(hk.mode)?;
    rec.evidence.step(
        "status",
        st,
        true,
        format!(
            "running {} from bank {}; rolling back to bank {}",
            version_text(hk.sw_version),
            bank_name(hk.boot_bank),
            bank_name(target)
        ),
        hk_json(&hk),
    );
    let boot = switch_bank(s, rec, target)?;
    confirm(s, rec, target, None, &boot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_image() {
        let c = chunks(CHUNK_LEN * 2 + 5);
        assert_eq!(
            c,
            vec![(0, CHUNK_LEN), (CHUNK_LEN, 2 * CHUNK_LEN), (2 * CHUNK_LEN, 2 * CHUNK_LEN + 5)]
        );
        assert!(chunks(0).is_empty());
    }

    #[test]
    fn mode_paths() {
        assert_eq!(
            mode_path(Mode::Observation, Mode::Maintenance),
            vec![Mode::Safe, Mode::Maintenance]
        );
        assert_eq!(
            mode_path(Mode::Maintenance, Mode::Observation),
            vec![Mode::Safe, Mode::Standby, Mode::Observation]
        );
        assert!(mode_path(Mode::Safe, Mode::Safe).is_empty());
    }

    #[test]
    fn spot_ranges_inside_the_image() {
        let img: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        for (a, b) in spot_ranges(&img) {
            assert!(a < b && b <= img.len());
        }
        assert_eq!(spot_ranges(&img[..100])[0], (0, 100));
    }
}
