//! The system calls this crate makes that std does not wrap (the crate's only `unsafe` code):
//! kill(2), for `kill_all` with a signal other than SIGKILL (or SIGKILL where `cgroup.kill` is
//! missing), and bpf(2), to load and attach the eBPF device program on cgroup2.

use std::ffi::CStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::resources::device_filter::Insn;

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

// bpf(2) commands, program and attach types, flags (include/uapi/linux/bpf.h).
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The leading fields of `union bpf_attr` that `BPF_PROG_LOAD` reads; the kernel takes a shorter
/// attr as zero-filled.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The fields of `union bpf_attr` that `BPF_PROG_ATTACH` reads.
#[repr(C)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// The license the program declares. Only helpers marked GPL-only need a GPL-compatible one, and
/// device programs call no helpers.
const LICENSE: &CStr = c"Apache-2.0";

/// bpf(2) with an attr struct; returns the (non-negative) result or the errno.
#[allow(unsafe_code)]
fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, exclusively borrowed `repr(C)` prefix of `union bpf_attr` for
    // `cmd`, and its size is passed, so the kernel reads (and, for logs, writes) only within it
    // and the buffers its pointers name, which the callers keep alive for the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Load `insns` as a `BPF_PROG_TYPE_CGROUP_DEVICE` program. Without a verifier log first (the
/// fast path); if the kernel refuses the program, it is loaded again with a log, whose text goes
/// into the error.
#[allow(unsafe_code)]
pub(crate) fn load_device_program(insns: &[Insn]) -> io::Result<OwnedFd> {
    let load = |log: Option<&mut [u8]>| {
        let mut attr = ProgLoadAttr {
            prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
            insn_cnt: insns.len() as u32,
            insns: insns.as_ptr() as u64,
            license: LICENSE.as_ptr() as u64,
            expected_attach_type: BPF_CGROUP_DEVICE,
            ..Default::default()
        };
        attr.prog_name[..7].copy_from_slice(b"coracle");
        if let Some(log) = log {
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
        }
        bpf(BPF_PROG_LOAD, &mut attr)
    };
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
    // SAFETY: BPF_PROG_LOAD returned a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Attach the device program `prog` to the cgroup2 directory `dir`, with `BPF_F_ALLOW_MULTI`.
pub(crate) fn attach_device_program(dir: &Path, prog: &OwnedFd) -> io::Result<()> {
    let cgroup: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(dir)
        .map_err(|e| crate::fsutil::err_at("open", dir, e))?;
    let mut attr = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map(drop).map_err(|e| {
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
