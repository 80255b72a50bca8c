//! Signal masks, signalfd and dispositions.

use super::check;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A set of signals.
#[derive(Clone, Copy)]
pub struct SigSet(libc::sigset_t);

impl SigSet {
    pub fn empty() -> Self {
        // SAFETY: sigemptyset initialises the zeroed set it is given.
        unsafe {
            let mut set = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            SigSet(set)
        }
    }

    pub fn all() -> Self {
        // SAFETY: sigfillset initialises the zeroed set it is given.
        unsafe {
            let mut set = std::mem::zeroed();
            libc::sigfillset(&mut set);
            SigSet(set)
        }
    }

    pub fn with(mut self, sig: libc::c_int) -> Self {
        // SAFETY: `self.0` is an initialised set; an invalid signal number only returns EINVAL.
        unsafe { libc::sigaddset(&mut self.0, sig) };
        self
    }

    pub fn without(mut self, sig: libc::c_int) -> Self {
        // SAFETY: `self.0` is an initialised set; an invalid signal number only returns EINVAL.
        unsafe { libc::sigdelset(&mut self.0, sig) };
        self
    }

    /// Block the set for this thread; returns the previous mask.
    pub fn block(&self) -> io::Result<SigSet> {
        let mut old = SigSet::empty();
        // SAFETY: both sets are valid for the call.
        check(unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &self.0, &mut old.0) })?;
        Ok(old)
    }

    /// Make this set the thread's whole mask.
    pub fn set_mask(&self) -> io::Result<()> {
        // SAFETY: the set is valid for the call.
        let ret =
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) };
        check(ret).map(drop)
    }

    /// A signalfd that reads the signals of this set (which must be blocked).
    pub fn signalfd(&self) -> io::Result<OwnedFd> {
        // SAFETY: the set is valid for the call; -1 asks for a new fd.
        let fd = check(unsafe { libc::signalfd(-1, &self.0, libc::SFD_CLOEXEC) })?;
        // SAFETY: the fd was just created and is owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

/// Read one signal number from a signalfd (blocking).
pub fn read_signalfd(fd: &OwnedFd) -> io::Result<libc::c_int> {
    // SAFETY: signalfd_siginfo is plain data; zeroed is a valid value.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    loop {
        // SAFETY: `info` is a writable buffer of `size` bytes.
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            )
        };
        if n == size as isize {
            return Ok(info.ssi_signo as libc::c_int);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Put every signal back to its default disposition, so the container's process does not inherit an
/// ignored SIGPIPE (Rust ignores it) or anything else the runtime changed.
pub fn reset_dispositions() {
    for sig in 1..libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: SIG_DFL is always a valid disposition; invalid numbers only return EINVAL.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}
