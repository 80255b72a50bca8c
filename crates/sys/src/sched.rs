//! Scheduling and placement of the calling thread: sched_setattr(2), ioprio_set(2),
//! sched_setaffinity(2) and set_mempolicy(2). The container's process is single-threaded when
//! these run, so "the calling thread" is the whole process.

use super::{check, check_long};
use std::io;

/// `struct sched_attr` of sched_setattr(2) (linux/sched/types.h), SCHED_ATTR_SIZE_VER1: the libc
/// crate has no definition. The utilisation clamps stay 0 (the runtime spec has no values for them).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
    pub util_min: u32,
    pub util_max: u32,
}

/// `sched_setattr(0, attr, 0)`: set the calling thread's policy and attributes.
pub fn sched_setattr(attr: &SchedAttr) -> io::Result<()> {
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        ..*attr
    };
    // SAFETY: the pointer is to a live, fully initialised sched_attr whose size field matches its
    // layout; the kernel only reads it.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    check_long(ret).map(drop)
}

/// `ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(class, level))` for the calling process.
pub fn ioprio_set_self(class: u32, level: u32) -> io::Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    const IOPRIO_CLASS_SHIFT: u32 = 13;
    let prio = (class << IOPRIO_CLASS_SHIFT) | level;
    // SAFETY: plain syscall with integer arguments.
    let ret = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) };
    check_long(ret).map(drop)
}

/// The largest CPU number a `cpu_set_t` holds, plus one.
pub const CPU_SETSIZE: usize = libc::CPU_SETSIZE as usize;

/// `sched_setaffinity(pid, …)` (0: the calling thread) to exactly `cpus` (each below
/// [`CPU_SETSIZE`]); `None` asks for every CPU, which the kernel narrows to what the task's cpuset
/// allows (the default affinity).
pub fn sched_setaffinity(pid: libc::pid_t, cpus: Option<&[usize]>) -> io::Result<()> {
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let all: Vec<usize>;
    let list = match cpus {
        Some(list) => list,
        None => {
            all = (0..CPU_SETSIZE).collect();
            &all
        }
    };
    for &cpu in list {
        if cpu >= CPU_SETSIZE {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        // SAFETY: cpu is below CPU_SETSIZE, so the bit is inside the set.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: the set is a live cpu_set_t and the size passed is its size; the kernel only reads it.
    check(unsafe { libc::sched_setaffinity(pid, std::mem::size_of_val(&set), &set) }).map(drop)
}

/// How many NUMA nodes a node mask passed to [`set_mempolicy`] can name (the kernel's largest
/// MAX_NUMNODES).
pub const MAX_NUMA_NODES: usize = 1024;

/// `set_mempolicy(mode | flags, nodes, …)` for the calling thread; `nodes` empty passes no mask
/// (MPOL_DEFAULT, MPOL_LOCAL, and MPOL_PREFERRED meaning "the local node").
pub fn set_mempolicy(mode_and_flags: i32, nodes: &[usize]) -> io::Result<()> {
    const WORD: usize = u64::BITS as usize;
    let mut mask = [0u64; MAX_NUMA_NODES / WORD];
    for &n in nodes {
        if n >= MAX_NUMA_NODES {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        mask[n / WORD] |= 1 << (n % WORD);
    }
    let (ptr, maxnode) = if nodes.is_empty() {
        (std::ptr::null(), 0)
    } else {
        // The kernel reads maxnode - 1 bits (a historical off-by-one every caller follows).
        (mask.as_ptr(), MAX_NUMA_NODES as libc::c_ulong + 1)
    };
    // SAFETY: the mask is a live array of MAX_NUMA_NODES bits (or null with maxnode 0); the kernel
    // only reads it.
    let ret = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode_and_flags, ptr, maxnode) };
    check_long(ret).map(drop)
}
