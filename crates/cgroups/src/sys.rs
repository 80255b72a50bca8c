//! The one system call this crate makes that std does not wrap: kill(2), for `kill_all` with a
//! signal other than SIGKILL (or SIGKILL where `cgroup.kill` is missing).

use std::io;

/// Send `signal` to process `pid`. A process that is already gone (ESRCH) is not an error.
#[allow(unsafe_code)]
pub(crate) fn kill(pid: i32, signal: i32) -> io::Result<()> {
    if pid <= 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to signal pid {pid}"),
        ));
    }
    // SAFETY: kill(2) takes two integers and touches no memory of ours; pid > 0 names one process.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ESRCH) {
        return Ok(());
    }
    Err(io::Error::new(
        e.kind(),
        format!("send signal {signal} to pid {pid}: {e}"),
    ))
}
