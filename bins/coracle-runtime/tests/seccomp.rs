//! linux.seccomp end to end: a Docker-like allow-list profile, argument conditions (equal, masked
//! equal), a custom errno, KILL_PROCESS, the load order without no_new_privs for a non-root user,
//! and bad profiles refused by name with nothing left behind.

mod common;

use common::{assert_nothing_left, exit_code, start, stdout, Bundle, HostSnapshot, Runtime};
use serde_json::{json, Value};
use std::process::Output;

/// The syscalls a Docker-like default profile allows unconditionally (x86_64, x86, arm, aarch64
/// and riscv64 names; a name missing on an arch is skipped there). Not in it: mount, umount2,
/// unshare, setns, keyctl, add_key, request_key, sethostname, reboot, bpf, ptrace, ...
const ALLOWED: &str = "
    accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32
    clock_adjtime clock_getres clock_gettime clock_nanosleep close close_range connect
    copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_pwait
    epoll_pwait2 epoll_wait eventfd eventfd2 execve execveat exit exit_group faccessat
    faccessat2 fadvise64 fallocate fanotify_mark fchdir fchmod fchmodat fchown fchownat fcntl
    fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstatfs fsync
    ftruncate futex futex_waitv futimesat getcpu getcwd getdents getdents64 getegid geteuid
    getgid getgroups getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom
    getresgid getresuid getrlimit get_robust_list getrusage getsid getsockname getsockopt
    get_thread_area gettid gettimeofday getuid getxattr inotify_add_watch inotify_init
    inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents
    ioprio_get ioprio_set io_setup io_submit io_uring_enter io_uring_register io_uring_setup
    kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lgetxattr link
    linkat listen listxattr llistxattr lremovexattr lseek lsetxattr lstat madvise membarrier
    memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap
    mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedsend mq_unlink mremap
    msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep
    newfstatat open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc
    pkey_free pkey_mprotect poll ppoll prctl pread64 preadv preadv2 prlimit64 process_mrelease
    pselect6 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recvfrom
    recvmmsg recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall
    rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn
    rt_sigsuspend rt_sigtimedwait rt_tgsigqueueinfo sched_getaffinity sched_getattr
    sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler
    sched_rr_get_interval sched_setaffinity sched_setattr sched_setparam sched_setscheduler
    sched_yield seccomp select semctl semget semop semtimedop sendfile sendmmsg sendmsg sendto
    setfsgid setfsuid setgid setgroups setitimer setpgid setpriority setregid setresgid
    setresuid setreuid setrlimit set_robust_list setsid setsockopt set_thread_area
    set_tid_address setuid setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd
    signalfd4 socket socketpair splice stat statfs statx symlink symlinkat sync sync_file_range
    syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime
    timer_settime timerfd_create timerfd_gettime timerfd_settime times tkill truncate umask
    uname unlink unlinkat utime utimensat utimes vfork vmsplice wait4 waitid waitpid write
    writev arch_prctl modify_ldt ugetrlimit set_tls cacheflush breakpoint arm_fadvise64_64
    arm_sync_file_range riscv_flush_icache
";

/// Docker's shape: everything not listed fails with EPERM; clone only without namespace flags;
/// clone3 fails with ENOSYS so libc falls back to clone.
fn docker_like() -> Value {
    let names: Vec<&str> = ALLOWED.split_whitespace().collect();
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": names, "action": "SCMP_ACT_ALLOW"},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0x7e02_0000u64, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
        ]
    })
}

/// A busybox bundle running `sh -c script` with every capability (so only seccomp can say no).
fn bundle(script: &str, seccomp: Option<Value>) -> Bundle {
    Bundle::busybox().args(&["sh", "-c", script]).config(|c| {
        let all: Vec<&str> = vec![
            "CAP_SYS_ADMIN",
            "CAP_SETUID",
            "CAP_SETGID",
            "CAP_KILL",
            "CAP_SYS_CHROOT",
            "CAP_DAC_OVERRIDE",
            "CAP_CHOWN",
            "CAP_FOWNER",
        ];
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set] = json!(all);
        }
        c["root"]["readonly"] = json!(false);
        if let Some(s) = seccomp {
            c["linux"]["seccomp"] = s;
        }
    })
}

fn run(rt: &Runtime, b: &Bundle) -> Output {
    let (id, out) = rt.run(b);
    assert_nothing_left(rt, b, &id);
    out
}

/// Run and expect exit 0; returns stdout + stderr.
fn run_ok(rt: &Runtime, b: &Bundle) -> String {
    let out = run(rt, b);
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert_eq!(exit_code(&out), 0, "{text}");
    text
}

/// Each probe prints "NAME=ok" or "NAME=fail" with the error text busybox printed.
const PROBES: &str = r#"
probe() { n=$1; shift; if out=$("$@" 2>&1); then echo "$n=ok"; else echo "$n=fail $out"; fi; }
mkdir -p /tmp/m
probe mount mount -t tmpfs none /tmp/m
probe unshare unshare -u true
probe hostname hostname other
probe ls ls /
probe cat cat /etc/passwd
probe fork sh -c 'echo child'
"#;

fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} line in {out}"))
}

#[test]
fn docker_like_profile_blocks_mount_unshare_hostname_with_eperm() {
    let rt = Runtime::new();
    // Control: the same commands succeed without a profile (the capabilities allow them).
    let free = run_ok(&rt, &bundle(PROBES, None));
    for n in ["mount", "unshare", "hostname", "ls", "cat", "fork"] {
        assert_eq!(&line(&free, n)[n.len()..], "=ok", "{free}");
    }
    let out = run_ok(&rt, &bundle(PROBES, Some(docker_like())));
    for n in ["mount", "unshare", "hostname"] {
        let l = line(&out, n);
        assert!(l.starts_with(&format!("{n}=fail")), "{out}");
        assert!(
            l.contains("Operation not permitted") || l.contains("permission denied"),
            "{n} not EPERM: {out}"
        );
    }
    for n in ["ls", "cat", "fork"] {
        assert_eq!(&line(&out, n)[n.len()..], "=ok", "{out}");
    }
    // Seccomp mode 2 is on for the process, with one filter.
    let b = bundle(
        "grep -E '^(Seccomp|Seccomp_filters):' /proc/self/status",
        Some(docker_like()),
    );
    let status = run_ok(&rt, &b);
    assert!(status.contains("Seccomp:\t2"), "{status}");
    assert!(status.contains("Seccomp_filters:\t1"), "{status}");
}

/// kill(pid, sig): signal 0 allowed, SIGTERM refused (EQ on arg 1); creating files refused by a
/// masked-equal on the open flags while reading works; custom errno values come back.
#[test]
fn argument_conditions_allow_one_value_and_deny_another() {
    let rt = Runtime::new();
    let profile = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        // Loaded through seccomp(2) with these flags.
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "syscalls": [
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "args": [{"index": 1, "value": 15, "op": "SCMP_CMP_EQ"}]},
            {"names": ["openat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 2, "value": 0o100, "valueTwo": 0o100, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["open"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 1, "value": 0o100, "valueTwo": 0o100, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 122}
        ]
    });
    let script = r#"
sleep 60 & pid=$!
kill -0 $pid && echo sig0=ok
kill -TERM $pid 2>&1 || echo term=refused
kill -KILL $pid && echo sigkill=ok
grep -q root /etc/passwd && echo read=ok
touch /tmp/new 2>&1 || echo create=refused
mkdir /tmp/d 2>&1 || echo mkdir=refused
"#;
    let out = run_ok(&rt, &bundle(script, Some(profile)));
    for want in [
        "sig0=ok",
        "term=refused",
        "sigkill=ok",
        "read=ok",
        "create=refused",
        "mkdir=refused",
    ] {
        assert!(out.lines().any(|l| l == want), "no {want:?} in {out}");
    }
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(out.contains("Permission denied"), "{out}");
    assert!(
        out.contains("Disk quota exceeded"),
        "errnoRet 122 not seen: {out}"
    );
}

/// KILL_PROCESS: the process dies of SIGSYS, `run` exits 128+31.
#[test]
fn kill_process_kills_with_sigsys() {
    let rt = Runtime::new();
    let profile = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["uname"], "action": "SCMP_ACT_KILL_PROCESS"}]
    });
    let b = Bundle::busybox()
        .args(&["uname", "-a"])
        .config(|c| c["linux"]["seccomp"] = profile);
    let out = run(&rt, &b);
    assert_eq!(
        exit_code(&out),
        159,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Without no_new_privs the filter needs CAP_SYS_ADMIN: it is loaded before the capabilities are
/// dropped, so an unprivileged user with no capabilities still gets it.
#[test]
fn without_no_new_privs_for_a_user_without_capabilities() {
    let rt = Runtime::new();
    let b = Bundle::busybox()
        .args(&["sh", "-c", "id -u; grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status; unshare -u true 2>&1 || echo unshare=refused"])
        .config(|c| {
            c["process"]["noNewPrivileges"] = json!(false);
            c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
            c["process"]["capabilities"] = json!({});
            c["linux"]["seccomp"] = docker_like();
        });
    let out = run_ok(&rt, &b);
    assert!(out.starts_with("1000\n"), "{out}");
    assert!(out.contains("Seccomp:\t2"), "{out}");
    assert!(out.contains("NoNewPrivs:\t0"), "{out}");
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
    assert!(out.contains("unshare=refused"), "{out}");
}

/// A process added with `exec` is under the container's profile too.
#[test]
fn exec_gets_the_containers_profile() {
    let rt = Runtime::new();
    let b = bundle("sleep 100000", Some(docker_like()));
    let id = start(&rt, &b);
    let out = rt.output(&[
        "exec",
        &id,
        "sh",
        "-c",
        "grep '^Seccomp:' /proc/self/status; unshare -u true 2>&1 || echo unshare=refused",
    ]);
    let text = stdout(&out);
    rt.run_ok(&["delete", "--force", &id]);
    assert_nothing_left(&rt, &b, &id);
    assert_eq!(
        exit_code(&out),
        0,
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Seccomp:\t2"), "{text}");
    assert!(text.contains("Operation not permitted"), "{text}");
    assert!(text.contains("unshare=refused"), "{text}");
}

/// `create` must fail before anything exists: one error line naming the field.
fn refused(rt: &Runtime, profile: Value, want: &str) {
    let b = Bundle::busybox()
        .args(&["true"])
        .config(|c| c["linux"]["seccomp"] = profile);
    let id = rt.new_id();
    let before = HostSnapshot::take(rt, &b, &[&id]);
    let out = rt.output(&["create", "--bundle", b.path_str(), &id]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(exit_code(&out), 0, "create succeeded");
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(want), "stderr lacks {want:?}: {err}");
    assert!(err.contains("config.json"), "{err}");
    HostSnapshot::take(rt, &b, &[&id]).assert_same_as(&before);
    assert_nothing_left(rt, &b, &id);
}

#[test]
fn bad_profiles_are_refused_by_field() {
    let rt = Runtime::new();
    refused(
        &rt,
        json!({"defaultAction": "SCMP_ACT_ERRNO",
               "syscalls": [{"names": ["read"], "action": "SCMP_ACT_EXPLODE"}]}),
        "linux.seccomp.syscalls[0].action",
    );
    // SCMP_ACT_NOTIFY's own refusals are in seccomp_notify.rs.
    refused(
        &rt,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_S390X"]}),
        "linux.seccomp.architectures[0]: SCMP_ARCH_S390X is not supported",
    );
}
