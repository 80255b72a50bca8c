//! Process-level syscalls: clone, wait, signals to processes, identity, namespaces, exec.

use super::{check, check_long, cstr};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

/// Which side of a fork-like clone we are on.
pub enum Forked {
    Parent(libc::pid_t),
    Child,
}

/// Fork-like `clone(2)` with namespace flags: no new stack, the child continues from here with a copy
/// of the address space, exactly like `fork(2)`. Only call it while the process is single-threaded.
pub fn clone_fork(flags: libc::c_int) -> io::Result<Forked> {
    let flags = (flags | libc::SIGCHLD) as libc::c_ulong;
    // SAFETY: with a null stack the raw clone syscall behaves like fork(2); the runtime is single-threaded
    // here, so the child's copy of the heap and locks is consistent.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_ulong,
        )
    };
    match check_long(ret)? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as libc::pid_t)),
    }
}

/// `clone_args` of clone3(2), version 2 (with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Fork-like `clone3(2)` that makes the child a member of the cgroup2 directory `cgroup` from birth:
/// no migration, so none of the RCU wait a first cgroup.procs write after idle costs. Same rules
/// as [`clone_fork`]: only while single-threaded.
pub fn clone_into_cgroup(flags: libc::c_int, cgroup: BorrowedFd<'_>) -> io::Result<Forked> {
    let args = CloneArgs {
        flags: flags as u32 as u64 | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    // SAFETY: `args` is a valid clone_args of the size passed; with no stack given clone3 behaves
    // like fork(2), and the runtime is single-threaded here.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match check_long(ret)? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as libc::pid_t)),
    }
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// The shell convention: the exit code, or 128 + the signal number.
    pub fn status(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

/// `waitpid(2)`; with `nohang`, `Ok(None)` while the child still runs. EINTR is retried.
pub fn waitpid(pid: libc::pid_t, nohang: bool) -> io::Result<Option<(libc::pid_t, Exit)>> {
    let mut status = 0;
    let flags = if nohang { libc::WNOHANG } else { 0 };
    loop {
        // SAFETY: `status` is a valid out-pointer for the duration of the call.
        let ret = unsafe { libc::waitpid(pid, &mut status, flags) };
        match check(ret) {
            Ok(0) => return Ok(None),
            Ok(p) => {
                let exit = if libc::WIFSIGNALED(status) {
                    Exit::Signal(libc::WTERMSIG(status))
                } else {
                    Exit::Code(libc::WEXITSTATUS(status))
                };
                return Ok(Some((p, exit)));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `kill(2)`.
pub fn kill(pid: libc::pid_t, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: plain syscall with integer arguments.
    check(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// `personality(2)`: set the calling process's execution domain (inherited across execve).
pub fn personality(persona: libc::c_ulong) -> io::Result<()> {
    // SAFETY: plain syscall with an integer argument.
    check(unsafe { libc::personality(persona) }).map(drop)
}

/// `pidfd_open(2)`: a descriptor that becomes readable when the process exits (child or not).
pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments; on success the result is a new fd we own.
    let fd = check_long(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `setns(2)` into the namespace behind `fd`.
pub fn setns(fd: BorrowedFd<'_>, nstype: libc::c_int) -> io::Result<()> {
    // SAFETY: plain syscall; the fd is borrowed and valid for the call.
    check(unsafe { libc::setns(fd.as_raw_fd(), nstype) }).map(drop)
}

/// The kind of the namespace behind `fd`, as its CLONE_NEW* flag (`ioctl(NS_GET_NSTYPE)`).
pub fn namespace_type(fd: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703; // _IO(0xb7, 0x3), linux/nsfs.h
                                                 // SAFETY: an argument-less ioctl on a borrowed, valid fd; nothing is written to our memory.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE) })
}

/// `unshare(2)`.
pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: plain syscall with an integer argument.
    check(unsafe { libc::unshare(flags) }).map(drop)
}

pub fn sethostname(name: &str) -> io::Result<()> {
    // SAFETY: pointer and length describe `name`'s bytes, valid for the call.
    check(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) }).map(drop)
}

pub fn setdomainname(name: &str) -> io::Result<()> {
    // SAFETY: pointer and length describe `name`'s bytes, valid for the call.
    check(unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) }).map(drop)
}

pub fn setresuid(uid: u32) -> io::Result<()> {
    // Raw syscall, not libc's wrapper: glibc's setxid broadcast is for threaded programs and we are not one.
    // SAFETY: plain syscall with integer arguments.
    check_long(unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) }).map(drop)
}

pub fn setresgid(gid: u32) -> io::Result<()> {
    // SAFETY: plain syscall with integer arguments.
    check_long(unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) }).map(drop)
}

pub fn setgroups(gids: &[u32]) -> io::Result<()> {
    // SAFETY: pointer and length describe `gids`, valid for the call.
    check_long(unsafe { libc::syscall(libc::SYS_setgroups, gids.len(), gids.as_ptr()) }).map(drop)
}

pub fn setrlimit(resource: u32, soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `lim` is a valid rlimit for the call; pid 0 means this process.
    check(unsafe { libc::prlimit64(0, resource as _, &lim, std::ptr::null_mut()) }).map(drop)
}

pub fn umask(mask: u32) {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask) };
}

pub fn setsid() -> io::Result<()> {
    // SAFETY: plain syscall.
    check(unsafe { libc::setsid() }).map(drop)
}

/// `setpgid(2)`: 0, 0 puts the caller in a new process group of its own.
pub fn setpgid(pid: libc::pid_t, pgid: libc::pid_t) -> io::Result<()> {
    // SAFETY: plain syscall with integer arguments.
    check(unsafe { libc::setpgid(pid, pgid) }).map(drop)
}

/// `getpgrp(2)`: the caller's process group.
pub fn getpgrp() -> libc::pid_t {
    // SAFETY: getpgrp cannot fail.
    unsafe { libc::getpgrp() }
}

/// `prctl(2)` with integer arguments.
pub fn prctl(option: libc::c_int, arg2: libc::c_ulong) -> io::Result<()> {
    // SAFETY: every option we pass takes integer arguments only.
    check(unsafe { libc::prctl(option, arg2, 0, 0, 0) }).map(drop)
}

/// Close every fd from `first` up, except by leaving them to the caller; used right before exec.
pub fn close_range_from(first: u32) -> io::Result<()> {
    // SAFETY: plain syscall with integer arguments; closes only descriptors, no memory is touched.
    check_long(unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0) }).map(drop)
}

/// Mark every fd from `first` up close-on-exec, so they vanish at exec but stay usable until then.
pub fn cloexec_range_from(first: u32) -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: plain syscall with integer arguments.
    check_long(unsafe {
        libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC)
    })
    .map(drop)
}

/// `execve(2)`; returns only on failure.
pub fn execve(path: &Path, args: &[CString], env: &[CString]) -> io::Error {
    let path = match cstr(path) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: argv and envp are NULL-terminated arrays of pointers to C strings that outlive the call.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}

/// `execveat(dir, name, args, env, 0)`: exec `name` resolved in the directory open on `dir`;
/// returns only on failure. With a close-on-exec `dir` the kernel refuses to run a `#!` script
/// (ENOENT); the process name is `name`.
pub fn execveat(
    dir: BorrowedFd<'_>,
    name: &CString,
    args: &[CString],
    env: &[CString],
) -> io::Error {
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: name is a C string; argv and envp are NULL-terminated arrays of pointers to C
    // strings that outlive the call; dir is a borrowed, open descriptor.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            dir.as_raw_fd(),
            name.as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            0,
        )
    };
    io::Error::last_os_error()
}

/// `symlinkat(target, dir, name)`, replacing an existing `name`.
pub fn symlinkat_replace(target: &str, dir: BorrowedFd<'_>, name: &CString) -> io::Result<()> {
    let target = CString::new(target).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: both strings are valid C strings; dir is a borrowed, open descriptor.
    let make =
        || check(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) });
    match make() {
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
            // SAFETY: name is a valid C string; dir is a borrowed, open descriptor.
            check(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0) })?;
            make().map(drop)
        }
        r => r.map(drop),
    }
}

/// `_exit(2)`: leave the process without running destructors (for the forked child).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and is always safe to call.
    unsafe { libc::_exit(code) }
}

/// The start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), used to tell a
/// container's init from a later process that reused its pid.
pub fn process_start_time(pid: libc::pid_t) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 2..];
    // Fields after comm start at field 3 (state); start time is field 22.
    after_comm.split(' ').nth(19)?.parse().ok()
}

/// The one-letter state of a process (R, S, Z, …) from /proc/PID/stat.
pub fn process_state(pid: libc::pid_t) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

pub fn getuid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

pub fn getgid() -> u32 {
    // SAFETY: getgid cannot fail.
    unsafe { libc::getgid() }
}

pub fn geteuid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

pub fn getegid() -> u32 {
    // SAFETY: getegid cannot fail.
    unsafe { libc::getegid() }
}

/// Give this process a new session keyring named `name` (so containers do not share the host's).
pub fn join_session_keyring(name: &str) -> io::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_int = 1;
    let name = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: the name is a valid C string for the call.
    match check_long(unsafe {
        libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr())
    }) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Ok(()),
        r => r.map(drop),
    }
}

/// Give the session keyring only possessor permissions, so processes of the same uid elsewhere
/// (other containers, the host) cannot view, read or link it.
pub fn restrict_session_keyring() -> io::Result<()> {
    const KEYCTL_SETPERM: libc::c_int = 5;
    const KEY_SPEC_SESSION_KEYRING: libc::c_int = -3;
    const KEY_POS_ALL: libc::c_ulong = 0x3f00_0000;
    // SAFETY: plain syscall with integer arguments.
    match check_long(unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_SETPERM,
            KEY_SPEC_SESSION_KEYRING,
            KEY_POS_ALL,
        )
    }) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Ok(()),
        r => r.map(drop),
    }
}

/// Close a descriptor this process does not own as an `OwnedFd` (an inherited copy after a fork).
pub fn close(fd: std::os::fd::RawFd) {
    // SAFETY: the caller passes a descriptor number that nothing in this process uses afterwards.
    unsafe { libc::close(fd) };
}
