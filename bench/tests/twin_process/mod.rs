//! The CLI tests' one way to start `eic-bench twin … --until-stdin-eof` as a child process and
//! read the JSON banner it prints first (the device names `tctm`, `stimulus`, …).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Spawns `cmd` (an `eic-bench twin … --until-stdin-eof` command; stdin and stdout piped,
/// stderr discarded) and returns the child with its banner. The twin runs until its stdin is
/// closed.
pub fn spawn(cmd: &mut Command) -> (Child, serde_json::Value) {
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    (child, serde_json::from_str(&line).unwrap())
}
