//! What the web page reads and changes: the [`MonitorData`] trait and its plain view types.
//!
//! The server never touches SQL: it asks this trait, which the monitor's store implements
//! (`super::super` store adapter) and the tests implement in memory. Every call is blocking
//! and is made from tokio's blocking pool. Times are Unix milliseconds (UTC), the reception
//! time unless the field says `cuc`.

use std::fmt;

/// A monitor user's role: viewers read, operators also acknowledge and shelve alarms, admins
/// also manage users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads every page.
    Viewer,
    /// Reads, acknowledges and shelves alarms.
    Operator,
    /// Everything, and manages users.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    /// The word used on the command line, in the database and on the page.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Parses `viewer`, `operator` or `admin`.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored user: name, role and the Argon2id PHC string of the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// `$argon2id$v=19$...` (never the password).
    pub password_hash: String,
}

/// One housekeeping parameter as last received, with its limits' verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamNow {
    /// Registry name (`tc_rejected`).
    pub name: String,
    /// Last value.
    pub value: f64,
    /// Unit from the limits file, if any.
    pub unit: Option<String>,
    /// 0 nominal / no limits, 1 soft (yellow), 2 hard (red).
    pub severity: u8,
    /// Limits as text (`soft ≤ 0, hard ≤ 10`), empty without limits.
    pub limits: String,
}

/// The overview page's data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Overview {
    /// Unit mode word (`observation`), if HK was ever received.
    pub mode: Option<String>,
    /// Software version and bank (`1.0.0 (bank A)`).
    pub software: Option<String>,
    /// Link state (`up`, `down since ...`, `no live source`).
    pub link: String,
    /// Reception time of the last HK report.
    pub last_hk_ms: Option<i64>,
    /// Open (raised or acknowledged, not shelved) alarms per severity: `(severity, count)`.
    pub open_alarms: Vec<(String, u64)>,
    /// Every HK parameter of the last report, in report order.
    pub params: Vec<ParamNow>,
}

/// An alarm as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmView {
    /// Stable identifier (the store's row id).
    pub id: i64,
    /// What is alarmed (`tc_rejected`, `event 0x0201`, `stale HK`).
    pub subject: String,
    /// Severity word (`warning`, `critical`).
    pub severity: String,
    /// State word: `raised`, `acknowledged`, `shelved`, `cleared`.
    pub state: String,
    /// Human text (`tc_rejected = 1 above soft high 0`).
    pub message: String,
    /// When it was raised.
    pub raised_ms: i64,
    /// Last transition: who, when, comment (`acknowledged by ana: on it`).
    pub last_note: Option<String>,
    /// Shelved until (when shelved).
    pub shelved_until_ms: Option<i64>,
}

/// The alarms page: open, shelved, recent (cleared) alarms.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlarmLists {
    /// Raised or acknowledged and not shelved, newest first.
    pub open: Vec<AlarmView>,
    /// Shelved, newest first.
    pub shelved: Vec<AlarmView>,
    /// Cleared recently, newest first (bounded by the store).
    pub recent: Vec<AlarmView>,
}

/// One point of a trend: raw sample (`min == mean == max`) or an aggregate bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendPoint {
    /// Sample time, or the start of the bucket.
    pub t_ms: i64,
    /// Minimum over the bucket.
    pub min: f64,
    /// Mean over the bucket.
    pub mean: f64,
    /// Maximum over the bucket.
    pub max: f64,
    /// Samples in the bucket (1 for raw).
    pub count: u64,
}

/// Which rows a trend was drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Stored samples (binned to min/mean/max when there are more than the page shows).
    Raw,
    /// Hourly aggregates.
    Hourly,
    /// Daily aggregates.
    Daily,
}

impl Resolution {
    /// The word on the page.
    pub const fn as_str(self) -> &'static str {
        match self {
            Resolution::Raw => "raw samples",
            Resolution::Hourly => "hourly min/mean/max",
            Resolution::Daily => "daily min/mean/max",
        }
    }
}

/// A trigger alert as the trigger page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertView {
    /// Store row id.
    pub id: i64,
    /// Reception time.
    pub t_ms: i64,
    /// Trigger type (`CRT`, `IMT`).
    pub kind: String,
    /// Timescale in ms.
    pub timescale_ms: f64,
    /// Signal-to-noise ratio.
    pub snr: f64,
    /// Right ascension, degrees (J2000).
    pub ra_deg: Option<f64>,
    /// Declination, degrees.
    pub dec_deg: Option<f64>,
    /// Catalogue source ID when the alert matched one.
    pub catalog_id: Option<u32>,
    /// The SNR threshold in force for its trigger and timescale when it was received
    /// (`≥ 6.5 σ (crt v3)`, `unknown (crt version 4 not seen)`), if a table version is known.
    pub threshold: Option<String>,
}

/// One counter or sector rate against its threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Gauge {
    /// Name (`rate_sector3`, `crt_triggers`).
    pub name: String,
    /// Last value.
    pub value: f64,
    /// Threshold in force, if one applies.
    pub threshold: Option<f64>,
}

/// The table versions in force from a time on.
#[derive(Debug, Clone, PartialEq)]
pub struct TableVersions {
    /// When the directory report was received.
    pub t_ms: i64,
    /// `(table name, active version)` pairs.
    pub versions: Vec<(String, u32)>,
}

/// The trigger page's data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TriggerView {
    /// Alerts, newest first (bounded by the store).
    pub alerts: Vec<AlertView>,
    /// Trigger counters and sector rates with thresholds.
    pub gauges: Vec<Gauge>,
    /// Alerts per UTC day: `(day start, count)`, oldest first.
    pub alerts_per_day: Vec<(i64, u64)>,
    /// Table directories over time, oldest first.
    pub tables: Vec<TableVersions>,
    /// When the thresholds below are in force (the newest HK report), ms.
    pub thresholds_at_ms: Option<i64>,
    /// The trigger tables in force then, with their thresholds or why they are unknown.
    pub thresholds: Vec<crate::monitor::thresholds::TableThresholds>,
}

/// One ingested or quarantined file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileView {
    /// File name as dropped.
    pub name: String,
    /// `ingested` or `quarantined`.
    pub outcome: String,
    /// When it was handled.
    pub t_ms: i64,
    /// What was taken from it (`3600 HK reports`) or why it was quarantined.
    pub detail: String,
    /// Content hash (hex), if known.
    pub sha256: Option<String>,
}

/// What the page reads and changes. Implemented by the monitor's store; every method may
/// block on the database.
pub trait MonitorData: Send + Sync + 'static {
    /// A number that changes whenever anything the pages show changes (new HK, alarm
    /// transition, file); the server polls it to push live updates.
    fn change_stamp(&self) -> anyhow::Result<u64>;
    /// The overview page.
    fn overview(&self) -> anyhow::Result<Overview>;
    /// The alarms page.
    fn alarms(&self) -> anyhow::Result<AlarmLists>;
    /// Acknowledges alarm `id` by `user` with `comment`. Errors when the alarm does not exist
    /// or is not raised.
    fn acknowledge(&self, id: i64, user: &str, comment: &str) -> anyhow::Result<()>;
    /// Shelves alarm `id` until `until_ms` by `user` with `reason`.
    fn shelve(&self, id: i64, user: &str, reason: &str, until_ms: i64) -> anyhow::Result<()>;
    /// Names of every parameter that has samples, sorted.
    fn parameters(&self) -> anyhow::Result<Vec<String>>;
    /// One parameter over `[from_ms, to_ms)`, oldest first, at the resolution the store
    /// chooses for the interval (raw when short, aggregates when long), at most about
    /// `max_points` points.
    fn trend(
        &self,
        param: &str,
        from_ms: i64,
        to_ms: i64,
        max_points: usize,
    ) -> anyhow::Result<(Resolution, Vec<TrendPoint>)>;
    /// Time of the oldest and newest sample of any parameter, if any.
    fn time_span(&self) -> anyhow::Result<Option<(i64, i64)>>;
    /// The trigger page.
    fn trigger(&self) -> anyhow::Result<TriggerView>;
    /// Files ingested and quarantined, newest first (bounded by the store).
    fn files(&self) -> anyhow::Result<Vec<FileView>>;
    /// The user called `name`.
    fn user(&self, name: &str) -> anyhow::Result<Option<UserRecord>>;
    /// Every user, by name.
    fn users(&self) -> anyhow::Result<Vec<UserRecord>>;
    /// Adds or replaces a user.
    fn put_user(&self, user: &UserRecord) -> anyhow::Result<()>;
    /// Removes a user; `false` when there was none.
    fn delete_user(&self, name: &str) -> anyhow::Result<bool>;
}
