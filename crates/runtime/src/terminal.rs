//! The container's terminal: the init allocates a pty inside the container (from its own devpts) and
//! hands the master to whoever holds the other end: the `--console-socket` (containerd's shim,
//! conmon) or, for `run` in the foreground, the runtime, which relays it to the caller's terminal.

use crate::sys::{fd, tty};
use crate::{Context, Error, Result};
use std::fs::OpenOptions;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// Open a new pty in the container's /dev/pts; returns the master and the slave's path.
pub fn open_pty() -> Result<(OwnedFd, PathBuf)> {
    let master: OwnedFd = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open("/dev/ptmx")
        .context(|| "process.terminal: opening /dev/ptmx in the container")?
        .into();
    let n =
        tty::unlock_and_number(master.as_fd()).context(|| "process.terminal: unlocking the pty")?;
    Ok((master, PathBuf::from(format!("/dev/pts/{n}"))))
}

/// Make the pty slave the init's controlling terminal and its stdin, stdout and stderr.
pub fn attach_stdio(slave: &Path) -> Result<()> {
    let fd: OwnedFd = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(slave)
        .context(|| format!("opening {}", slave.display()))?
        .into();
    crate::sys::process::setsid().context(|| "setsid")?;
    tty::set_controlling(fd.as_fd()).context(|| "making the pty the controlling terminal")?;
    for target in 0..3 {
        fd::dup_onto(fd.as_fd(), target).context(|| "placing the pty on stdio")?;
    }
    Ok(())
}

/// Connect to the `--console-socket` (in the runtime, before the clone).
pub fn connect_console_socket(path: &Path) -> Result<UnixStream> {
    UnixStream::connect(path).context(|| format!("--console-socket {}", path.display()))
}

/// Send the pty master over the console socket: one message whose payload is the slave's name and
/// whose SCM_RIGHTS carries the master (what containerd's shim and conmon read).
pub fn send_to_console_socket(socket: &UnixStream, master: &OwnedFd, slave: &Path) -> Result<()> {
    let name = slave.to_string_lossy();
    fd::send_with_fd(socket.as_fd(), name.as_bytes(), Some(master.as_fd()))
        .context(|| "--console-socket: sending the pty master")
}

/// The caller's terminal in raw mode for as long as this lives (restored on drop).
pub struct RawMode {
    saved: Option<libc::termios>,
}

impl RawMode {
    /// Put stdin in raw mode if it is a terminal; otherwise do nothing.
    pub fn enter() -> RawMode {
        let stdin = fd::borrow_raw(0);
        if !tty::is_tty(stdin) {
            return RawMode { saved: None };
        }
        let saved = tty::get_attrs(stdin).ok();
        if let Some(t) = &saved {
            let _ = tty::set_attrs(stdin, &tty::raw(t));
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = tty::set_attrs(fd::borrow_raw(0), t);
        }
    }
}

/// Copy the caller's window size to the pty (at start and on SIGWINCH).
pub fn copy_winsize(master: BorrowedFd<'_>) {
    if let Ok(ws) = tty::get_winsize(fd::borrow_raw(0)) {
        let _ = tty::set_winsize(master, &ws);
    }
}

/// Move what is readable on `from` to `to`; false at EOF or error (the side is done).
pub fn pump(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> bool {
    let mut buf = [0u8; 8192];
    match fd::read(from, &mut buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => fd::write_all(to, &buf[..n]).is_ok(),
    }
}

/// Refuse runc's invalid combinations of terminal, detach and console socket, with runc's meaning.
pub fn check_combination(
    terminal: bool,
    detach: bool,
    console_socket: Option<&Path>,
) -> Result<()> {
    match (terminal, detach, console_socket.is_some()) {
        (true, true, false) => Err(Error::msg(
            "cannot allocate tty if the runtime will detach without setting --console-socket",
        )),
        (false, _, true) => Err(Error::msg(
            "cannot use --console-socket if process.terminal is false",
        )),
        (true, false, true) => Err(Error::msg(
            "cannot use --console-socket if the runtime will not detach",
        )),
        _ => Ok(()),
    }
}
