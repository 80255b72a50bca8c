//! Terminal syscalls: pty allocation, controlling terminal, window size, raw mode.

use super::check;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Unlock a pty master and return its slave's number (/dev/pts/N).
pub fn unlock_and_number(master: BorrowedFd<'_>) -> io::Result<u32> {
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int through the pointer, valid for the call.
    check(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) })?;
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes an unsigned int through the pointer, valid for the call.
    check(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n) })?;
    Ok(n)
}

/// Make `fd` the calling session leader's controlling terminal.
pub fn set_controlling(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) }).map(drop)
}

pub fn get_winsize(fd: BorrowedFd<'_>) -> io::Result<libc::winsize> {
    // SAFETY: winsize is plain data; TIOCGWINSZ fills it.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is valid for the call.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) })?;
    Ok(ws)
}

pub fn set_winsize(fd: BorrowedFd<'_>, ws: &libc::winsize) -> io::Result<()> {
    // SAFETY: TIOCSWINSZ reads the winsize through the pointer, valid for the call.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, ws) }).map(drop)
}

pub fn is_tty(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: isatty only inspects the fd.
    unsafe { libc::isatty(fd.as_raw_fd()) == 1 }
}

/// The terminal's current attributes.
pub fn get_attrs(fd: BorrowedFd<'_>) -> io::Result<libc::termios> {
    // SAFETY: termios is plain data; tcgetattr fills it.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is valid for the call.
    check(unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) })?;
    Ok(t)
}

pub fn set_attrs(fd: BorrowedFd<'_>, t: &libc::termios) -> io::Result<()> {
    // SAFETY: the pointer is valid for the call.
    check(unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, t) }).map(drop)
}

/// `cfmakeraw` on a copy of `t`.
pub fn raw(t: &libc::termios) -> libc::termios {
    let mut raw = *t;
    // SAFETY: cfmakeraw only modifies the struct it is given.
    unsafe { libc::cfmakeraw(&mut raw) };
    raw
}

/// `tcsetpgrp(3)`: make process group `pgid` the terminal's foreground group. A caller in a
/// background group must block or ignore SIGTTOU first (or it is stopped).
pub fn set_foreground(fd: BorrowedFd<'_>, pgid: libc::pid_t) -> io::Result<()> {
    // SAFETY: plain call with integer arguments.
    check(unsafe { libc::tcsetpgrp(fd.as_raw_fd(), pgid) }).map(drop)
}
