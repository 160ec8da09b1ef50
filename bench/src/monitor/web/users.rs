//! `eic-bench monitor user ...`: adding, listing and removing the web page's users from the
//! command line (the first admin has no page to use yet). The password is asked twice on the
//! terminal without echo; from a pipe (scripts, tests) it is read as two lines.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;

use super::data::{MonitorData, Role, UserRecord};
use super::{MIN_PASSWORD_LEN, auth, valid_user_name};
use crate::cmd::exit::Exit;

fn read_line_no_echo(prompt: &str) -> anyhow::Result<String> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let saved = tcgetattr(&stdin).context("reading the terminal's settings")?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet).context("turning the terminal's echo off")?;
    let mut line = String::new();
    let r = stdin.lock().read_line(&mut line);
    let _ = tcsetattr(&stdin, SetArg::TCSANOW, &saved);
    r.context("reading the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Asks a new password twice (no echo on a terminal; two lines from a pipe) and checks both
/// agree and it has at least [`MIN_PASSWORD_LEN`] characters.
///
/// # Errors
/// The two differ, too short, or stdin cannot be read (exit 3).
pub fn read_new_password(name: &str) -> anyhow::Result<String> {
    let (a, b) = if std::io::stdin().is_terminal() {
        let a = read_line_no_echo(&format!("Password for {name}: "))?;
        let b = read_line_no_echo("Same password again: ")?;
        (a, b)
    } else {
        let mut lines = std::io::stdin().lock().lines();
        let mut next = || -> anyhow::Result<String> {
            Ok(lines
                .next()
                .transpose()
                .context("reading the password from stdin")?
                .unwrap_or_default())
        };
        (next()?, next()?)
    };
    if a != b {
        return Err(Exit::Usage.error("the two passwords differ: nothing changed, run it again"));
    }
    if a.chars().count() < MIN_PASSWORD_LEN {
        return Err(Exit::Usage.error(format!(
            "a password has at least {MIN_PASSWORD_LEN} characters: nothing changed"
        )));
    }
    Ok(a)
}

/// Adds user `name` with `role` (or replaces its password and role with `replace`).
///
/// # Errors
/// A bad name or role (exit 3), an existing user without `replace` (exit 1), store errors.
pub fn add(
    data: &dyn MonitorData,
    name: &str,
    role: &str,
    password: &str,
    replace: bool,
) -> anyhow::Result<()> {
    if !valid_user_name(name) {
        return Err(
            Exit::Usage.error(format!("user name {name:?}: use 1 to 64 of A-Z a-z 0-9 _ . -"))
        );
    }
    let Some(role) = Role::parse(role) else {
        return Err(Exit::Usage.error(format!("role {role:?}: use viewer, operator or admin")));
    };
    if !replace && data.user(name)?.is_some() {
        return Err(Exit::Failed.error(format!(
            "user {name} exists already: add --replace to set a new password and role"
        )));
    }
    let password_hash = auth::hash_password(password)?;
    data.put_user(&UserRecord { name: name.to_owned(), role, password_hash })
}
