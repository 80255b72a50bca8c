//! What this crate asks of the kernel beyond files, through the `sys` crate: kill(2) for
//! `kill_all`, and bpf(2) to load and attach the eBPF device program on cgroup2 (with the
//! verifier's log in the error when the kernel refuses it).

use std::ffi::CStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::resources::device_filter::Insn;

/// Send `signal` to process `pid`. A process that is already gone (ESRCH) is not an error.
pub(crate) fn kill(pid: i32, signal: i32) -> io::Result<()> {
    if pid <= 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to signal pid {pid}"),
        ));
    }
    match sys::process::kill(pid, signal) {
        Err(e) if e.raw_os_error() != Some(libc::ESRCH) => Err(io::Error::new(
            e.kind(),
            format!("send signal {signal} to pid {pid}: {e}"),
        )),
        _ => Ok(()),
    }
}

/// Load `insns` as a `BPF_PROG_TYPE_CGROUP_DEVICE` program. Without a verifier log first (the
/// fast path); if the kernel refuses the program, it is loaded again with a log, whose text goes
/// into the error.
pub(crate) fn load_device_program(insns: &[Insn]) -> io::Result<OwnedFd> {
    let raw: Vec<[u8; 8]> = insns.iter().map(Insn::encode).collect();
    let load = |log: Option<&mut [u8]>| sys::bpf::load_device_program(&raw, log);
    let fd = match load(None) {
        Ok(fd) => fd,
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EACCES)) => {
            let mut log = vec![0u8; 64 * 1024];
            let retry = load(Some(&mut log));
            let text = CStr::from_bytes_until_nul(&log)
                .map(|c| c.to_string_lossy().trim().to_string())
                .unwrap_or_default();
            match retry {
                Ok(fd) => fd,
                Err(e) => {
                    let msg = if text.is_empty() {
                        format!("load the eBPF device program: {e}")
                    } else {
                        format!("load the eBPF device program: {e}; verifier log: {text}")
                    };
                    return Err(crate::fsutil::with_msg(e, msg));
                }
            }
        }
        Err(e) => {
            let msg = format!("load the eBPF device program: {e}");
            return Err(crate::fsutil::with_msg(e, msg));
        }
    };
    Ok(fd)
}

/// Attach the device program `prog` to the cgroup2 directory `dir`, with `BPF_F_ALLOW_MULTI`.
pub(crate) fn attach_device_program(dir: &Path, prog: &OwnedFd) -> io::Result<()> {
    let cgroup: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(dir)
        .map_err(|e| crate::fsutil::err_at("open", dir, e))?;
    sys::bpf::attach_device_program(cgroup.as_fd(), prog.as_fd()).map_err(|e| {
        let msg = format!("attach the eBPF device program to {}: {e}", dir.display());
        crate::fsutil::with_msg(e, msg)
    })
}

/// Is this process in a user namespace other than the initial one? (Its uid map is not the
/// identity over all ids.)
pub(crate) fn in_user_namespace() -> bool {
    match std::fs::read_to_string("/proc/self/uid_map") {
        Ok(map) => map.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"],
        Err(_) => false,
    }
}
