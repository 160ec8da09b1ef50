//! `eic-bench monitor`: the instrument centre's round-the-clock watch (issue #20). Ingests
//! telemetry (live, and files dropped in a directory) into one SQLite database, raises alarms,
//! writes state and alarm reports; the web page (`web`, another module) reads the same store.
//!
//! # API for the other parts of the monitor
//!
//! - [`db::Store`]: open the database (one connection per thread; WAL lets readers run beside
//!   the writer). Queries: [`db::Store::latest_hk`] (every parameter of the newest report),
//!   [`db::Store::trend`] (raw when short, hourly/daily aggregates when long, optional binning),
//!   [`db::Store::alerts`], [`db::Store::table_versions`], [`db::Store::sources`] (files
//!   ingested/quarantined and why), [`db::Store::counts`]; [`db::Store::conn`] for any other
//!   SQL (schema: `bench/migrations/*.sql`; `hk_value(data, 'name')` reads a parameter).
//! - [`alarm`]: [`alarm::list`], [`alarm::get`], [`alarm::transitions`],
//!   [`alarm::acknowledge`] and [`alarm::shelve`] (both with the user's name and comment;
//!   refused with [`alarm::Refused`]), [`alarm::Alarm::state`].
//! - [`ingest::Ingestor`]: the writer. [`ingest::Ingestor::set_listener`] receives an
//!   [`ingest::Update`] after every commit (new HK, alarm changes, alerts, files, link up/down):
//!   the web page's live updates hang there.
//! - [`report`]: the state and alarm report of an interval, as JSON and offline HTML.
//! - [`web`]: the web page (`--listen`), its users, sessions and live updates.
//! - Users: the `users` table (migration 0001) belongs to the web module's logic.
//!
//! Times are UTC nanoseconds since 1970 everywhere (`*_ns`).

pub mod alarm;
pub mod db;
pub mod ingest;
pub mod report;
pub mod synth;
pub mod thresholds;
pub mod web;

use clap::Parser;

use crate::cmd::link_args::LinkArgs;

/// The [`LinkArgs`] of a DEVICE word with every other link option at its default.
///
/// # Errors
/// A DEVICE clap refuses.
pub fn link_args_for(device: &str) -> anyhow::Result<LinkArgs> {
    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        link: LinkArgs,
    }
    Ok(Wrap::try_parse_from(["monitor", device])?.link)
}
