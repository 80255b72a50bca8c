//! Installing a classic-BPF seccomp filter.

use std::io;

/// Install `filter` for the calling thread (no TSYNC). The caller must hold CAP_SYS_ADMIN or have
/// set no_new_privs.
pub fn set_thread_filter(filter: &[libc::sock_filter]) -> io::Result<()> {
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `filter`, both alive for the call; the kernel copies the filter.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &prog as *const libc::sock_fprog,
        )
    };
    super::check(rc).map(drop)
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog): install `filter` with SECCOMP_FILTER_FLAG_*
/// `flags` (TSYNC, LOG, SPEC_ALLOW, ...). Same privilege rule as [`set_thread_filter`].
pub fn set_filter(filter: &[libc::sock_filter], flags: u32) -> io::Result<()> {
    let len = u16::try_from(filter.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "filter too long"))?;
    let prog = libc::sock_fprog {
        len,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `filter`, both alive for the call; the kernel copies the filter.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags as libc::c_ulong,
            &prog as *const libc::sock_fprog,
        )
    };
    // With TSYNC a positive return names a thread that could not be synchronised.
    match super::check_long(rc)? {
        0 => Ok(()),
        tid => Err(io::Error::other(format!(
            "thread {tid} could not be synchronised (TSYNC)"
        ))),
    }
}
