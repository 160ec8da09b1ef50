//! `eic-bench monitor`: ingestion into the monitor's database (live and drop directory),
//! alarms, reports; the web page (`--listen`) is served by the monitor's web module.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::json;

use super::exit::Exit;
use crate::archive::now_utc_ns;
use crate::hk_limits::LimitSet;
use crate::monitor::alarm::{self, Filter};
use crate::monitor::db::{DAY_NS, Store};
use crate::monitor::ingest::{self, Ingestor};
use crate::monitor::report;
use crate::monitor::web;

/// The default database: `monitor.db` in the state directory (`$XDG_STATE_HOME/eic-bench`,
/// else `~/.local/state/eic-bench`).
pub fn default_db() -> PathBuf {
    super::link_args::default_twin_state().with_file_name("monitor.db")
}

/// The limits file shipped with the bench (used when `--limits` is not given).
pub const DEFAULT_LIMITS: &str = include_str!("../../hk-limits.toml");

/// Arguments of `monitor`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MonitorArgs {
    /// A report or user command; without one, the monitor runs.
    #[command(subcommand)]
    pub command: Option<MonitorCmd>,
    /// How the monitor runs.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Options of the running monitor.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The database (SQLite, WAL; created if missing). Default: monitor.db in the state
    /// directory ($XDG_STATE_HOME/eic-bench or ~/.local/state/eic-bench).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// A unit to ingest live: a port, a running twin's pty, `twin` or `qemu` (repeatable);
    /// reconnects by itself after a line loss.
    #[arg(long)]
    pub device: Vec<String>,
    /// A drop directory (repeatable): every TM archive, CADU capture and ICD §6 file dropped
    /// there is ingested once, then moved to DIR/ingested/ (or DIR/quarantine/ with NAME.why).
    #[arg(long, value_name = "DIR")]
    pub watch: Vec<PathBuf>,
    /// Limits and alarm rules (TOML, the format of `eic-bench hk --limits`, with persistence,
    /// hysteresis and an `alarms` table). Default: the shipped bench/hk-limits.toml.
    #[arg(long)]
    pub limits: Option<PathBuf>,
    /// Command run (sh -c) with the alarm as one JSON object on stdin whenever an alarm is
    /// raised, escalated or re-raised (the site's phone/e-mail gateway).
    #[arg(long, value_name = "CMD")]
    pub on_alarm: Option<String>,
    /// Raw rows (HK, events, failures) older than this are deleted; aggregates never are.
    #[arg(long, default_value_t = 90)]
    pub keep_raw_days: u32,
    /// The web page's address (login with the users of `monitor user add`). Anything but a
    /// loopback address without --behind-tls-proxy is warned about: passwords would cross
    /// the network in clear. Port 0 picks a free port (printed on stderr).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The page is reached through a TLS-terminating reverse proxy: no warning for a
    /// non-loopback --listen, and cookies are marked Secure.
    #[arg(long)]
    pub behind_tls_proxy: bool,
    /// Serve no web page.
    #[arg(long)]
    pub no_web: bool,
    /// Process the drop directories once and exit (no devices, no web page): for cron jobs
    /// and tests.
    #[arg(long)]
    pub once: bool,
    /// A dropped file is taken once unchanged for this long (continuous watch only).
    #[arg(long, default_value_t = 1000)]
    pub settle_ms: u64,
    /// Files larger than this are quarantined unread.
    #[arg(long, default_value_t = 4096)]
    pub max_file_mb: u64,
    /// Write the daily report (the previous UTC day) at this UTC hour, into --report-dir.
    #[arg(long, value_name = "HOUR", value_parser = clap::value_parser!(u8).range(0..24))]
    pub daily_report_hour: Option<u8>,
    /// Where daily reports go (one directory per day). Default: reports/ beside the database.
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// One JSON line per ingested or quarantined file (with --once).
    #[arg(long)]
    pub json: bool,
}

/// Subcommands of `monitor`.
#[derive(Debug, Subcommand)]
pub enum MonitorCmd {
    /// The state and alarm report of an interval: DIR/report.html (offline, plots inline)
    /// and DIR/report.json.
    ///
    /// Examples:
    ///   eic-bench monitor report --db m.db --from 2026-12-01T00:00:00Z --to 2026-12-02T00:00:00Z -o rep
    ///   eic-bench monitor report --db m.db --last-days 7 -o week
    #[command(verbatim_doc_comment)]
    Report(ReportArgs),
    /// Alarms: list them, acknowledge or shelve one (the web page does the same).
    #[command(subcommand)]
    Alarm(AlarmCmd),
    /// Web users (the web module's logic).
    #[command(subcommand)]
    User(UserCmd),
}

/// Arguments of `monitor report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The database.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Start, UTC (2026-12-01T00:00:00Z).
    #[arg(long, required_unless_present = "last_days")]
    pub from: Option<String>,
    /// End, UTC (excluded).
    #[arg(long, required_unless_present = "last_days")]
    pub to: Option<String>,
    /// The last N days up to now instead of --from/--to.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub last_days: Option<u32>,
    /// Limits (for crossings and plots). Default: the shipped bench/hk-limits.toml.
    #[arg(long)]
    pub limits: Option<PathBuf>,
    /// Output directory.
    #[arg(short, long)]
    pub out: PathBuf,
}

/// `monitor alarm ...`.
#[derive(Debug, Subcommand)]
pub enum AlarmCmd {
    /// Lists open alarms (or --all recent ones), one line each or JSON.
    ///
    /// Examples:
    ///   eic-bench monitor alarm list --db m.db
    ///   eic-bench monitor alarm list --db m.db --all --json
    #[command(verbatim_doc_comment)]
    List {
        /// The database.
        #[arg(long)]
        db: Option<PathBuf>,
        /// The 100 most recent alarms in any state.
        #[arg(long)]
        all: bool,
        /// JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledges an alarm.
    ///
    /// Example:
    ///   eic-bench monitor alarm ack 12 --db m.db --by alice --comment SAA   # no alarm 12: exit 1
    #[command(verbatim_doc_comment)]
    Ack {
        /// The database.
        #[arg(long)]
        db: Option<PathBuf>,
        /// Alarm id.
        id: i64,
        /// Who acknowledges.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Shelves an alarm for a while (it comes back if still active).
    ///
    /// Example:
    ///   eic-bench monitor alarm shelve 12 --db m.db --by alice --reason SAA --hours 2   # exit 1
    #[command(verbatim_doc_comment)]
    Shelve {
        /// The database.
        #[arg(long)]
        db: Option<PathBuf>,
        /// Alarm id.
        id: i64,
        /// Who shelves.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// For how long.
        #[arg(long, default_value_t = 1.0)]
        hours: f64,
    },
}

/// `monitor user ...`: the web page's users.
#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Adds a web user: the password is asked twice (no echo; from a pipe, two lines) and
    /// stored hashed with Argon2id. Viewers read, operators also acknowledge and shelve
    /// alarms, admins also manage users (on the page's Users tab).
    ///
    /// Examples:
    ///   printf '%s\n%s\n' "$PW" "$PW" | eic-bench monitor user add bob --role viewer
    ///   eic-bench monitor user add alice --role admin   # a terminal asks; no password: exit 3
    #[command(verbatim_doc_comment)]
    Add {
        /// The database.
        #[arg(long)]
        db: Option<PathBuf>,
        /// User name (1 to 64 of A-Z a-z 0-9 _ . -).
        name: String,
        /// viewer, operator or admin.
        #[arg(long)]
        role: String,
        /// Replace an existing user's password and role.
        #[arg(long)]
        replace: bool,
    },
    /// Lists the users and their roles.
    ///
    /// Example:
    ///   eic-bench monitor user list --db monitor.db --json
    #[command(verbatim_doc_comment)]
    List {
        /// The database.
        #[arg(long)]
        db: Option<PathBuf>,
        /// One JSON object per user.
        #[arg(long)]
        json: bool,
    },
    /// Removes a user (their sessions end at the next request).
    ///
    /// Example:
    ///   eic-bench monitor user remove bob --db monitor.db   # no such user here: exit 1
    #[command(verbatim_doc_comment)]
    Remove {
        /// The database.
        #[arg(long)]
        db: Option<PathBuf>,
        /// User name.
        name: String,
    },
}

fn run_user(c: UserCmd) -> anyhow::Result<ExitCode> {
    use crate::monitor::web::data::MonitorData as _;
    use crate::monitor::web::store::StoreData;
    let data = |db: Option<&Path>| -> anyhow::Result<StoreData> {
        StoreData::open(&db.map_or_else(default_db, Path::to_path_buf), LimitSet::default())
    };
    match c {
        UserCmd::Add { db, name, role, replace } => {
            if crate::monitor::web::data::Role::parse(&role).is_none() {
                return Err(
                    Exit::Usage.error(format!("role {role:?}: use viewer, operator or admin"))
                );
            }
            // The password first: nothing is created when it is refused.
            let pw = crate::monitor::web::users::read_new_password(&name)?;
            let d = data(db.as_deref())?;
            crate::monitor::web::users::add(&d, &name, &role, &pw, replace)?;
            println!("user {name} ({role}) saved");
            Ok(Exit::Ok.into())
        }
        UserCmd::List { db, json } => {
            for u in data(db.as_deref())?.users()? {
                if json {
                    println!("{}", json!({ "name": u.name, "role": u.role.as_str() }));
                } else {
                    println!("{} {}", u.name, u.role);
                }
            }
            Ok(Exit::Ok.into())
        }
        UserCmd::Remove { db, name } => {
            if data(db.as_deref())?.delete_user(&name)? {
                println!("user {name} removed");
                Ok(Exit::Ok.into())
            } else {
                Err(Exit::Failed.error(format!("no user {name} (`eic-bench monitor user list`)")))
            }
        }
    }
}

fn load_limits(path: Option<&Path>) -> anyhow::Result<LimitSet> {
    Ok(match path {
        Some(p) => LimitSet::load(p)?,
        None => LimitSet::parse(DEFAULT_LIMITS, "bench/hk-limits.toml (built in)")?,
    })
}

fn open(db: Option<&Path>) -> anyhow::Result<Store> {
    Store::open(db.map_or_else(default_db, Path::to_path_buf))
}

fn parse_time(s: &str) -> anyhow::Result<i64> {
    crate::workflow::evidence::parse_utc(s)
        .map(|secs| secs.saturating_mul(1_000_000_000))
        .map_err(|e| Exit::Usage.error(e))
}

/// Runs `monitor`.
///
/// # Errors
/// Database errors (exit 1/3), a bad limits file (exit 2), bad times (exit 3).
pub fn run(a: MonitorArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        Some(MonitorCmd::Report(r)) => run_report(&r),
        Some(MonitorCmd::Alarm(c)) => run_alarm(c),
        Some(MonitorCmd::User(c)) => run_user(c),
        None => run_monitor(&a.run),
    }
}

fn run_report(r: &ReportArgs) -> anyhow::Result<ExitCode> {
    let (from, to) = match r.last_days {
        Some(d) => {
            let now = now_utc_ns();
            (now - i64::from(d) * DAY_NS, now)
        }
        None => (
            parse_time(r.from.as_deref().unwrap_or_default())?,
            parse_time(r.to.as_deref().unwrap_or_default())?,
        ),
    };
    if to <= from {
        return Err(Exit::Usage.error("--to must be after --from"));
    }
    let limits = load_limits(r.limits.as_deref())?;
    let store = open(r.db.as_deref())?;
    let rep = report::write(&store, &limits, from, to, &r.out)?;
    eprintln!(
        "report {} .. {}: {} HK reports, {} alarms, {} alerts -> {}/report.html, report.json",
        rep.from,
        rep.to,
        rep.hk_reports,
        rep.alarms.len(),
        rep.alerts.len(),
        r.out.display()
    );
    Ok(Exit::Ok.into())
}

fn run_alarm(c: AlarmCmd) -> anyhow::Result<ExitCode> {
    let now = now_utc_ns();
    match c {
        AlarmCmd::List { db, all, json } => {
            let store = open(db.as_deref())?;
            let list =
                alarm::list(store.conn(), if all { Filter::Recent(100) } else { Filter::Open })?;
            for a in &list {
                if json {
                    let mut v = serde_json::to_value(a)?;
                    v["state"] = json!(a.state(now));
                    println!("{v}");
                } else {
                    println!(
                        "{:>5} {:<8} {:<12} {:<24} {} ({})",
                        a.id,
                        a.severity_name(),
                        a.state(now),
                        a.key,
                        a.message,
                        report::utc(a.raised_ns)
                    );
                }
            }
            if !json {
                eprintln!("{} alarm{}", list.len(), if list.len() == 1 { "" } else { "s" });
            }
            Ok(Exit::Ok.into())
        }
        AlarmCmd::Ack { db, id, by, comment } => {
            let mut store = open(db.as_deref())?;
            let a = alarm::acknowledge(store.conn_mut(), id, &by, &comment, now)
                .map_err(|e| Exit::Failed.error(format!("{e:#}")))?;
            println!("alarm {} {}: {}", a.id, a.state(now), a.key);
            Ok(Exit::Ok.into())
        }
        AlarmCmd::Shelve { db, id, by, reason, hours } => {
            if !(hours.is_finite() && hours > 0.0 && hours <= 24.0 * 365.0) {
                return Err(Exit::Usage.error("--hours must be a positive number (at most a year)"));
            }
            let mut store = open(db.as_deref())?;
            let until = now + (hours * 3.6e12) as i64;
            let a = alarm::shelve(store.conn_mut(), id, &by, &reason, until, now)
                .map_err(|e| Exit::Failed.error(format!("{e:#}")))?;
            println!("alarm {} shelved until {}: {}", a.id, report::utc(until), a.key);
            Ok(Exit::Ok.into())
        }
    }
}

fn run_monitor(a: &RunArgs) -> anyhow::Result<ExitCode> {
    if a.device.is_empty() && a.watch.is_empty() {
        return Err(Exit::Usage
            .error("nothing to watch: give --device DEVICE (e.g. twin) and/or --watch DIR"));
    }
    if a.once && !a.device.is_empty() {
        return Err(Exit::Usage.error("--once processes drop directories only: drop --device"));
    }
    let limits = load_limits(a.limits.as_deref())?;
    let housekeeping_limits = limits.clone();
    let db = a.db.clone().unwrap_or_else(default_db);
    let store = Store::open(&db)?;
    let mut ing = Ingestor::new(store, limits.clone())?;
    ing.set_on_alarm(a.on_alarm.clone());
    ing.max_file_bytes = a.max_file_mb.saturating_mul(1 << 20);
    if a.once {
        let mut worst = Exit::Ok;
        for dir in &a.watch {
            for f in ing.process_dir(dir, Duration::ZERO)? {
                print_outcome(&f, a.json);
                if f.status == "quarantined" {
                    worst = Exit::Invalid;
                }
            }
        }
        return Ok(worst.into());
    }
    let stop = Arc::new(AtomicBool::new(false));
    // Ctrl-C / SIGTERM: finish the transaction in flight, then stop.
    {
        use nix::sys::signal::{SigSet, Signal};
        let mut signals = SigSet::empty();
        signals.add(Signal::SIGINT);
        signals.add(Signal::SIGTERM);
        // Blocked here, so every thread started later inherits the mask; one thread waits.
        signals.thread_block().map_err(|e| anyhow::anyhow!("blocking SIGINT/SIGTERM: {e}"))?;
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            if signals.wait().is_ok() {
                eprintln!("monitor: stopping");
                stop.store(true, Ordering::Relaxed);
            }
        });
    }
    let _web = if a.no_web {
        None
    } else {
        let listen: std::net::SocketAddr = a.listen.parse().map_err(|_| {
            Exit::Usage.error(format!(
                "--listen {:?}: give an address and port such as 127.0.0.1:8080",
                a.listen
            ))
        })?;
        let cfg = web::WebConfig {
            listen,
            behind_tls_proxy: a.behind_tls_proxy,
            ..web::WebConfig::default()
        };
        if let Some(w) = web::listen_warning(&cfg) {
            eprintln!("monitor: {w}");
        }
        let data = web::store::StoreData::open(&db, housekeeping_limits.clone())?;
        let server =
            web::start(&cfg, Arc::new(data)).map_err(|e| Exit::Usage.error(format!("{e:#}")))?;
        eprintln!("monitor: web page on http://{}/", server.addr());
        Some(server)
    };
    let started = now_utc_ns();
    let report_dir = a.report_dir.clone().unwrap_or_else(|| db.with_file_name("reports"));
    let mut housekeeping = Housekeeping {
        watch: a.watch.clone(),
        settle: Duration::from_millis(a.settle_ms),
        keep_raw_days: a.keep_raw_days,
        daily_hour: a.daily_report_hour,
        report_dir,
        limits,
        started,
        live: !a.device.is_empty(),
        last_dir_scan: None,
        last_retention: None,
        json: a.json,
    };
    eprintln!("monitor: database {}", db.display());
    // Devices beyond the first run on their own threads with their own connections.
    let mut threads = Vec::new();
    for dev in a.device.iter().skip(1) {
        let (dev, stop, db, limits, on_alarm) = (
            dev.clone(),
            Arc::clone(&stop),
            db.clone(),
            housekeeping.limits.clone(),
            a.on_alarm.clone(),
        );
        threads.push(std::thread::spawn(move || -> anyhow::Result<()> {
            let mut ing = Ingestor::new(Store::open(&db)?, limits)?;
            ing.set_on_alarm(on_alarm);
            ing.run_device(&dev, &stop, |_| Ok(()))
        }));
    }
    if let Some(dev) = a.device.first() {
        ing.run_device(dev, &stop, |ing| housekeeping.tick(ing))?;
    } else {
        while !stop.load(Ordering::Relaxed) {
            housekeeping.tick(&mut ing)?;
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        if let Ok(Err(e)) = t.join() {
            eprintln!("monitor: {e:#}");
        }
    }
    Ok(Exit::Ok.into())
}

fn print_outcome(f: &ingest::FileOutcome, json: bool) {
    if json {
        if let Ok(v) = serde_json::to_string(f) {
            println!("{v}");
        }
    } else {
        let known = if f.known { " (known: moved only)" } else { "" };
        match &f.reason {
            Some(r) => println!("quarantined {}{known}: {r}", f.name),
            None => println!("ingested {} ({} HK){known}", f.name, f.hk),
        }
    }
}

/// The running monitor's periodic work.
struct Housekeeping {
    watch: Vec<PathBuf>,
    settle: Duration,
    keep_raw_days: u32,
    daily_hour: Option<u8>,
    report_dir: PathBuf,
    limits: LimitSet,
    started: i64,
    /// A live device is watched: staleness by the wall clock.
    live: bool,
    last_dir_scan: Option<std::time::Instant>,
    last_retention: Option<std::time::Instant>,
    json: bool,
}

impl Housekeeping {
    fn tick(&mut self, ing: &mut Ingestor) -> anyhow::Result<()> {
        let now = now_utc_ns();
        ing.tick(now, self.live.then_some(self.started))?;
        if self.last_dir_scan.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            self.last_dir_scan = Some(std::time::Instant::now());
            for dir in &self.watch {
                match ing.process_dir(dir, self.settle) {
                    Ok(files) => files.iter().for_each(|f| print_outcome(f, self.json)),
                    Err(e) => eprintln!("monitor: {e:#}"),
                }
            }
        }
        if self.last_retention.is_none_or(|t| t.elapsed() >= Duration::from_secs(3600)) {
            self.last_retention = Some(std::time::Instant::now());
            let n = ing.store_mut().retain_raw(self.keep_raw_days, now)?;
            if n > 0 {
                eprintln!(
                    "monitor: retention: {n} HK rows older than {} days deleted",
                    self.keep_raw_days
                );
            }
        }
        if let Some(hour) = self.daily_hour {
            let day = now.div_euclid(DAY_NS);
            let due = now - day * DAY_NS >= i64::from(hour) * crate::monitor::db::HOUR_NS;
            let key = "daily_report_day";
            let done = ing.store().meta(key)?.and_then(|v| v.parse::<i64>().ok());
            if due && done.is_none_or(|d| d < day) {
                let (from, to) = ((day - 1) * DAY_NS, day * DAY_NS);
                let dir = self.report_dir.join(report::utc(from).get(..10).unwrap_or("day"));
                report::write(ing.store(), &self.limits, from, to, &dir)?;
                ing.store().set_meta(key, &day.to_string())?;
                eprintln!("monitor: daily report written to {}", dir.display());
            }
        }
        Ok(())
    }
}
