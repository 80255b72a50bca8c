//! The only place in coracle with `unsafe`: thin wrappers over the syscalls the runtime and the
//! cgroups crate make.
//! Each wrapper turns the C convention (-1 + errno) into `io::Result` and nothing more; policy lives
//! in the callers.

pub mod bpf;
pub mod fd;
pub mod mem;
pub mod mount;
pub mod net;
pub mod process;
pub mod sched;
pub mod seccomp;
pub mod signal;
pub mod tty;

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Turn a C return value into `io::Result`, reading errno on -1.
pub(crate) fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Same as [`check`] for `syscall(2)`'s `long` results.
pub(crate) fn check_long(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// A path as a C string; paths with an interior NUL are refused.
pub fn cstr(path: impl AsRef<Path>) -> io::Result<CString> {
    CString::new(path.as_ref().as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}
