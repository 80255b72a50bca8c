//! `kill`: send a signal to the container's init, or with `--all` to every process in its cgroup.

use super::Runtime;
use crate::state::{self, ContainerDir, Status};
use crate::sys::process;
use crate::{Context, Error, Result};

pub fn kill(rt: &Runtime, id: &str, signal: i32, all: bool) -> Result<()> {
    let dir = ContainerDir::open(&rt.root, id)?;
    let st = dir.load()?;
    if state::status(&dir, &st) == Status::Stopped {
        // runc's words: containerd's shim recognises "container not running" in the error
        // and treats the kill as done (a task that exited meanwhile), as it does with runc.
        return Err(Error::msg(format!("container not running: {id}")));
    }
    if all {
        match st.cgroup() {
            Some(cgroup) => cgroup
                .kill_all(signal)
                .context(|| format!("signalling every process of {id}"))?,
            // Rootless without a cgroup: every process of its pid namespace (the init last).
            None => {
                for pid in super::pidns_members::members(st.pid) {
                    if pid != st.pid {
                        let _ = process::kill(pid, signal);
                    }
                }
            }
        }
    }
    process::kill(st.pid, signal)
        .context(|| format!("sending signal {signal} to {id} (pid {})", st.pid))
}

/// A signal by name (`KILL`, `SIGKILL`) or number (`9`).
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return if (1..=libc::SIGRTMAX()).contains(&n) {
            Ok(n)
        } else {
            Err(bad_signal(s))
        };
    }
    let name = s.to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    SIGNALS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .ok_or_else(|| bad_signal(s))
}

fn bad_signal(s: &str) -> Error {
    Error::msg(format!("unknown signal {s:?}"))
}

const SIGNALS: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

#[cfg(test)]
mod tests {
    use super::parse_signal;

    #[test]
    fn signal_names_and_numbers() {
        assert_eq!(parse_signal("KILL").unwrap(), 9);
        assert_eq!(parse_signal("SIGKILL").unwrap(), 9);
        assert_eq!(parse_signal("sigterm").unwrap(), 15);
        assert_eq!(parse_signal("15").unwrap(), 15);
        assert!(parse_signal("0").is_err());
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("999").is_err());
    }
}
