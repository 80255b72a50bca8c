//! `run`: create and start; in the foreground, relay the terminal, forward signals and return the
//! container's exit code, then delete it (unless --keep).

use super::{create::create_container, delete, start, CreateOptions, Runtime};
use crate::sys::process::{self, Exit};
use crate::sys::{fd, signal};
use crate::terminal::{self, RawMode};
use crate::{Context, Result};
use std::os::fd::{AsFd, OwnedFd};

/// Signals the runtime passes on to the container's init while it waits.
const FORWARDED: &[libc::c_int] = &[
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
    libc::SIGCONT,
    libc::SIGALRM,
    libc::SIGPWR,
];

/// Run the container; returns the exit code for the runtime to exit with.
pub fn run(rt: &Runtime, id: &str, opts: &CreateOptions, detach: bool, keep: bool) -> Result<i32> {
    if detach {
        create_container(rt, id, opts, false, signal::SigSet::empty())?;
        start(rt, id)?;
        return Ok(0);
    }
    // Block before the clone: a container that exits at once then leaves a pending SIGCHLD, never a
    // missed one.
    let (old, sigfd) = block_forwarded()?;
    let spawned = create_container(rt, id, opts, true, old)?;
    let exit = match start(rt, id) {
        Ok(()) => wait(spawned.pid, &sigfd, spawned.master),
        Err(e) => {
            let _ = delete(rt, id, true);
            return Err(e);
        }
    };
    if !keep {
        delete(rt, id, true)?;
    }
    Ok(exit?.status())
}

/// Block SIGCHLD and the forwarded signals (before the clone) and read them from a signalfd;
/// returns the mask to restore in the child. Shared by `run` and `exec`.
pub(crate) fn block_forwarded() -> Result<(signal::SigSet, OwnedFd)> {
    let set = FORWARDED
        .iter()
        .fold(signal::SigSet::empty().with(libc::SIGCHLD), |s, &sig| {
            s.with(sig)
        });
    let old = set.block().context(|| "blocking signals")?;
    let sigfd = set.signalfd().context(|| "creating a signalfd")?;
    Ok((old, sigfd))
}

/// Wait for our child `pid` (the init, or an exec'd process), forwarding signals and relaying the
/// pty if there is one. Shared by `run` and `exec`.
pub(crate) fn wait(pid: libc::pid_t, sigfd: &OwnedFd, master: Option<OwnedFd>) -> Result<Exit> {
    let _raw = master.as_ref().map(|_| RawMode::enter());
    if let Some(m) = &master {
        terminal::copy_winsize(m.as_fd());
    }
    let stdin = fd::borrow_raw(0);
    let stdout = fd::borrow_raw(1);
    // Each side of the relay stops at its EOF (a closed side would poll readable forever).
    let mut master_open = master.is_some();
    let mut stdin_open = master.is_some();
    loop {
        let mut fds = vec![sigfd.as_fd()];
        let mut at = |fd, open: bool| {
            open.then(|| {
                fds.push(fd);
                fds.len() - 1
            })
        };
        let master_at = master.as_ref().and_then(|m| at(m.as_fd(), master_open));
        let stdin_at = master
            .as_ref()
            .and_then(|_| at(stdin, stdin_open && master_open));
        let ready = fd::poll_readable(&fds, -1)
            .context(|| "waiting for the container")?
            .unwrap_or_default();
        let is_ready = |i: Option<usize>| i.is_some_and(|i| ready.get(i).is_some_and(|r| *r != 0));
        if let Some(m) = &master {
            if is_ready(master_at) && !terminal::pump(m.as_fd(), stdout) {
                master_open = false;
            }
            if is_ready(stdin_at) && !terminal::pump(stdin, m.as_fd()) {
                stdin_open = false;
            }
        }
        if !is_ready(Some(0)) {
            continue;
        }
        match signal::read_signalfd(sigfd).context(|| "reading signals")? {
            libc::SIGCHLD => {
                if let Some((_, exit)) =
                    process::waitpid(pid, true).context(|| "waiting for the init")?
                {
                    if let Some(m) = &master {
                        drain(m);
                    }
                    return Ok(exit);
                }
            }
            libc::SIGWINCH => {
                if let Some(m) = &master {
                    terminal::copy_winsize(m.as_fd());
                }
            }
            sig => {
                let _ = process::kill(pid, sig);
            }
        }
    }
}

/// Copy what the container wrote to its terminal before it exited.
fn drain(master: &OwnedFd) {
    while let Ok(Some(r)) = fd::poll_readable(&[master.as_fd()], 0) {
        if r[0] == 0 || !terminal::pump(master.as_fd(), fd::borrow_raw(1)) {
            break;
        }
    }
}
