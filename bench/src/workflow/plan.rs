//! Workplans → minimal TC stacks (format in `docs/workplan.md`).
//!
//! A workplan is a TOML file: a reference table directory (`profile`) and slots, each with a
//! UTC start, a name, and what its configuration changes (another profile, pixels to mask, a
//! band list, a CRT or alert threshold, catalogue thresholds, on-board parameters).
//!
//! **Configurations.** Slots are taken in start order. Slot *k*'s tables are its own `profile`
//! if it has one, else slot *k−1*'s (the workplan's `profile` for the first), with the slot's
//! overrides applied; a table whose content changed keeps its version if the profile gave a
//! new one, else gets the previous version + 1. So the configurations depend only on the
//! workplan, never on the unit: planning twice gives the same images. Every slot's set is
//! validated with the unit's validators (`tables` crate); any problem refuses the workplan
//! naming the slot, table, entry and field, and nothing is written. Parameters accumulate:
//! a parameter set in a slot stays until a later slot sets it again.
//!
//! **Timeline.** Slots whose start is past (on the unit's clock when planning against a
//! device) are due now: the latest of them gives the configuration to establish at once (the
//! earlier ones are superseded and reported as such). Each later slot is a point in time. For
//! each table, the images along the timeline — the unit's, then each point's — give the
//! changes: only a point where the image differs from the one before loads that table.
//!
//! **Stack.** Loads and validations go now, activations at their point's time:
//! - now: `abort` of any inactive buffer in use that is not the wanted load; `maintenance`;
//!   the first change of every table loaded and validated (bands first); the activations due
//!   now; the mode the slot asks for (else the unit's) restored; parameter sets due now;
//! - at each later point (ST\[11\] time-tagged): `safe` if needed, `maintenance`, the
//!   activations, then — **where the same table changes again at a later point** — that next
//!   load and validation, time-tagged right after this activation (the activation is what
//!   frees the inactive buffer; ties release in insertion order), the mode restored, the
//!   parameter sets.
//!
//! Time-tagged loads use segments of [`TIMED_SEGMENT_LEN`] octets (an 11,4 carries a whole TC
//! packet within its 1003 octets). When the time-tagged part exceeds the unit's schedule
//! (64 TCs, 16 KiB) the workplan is refused with that reason: plan and run the later slot
//! after the earlier one has been activated (a pixel table, 108 KiB, can never be
//! time-tagged; its second change in one workplan is always refused).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tables::pixels::PixelStatus;
use tables::set::TableSet;
use tables::{TableId, diff};
use tc_tm::crc::crc32;
use tc_tm::service::function::Mode;
use tc_tm::service::parameter;
use tc_tm::service::table::{DirectoryEntry, InactiveState, MAX_LOAD_SEGMENT_LEN};

use super::evidence::{encode, utc_text};
use super::stack::{PACKET_OVERHEAD, SCHEDULE_ENTRIES, SCHEDULE_POOL, Stack};
use crate::provision::LOAD_ORDER;

/// Octets per time-tagged table load segment (the embedded packet must fit an 11,4).
pub const TIMED_SEGMENT_LEN: usize = 960;

/// A workplan file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workplan {
    /// The reference table directory (relative to the workplan file).
    pub profile: String,
    /// Mode to leave the unit in after each slot's activations (default: the unit's mode).
    #[serde(default)]
    pub mode: Option<String>,
    /// The slots.
    #[serde(rename = "slot", default)]
    pub slots: Vec<Slot>,
}

/// One slot of a workplan.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    /// Name (used in the stack and in errors).
    pub name: String,
    /// Start, UTC (`2026-12-01T10:00:00Z`, TOML date-time or string).
    pub start: toml::Value,
    /// Another table directory as this slot's base (relative to the workplan file).
    #[serde(default)]
    pub profile: Option<String>,
    /// Mode after this slot's activations.
    #[serde(default)]
    pub mode: Option<String>,
    /// Pixel status changes.
    #[serde(default)]
    pub pixels: Option<PixelOverrides>,
    /// A new elementary band list: `[[low_kev, high_kev], ...]`.
    #[serde(default)]
    pub bands: Option<Vec<[f32; 2]>>,
    /// CRT changes.
    #[serde(default)]
    pub crt: Option<CrtOverrides>,
    /// Alert policy changes.
    #[serde(default)]
    pub alert: Option<AlertOverrides>,
    /// Catalogue source threshold changes.
    #[serde(default)]
    pub catalog: Vec<CatalogOverride>,
    /// On-board parameters (ST\[20\]): name = value.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
}

/// Pixel changes: DETNUMs (0..6399) per new status.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelOverrides {
    /// Pixels to mask as noisy.
    #[serde(default)]
    pub noisy: Vec<u16>,
    /// Pixels to declare dead.
    #[serde(default)]
    pub dead: Vec<u16>,
    /// Pixels back in use.
    #[serde(default)]
    pub ok: Vec<u16>,
}

/// CRT changes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrtOverrides {
    /// Image SNR threshold, σ.
    #[serde(default)]
    pub image_snr: Option<f32>,
}

/// Alert policy changes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertOverrides {
    /// Minimum SNR to issue an alert, σ.
    #[serde(default)]
    pub min_alert_snr: Option<f32>,
    /// Minimum SNR to request a slew, σ.
    #[serde(default)]
    pub min_slew_snr: Option<f32>,
    /// Request slews on catalogue sources.
    #[serde(default)]
    pub slew_on_catalog: Option<bool>,
}

/// A catalogue source's flux thresholds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogOverride {
    /// The source: its name or its ID.
    pub source: toml::Value,
    /// New thresholds per band, ph/cm²/s.
    #[serde(default)]
    pub flux_threshold: Option<Vec<f32>>,
    /// Multiply every threshold by this factor (e.g. 3.0 during a pointed observation of it).
    #[serde(default)]
    pub scale: Option<f32>,
}

/// What the plan compares against: the unit as pulled, or a directory.
#[derive(Debug, Clone)]
pub struct UnitState {
    /// The active tables.
    pub set: TableSet,
    /// The directory (inactive buffers), if known.
    pub directory: Vec<DirectoryEntry>,
    /// The unit's mode.
    pub mode: Mode,
    /// The unit's time, Unix seconds.
    pub now_unix: i64,
    /// Raw values of the parameters the workplan names, if read from the unit.
    pub params: BTreeMap<String, u32>,
}

/// Why a workplan is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError(pub String);

impl PlanError {
    /// Marks a file that could not be read (a usage error, not invalid content).
    fn unreadable(self) -> Self {
        PlanError(format!("{UNREADABLE}{}", self.0))
    }

    /// Whether the workplan file could not be read at all.
    pub fn is_unreadable(&self) -> bool {
        self.0.starts_with(UNREADABLE)
    }
}

const UNREADABLE: &str = "cannot read the workplan: ";

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlanError {}

fn perr<T>(m: impl Into<String>) -> Result<T, PlanError> {
    Err(PlanError(m.into()))
}

/// A workplan read from a file, its paths resolved.
#[derive(Debug, Clone)]
pub struct LoadedWorkplan {
    /// The file.
    pub path: PathBuf,
    /// The content.
    pub plan: Workplan,
}

impl LoadedWorkplan {
    /// Reads a workplan file.
    ///
    /// # Errors
    /// Unreadable file, TOML errors with line and column.
    pub fn load(path: &Path) -> Result<Self, PlanError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PlanError(format!("reading {}: {e}", path.display())).unreadable())?;
        let plan: Workplan =
            toml::from_str(&text).map_err(|e| PlanError(format!("{}: {e}", path.display())))?;
        Ok(LoadedWorkplan { path: path.to_path_buf(), plan })
    }

    fn resolve(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.path.parent().unwrap_or(Path::new(".")).join(p)
        }
    }

    /// The parameter names the workplan sets (to read from the unit).
    pub fn param_names(&self) -> Vec<String> {
        let mut v: Vec<String> =
            self.plan.slots.iter().flat_map(|s| s.params.keys().cloned()).collect();
        v.sort();
        v.dedup();
        v
    }
}

fn start_unix(slot: &Slot) -> Result<i64, PlanError> {
    let text = match &slot.start {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(d) => d.to_string(),
        other => other.to_string(),
    };
    super::evidence::parse_utc(&text)
        .map_err(|e| PlanError(format!("slot {:?}: start: {e}", slot.name)))
}

fn param_text(name: &str, v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::Integer(i) => Some(format!("{name}={i}")),
        toml::Value::Float(f) => Some(format!("{name}={f}")),
        toml::Value::Boolean(b) => Some(format!("{name}={b}")),
        toml::Value::String(s) => Some(format!("{name}={s}")),
        _ => None,
    }
}

/// The raw value a `param set NAME=VALUE` carries, checked against the registry.
fn param_raw(slot: &str, name: &str, v: &toml::Value) -> Result<(String, u32), PlanError> {
    let def = parameter::by_name(name).ok_or_else(|| {
        PlanError(format!(
            "slot {slot:?}: parameter {name:?} is not in the registry (docs/icd/services.md)"
        ))
    })?;
    let item = param_text(def.name, v).ok_or_else(|| {
        PlanError(format!("slot {slot:?}: parameter {name}: value must be a number or boolean"))
    })?;
    let e = encode(&format!("param set {item}"))
        .map_err(|m| PlanError(format!("slot {slot:?}: parameter {name}: {m}")))?;
    let raw = e
        .data
        .get(3..7)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| PlanError(format!("slot {slot:?}: parameter {name}: cannot encode")))?;
    parameter::check(def.id, raw).map_err(|c| {
        PlanError(format!(
            "slot {slot:?}: parameter {name} = {v}: {} ({}..{})",
            c.name(),
            def.min,
            def.max
        ))
    })?;
    Ok((item, raw))
}

fn apply(slot: &Slot, set: &mut TableSet) -> Result<(), PlanError> {
    let n = &slot.name;
    if let Some(p) = &slot.pixels {
        for (ids, status) in
            [(&p.noisy, PixelStatus::Noisy), (&p.dead, PixelStatus::Dead), (&p.ok, PixelStatus::Ok)]
        {
            for &id in ids {
                match set.pixels.entries.get_mut(usize::from(id)) {
                    Some(e) => e.status = status,
                    None => {
                        return perr(format!(
                            "slot {n:?}: pixels: DETNUM {id} is not a pixel (0..6399)"
                        ));
                    }
                }
            }
        }
    }
    if let Some(b) = &slot.bands {
        set.bands.bands.clear();
        for [lo, hi] in b {
            set.bands
                .bands
                .push(tables::bands::Band { low_kev: *lo, high_kev: *hi })
                .map_err(|_| PlanError(format!("slot {n:?}: bands: more than the table holds")))?;
        }
    }
    if let Some(c) = &slot.crt
        && let Some(v) = c.image_snr
    {
        set.crt.image_snr = v;
    }
    if let Some(a) = &slot.alert {
        if let Some(v) = a.min_alert_snr {
            set.alert.min_alert_snr = v;
        }
        if let Some(v) = a.min_slew_snr {
            set.alert.min_slew_snr = v;
        }
        if let Some(v) = a.slew_on_catalog {
            set.alert.slew_on_catalog = v;
        }
    }
    for c in &slot.catalog {
        let src = set.catalog.sources.iter_mut().find(|s| match &c.source {
            toml::Value::Integer(i) => i64::from(s.id) == *i,
            toml::Value::String(name) => s.name.as_str().eq_ignore_ascii_case(name),
            _ => false,
        });
        let Some(src) = src else {
            return perr(format!("slot {n:?}: catalog: no source {} in the catalogue", c.source));
        };
        if let Some(t) = &c.flux_threshold {
            src.flux_threshold.clear();
            for v in t {
                src.flux_threshold
                    .push(*v)
                    .map_err(|_| PlanError(format!("slot {n:?}: catalog: too many thresholds")))?;
            }
        }
        if let Some(k) = c.scale {
            for v in src.flux_threshold.iter_mut() {
                *v *= k;
            }
        }
    }
    Ok(())
}

fn set_version(set: &mut TableSet, t: TableId, v: u16) {
    match t {
        TableId::Pixels => set.pixels.version = v,
        TableId::Bands => set.bands.version = v,
        TableId::Crt => set.crt.version = v,
        TableId::Imt => set.imt.version = v,
        TableId::Catalog => set.catalog.version = v,
        TableId::Saa => set.saa.version = v,
        TableId::Alert => set.alert.version = v,
    }
}

/// Each slot's configuration (tables and cumulative parameters), in start order.
#[derive(Debug, Clone)]
pub struct SlotConfig {
    /// Slot name.
    pub name: String,
    /// Start, Unix seconds.
    pub start: i64,
    /// Mode after the slot's activations, if the workplan says.
    pub mode: Option<Mode>,
    /// The tables.
    pub set: TableSet,
    /// Parameters set by this slot or an earlier one: name → (text item, raw value).
    pub params: BTreeMap<String, (String, u32)>,
}

/// Computes and validates every slot's configuration (see the module documentation).
///
/// # Errors
/// A profile that does not load, an override that does not apply, a slot whose set does not
/// validate (slot, table, entry, field), a bad parameter.
pub fn configurations(wp: &LoadedWorkplan) -> Result<Vec<SlotConfig>, PlanError> {
    let load = |p: &str, what: &str| {
        TableSet::load_dir(&wp.resolve(p))
            .map_err(|e| PlanError(format!("{what}: profile {p:?}: {e}")))
    };
    let mut prev = load(&wp.plan.profile, "workplan")?;
    if let Some(p) = prev.problems().first() {
        return perr(format!("workplan profile {:?}: {p}", wp.plan.profile));
    }
    let default_mode = match &wp.plan.mode {
        Some(m) => Some(Mode::from_name(m).ok_or_else(|| {
            PlanError(format!("workplan mode {m:?}: use safe, standby, observation or maintenance"))
        })?),
        None => None,
    };
    let mut slots: Vec<(i64, &Slot)> =
        wp.plan.slots.iter().map(|s| start_unix(s).map(|t| (t, s))).collect::<Result<_, _>>()?;
    slots.sort_by_key(|(t, _)| *t);
    let mut out = Vec::new();
    let mut params: BTreeMap<String, (String, u32)> = BTreeMap::new();
    for (start, slot) in slots {
        let mut set = match &slot.profile {
            Some(p) => load(p, &format!("slot {:?}", slot.name))?,
            None => prev.clone(),
        };
        apply(slot, &mut set)?;
        for t in TableId::ALL {
            let (a, b) = (prev.image(t), set.image(t));
            if let (Ok(a), Ok(b)) = (a, b)
                && a != b
                && prev.version(t) == set.version(t)
            {
                let v = prev.version(t).checked_add(1).ok_or_else(|| {
                    PlanError(format!(
                        "slot {:?}: {} version 65535 cannot be raised",
                        slot.name,
                        t.key()
                    ))
                })?;
                set_version(&mut set, t, v);
            }
        }
        let problems = set.problems();
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().take(10).map(|p| format!("  {p}")).collect();
            return perr(format!(
                "slot {:?} (start {}): the configuration does not validate ({}):\n{}",
                slot.name,
                utc_text(start, 0),
                crate::cmd::count(problems.len(), "problem"),
                list.join("\n")
            ));
        }
        for (name, v) in &slot.params {
            let (item, raw) = param_raw(&slot.name, name, v)?;
            let key = parameter::by_name(name).map_or(name.clone(), |d| d.name.to_owned());
            params.insert(key, (item, raw));
        }
        let mode = match &slot.mode {
            Some(m) => Some(Mode::from_name(m).ok_or_else(|| {
                PlanError(format!(
                    "slot {:?}: mode {m:?}: use safe, standby, observation or maintenance",
                    slot.name
                ))
            })?),
            None => default_mode,
        };
        out.push(SlotConfig {
            name: slot.name.clone(),
            start,
            mode,
            set: set.clone(),
            params: params.clone(),
        });
        prev = set;
    }
    Ok(out)
}

/// What a plan found, besides the stack.
#[derive(Debug, Clone, Default)]
pub struct PlanSummary {
    /// Slots past and superseded by a later past slot.
    pub superseded: Vec<String>,
    /// The slot established now, if any.
    pub now_slot: Option<String>,
    /// Per point (slot name or `now`): the tables it changes and the diff text.
    pub changes: Vec<(String, Vec<TableId>, String)>,
    /// Per point: parameter items set.
    pub params: Vec<(String, Vec<String>)>,
}

struct Point<'a> {
    release: String,
    cfg: &'a SlotConfig,
}

fn loads(
    stack: &mut Stack,
    release: &str,
    slot: &str,
    t: TableId,
    set: &TableSet,
    seg: usize,
) -> Result<(), PlanError> {
    let img = set.image(t).map_err(|e| PlanError(format!("{}: {e}", t.key())))?;
    let version = set.version(t);
    let n = img.len().div_ceil(seg);
    for (i, chunk) in img.chunks(seg).enumerate() {
        let req = format!(
            "table load id={} version={version} total={} offset={} data={}",
            t as u8,
            img.len(),
            i * seg,
            hex::encode_upper(chunk)
        );
        stack
            .push(
                release,
                slot,
                format!("load {} v{version} (segment {}/{n})", t.key(), i + 1),
                vec![],
                req,
            )
            .map_err(PlanError)?;
    }
    stack
        .push(
            release,
            slot,
            format!("validate {} v{version} (CRC and the unit's validator)", t.key()),
            vec![],
            format!("table validate id={} crc=0x{:08X}", t as u8, crc32(&img)),
        )
        .map_err(PlanError)
}

fn modes(
    stack: &mut Stack,
    release: &str,
    slot: &str,
    path: &[Mode],
    why: &str,
) -> Result<(), PlanError> {
    for m in path {
        stack
            .push(release, slot, why.to_owned(), vec![], format!("function mode mode={m}"))
            .map_err(PlanError)?;
    }
    Ok(())
}

fn mode_path(from: Mode, to: Mode) -> Vec<Mode> {
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

/// Plans the minimal stack of a workplan against a unit state (see the module documentation).
///
/// # Errors
/// [`PlanError`]: an invalid workplan (nothing is written), or a time-tagged part that does
/// not fit the unit's schedule.
pub fn plan(
    wp: &LoadedWorkplan,
    unit: &UnitState,
    against: &str,
) -> Result<(Stack, PlanSummary), PlanError> {
    if unit.mode == Mode::Boot {
        return perr("the unit is in boot mode: no application runs, tables cannot be loaded");
    }
    let cfgs = configurations(wp)?;
    let mut summary = PlanSummary::default();
    let past: Vec<&SlotConfig> = cfgs.iter().filter(|c| c.start <= unit.now_unix).collect();
    let mut points: Vec<Point<'_>> = Vec::new();
    if let Some(last) = past.last() {
        summary.superseded = past.iter().take(past.len() - 1).map(|c| c.name.clone()).collect();
        summary.now_slot = Some(last.name.clone());
        points.push(Point { release: "now".to_owned(), cfg: last });
    }
    for c in cfgs.iter().filter(|c| c.start > unit.now_unix) {
        points.push(Point { release: utc_text(c.start, 0).replace(".000Z", "Z"), cfg: c });
    }

    // Per table: the points where its image changes.
    let mut prev_img: BTreeMap<TableId, Vec<u8>> = BTreeMap::new();
    let mut prev_set: Vec<TableSet> = Vec::new();
    for t in TableId::ALL {
        prev_img
            .insert(t, unit.set.image(t).map_err(|e| PlanError(format!("unit {}: {e}", t.key())))?);
    }
    let mut changes: Vec<Vec<TableId>> = Vec::new(); // per point, in LOAD_ORDER
    for (k, p) in points.iter().enumerate() {
        let mut v = Vec::new();
        for t in LOAD_ORDER {
            let img = p.cfg.set.image(t).map_err(|e| PlanError(format!("{}: {e}", t.key())))?;
            if prev_img.get(&t) != Some(&img) {
                v.push(t);
                prev_img.insert(t, img);
            }
        }
        let before = if k == 0 { &unit.set } else { &prev_set[k - 1] };
        let diffs: Vec<_> =
            v.iter().filter_map(|&t| diff::diff_table(before, &p.cfg.set, t)).collect();
        summary.changes.push((
            p.cfg.name.clone(),
            v.clone(),
            if v.is_empty() { String::new() } else { diff::to_text(&diffs) },
        ));
        prev_set.push(p.cfg.set.clone());
        changes.push(v);
    }
    let change_lines = |k: usize, t: TableId| -> Vec<String> {
        let before = if k == 0 { &unit.set } else { &prev_set[k - 1] };
        let after = &points[k].cfg.set;
        match diff::diff_table(before, after, t) {
            Some(d) => diff::to_text(&[d]).lines().map(str::to_owned).collect(),
            None => vec![],
        }
    };
    // The next point at which each (point, table) change's table changes again.
    let next_change = |k: usize, t: TableId| -> Option<usize> {
        (k + 1..points.len()).find(|&j| changes[j].contains(&t))
    };

    let mut stack = Stack::new(&wp.path.display().to_string(), against, unit.mode);
    let unit_mode = unit.mode;
    // Now: aborts of stale inactive buffers, first loads of every table, activations of a
    // past slot, restore, parameters.
    let mut first_loads: Vec<(usize, TableId)> = Vec::new();
    for t in LOAD_ORDER {
        if let Some(k) = (0..points.len()).find(|&k| changes[k].contains(&t)) {
            first_loads.push((k, t));
        }
    }
    let mut now_ops = false;
    let mut to_load = Vec::new();
    for &(k, t) in &first_loads {
        let set = &points[k].cfg.set;
        let img = set.image(t).map_err(|e| PlanError(format!("{}: {e}", t.key())))?;
        let entry = unit.directory.iter().find(|e| e.table_id == t as u8);
        let already = entry.is_some_and(|e| {
            e.inactive_state == InactiveState::Validated
                && e.inactive_crc == crc32(&img)
                && e.inactive_version == set.version(t)
        });
        if already {
            continue;
        }
        if let Some(e) = entry
            && e.inactive_state != InactiveState::Empty
        {
            stack
                .push(
                    "now",
                    "",
                    format!(
                        "free the inactive {} buffer (holds an unwanted load: {})",
                        t.key(),
                        e.inactive_state
                    ),
                    vec![],
                    format!("table abort id={}", t as u8),
                )
                .map_err(PlanError)?;
        }
        to_load.push((k, t));
    }
    let now_point = points.first().filter(|p| p.release == "now").map(|_| 0usize);
    let now_activations: Vec<TableId> = now_point.map(|k| changes[k].clone()).unwrap_or_default();
    if !to_load.is_empty() || !now_activations.is_empty() {
        now_ops = true;
    }
    let now_restore = now_point.and_then(|k| points[k].cfg.mode).unwrap_or(unit_mode);
    if now_ops {
        modes(
            &mut stack,
            "now",
            "",
            &mode_path(unit_mode, Mode::Maintenance),
            "table loads need maintenance mode",
        )?;
        for &(k, t) in &to_load {
            loads(
                &mut stack,
                "now",
                &points[k].cfg.name,
                t,
                &points[k].cfg.set,
                MAX_LOAD_SEGMENT_LEN,
            )?;
        }
        for &t in &now_activations {
            let name = points[0].cfg.name.clone();
            let v = points[0].cfg.set.version(t);
            stack
                .push(
                    "now",
                    &name,
                    format!("activate {} v{v}: slot {name:?} is due", t.key()),
                    change_lines(0, t),
                    format!("table activate id={}", t as u8),
                )
                .map_err(PlanError)?;
            if let Some(j) = next_change(0, t) {
                loads(
                    &mut stack,
                    "now",
                    &points[j].cfg.name,
                    t,
                    &points[j].cfg.set,
                    MAX_LOAD_SEGMENT_LEN,
                )?;
            }
        }
        let restore = if now_point.is_some() { now_restore } else { unit_mode };
        modes(&mut stack, "now", "", &mode_path(Mode::Maintenance, restore), "restore the mode")?;
    }
    let mut known: BTreeMap<String, u32> = unit.params.clone();
    let mut mode_at =
        if now_ops { if now_point.is_some() { now_restore } else { unit_mode } } else { unit_mode };
    for (k, p) in points.iter().enumerate() {
        let name = p.cfg.name.clone();
        if p.release != "now" && !changes[k].is_empty() {
            let restore = p.cfg.mode.unwrap_or(mode_at);
            modes(
                &mut stack,
                &p.release,
                &name,
                &mode_path(mode_at, Mode::Maintenance),
                "activations need maintenance mode",
            )?;
            for &t in &changes[k] {
                let v = p.cfg.set.version(t);
                stack
                    .push(
                        &p.release,
                        &name,
                        format!("activate {} v{v} at the start of slot {name:?}", t.key()),
                        change_lines(k, t),
                        format!("table activate id={}", t as u8),
                    )
                    .map_err(PlanError)?;
                if let Some(j) = next_change(k, t) {
                    // The activation freed the inactive buffer: the next change loads now.
                    loads(
                        &mut stack,
                        &p.release,
                        &points[j].cfg.name,
                        t,
                        &points[j].cfg.set,
                        TIMED_SEGMENT_LEN,
                    )?;
                }
            }
            modes(
                &mut stack,
                &p.release,
                &name,
                &mode_path(Mode::Maintenance, restore),
                "restore the mode",
            )?;
            mode_at = restore;
        }
        let mut items = Vec::new();
        for (pname, (item, raw)) in &p.cfg.params {
            if known.get(pname) != Some(raw) {
                items.push(item.clone());
                known.insert(pname.clone(), *raw);
            }
        }
        if !items.is_empty() {
            stack
                .push(
                    &p.release,
                    &name,
                    format!("parameters of slot {name:?}"),
                    items.clone(),
                    format!("param set {}", items.join(" ")),
                )
                .map_err(PlanError)?;
        }
        summary.params.push((name, items));
    }

    // The time-tagged part must fit the unit's schedule.
    let timed: Vec<&super::stack::StackTc> = stack.tc.iter().filter(|t| !t.is_now()).collect();
    let octets: usize = timed
        .iter()
        .map(|t| {
            t.encoded.len().saturating_sub(t.encoded.find(':').unwrap_or(0) + 1) / 2
                + PACKET_OVERHEAD
        })
        .sum();
    if timed.len() > SCHEDULE_ENTRIES || octets > SCHEDULE_POOL {
        let mut chained = Vec::new();
        for (k, p) in points.iter().enumerate() {
            for &t in &changes[k] {
                if p.release != "now"
                    && let Some(j) = next_change(k, t)
                {
                    chained.push(format!(
                        "{} changes in slot {:?} and again in slot {:?}",
                        t.key(),
                        p.cfg.name,
                        points[j].cfg.name
                    ));
                }
            }
        }
        return perr(format!(
            "the time-tagged part needs {} TCs and {octets} octets; the unit's schedule holds {SCHEDULE_ENTRIES} TCs and {SCHEDULE_POOL} octets.{} The later load can only start once the earlier activation has freed the inactive buffer, so it must be time-tagged too. Split the workplan: plan and run the later slot after the earlier one has started.",
            timed.len(),
            if chained.is_empty() {
                String::new()
            } else {
                format!(" Because {}.", chained.join("; "))
            }
        ));
    }
    let errors: Vec<String> = super::stack::check(&stack, unit.now_unix)
        .into_iter()
        .filter(|f| f.error)
        .map(|f| format!("TC {}: {}", f.tc, f.message))
        .collect();
    if !errors.is_empty() {
        return perr(format!("internal: the planned stack does not check: {}", errors.join("; ")));
    }
    Ok((stack, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_plan(dir: &Path, body: &str) -> LoadedWorkplan {
        let prof = dir.join("profile");
        tables::defaults::default_set().save_dir(&prof).unwrap();
        let p = dir.join("wp.toml");
        std::fs::write(&p, format!("profile = \"profile\"\n{body}")).unwrap();
        LoadedWorkplan::load(&p).unwrap()
    }

    fn unit(now: i64) -> UnitState {
        UnitState {
            set: tables::defaults::default_set(),
            directory: vec![],
            mode: Mode::Safe,
            now_unix: now,
            params: BTreeMap::new(),
        }
    }

    const T0: i64 = 1_900_000_000;

    fn body() -> String {
        format!(
            "[[slot]]\nname = \"noisy\"\nstart = \"{}\"\npixels.noisy = [12, 407]\n\n\
             [[slot]]\nname = \"crab\"\nstart = \"{}\"\ncatalog = [{{ source = \"Crab\", scale = 3.0 }}]\nparams.alert_min_snr = 7.5\n\n\
             [[slot]]\nname = \"snr\"\nstart = \"{}\"\nalert.min_alert_snr = 7.0\ncatalog = [{{ source = \"Crab\", scale = 0.5 }}]\n",
            utc_text(T0 - 100, 0),
            utc_text(T0 + 3600, 0),
            utc_text(T0 + 7200, 0)
        )
    }

    #[test]
    fn a_past_slot_now_two_later_slots_time_tagged_and_the_chained_load() {
        let d = tempfile::tempdir().unwrap();
        let wp = write_plan(d.path(), &body());
        let (stack, sum) = plan(&wp, &unit(T0), "test").unwrap();
        assert_eq!(sum.now_slot.as_deref(), Some("noisy"));
        let now: Vec<&str> =
            stack.tc.iter().filter(|t| t.is_now()).map(|t| t.request.as_str()).collect();
        assert!(now.iter().any(|r| r.starts_with("table activate id=1")), "pixels activated now");
        assert!(
            now.iter().any(|r| r.starts_with("table load id=5")),
            "catalogue loaded now for slot crab"
        );
        let at1: Vec<&super::super::stack::StackTc> = stack
            .tc
            .iter()
            .filter(|t| t.release.starts_with(&utc_text(T0 + 3600, 0)[..19]))
            .collect();
        assert!(at1.iter().any(|t| t.request == "table activate id=5"));
        // The catalogue changes again at slot snr: its load is time-tagged after the activation.
        let act = at1.iter().position(|t| t.request == "table activate id=5").unwrap();
        let reload = at1.iter().position(|t| t.request.starts_with("table load id=5")).unwrap();
        assert!(reload > act);
        assert!(at1.iter().any(|t| t.request.starts_with("param set alert_min_snr=7.5")));
        // Planning against the final state, after every slot, gives nothing.
        let cfgs = configurations(&wp).unwrap();
        let mut after = unit(T0 + 10_000);
        after.set = cfgs.last().unwrap().set.clone();
        after.params.insert("alert_min_snr".into(), 7.5f32.to_bits());
        let (again, _) = plan(&wp, &after, "test").unwrap();
        assert!(
            again.tc.is_empty(),
            "{:?}",
            again.tc.iter().map(|t| &t.request).collect::<Vec<_>>()
        );
        // Deterministic: the same workplan plans the same stack.
        let (again2, _) = plan(&wp, &unit(T0), "test").unwrap();
        assert_eq!(again2.tc, stack.tc);
    }

    #[test]
    fn an_invalid_slot_names_slot_table_entry_field() {
        let d = tempfile::tempdir().unwrap();
        let wp = write_plan(
            d.path(),
            &format!(
                "[[slot]]\nname = \"bad\"\nstart = \"{}\"\nalert.min_alert_snr = 1000.0\n",
                utc_text(T0 + 60, 0)
            ),
        );
        let e = plan(&wp, &unit(T0), "t").unwrap_err().0;
        assert!(e.contains("slot \"bad\"") && e.contains("alert") && e.contains("field"), "{e}");
        let wp = write_plan(
            d.path(),
            &format!(
                "[[slot]]\nname = \"p\"\nstart = \"{}\"\nparams.alert_min_snr = 99.0\n",
                utc_text(T0 + 60, 0)
            ),
        );
        assert!(plan(&wp, &unit(T0), "t").unwrap_err().0.contains("alert_min_snr"));
        let wp = write_plan(
            d.path(),
            &format!(
                "[[slot]]\nname = \"p\"\nstart = \"{}\"\npixels.noisy = [7000]\n",
                utc_text(T0 + 60, 0)
            ),
        );
        assert!(plan(&wp, &unit(T0), "t").unwrap_err().0.contains("DETNUM 7000"));
    }

    #[test]
    fn a_pixel_table_changed_twice_in_the_future_is_refused_with_the_reason() {
        let d = tempfile::tempdir().unwrap();
        let wp = write_plan(
            d.path(),
            &format!(
                "[[slot]]\nname = \"a\"\nstart = \"{}\"\npixels.noisy = [1]\n[[slot]]\nname = \"b\"\nstart = \"{}\"\npixels.dead = [5]\n",
                utc_text(T0 + 60, 0),
                utc_text(T0 + 120, 0)
            ),
        );
        let e = plan(&wp, &unit(T0), "t").unwrap_err().0;
        assert!(
            e.contains("pixels changes in slot \"a\" and again in slot \"b\"")
                && e.contains("Split"),
            "{e}"
        );
    }
}
