//! The default seccomp profile: what Docker and Podman put in every container unless told
//! `--security-opt seccomp=unconfined`. Deny by default (EPERM); allow the system calls ordinary
//! programs make; allow the ones that reach kernel features a container should not touch
//! (mounts, namespaces, modules, the clock, the keyring…) only when the container holds the
//! capability that guards them — so `--cap-add SYS_ADMIN` brings `mount` back, as with Docker.
//!
//! Why a filter on top of capabilities: several calls need none and open a large kernel surface
//! (`unshare(CLONE_NEWUSER)` gives a process every capability in a fresh user namespace, and
//! with them netfilter, mounts of many filesystems…; `keyctl` reaches a keyring that is not
//! namespaced; io_uring has been the door of many kernel exploits).
//!
//! The lists are ours, grouped by purpose. Names a kernel or architecture lacks are skipped by
//! every runtime (ours, runc, crun), so one profile serves them all.

use serde_json::{json, Value};

/// `--security-opt seccomp=…`: which filter the container gets.
#[derive(Debug, Clone, PartialEq)]
pub enum Seccomp {
    /// [`default_profile`] (no `seccomp=` option).
    Default,
    /// `seccomp=unconfined`: none.
    Unconfined,
    /// `seccomp=FILE`: the profile in the file.
    Profile(Value),
}

/// Allowed for every container.
const ALWAYS: &[&str] = &[
    // files
    "access faccessat faccessat2 chdir fchdir getcwd chmod fchmod fchmodat fchmodat2 chown \
     fchown fchownat lchown chown32 fchown32 lchown32 creat open openat openat2 close close_range \
     dup dup2 dup3 fcntl fcntl64 link linkat symlink symlinkat unlink unlinkat rename renameat \
     renameat2 mkdir mkdirat rmdir mknod mknodat readlink readlinkat stat stat64 lstat lstat64 \
     fstat fstat64 fstatat64 newfstatat statx statfs statfs64 fstatfs fstatfs64 truncate \
     truncate64 ftruncate ftruncate64 utime utimes utimensat utimensat_time64 futimesat getdents \
     getdents64 umask sync syncfs fsync fdatasync sync_file_range fallocate fadvise64 \
     fadvise64_64 flock copy_file_range sendfile sendfile64 splice tee vmsplice \
     name_to_handle_at lseek _llseek read write readv writev pread64 pwrite64 preadv pwritev \
     preadv2 pwritev2 readahead chroot",
    // extended attributes
    "getxattr lgetxattr fgetxattr setxattr lsetxattr fsetxattr listxattr llistxattr flistxattr \
     removexattr lremovexattr fremovexattr",
    // memory
    "brk mmap mmap2 munmap mremap mprotect madvise mincore msync mlock mlock2 mlockall munlock \
     munlockall membarrier memfd_create memfd_secret pkey_alloc pkey_free pkey_mprotect \
     remap_file_pages process_mrelease cachestat map_shadow_stack",
    // processes
    "fork vfork execve execveat exit exit_group wait4 waitid waitpid kill tkill tgkill getpid \
     getppid gettid getpgid getpgrp setpgid getsid setsid getuid getuid32 geteuid geteuid32 \
     getgid getgid32 getegid getegid32 getresuid getresuid32 getresgid getresgid32 setuid \
     setuid32 setgid setgid32 setreuid setreuid32 setregid setregid32 setresuid setresuid32 \
     setresgid setresgid32 setfsuid setfsuid32 setfsgid setfsgid32 getgroups getgroups32 \
     setgroups setgroups32 capget capset prctl arch_prctl getpriority setpriority getrlimit \
     setrlimit ugetrlimit prlimit64 getrusage times set_tid_address set_robust_list \
     get_robust_list rseq pidfd_open pidfd_send_signal ioprio_get ioprio_set uname sysinfo \
     getcpu getrandom restart_syscall ptrace",
    // scheduling
    "sched_getaffinity sched_setaffinity sched_getattr sched_setattr sched_getparam \
     sched_setparam sched_get_priority_max sched_get_priority_min sched_getscheduler \
     sched_setscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_yield",
    // signals
    "rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend \
     rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sigaltstack signalfd signalfd4 \
     sigpending sigprocmask sigreturn sigsuspend pause alarm",
    // time (reading it, timers)
    "clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep \
     clock_nanosleep_time64 gettimeofday nanosleep time timer_create timer_delete \
     timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 \
     timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 \
     getitimer setitimer",
    // waiting on events
    "epoll_create epoll_create1 epoll_ctl epoll_pwait epoll_pwait2 epoll_wait eventfd eventfd2 \
     inotify_add_watch inotify_init inotify_init1 inotify_rm_watch poll ppoll ppoll_time64 \
     select _newselect pselect6 pselect6_time64 pipe pipe2 ioctl futex futex_time64 futex_waitv \
     futex_wait futex_wake futex_requeue",
    // asynchronous I/O (io_uring is left out, as Docker now does)
    "io_setup io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_submit io_cancel",
    // x86 threads
    "set_thread_area get_thread_area modify_ldt",
    // sockets
    "socket socketpair bind connect listen accept accept4 getsockname getpeername getsockopt \
     setsockopt sendto recvfrom sendmsg recvmsg sendmmsg recvmmsg recvmmsg_time64 shutdown \
     socketcall send recv",
    // System V and POSIX IPC (the container has its own IPC namespace)
    "msgget msgsnd msgrcv msgctl semget semop semtimedop semtimedop_time64 semctl shmget shmat \
     shmdt shmctl ipc mq_open mq_unlink mq_timedsend mq_timedsend_time64 mq_timedreceive \
     mq_timedreceive_time64 mq_notify mq_getsetattr",
    // sandboxing itself
    "seccomp landlock_create_ruleset landlock_add_rule landlock_restrict_self",
];

/// Allowed only with one of the capabilities that guard them.
const GUARDED: &[(&[&str], &str)] = &[
    (
        &["CAP_SYS_ADMIN"],
        "mount umount umount2 pivot_root unshare setns clone3 fsopen fsconfig fsmount fspick \
         move_mount open_tree mount_setattr quotactl quotactl_fd sethostname setdomainname \
         fanotify_init lookup_dcookie vm86 vm86old",
    ),
    (&["CAP_SYS_ADMIN", "CAP_BPF"], "bpf"),
    (&["CAP_SYS_ADMIN", "CAP_PERFMON"], "perf_event_open"),
    (&["CAP_SYS_ADMIN", "CAP_SYSLOG"], "syslog"),
    (&["CAP_SYS_BOOT"], "reboot"),
    (
        &["CAP_SYS_MODULE"],
        "init_module finit_module delete_module",
    ),
    (&["CAP_SYS_PACCT"], "acct"),
    (
        &["CAP_SYS_PTRACE"],
        "process_vm_readv process_vm_writev kcmp pidfd_getfd process_madvise",
    ),
    (&["CAP_SYS_RAWIO"], "iopl ioperm"),
    (
        &["CAP_SYS_TIME"],
        "settimeofday stime clock_settime clock_settime64 adjtimex clock_adjtime \
         clock_adjtime64",
    ),
    (&["CAP_SYS_TTY_CONFIG"], "vhangup"),
    (
        &["CAP_SYS_NICE"],
        "get_mempolicy set_mempolicy mbind set_mempolicy_home_node",
    ),
    (&["CAP_DAC_READ_SEARCH"], "open_by_handle_at"),
];

/// Execution domains a program may ask for: Linux, its UNAME26 variant, and the query value.
const PERSONALITIES: [u64; 5] = [0x0, 0x8, 0x20000, 0x20008, 0xFFFF_FFFF];
/// clone(2) flags that make namespaces (NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID,
/// NEWNET): without CAP_SYS_ADMIN clone is allowed only with none of them.
const NAMESPACE_FLAGS: u64 = 0x7E02_0000;
const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

/// The profile for a container holding `caps` (capability names as in the spec).
pub fn default_profile(caps: &[String]) -> Value {
    let has = |c: &str| caps.iter().any(|x| x == c);
    let mut names: Vec<&str> = ALWAYS.iter().flat_map(|g| g.split_whitespace()).collect();
    for (guards, calls) in GUARDED {
        if guards.iter().any(|g| has(g)) {
            names.extend(calls.split_whitespace());
        }
    }
    let mut rules = vec![json!({ "names": names, "action": "SCMP_ACT_ALLOW" })];
    for p in PERSONALITIES {
        rules.push(
            json!({ "names": ["personality"], "action": "SCMP_ACT_ALLOW",
                           "args": [{ "index": 0, "value": p, "op": "SCMP_CMP_EQ" }] }),
        );
    }
    if has("CAP_SYS_ADMIN") {
        rules.push(json!({ "names": ["clone"], "action": "SCMP_ACT_ALLOW" }));
    } else {
        rules.push(json!({ "names": ["clone"], "action": "SCMP_ACT_ALLOW",
                           "args": [{ "index": 0, "value": NAMESPACE_FLAGS, "valueTwo": 0,
                                      "op": "SCMP_CMP_MASKED_EQ" }] }));
        // clone3 passes its flags in memory, out of a filter's reach: ENOSYS makes libc fall
        // back to clone, whose flags the rule above checks.
        rules.push(json!({ "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS }));
    }
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        "architectures": architectures(),
        "syscalls": rules,
    })
}

/// The host's architecture and the ones its kernel also runs (32-bit programs).
fn architectures() -> Vec<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => vec!["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "x86" => vec!["SCMP_ARCH_X86"],
        "aarch64" => vec!["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        "arm" => vec!["SCMP_ARCH_ARM"],
        "riscv64" => vec!["SCMP_ARCH_RISCV64"],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(p: &Value) -> Vec<String> {
        p["syscalls"][0]["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn guarded_calls_follow_the_capabilities() {
        let plain = default_profile(&["CAP_CHOWN".into()]);
        let names = allowed(&plain);
        assert!(names.contains(&"openat".into()) && names.contains(&"ptrace".into()));
        for denied in [
            "mount",
            "unshare",
            "setns",
            "keyctl",
            "reboot",
            "io_uring_setup",
            "bpf",
        ] {
            assert!(!names.contains(&denied.to_string()), "{denied}");
        }
        let admin = default_profile(&["CAP_SYS_ADMIN".into(), "CAP_SYS_BOOT".into()]);
        let names = allowed(&admin);
        for ok in ["mount", "unshare", "setns", "bpf", "reboot", "clone3"] {
            assert!(names.contains(&ok.to_string()), "{ok}");
        }
        assert!(
            !names.contains(&"keyctl".to_string()),
            "no capability brings the keyring"
        );
        let dup = names.len();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), dup, "each name once");
    }

    #[test]
    fn clone_keeps_namespace_flags_out_without_sys_admin() {
        let p = default_profile(&[]);
        let rules = p["syscalls"].as_array().unwrap();
        let clone = rules.iter().find(|r| r["names"][0] == "clone").unwrap();
        assert_eq!(clone["args"][0]["op"], "SCMP_CMP_MASKED_EQ");
        assert_eq!(clone["args"][0]["value"], NAMESPACE_FLAGS);
        let clone3 = rules.iter().find(|r| r["names"][0] == "clone3").unwrap();
        assert_eq!(clone3["errnoRet"], ENOSYS);
        let admin = default_profile(&["CAP_SYS_ADMIN".into()]);
        let rules = admin["syscalls"].as_array().unwrap();
        let clone = rules.iter().find(|r| r["names"][0] == "clone").unwrap();
        assert!(clone["args"].is_null());
    }
}
