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
