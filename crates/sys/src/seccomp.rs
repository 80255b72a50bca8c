//! Installing a classic-BPF seccomp filter.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

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

/// seccomp(SECCOMP_SET_MODE_FILTER, flags | NEW_LISTENER, prog): install `filter` and return the
/// user-notification fd (close-on-exec) that answers its SECCOMP_RET_USER_NOTIF syscalls. With
/// TSYNC the kernel wants TSYNC_ESRCH too (the return value is the fd, not a thread id).
pub fn set_filter_listener(filter: &[libc::sock_filter], flags: u32) -> io::Result<OwnedFd> {
    let len = u16::try_from(filter.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "filter too long"))?;
    let prog = libc::sock_fprog {
        len,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    let mut flags = flags as libc::c_ulong | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if flags & libc::SECCOMP_FILTER_FLAG_TSYNC != 0 {
        flags |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    }
    // SAFETY: `prog` points at `filter`, both alive for the call; the kernel copies the filter.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    let fd = super::check_long(rc)?;
    // SAFETY: with NEW_LISTENER a non-negative return is a new fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// close(2) that reports failure (a seccomp profile may deny close: then the fd is still open).
pub fn close_checked(fd: OwnedFd) -> io::Result<()> {
    let raw = fd.into_raw_fd();
    // SAFETY: `raw` came from an OwnedFd we consumed: nothing else refers to it.
    super::check(unsafe { libc::close(raw) }).map(drop)
}

/// One user notification read from a listener fd (SECCOMP_IOCTL_NOTIF_RECV); blocks until a
/// filtered syscall arrives. EOF-like: ENOENT when the target died meanwhile.
pub fn notif_recv(listener: BorrowedFd<'_>) -> io::Result<libc::seccomp_notif> {
    // SAFETY: seccomp_notif is plain data; the kernel wants it zeroed before RECV.
    let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `req` is a valid, writable seccomp_notif for the call.
        let rc = unsafe {
            libc::ioctl(
                listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_RECV,
                &mut req as *mut libc::seccomp_notif,
            )
        };
        match super::check(rc) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r.map(|_| req),
        }
    }
}

/// Whether the notification `id` is still pending (its process has not died or been answered):
/// checked after reading the target's memory (SECCOMP_IOCTL_NOTIF_ID_VALID).
pub fn notif_id_valid(listener: BorrowedFd<'_>, id: u64) -> bool {
    // SAFETY: `id` is a valid u64 for the call.
    let rc = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_ID_VALID,
            &id as *const u64,
        )
    };
    rc == 0
}

/// Answer notification `id` (SECCOMP_IOCTL_NOTIF_SEND): `error` 0 with `val` as the syscall's
/// result, a negative errno to fail it, or `flags` SECCOMP_USER_NOTIF_FLAG_CONTINUE to let the
/// kernel run it.
pub fn notif_send(
    listener: BorrowedFd<'_>,
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
) -> io::Result<()> {
    let mut resp = libc::seccomp_notif_resp {
        id,
        val,
        error,
        flags,
    };
    // SAFETY: `resp` is a valid seccomp_notif_resp for the call.
    let rc = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            &mut resp as *mut libc::seccomp_notif_resp,
        )
    };
    super::check(rc).map(drop)
}
