//! The init itself, `coracle-init -- COMMAND [ARG…]` as pid 1 of a container: it forks the
//! command, forwards every signal it gets to it, reaps every process that dies (the command's
//! orphans are reparented to pid 1), and exits with the command's exit code (128+N when a
//! signal N killed it), as tini and docker-init do. The other processes of the container die
//! with it (the kernel kills a pid namespace whose init exits).
//!
//! Signals: everything but the synchronous ones (a fault in the init itself) is blocked before
//! the fork and read from a signalfd, so none is lost between the fork and the loop, and pid 1,
//! which the kernel spares from signals it has no handler for, still sees them: blocked signals
//! are queued whatever the disposition. SIGCHLD means "reap"; any other is sent on to the
//! command (SIGKILL and SIGSTOP cannot be caught: they act on the init).
//!
//! The command runs in a process group of its own and, when stdin is a terminal (`-t`), that
//! group becomes the terminal's foreground group, so Ctrl-C, Ctrl-Z and SIGWINCH from the pty
//! reach it (tini's choice); the init stays out of the terminal's way.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use sys::process::{self, Forked};
use sys::signal::{self, SigSet};

/// Exit code when the init itself cannot do its job (Docker's "the engine failed").
const EXIT_INIT: i32 = 125;
/// The command was not found / could not be executed (the shell's and Docker's codes).
const EXIT_NOT_FOUND: i32 = 127;
const EXIT_CANNOT_EXEC: i32 = 126;
/// PATH when the container's environment has none (the runtime's default).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Signals the init never blocks: a fault in the init itself must kill it, not be forwarded.
const SYNCHRONOUS: &[libc::c_int] = &[
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGABRT,
    libc::SIGTRAP,
    libc::SIGSYS,
];

/// The init's entry point; `args` are the arguments after argv[0]. Returns the exit code.
pub fn main(args: impl Iterator<Item = OsString>) -> i32 {
    // First of all: until the signals are blocked, a SIGTERM from `stop` finds pid 1 without
    // a handler and the kernel drops it.
    let forwarded = SYNCHRONOUS
        .iter()
        .fold(SigSet::all(), |set, &sig| set.without(sig));
    let old_mask = match forwarded.block() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("coracle-init: blocking signals: {e}");
            return EXIT_INIT;
        }
    };
    let args: Vec<OsString> = args.collect();
    let cmd = match args.split_first() {
        Some((dashes, cmd)) if dashes == "--" && !cmd.is_empty() => cmd,
        _ => {
            let _ = old_mask.set_mask();
            eprintln!("coracle-init: usage: coracle-init -- COMMAND [ARG...]");
            return EXIT_INIT;
        }
    };
    match run(cmd, &forwarded, &old_mask) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("coracle-init: {e}");
            EXIT_INIT
        }
    }
}

/// Fork the command and serve it; `forwarded` is blocked already, `old_mask` is the mask the
/// command gets back.
fn run(cmd: &[OsString], forwarded: &SigSet, old_mask: &SigSet) -> io::Result<i32> {
    let argv = cstrings(cmd)?;
    let env = cstrings(
        &std::env::vars_os()
            .map(|(k, v)| {
                let mut kv = k;
                kv.push("=");
                kv.push(v);
                kv
            })
            .collect::<Vec<_>>(),
    )?;
    let candidates = candidates(&cmd[0], std::env::var_os("PATH").as_deref())?;
    let sigfd = forwarded.signalfd()?;
    // Not pid 1 (run by hand, or in a shared pid namespace): orphans come to us all the same.
    if std::process::id() != 1 {
        let _ = process::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    }
    let child = match process::clone_fork(0)? {
        Forked::Child => exec_command(&candidates, &argv, &env, old_mask),
        Forked::Parent(pid) => pid,
    };
    loop {
        match signal::read_signalfd(&sigfd)? {
            libc::SIGCHLD => {
                if let Some(code) = reap(child) {
                    return Ok(code);
                }
            }
            sig => {
                // The command may be gone already (its SIGCHLD is next in the queue).
                let _ = process::kill(child, sig);
            }
        }
    }
}

/// Reap every child that has exited; the command's exit code once it is among them.
fn reap(child: libc::pid_t) -> Option<i32> {
    let mut code = None;
    while let Ok(Some((pid, exit))) = process::waitpid(-1, true) {
        if pid == child {
            code = Some(exit.status());
        }
    }
    code
}

/// The forked child: own process group, foreground on the terminal if there is one, the
/// signal state of a fresh process, then the command. Never returns.
fn exec_command(candidates: &[CString], argv: &[CString], env: &[CString], mask: &SigSet) -> ! {
    let _ = process::setpgid(0, 0);
    let stdin = sys::fd::borrow_raw(0);
    if sys::tty::is_tty(stdin) {
        // SIGTTOU is still blocked here, so a background group may take the terminal.
        let _ = sys::tty::set_foreground(stdin, process::getpgrp());
    }
    signal::reset_dispositions();
    let _ = mask.set_mask();
    let mut err = io::Error::from_raw_os_error(libc::ENOENT);
    for path in candidates {
        let e = process::execve(OsStr::from_bytes(path.as_bytes()).as_ref(), argv, env);
        match e.raw_os_error() {
            // Not in this directory: try the next one (as execvp does).
            Some(libc::ENOENT | libc::ENOTDIR) => {}
            // Found but not runnable: remembered, the search goes on (as execvp does).
            Some(libc::EACCES) => err = e,
            _ => {
                err = e;
                break;
            }
        }
    }
    let code = match err.raw_os_error() {
        Some(libc::ENOENT | libc::ENOTDIR) => EXIT_NOT_FOUND,
        _ => EXIT_CANNOT_EXEC,
    };
    eprintln!(
        "coracle-init: exec {}: {err}",
        String::from_utf8_lossy(argv[0].as_bytes())
    );
    process::exit_now(code)
}

/// The paths to try for the program: itself when it names a path, else each PATH directory.
fn candidates(program: &OsStr, path: Option<&OsStr>) -> io::Result<Vec<CString>> {
    let bytes = program.as_bytes();
    if bytes.contains(&b'/') {
        return cstrings(&[program.to_owned()]);
    }
    let path = path.map_or(DEFAULT_PATH.as_bytes(), |p| p.as_bytes());
    let joined: Vec<OsString> = path
        .split(|&b| b == b':')
        .map(|dir| {
            // An empty entry is the current directory, as for execvp.
            let dir = if dir.is_empty() { b"." as &[u8] } else { dir };
            let mut p = dir.to_vec();
            p.push(b'/');
            p.extend_from_slice(bytes);
            OsStr::from_bytes(&p).to_owned()
        })
        .collect();
    cstrings(&joined)
}

fn cstrings(items: &[OsString]) -> io::Result<Vec<CString>> {
    items
        .iter()
        .map(|s| {
            CString::new(s.as_bytes()).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{}: contains a NUL byte", s.to_string_lossy()),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: Vec<CString>) -> Vec<String> {
        v.into_iter().map(|c| c.into_string().unwrap()).collect()
    }

    #[test]
    fn a_name_is_looked_up_in_each_path_directory() {
        let got = candidates(OsStr::new("sh"), Some(OsStr::new("/bin::/usr/bin"))).unwrap();
        assert_eq!(strs(got), ["/bin/sh", "./sh", "/usr/bin/sh"]);
    }

    #[test]
    fn a_path_is_taken_as_it_is_and_a_missing_path_var_has_the_default() {
        let got = candidates(OsStr::new("./x/y"), Some(OsStr::new("/bin"))).unwrap();
        assert_eq!(strs(got), ["./x/y"]);
        let got = candidates(OsStr::new("ls"), None).unwrap();
        assert_eq!(got.len(), DEFAULT_PATH.split(':').count());
        assert_eq!(strs(got)[0], "/usr/local/sbin/ls");
    }

    #[test]
    fn usage_errors_are_the_init_failing() {
        let none = Vec::<OsString>::new().into_iter();
        assert_eq!(main(none), EXIT_INIT);
        assert_eq!(main([OsString::from("sh")].into_iter()), EXIT_INIT);
        assert_eq!(main([OsString::from("--")].into_iter()), EXIT_INIT);
    }
}
