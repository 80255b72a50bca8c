#!/usr/bin/env python3
"""Print a Docker-like default seccomp profile (JSON, the `linux.seccomp` object of config.json).

The shape of the profile container engines put in every container: deny by default with EPERM,
three x86 architectures (x86_64, x86, x32), one large allow-list of the syscalls ordinary
programs make (several hundred names, 32-bit variants included), `personality` allowed only
for a few values, `clone` only without namespace flags, and `clone3` answered with ENOSYS so
libc falls back to clone. Names are grouped by what they are for; the list is ours.

Usage: bench/seccomp_profile.py                   (the profile)
       bench/seccomp_profile.py --count           (how many names it allows)
       bench/seccomp_profile.py --bundle SRC DST  (DST/config.json: SRC's, with the profile, and
                                                   SRC's rootfs as its root)
"""

import json
import os
import sys

GROUPS = {
    "files": """
        access faccessat faccessat2 chdir fchdir getcwd chmod fchmod fchmodat fchmodat2
        chown fchown fchownat lchown chown32 fchown32 lchown32 creat open openat openat2 close
        close_range dup dup2 dup3 fcntl fcntl64 link linkat symlink symlinkat unlink unlinkat
        rename renameat renameat2 mkdir mkdirat rmdir mknod mknodat readlink readlinkat stat
        stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat statx statfs statfs64 fstatfs
        fstatfs64 truncate truncate64 ftruncate ftruncate64 utime utimes utimensat
        utimensat_time64 futimesat getdents getdents64 umask sync syncfs fsync fdatasync
        sync_file_range fallocate fadvise64 fadvise64_64 flock copy_file_range sendfile
        sendfile64 splice tee vmsplice name_to_handle_at lseek _llseek read write readv writev
        pread64 pwrite64 preadv pwritev preadv2 pwritev2 readahead chroot
    """,
    "xattrs": """
        getxattr lgetxattr fgetxattr setxattr lsetxattr fsetxattr listxattr llistxattr
        flistxattr removexattr lremovexattr fremovexattr
    """,
    "memory": """
        brk mmap mmap2 munmap mremap mprotect madvise mincore msync mlock mlock2 mlockall
        munlock munlockall membarrier memfd_create memfd_secret pkey_alloc pkey_free
        pkey_mprotect remap_file_pages process_mrelease get_mempolicy set_mempolicy mbind
        cachestat map_shadow_stack
    """,
    "processes": """
        fork vfork execve execveat exit exit_group wait4 waitid waitpid kill tkill tgkill
        getpid getppid gettid getpgid getpgrp setpgid getsid setsid getuid getuid32 geteuid
        geteuid32 getgid getgid32 getegid getegid32 getresuid getresuid32 getresgid
        getresgid32 setuid setuid32 setgid setgid32 setreuid setreuid32 setregid setregid32
        setresuid setresuid32 setresgid setresgid32 setfsuid setfsuid32 setfsgid setfsgid32
        getgroups getgroups32 setgroups setgroups32 capget capset prctl arch_prctl
        getpriority setpriority getrlimit setrlimit ugetrlimit prlimit64 getrusage times
        set_tid_address set_robust_list get_robust_list rseq pidfd_open pidfd_send_signal
        ioprio_get ioprio_set uname sysinfo getcpu getrandom restart_syscall
    """,
    "scheduling": """
        sched_getaffinity sched_setaffinity sched_getattr sched_setattr sched_getparam
        sched_setparam sched_get_priority_max sched_get_priority_min sched_getscheduler
        sched_setscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_yield
    """,
    "signals": """
        rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend
        rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sigaltstack signalfd
        signalfd4 sigpending sigprocmask sigreturn sigsuspend pause alarm
    """,
    "time": """
        clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
        clock_nanosleep_time64 gettimeofday nanosleep time timer_create timer_delete
        timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
        timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64
        getitimer setitimer
    """,
    "events": """
        epoll_create epoll_create1 epoll_ctl epoll_pwait epoll_pwait2 epoll_wait eventfd
        eventfd2 inotify_add_watch inotify_init inotify_init1 inotify_rm_watch poll ppoll
        ppoll_time64 select _newselect pselect6 pselect6_time64 pipe pipe2 ioctl futex
        futex_time64 futex_waitv futex_wait futex_wake futex_requeue
    """,
    "async io": """
        io_setup io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_submit
        io_cancel io_uring_enter io_uring_register io_uring_setup
    """,
    "threads (x86)": "set_thread_area get_thread_area modify_ldt",
    "sockets": """
        socket socketpair bind connect listen accept accept4 getsockname getpeername
        getsockopt setsockopt sendto recvfrom sendmsg recvmsg sendmmsg recvmmsg
        recvmmsg_time64 shutdown socketcall send recv
    """,
    "ipc": """
        msgget msgsnd msgrcv msgctl semget semop semtimedop semtimedop_time64 semctl shmget
        shmat shmdt shmctl ipc mq_open mq_unlink mq_timedsend mq_timedsend_time64
        mq_timedreceive mq_timedreceive_time64 mq_notify mq_getsetattr
    """,
    "sandboxing": """
        seccomp landlock_create_ruleset landlock_add_rule landlock_restrict_self
    """,
}

# Execution domains a program may ask for: Linux, its UNAME26 variant, and the "query" value.
PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF]
# clone(2) flags that make namespaces: clone is allowed only with none of them.
NAMESPACE_FLAGS = 0x7E020000
ENOSYS = 38


def allowed():
    names = []
    for text in GROUPS.values():
        for n in text.split():
            if n not in names:
                names.append(n)
    return sorted(names)


def profile():
    rules = [{"names": allowed(), "action": "SCMP_ACT_ALLOW"}]
    for value in PERSONALITIES:
        rules.append({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": value, "op": "SCMP_CMP_EQ"}]})
    rules.append({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": NAMESPACE_FLAGS, "valueTwo": 0,
                            "op": "SCMP_CMP_MASKED_EQ"}]})
    rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS})
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": rules,
    }


def bundle(src, dst):
    with open(os.path.join(src, "config.json")) as f:
        config = json.load(f)
    config["root"]["path"] = os.path.abspath(os.path.join(src, config["root"]["path"]))
    config.setdefault("linux", {})["seccomp"] = profile()
    os.makedirs(dst, exist_ok=True)
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(config, f, indent=1)


if __name__ == "__main__":
    if sys.argv[1:] == ["--count"]:
        print(len(allowed()))
    elif sys.argv[1:2] == ["--bundle"] and len(sys.argv) == 4:
        bundle(sys.argv[2], sys.argv[3])
    else:
        json.dump(profile(), sys.stdout, indent=1)
        print()
