//! Watching a cgroup for OOM kills (runc's `events`): a file descriptor that becomes readable when
//! the memory controller reports something, and the kill counter to read then.
//!
//! - **v1** (and hybrid hosts, where the memory controller is v1): an eventfd registered on
//!   `memory.oom_control` through `cgroup.event_control`; the kernel signals it on every OOM in the
//!   cgroup, and when the cgroup is removed.
//! - **v2**: inotify on `memory.events`, which the kernel marks modified when a counter changes.
//!
//! The wake-ups only say "look now": the count comes from the `oom_kill` line of
//! `memory.oom_control` / `memory.events`, so a caller that compares counts misses no kill and
//! reports none twice, however the wake-ups coalesce.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::fsutil;
use crate::stats::keyed;

/// An armed OOM watch on one container's cgroup.
#[derive(Debug)]
pub struct OomWatch {
    fd: OwnedFd,
    counter: PathBuf,
    /// v1: `memory.oom_control`, which must stay open while the eventfd is registered.
    _control: Option<File>,
}

impl OomWatch {
    /// v1: register an eventfd for `dir/memory.oom_control`.
    pub(crate) fn v1(dir: &Path) -> io::Result<OomWatch> {
        let counter = dir.join("memory.oom_control");
        let control = File::open(&counter).map_err(|e| fsutil::err_at("open", &counter, e))?;
        let efd = sys::fd::eventfd().map_err(|e| fsutil::err_at("eventfd for", &counter, e))?;
        fsutil::write(
            &dir.join("cgroup.event_control"),
            &format!("{} {}", efd.as_raw_fd(), control.as_raw_fd()),
        )?;
        Ok(OomWatch {
            fd: efd,
            counter,
            _control: Some(control),
        })
    }

    /// v2: watch `dir/memory.events` with inotify.
    pub(crate) fn v2(dir: &Path) -> io::Result<OomWatch> {
        let counter = dir.join("memory.events");
        let fd = sys::fd::inotify_watch(&counter, libc::IN_MODIFY | libc::IN_DELETE_SELF)
            .map_err(|e| fsutil::err_at("inotify watch on", &counter, e))?;
        Ok(OomWatch {
            fd,
            counter,
            _control: None,
        })
    }

    /// Readable when there may be news: poll it, then [`OomWatch::drain`] and read the count.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Consume pending wake-ups (non-blocking), so the next poll waits for new ones.
    pub fn drain(&self) {
        let mut buf = [0u8; 4096];
        while matches!(sys::fd::read(self.fd.as_fd(), &mut buf), Ok(n) if n > 0) {}
    }

    /// The cgroup's OOM kills so far.
    pub fn kills(&self) -> io::Result<u64> {
        let text = fsutil::read(&self.counter)?;
        Ok(keyed(&text)
            .into_iter()
            .find(|(k, _)| k == "oom_kill")
            .map_or(0, |(_, v)| v))
    }
}
