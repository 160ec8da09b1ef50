//! Progress journal of a workflow that changes the unit (`tables push` now; `update` and
//! `run` use the same API): what was done, step by step, on disk before the next step, so
//! that a run interrupted anywhere (bench killed, power cut of the bench PC) is detected at
//! the next contact with the same unit, reported, and undone where it can be.
//!
//! One file per unit (`<dir>/<key>.journal`, `key` from the device: [`key_for`]), JSON lines:
//! the first line is the [`Header`] (workflow, device, start time, the unit's mode before),
//! each further line a [`Step`]. Every line is written with one `write` and synced before the
//! workflow goes on; a torn last line (a crash mid-write) is ignored when read back.
//! [`Journal::finish`] removes the file: a journal that exists is an interrupted run.
//!
//! ```no_run
//! # use eic_bench::workflow::journal::{Journal, Pending};
//! # fn f() -> std::io::Result<()> {
//! let dir = std::path::Path::new("/tmp/journals");
//! if let Some(p) = Pending::find(dir, "dev-ttyUSB0")? {
//!     // recover: restore p.header.mode_before, read back what the unit holds, report
//!     p.clear()?;
//! }
//! let mut j = Journal::begin(dir, "dev-ttyUSB0", "tables push", "/dev/ttyUSB0", "safe")?;
//! j.step("mode", "maintenance")?;
//! j.step("activated", "crt")?;
//! j.finish()?;
//! # Ok(()) }
//! ```
//!
//! For tests, `EIC_BENCH_CRASH_AFTER_STEP=N` aborts the process (no unwinding, no cleanup:
//! as `kill -9`) right after the N-th step (1-based) is on disk.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The environment variable of the crash hook (tests).
pub const CRASH_AFTER_STEP_ENV: &str = "EIC_BENCH_CRASH_AFTER_STEP";

/// The first line of a journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The workflow (`tables push`).
    pub workflow: String,
    /// The device as given.
    pub device: String,
    /// Start, UTC seconds since 1970.
    pub started_unix_s: u64,
    /// The unit's mode before the workflow changed anything (`safe`, `standby`, ...).
    pub mode_before: String,
    /// The bench's process ID.
    pub pid: u32,
}

/// One step done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// What was done: `mode`, `loading`, `validated`, `activated`, `aborted`, ...
    pub what: String,
    /// Its object: a mode, a table key.
    pub detail: String,
}

/// An open journal of a run in progress.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    steps: u32,
    crash_after: Option<u32>,
}

/// The default directory of journals: `$XDG_STATE_HOME/eic-bench/journal`, else
/// `~/.local/state/eic-bench/journal`, else `./.eic-journal`.
pub fn default_dir() -> PathBuf {
    let xdg = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".local").join("state"));
    match xdg.or(home) {
        Some(base) => base.join("eic-bench").join("journal"),
        None => PathBuf::from(".eic-journal"),
    }
}

/// A file-name key for a unit reached through `device` (path characters replaced).
pub fn key_for(device: &str) -> String {
    let k: String = device
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .collect();
    let k = k.trim_matches('-').to_owned();
    if k.is_empty() { "unit".to_owned() } else { k }
}

fn path_of(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.journal"))
}

fn write_line(file: &mut File, value: &impl Serialize) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
    line.push(b'\n');
    file.write_all(&line)?;
    file.sync_data()
}

impl Journal {
    /// Starts the journal of a run on the unit `key`.
    ///
    /// # Errors
    /// [`io::ErrorKind::AlreadyExists`] if an interrupted run's journal is still there
    /// (recover it first with [`Pending::find`]); other I/O errors.
    pub fn begin(
        dir: &Path,
        key: &str,
        workflow: &str,
        device: &str,
        mode_before: &str,
    ) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let path = path_of(dir, key);
        let mut file = OpenOptions::new().write(true).create_new(true).open(&path)?;
        let header = Header {
            workflow: workflow.to_owned(),
            device: device.to_owned(),
            started_unix_s: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            mode_before: mode_before.to_owned(),
            pid: std::process::id(),
        };
        write_line(&mut file, &header)?;
        if let Some(parent) = path.parent()
            && let Ok(d) = File::open(parent)
        {
            let _ = d.sync_all();
        }
        let crash_after = std::env::var(CRASH_AFTER_STEP_ENV).ok().and_then(|v| v.parse().ok());
        Ok(Journal { path, file, steps: 0, crash_after })
    }

    /// Records a step as done (synced before it returns).
    ///
    /// # Errors
    /// I/O errors: the caller must stop changing the unit, since an interruption could no
    /// longer be recovered.
    pub fn step(&mut self, what: &str, detail: &str) -> io::Result<()> {
        write_line(&mut self.file, &Step { what: what.to_owned(), detail: detail.to_owned() })?;
        self.steps += 1;
        if self.crash_after == Some(self.steps) {
            std::process::abort();
        }
        Ok(())
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run ended (successfully, or failed with the unit's state reported and the mode
    /// restored): removes the journal.
    ///
    /// # Errors
    /// I/O errors removing it.
    pub fn finish(self) -> io::Result<()> {
        fs::remove_file(&self.path)
    }
}

/// The journal of an interrupted run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The journal file.
    pub path: PathBuf,
    /// The run.
    pub header: Header,
    /// The steps it recorded as done, in order (a torn last line is left out).
    pub steps: Vec<Step>,
}

impl Pending {
    /// The interrupted run on the unit `key`, if its journal exists.
    ///
    /// # Errors
    /// I/O errors; [`io::ErrorKind::InvalidData`] if the header line cannot be read (the file
    /// is named in the error: look at it, then remove it).
    pub fn find(dir: &Path, key: &str) -> io::Result<Option<Self>> {
        let path = path_of(dir, key);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        // A journal is a few hundred lines at most; bound what is read anyway.
        let mut lines = io::BufReader::new(file.take(16 << 20)).lines();
        let header: Header =
            lines.next().transpose()?.and_then(|l| serde_json::from_str(&l).ok()).ok_or_else(
                || {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: unreadable journal header", path.display()),
                    )
                },
            )?;
        let mut steps = Vec::new();
        for l in lines {
            match serde_json::from_str::<Step>(&l?) {
                Ok(s) => steps.push(s),
                // A torn line can only be the last one.
                Err(_) => break,
            }
        }
        Ok(Some(Pending { path, header, steps }))
    }

    /// The last step recorded, if any.
    pub fn last(&self) -> Option<&Step> {
        self.steps.last()
    }

    /// Tables (keys) whose step `what` was recorded.
    pub fn with(&self, what: &str) -> Vec<String> {
        self.steps.iter().filter(|s| s.what == what).map(|s| s.detail.clone()).collect()
    }

    /// The recovery is done and reported: removes the journal.
    ///
    /// # Errors
    /// I/O errors removing it.
    pub fn clear(self) -> io::Result<()> {
        fs::remove_file(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_left_behind_is_found_with_its_steps_and_a_torn_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let key = key_for("/dev/pts/7");
        assert_eq!(key, "dev-pts-7");
        assert!(Pending::find(dir.path(), &key).unwrap().is_none());
        let mut j = Journal::begin(dir.path(), &key, "tables push", "/dev/pts/7", "safe").unwrap();
        j.step("mode", "maintenance").unwrap();
        j.step("loading", "crt").unwrap();
        let path = j.path().to_path_buf();
        drop(j);
        // A second run refuses to start over an interrupted one.
        let e = Journal::begin(dir.path(), &key, "tables push", "/dev/pts/7", "safe").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        // A crash mid-write leaves a torn line.
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"what\":\"valid")
            .unwrap();
        let p = Pending::find(dir.path(), &key).unwrap().unwrap();
        assert_eq!(p.header.mode_before, "safe");
        assert_eq!(p.steps.len(), 2);
        assert_eq!(p.with("loading"), ["crt"]);
        assert_eq!(p.last().unwrap().what, "loading");
        p.clear().unwrap();
        let j = Journal::begin(dir.path(), &key, "tables push", "/dev/pts/7", "safe").unwrap();
        j.finish().unwrap();
        assert!(Pending::find(dir.path(), &key).unwrap().is_none());
    }
}
