//! The command line: a derived clap [`Cli`] with one variant per subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::cmd;

/// ECLAIRs on-board software maintenance and test bench.
///
/// Prepares configuration telecommands, validates software updates on the spare model (or its
/// digital twin) and regression-tests the GRB trigger. Every command that talks to a unit takes
/// a serial device path: the twin's pseudo-terminal or the spare model's port.
#[derive(Debug, Parser)]
#[command(
    name = "eic-bench",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = cmd::exit::help_table()
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Commands,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Telecommands: send one to a unit and verify it, list the request syntax, encode and
    /// decode packets, frames and CLTUs (hex in, hex or JSON out).
    #[command(subcommand)]
    Tc(cmd::tc::TcCmd),
    /// Telemetry: listen to a unit live (decoded, archived), decode recorded captures and
    /// archives into JSON lines.
    #[command(subcommand)]
    Tm(cmd::tm::TmCmd),
    /// Configuration tables: validate, show, diff, build images, convert text/FITS forms, and
    /// pull/push them from/to a unit (DEVICE `twin` for the embedded twin).
    #[command(subcommand)]
    Tables(cmd::tables::TablesCmd),
    /// Runs the digital twin: the on-board unit behind two pseudo-terminals (TC/TM and
    /// stimulus). Prints one JSON line with the device paths, then runs until Ctrl-C/SIGTERM;
    /// with --detach it returns once the twin runs (and --print-paths is written), leaving it
    /// in the background until `kill PID`.
    ///
    /// Without --state (or EIC_TWIN_STATE) the state is temporary and deleted at exit; DEVICE
    /// `twin` of the other commands keeps its state in ~/.local/state/eic-bench/twin.
    ///
    /// Examples:
    ///   eic-bench twin --state ./twin-state
    ///   eic-bench twin --baud 115200 --print-paths twin.json &
    ///   eic-bench twin --print-paths twin.json --detach   # then: kill $(jq .pid twin.json)
    ///   eic-bench twin --faults bitflip=1e-5,drop=0.001,seed=1 --until-stdin-eof
    #[command(verbatim_doc_comment)]
    Twin(cmd::twin::TwinArgs),
    /// Runs the unit as firmware under QEMU (Cortex-M4F board mps2-an386): builds it, starts
    /// the emulator with both UARTs on pseudo-terminals, prints one JSON line with the device
    /// paths (as `twin` does), then runs until Ctrl-C/SIGTERM. Needs qemu-system-arm: on PATH,
    /// in EIC_QEMU, or installed into the project by scripts/install-qemu.sh.
    ///
    /// Examples:
    ///   eic-bench spare --qemu --state ./spare-state
    #[command(verbatim_doc_comment)]
    Spare(cmd::spare::SpareArgs),
    /// Live housekeeping view with soft/hard limits and alarms (exit 5 if a hard limit was
    /// crossed).
    ///
    /// Examples:
    ///   eic-bench hk twin --limits bench/hk-limits.toml --count 2
    ///   eic-bench hk /dev/ttyUSB0 --json --count 2
    #[command(verbatim_doc_comment)]
    Hk(cmd::hk::HkArgs),
    /// The instrument centre's round-the-clock monitor: ingests live telemetry (--device) and
    /// files dropped in directories (--watch) into one SQLite database, raises alarms
    /// (limits with persistence and hysteresis, stale HK, events, trigger alerts), serves the
    /// web page (--listen), writes state and alarm reports.
    ///
    /// Examples:
    ///   eic-bench monitor --watch drop --once --db m.db   # ingest what is there, then exit
    ///   eic-bench monitor alarm list --db m.db
    ///   eic-bench monitor report --db m.db --last-days 1 -o daily
    ///
    /// Round the clock (until Ctrl-C):
    ///   eic-bench monitor --device twin --listen 127.0.0.1:8080
    ///   eic-bench monitor --watch /srv/drop --on-alarm 'mail -s alarm duty@example.org'
    #[command(verbatim_doc_comment)]
    Monitor(Box<cmd::monitor::MonitorArgs>),
    /// Regression campaign of the trigger: a suite of scenarios through a baseline and a
    /// candidate table set, compared against the suite's tolerances (efficiency versus peak
    /// flux, false alerts per hour, localisation against the flight law, latency, every alert
    /// that changes). Writes report.json, report.html (offline, plots inline), junit.xml.
    /// Runs on the trigger in this process (default), on a unit with --on DEVICE, or on a
    /// statistical model (--target model). Exit 5 when the candidate regresses, 2 on bad
    /// input, 1 on failure.
    ///
    /// Examples:
    ///   eic-bench regress examples/regress/smoke.toml --baseline examples/workplan-tables \
    ///       --candidate examples/regress/candidate-raised-imt -o out   # a regression: exit 5
    ///   eic-bench regress examples/regress/suite.toml --baseline examples/workplan-tables \
    ///       --candidate examples/regress/candidate-raised-imt --target model -o quick   # exit 5
    ///   eic-bench regress examples/regress/smoke.toml --baseline examples/workplan-tables \
    ///       --sweep crt.image_snr=6:8:1 -o sweep
    ///   eic-bench regress examples/regress/suite.toml --baseline examples/workplan-tables \
    ///       --candidate examples/regress/candidate-raised-imt --target model --shard 1/2 -o sh
    ///   eic-bench regress examples/regress/suite.toml --baseline examples/workplan-tables \
    ///       --candidate examples/regress/candidate-raised-imt --target model --shard 2/2 -o sh
    ///   eic-bench regress merge sh/shard-*-of-2.json -o sh   # the report of one run: exit 5
    #[command(verbatim_doc_comment)]
    Regress(cmd::regress::RegressArgs),
    /// Simulates detector events from a scenario (background through the mask, bursts,
    /// catalogue sources, orbit with SAA, attitude) into the ground files of ICD §6, seeded and
    /// deterministic.
    ///
    /// Examples:
    ///   eic-bench simulate examples/scenarios/burst.toml -o out/burst --csv
    ///   eic-bench simulate examples/scenarios/background-saa.toml -o out/bkg --duration-s 30 --json
    ///   eic-bench simulate examples/scenarios/crab-flare.toml -o out/crab --seed 7 --duration-s 30
    #[command(verbatim_doc_comment)]
    Simulate(cmd::simulate::SimulateArgs),
    /// Calibration products from data: noisy/dead pixels, gain and offset, SAA contour;
    /// each writes a candidate table and a report (docs/calib.md).
    #[command(subcommand)]
    Calib(cmd::calib::CalibCmd),
    /// Replays an event file or triplet through the on-board trigger, in this process
    /// (--local) or over a unit's stimulus link (--on DEVICE), and prints its alerts (one
    /// line each, or GCN-notice JSON lines with --json).
    ///
    /// The examples replay what the `simulate` examples wrote.
    ///
    /// Examples:
    ///   eic-bench replay out/burst --local
    ///   eic-bench replay out/burst --local --json --images out/burst/images
    ///   eic-bench replay out/burst/ECL-EVT-SEC_burst.csv --on twin --json
    ///
    /// On the spare model, give both of its ports (and the tables to load first, if any):
    ///   eic-bench replay out/burst --on /dev/ttyUSB0 --stimulus /dev/ttyUSB1 --tables DIR
    #[command(verbatim_doc_comment)]
    Replay(cmd::replay::ReplayArgs),
    /// The instrument geometry and coded-mask pattern the trigger images with (ICD §4, §6),
    /// for independent simulators: sizes, distances, frame conventions and the 46 x 46 mask.
    ///
    /// Examples:
    ///   eic-bench instrument
    ///   eic-bench instrument --json > instrument.json
    #[command(verbatim_doc_comment)]
    Instrument(cmd::instrument::InstrumentArgs),
    /// Software images for the application banks: build one from a payload, inspect one with
    /// the unit's own parser.
    #[command(subcommand)]
    Image(cmd::image::ImageCmd),
    /// Computes the minimal TC stack of a workplan against the unit (or a pulled table
    /// directory): loads and validations now, activations time-tagged at each slot's start.
    /// Every slot is validated first; an invalid workplan writes nothing (exit 2).
    ///
    /// Examples:
    ///   eic-bench plan examples/workplans/week49.toml --against tables/defaults -o week49.stack
    ///   eic-bench plan examples/workplans/invalid.toml --against twin -o x.stack   # exit 2
    ///   eic-bench plan examples/workplans/week49.toml --against twin -o week49.stack
    #[command(verbatim_doc_comment)]
    Plan(Box<cmd::plan::PlanArgs>),
    /// TC stacks: re-validate one after review or editing.
    #[command(subcommand)]
    Stack(cmd::stack::StackCmd),
    /// Executes a TC stack with every verification stage checked; time-tagged TCs go into the
    /// unit's schedule (service 11). Writes an evidence report (JSON and HTML). With --wait it
    /// then waits, on the unit's clock, until every time-tagged TC has been released and has
    /// executed (instead of a `sleep` before checking the unit): e.g.
    /// `eic-bench run /dev/ttyUSB0 week49.stack --wait` ends once the last slot happened.
    ///
    /// Examples:
    ///   eic-bench run twin week49.stack --evidence reports/week49
    ///   eic-bench run /dev/ttyUSB0 week49.stack --json
    #[command(verbatim_doc_comment)]
    Run(Box<cmd::run::RunArgs>),
    /// Loads a software image into a bank and boots it: survey of what the bank holds (an
    /// interrupted update resumes), pipelined loads, on-board checks with resend of bad
    /// chunks, spot dumps, select, reset, confirmation from housekeeping. Evidence report.
    ///
    /// Examples:
    ///   eic-bench update twin ugts-1.1.0.img --bank B
    ///   eic-bench update twin ugts-1.1.0.img --bank B   # the unit runs B now: exit 3
    ///   eic-bench update /dev/ttyUSB0 ugts-1.1.0.img --bank B --evidence reports/upd-1.1.0
    #[command(verbatim_doc_comment)]
    Update(Box<cmd::update::UpdateArgs>),
    /// Boots the other bank (the previous software) in one command, with evidence.
    ///
    /// Example:
    ///   eic-bench rollback twin
    #[command(verbatim_doc_comment)]
    Rollback(Box<cmd::update::RollbackArgs>),
}

/// Parses the process's command line and runs it: the whole of `main`.
///
/// A command line clap refuses exits with [`cmd::exit::Exit::Usage`] (3), `--help` and
/// `--version` with 0.
pub fn main() -> ExitCode {
    match Cli::try_parse() {
        Ok(cli) => run(cli),
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() { cmd::exit::Exit::Usage.exit_code() } else { ExitCode::SUCCESS }
        }
    }
}

/// Runs a parsed command line and maps the outcome to an exit code.
///
/// Errors are printed as one line on stderr (`error: ...`), each message of the chain once,
/// never as a backtrace; the exit code follows the one table of [`cmd::exit::Exit`].
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Commands::Tables(c) => cmd::tables::run(c),
        Commands::Tc(c) => cmd::tc::run(c),
        Commands::Tm(c) => cmd::tm::run(c),
        Commands::Twin(a) => cmd::twin::run(&a),
        Commands::Spare(a) => cmd::spare::run(&a),
        Commands::Hk(a) => cmd::hk::run(&a),
        Commands::Monitor(a) => cmd::monitor::run(*a),
        Commands::Regress(a) => cmd::regress::run(a),
        Commands::Simulate(a) => cmd::simulate::run(&a),
        Commands::Calib(c) => cmd::calib::run(c),
        Commands::Replay(a) => cmd::replay::run(&a),
        Commands::Instrument(a) => cmd::instrument::run(&a),
        Commands::Image(c) => cmd::image::run(c),
        Commands::Plan(a) => cmd::plan::run(&a),
        Commands::Stack(c) => cmd::stack::run(c),
        Commands::Run(a) => cmd::run::run(&a),
        Commands::Update(a) => cmd::update::run_update(&a),
        Commands::Rollback(a) => cmd::update::run_rollback(&a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", cmd::exit::message(&e));
            cmd::exit_code_for(&e)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
