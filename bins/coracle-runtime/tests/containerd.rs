//! coracle-runtime under containerd 1.6 (Debian's package, runc v2 shim), driven by the real
//! `ctr` with `--runc-binary`: a private containerd per test (tests/containerd_support), a
//! busybox image built offline. Each test checks what a ctr user sees, then that the task, the
//! shim and the runtime's state are gone. Skipped (with a printed reason) without containerd.

mod common;
mod containerd_support;

use common::{wait_until, Runtime, COMMAND_TIMEOUT};
use containerd_support::daemon::{tail, Containerd};
use containerd_support::image::BUSYBOX;
use std::process::{Command, Output, Stdio};

/// A private containerd for a test, or None (test skipped) when containerd is not installed.
fn containerd(test: &str) -> Option<(Containerd, Runtime)> {
    if !Containerd::installed(test) {
        return None;
    }
    let rt = Runtime::new();
    Some((Containerd::start(rt.bin()), rt))
}

/// `ctr run [FLAGS] --runc-binary RT --runc-root ROOT IMAGE ID ARGS…`, to completion.
fn ctr_run(d: &Containerd, flags: &[&str], id: &str, args: &[&str]) -> Output {
    let mut all: Vec<String> = vec!["run".into()];
    all.extend(flags.iter().map(|f| f.to_string()));
    all.extend(d.runtime_flags());
    all.push(BUSYBOX.into());
    all.push(id.into());
    all.extend(args.iter().map(|a| a.to_string()));
    d.ctr_output(&all)
}

/// `ctr run -d … sleep 100000`: a running task named `id`.
fn sleeper(d: &Containerd, id: &str) {
    let out = ctr_run(d, &["-d"], id, &["sleep", "100000"]);
    assert!(
        out.status.success(),
        "ctr run -d: {}\n{}\ncontainerd log:\n{}",
        out.status,
        text(&out.stderr),
        tail(&d.log(), 15)
    );
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The STATUS column of `ctr task ls` for `id` (None if no such task).
fn task_status(d: &Containerd, id: &str) -> Option<String> {
    d.ctr_ok(&["task", "ls"])
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.first() == Some(&id))
        .and_then(|f| f.get(2).map(|s| s.to_string()))
}

fn wait_task_status(d: &Containerd, id: &str, want: &str) {
    let mut last = None;
    let ok = wait_until(COMMAND_TIMEOUT, || {
        last = task_status(d, id);
        last.as_deref() == Some(want)
    });
    assert!(ok, "task {id}: status {last:?}, expected {want}");
}

/// `ctr task kill -s KILL`, wait for STOPPED, `task delete`, `container rm`.
fn kill_and_delete(d: &Containerd, id: &str) {
    d.ctr_ok(&["task", "kill", "--signal", "KILL", id]);
    wait_task_status(d, id, "STOPPED");
    d.ctr_ok(&["task", "delete", id]);
    d.ctr_ok(&["container", "rm", id]);
}

/// Nothing of the test's containers is left: no task, no container, no shim, no runtime state.
fn assert_all_gone(d: &Containerd) {
    assert_eq!(d.ctr_ok(&["task", "ls", "-q"]).trim(), "", "tasks left");
    assert_eq!(
        d.ctr_ok(&["container", "ls", "-q"]).trim(),
        "",
        "containers left"
    );
    d.assert_shims_gone();
    // The shim gives the runtime `--root ROOT/NAMESPACE`.
    let state = d.runtime_root().join(d.namespace());
    let left: Vec<_> = std::fs::read_dir(&state)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.is_empty(),
        "runtime state left in {}: {left:?}",
        state.display()
    );
}

#[test]
fn run_rm_prints_output_and_passes_the_exit_code() {
    let Some((d, _rt)) = containerd("run_rm_prints_output_and_passes_the_exit_code") else {
        return;
    };
    let out = ctr_run(
        &d,
        &["--rm"],
        "rm",
        &["sh", "-c", "echo hello from $0; exit 7"],
    );
    assert_eq!(
        text(&out.stdout).trim(),
        "hello from sh",
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert_all_gone(&d);
}

#[test]
fn detached_task_runs_until_killed_then_deletes() {
    let Some((d, _rt)) = containerd("detached_task_runs_until_killed_then_deletes") else {
        return;
    };
    sleeper(&d, "detached");
    wait_task_status(&d, "detached", "RUNNING");
    // The shim started it with our runtime: its state is in the runtime root.
    let state = d.runtime_root().join(d.namespace()).join("detached");
    assert!(
        state.join("state.json").exists(),
        "{} missing",
        state.display()
    );
    // SIGTERM is ignored by a pid-1 sleep (no handler): the task keeps running; SIGKILL ends it.
    kill_and_delete(&d, "detached");
    assert_eq!(task_status(&d, "detached"), None);
    assert_all_gone(&d);
}

#[test]
fn task_exec_passes_output_and_exit_code() {
    let Some((d, _rt)) = containerd("task_exec_passes_output_and_exit_code") else {
        return;
    };
    sleeper(&d, "exec");
    let out = d.ctr_output(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        "exec",
        "sh",
        "-c",
        "echo in $(cat /proc/1/comm); exit 5",
    ]);
    assert_eq!(
        text(&out.stdout).trim(),
        "in sleep",
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    // An exec that fails in the runtime: its JSON log line is the ctr user's error.
    let out = d.ctr_output(&["task", "exec", "--exec-id", "e2", "exec", "/no/such/tool"]);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("OCI runtime exec failed"), "{err}");
    assert!(
        err.contains("/no/such/tool") && err.contains("no such executable"),
        "{err}"
    );
    kill_and_delete(&d, "exec");
    assert_all_gone(&d);
}

#[test]
fn task_exec_with_a_terminal() {
    let Some((d, _rt)) = containerd("task_exec_with_a_terminal") else {
        return;
    };
    sleeper(&d, "tty");
    // `ctr task exec -t` wants a terminal on its stdin: util-linux `script` gives it one. The
    // shim allocates the pty through our runtime's --console-socket.
    let ctr = format!(
        "ctr --address {} --namespace {} task exec -t --exec-id e1 tty sh -c 'tty; test -t 0 && echo stdin-is-a-tty; exit 3'",
        d.socket().display(),
        d.namespace()
    );
    let out = Command::new("script")
        .args(["-qec", &ctr, "/dev/null"])
        .stdin(Stdio::piped())
        .output()
        .expect("script");
    let shown = text(&out.stdout).replace('\r', "");
    assert!(shown.contains("/dev/pts/"), "{shown}");
    assert!(shown.contains("stdin-is-a-tty"), "{shown}");
    assert_eq!(out.status.code(), Some(3), "{shown}");
    kill_and_delete(&d, "tty");
    assert_all_gone(&d);
}

#[test]
fn run_with_a_terminal() {
    let Some((d, _rt)) = containerd("run_with_a_terminal") else {
        return;
    };
    // `ctr run -t`: the shim passes --console-socket to `create`; the container's init gets the
    // pty as its stdio.
    let flags = d.runtime_flags().join(" ");
    let ctr = format!(
        "ctr --address {} --namespace {} run --rm -t {flags} {BUSYBOX} tty-run sh -c 'tty; exit 4'",
        d.socket().display(),
        d.namespace()
    );
    let out = Command::new("script")
        .args(["-qec", &ctr, "/dev/null"])
        .stdin(Stdio::piped())
        .output()
        .expect("script");
    let shown = text(&out.stdout).replace('\r', "");
    assert!(shown.contains("/dev/pts/0"), "{shown}");
    assert_eq!(out.status.code(), Some(4), "{shown}");
    assert_all_gone(&d);
}

#[test]
fn task_ps_pause_resume_and_metrics() {
    let Some((d, _rt)) = containerd("task_ps_pause_resume_and_metrics") else {
        return;
    };
    sleeper(&d, "ps");
    let init_pid = d
        .ctr_ok(&["task", "ls"])
        .lines()
        .find(|l| l.starts_with("ps "))
        .and_then(|l| l.split_whitespace().nth(1).map(String::from))
        .expect("task pid");
    // ctr's cgroupsPath is /NAMESPACE/ID: on this hybrid host, one directory per hierarchy.
    let cgroups = d.container_cgroups();
    assert!(
        cgroups
            .iter()
            .any(|c| c.starts_with("/sys/fs/cgroup/memory")),
        "{cgroups:?}"
    );
    // A second process through exec --detach: `task ps` (runtime `ps --format json`) lists both.
    d.ctr_ok(&[
        "task",
        "exec",
        "--detach",
        "--exec-id",
        "bg",
        "ps",
        "sleep",
        "100001",
    ]);
    let mut ps = String::new();
    let both = wait_until(COMMAND_TIMEOUT, || {
        ps = d.ctr_ok(&["task", "ps", "ps"]);
        ps.lines().skip(1).count() == 2
    });
    assert!(both, "task ps: {ps}");
    assert!(
        ps.lines()
            .any(|l| l.split_whitespace().next() == Some(&init_pid)),
        "{ps}"
    );

    d.ctr_ok(&["task", "pause", "ps"]);
    assert_eq!(task_status(&d, "ps").as_deref(), Some("PAUSED"));
    d.ctr_ok(&["task", "resume", "ps"]);
    assert_eq!(task_status(&d, "ps").as_deref(), Some("RUNNING"));

    // The shim reads the metrics from the container's own cgroups: its memory use is that of
    // two sleeps (well under 64 MiB), not the host's.
    let metrics = d.ctr_ok(&["task", "metrics", "ps"]);
    let usage: u64 = metrics
        .lines()
        .find(|l| l.starts_with("memory.usage_in_bytes") || l.starts_with("memory.usage "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no memory usage in:\n{metrics}"));
    assert!(
        usage > 0 && usage < 64 << 20,
        "memory usage {usage}:\n{metrics}"
    );
    // The exec'd process goes with the task (kill --all, then delete).
    kill_and_delete(&d, "ps");
    assert_all_gone(&d);
}

#[test]
fn memory_limit_ends_in_an_oom_kill() {
    let Some((d, _rt)) = containerd("memory_limit_ends_in_an_oom_kill") else {
        return;
    };
    let hog = "x=a; while true; do x=$x$x; done";
    let out = ctr_run(
        &d,
        &["--rm", "--memory-limit", "33554432"],
        "oom",
        &["sh", "-c", hog],
    );
    assert_eq!(out.status.code(), Some(137), "{}", text(&out.stderr));
    assert_all_gone(&d);
}

#[test]
fn read_only_rootfs() {
    let Some((d, _rt)) = containerd("read_only_rootfs") else {
        return;
    };
    let out = ctr_run(
        &d,
        &["--rm", "--read-only"],
        "ro",
        &["sh", "-c", "touch /x 2>&1; echo rc=$?"],
    );
    let shown = text(&out.stdout);
    assert!(shown.contains("Read-only file system"), "{shown}");
    assert!(shown.contains("rc=1"), "{shown}");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_all_gone(&d);
}

#[test]
fn bind_mount_shares_a_host_directory() {
    let Some((d, _rt)) = containerd("bind_mount_shares_a_host_directory") else {
        return;
    };
    let host = std::path::PathBuf::from(format!("/tmp/{}-bind", common::unique_id()));
    std::fs::create_dir_all(&host).expect("host dir");
    std::fs::write(host.join("in"), "from the host\n").expect("host file");
    let mount = format!(
        "type=bind,src={},dst=/data,options=rbind:rw",
        host.display()
    );
    let out = ctr_run(
        &d,
        &["--rm", "--mount", &mount],
        "bind",
        &[
            "sh",
            "-c",
            "cat /data/in; echo from the container > /data/out",
        ],
    );
    let back = std::fs::read_to_string(host.join("out"));
    let _ = std::fs::remove_dir_all(&host);
    assert_eq!(
        text(&out.stdout),
        "from the host\n",
        "{}",
        text(&out.stderr)
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        back.expect("file written in the container"),
        "from the container\n"
    );
    assert_all_gone(&d);
}

#[test]
fn runtime_errors_reach_the_ctr_user() {
    let Some((d, _rt)) = containerd("runtime_errors_reach_the_ctr_user") else {
        return;
    };
    // The shim runs `--log FILE --log-format json create …` and, when it fails, puts the last
    // JSON error line of FILE into its error: the user sees our one line, not "exit status 1".
    let out = ctr_run(&d, &["--rm"], "bad", &["/no/such/program"]);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("OCI runtime create failed"), "{err}");
    assert!(err.contains("/no/such/program"), "{err}");
    assert!(err.contains("no such executable"), "{err}");
    assert_all_gone(&d);
}

#[test]
fn a_dropped_fixture_leaves_nothing_running() {
    let Some((d, _rt)) = containerd("a_dropped_fixture_leaves_nothing_running") else {
        return;
    };
    // What a failing test leaves: a running task. The fixture's Drop must still clean up.
    sleeper(&d, "left");
    let init: i32 = d
        .ctr_ok(&["task", "ls"])
        .lines()
        .find(|l| l.starts_with("left "))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .expect("task pid");
    let shims = d.live_shims();
    assert!(!shims.is_empty(), "no shim found for the running task");
    let dir = d.dir().to_path_buf();
    let cgroups = d.container_cgroups();
    drop(d);
    let alive = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    };
    let gone = wait_until(COMMAND_TIMEOUT, || {
        !alive(init) && !shims.iter().any(|p| alive(*p))
    });
    assert!(gone, "init {init} or shims {shims:?} still alive");
    assert!(!dir.exists(), "{} left", dir.display());
    let left: Vec<_> = cgroups.iter().filter(|c| c.exists()).collect();
    assert!(left.is_empty(), "cgroups left: {left:?}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    assert!(
        !mounts.contains(dir.to_str().unwrap()),
        "mounts left under {}",
        dir.display()
    );
}
