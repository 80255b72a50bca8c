//! `--systemd-cgroup` where systemd runs: the container's cgroup is a transient scope unit.
//!
//! systemd does not run on this host (the CLI refuses the flag: tests/cli.rs), so these tests are
//! `#[ignore]`d here: `tests/v2/run.sh --systemd` boots Debian's kernel under QEMU with Debian's
//! systemd as PID 1 (cgroup v2), which runs this static test binary from a service unit, each test
//! alone, and reports one RESULT line per test. `systemctl` in the guest talks to systemd over its
//! private socket, as the runtime does there (no D-Bus daemon in the guest).
//!
//! Run by hand on a systemd host: `cargo test -p coracle-runtime --test systemd_cgroup -- --ignored`.

mod common;

use common::{
    assert_nothing_left, detached, exit_code, mkfifo, release, stdout, wait_until, Bundle,
    HostSnapshot, Runtime,
};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);
const IGNORED: &str = "systemd as PID 1 only: tests/v2/run.sh --systemd runs it under QEMU";

/// Panic unless systemd runs this host on a pure cgroup v2 layout.
fn require_systemd() {
    assert!(
        Path::new("/run/systemd/system").is_dir(),
        "systemd is not running here: {IGNORED}"
    );
    let mounts = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        mounts
            .lines()
            .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 ")),
        "not cgroup v2: {IGNORED}"
    );
}

fn detail(text: impl AsRef<str>) {
    println!("DETAIL {}", text.as_ref());
}

fn unit(id: &str) -> String {
    format!("coracle-{id}.scope")
}

fn scope_dir(id: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup/system.slice").join(unit(id))
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

fn keyed(path: impl AsRef<Path>, key: &str) -> u64 {
    let text = read(path.as_ref());
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {}: {text}", path.as_ref().display()))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `systemctl show -p PROPS UNIT` as a map (what a user checks).
fn systemctl_show(unit: &str, props: &str) -> std::collections::BTreeMap<String, String> {
    let out = Command::new("systemctl")
        .args(["show", "-p", props, unit])
        .output()
        .expect("run systemctl");
    assert!(out.status.success(), "systemctl show: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A bundle whose cgroupsPath is `system.slice:coracle:<id>` for a fresh id.
fn bundle_for(args: &[&str], resources: Value) -> (String, Bundle) {
    let id = common::unique_id();
    let path = format!("system.slice:coracle:{id}");
    let bundle = Bundle::busybox().args(args).config(|c| {
        c["linux"]["cgroupsPath"] = path.into();
        c["linux"]["resources"] = resources;
    });
    (id, bundle)
}

/// `--systemd-cgroup create` then `start`.
fn start(rt: &Runtime, bundle: &Bundle, id: &str) {
    let (code, err) = detached(rt.cmd(&[
        "--systemd-cgroup",
        "create",
        "--bundle",
        bundle.path_str(),
        id,
    ]));
    assert_eq!(code, 0, "create: {err}");
    rt.run_ok(&["start", id]);
}

fn delete(rt: &Runtime, id: &str) {
    rt.run_ok(&["--systemd-cgroup", "delete", "--force", id]);
}

/// After delete: systemd forgot the unit and its cgroup is gone.
fn assert_unit_gone(rt: &Runtime, bundle: &Bundle, id: &str) {
    let u = unit(id);
    assert!(
        wait_until(TIMEOUT, || systemctl_show(&u, "LoadState")["LoadState"]
            == "not-found"),
        "{u} still loaded: {:?}",
        systemctl_show(&u, "LoadState,ActiveState")
    );
    assert!(!scope_dir(id).exists(), "{} left", scope_dir(id).display());
    assert_nothing_left(rt, bundle, id);
}

#[test]
#[ignore = "systemd as PID 1 only: tests/v2/run.sh --systemd runs it under QEMU"]
fn init_is_placed_in_a_delegated_scope() {
    require_systemd();
    let rt = Runtime::new();
    let (id, bundle) = bundle_for(&["sleep", "100"], json!({}));
    start(&rt, &bundle, &id);
    let pid = rt.state(&id)["pid"].as_i64().expect("pid");
    let own = read(format!("/proc/{pid}/cgroup"));
    assert_eq!(own, format!("0::/system.slice/{}", unit(&id)));
    let procs = read(scope_dir(&id).join("cgroup.procs"));
    assert!(procs.lines().any(|p| p == pid.to_string()), "{procs}");
    let show = systemctl_show(
        &unit(&id),
        "ActiveState,ControlGroup,Delegate,Slice,MainPID",
    );
    assert_eq!(show["ActiveState"], "active", "{show:?}");
    assert_eq!(show["ControlGroup"], format!("/system.slice/{}", unit(&id)));
    assert_eq!(show["Delegate"], "yes");
    assert_eq!(show["Slice"], "system.slice");
    // No pids limit in the spec: none from systemd either (not its DefaultTasksMax).
    let tasks = systemctl_show(&unit(&id), "TasksMax");
    assert_eq!(tasks["TasksMax"], "infinity");
    assert_eq!(read(scope_dir(&id).join("pids.max")), "max");
    // exec joins the same cgroup.
    let out = rt.output(&["--systemd-cgroup", "exec", &id, "cat", "/proc/self/cgroup"]);
    assert_eq!(exit_code(&out), 0, "exec: {}", stderr(&out));
    assert_eq!(stdout(&out).trim(), own, "exec'd process's cgroup");
    delete(&rt, &id);
    assert_unit_gone(&rt, &bundle, &id);
    detail(format!(
        "{own}; systemctl: {show:?}; exec joined it; delete removed unit and dir"
    ));
}

/// The container keeps running after the checked command (systemd removes a scope's cgroup as
/// soon as it is empty): the command's result goes to a file in the rootfs, /done marks the end.
fn start_writable(args: &[&str], resources: Value) -> (Runtime, String, Bundle) {
    let rt = Runtime::new();
    let (id, mut bundle) = bundle_for(args, resources);
    bundle.edit(|c| c["root"]["readonly"] = false.into());
    start(&rt, &bundle, &id);
    let done = bundle.rootfs().join("done");
    assert!(
        wait_until(TIMEOUT, || done.exists()),
        "the container never wrote /done"
    );
    (rt, id, bundle)
}

#[test]
#[ignore = "systemd as PID 1 only: tests/v2/run.sh --systemd runs it under QEMU"]
fn memory_limit_oom_kills() {
    require_systemd();
    // dd's 100 MiB buffer is filled from /dev/zero: every page is touched and charged.
    let script = "dd if=/dev/zero of=/dev/null bs=100M count=1; echo $? > /rc; \
                  touch /done; exec sleep 1000";
    let (rt, id, bundle) = start_writable(
        &["sh", "-c", script],
        json!({"memory": {"limit": 33554432}}),
    );
    let rc = read(bundle.rootfs().join("rc"));
    let dir = scope_dir(&id);
    let max = read(dir.join("memory.max"));
    let oom_kill = keyed(dir.join("memory.events"), "oom_kill");
    let show = systemctl_show(&unit(&id), "MemoryMax");
    delete(&rt, &id);
    assert_eq!(rc, "137", "dd's exit status");
    assert_eq!(max, "33554432");
    assert_eq!(show["MemoryMax"], "33554432", "systemd's view");
    assert!(oom_kill >= 1, "oom_kill {oom_kill}");
    assert_unit_gone(&rt, &bundle, &id);
    detail(format!(
        "dd exit 137, memory.max {max}, MemoryMax {}, oom_kill {oom_kill}",
        show["MemoryMax"]
    ));
}

#[test]
#[ignore = "systemd as PID 1 only: tests/v2/run.sh --systemd runs it under QEMU"]
fn pids_limit_stops_a_fork_loop() {
    require_systemd();
    // The loop runs in a subshell: busybox sh exits at its first failed fork. /done is written
    // by a builtin (no fork needed).
    let script = "(i=0; while [ $i -lt 30 ]; do (echo started >> /out; exec sleep 100) & \
                  i=$((i+1)); done) 2>/err; echo > /done; exec sleep 1000";
    let (rt, id, bundle) = start_writable(&["sh", "-c", script], json!({"pids": {"limit": 10}}));
    let dir = scope_dir(&id);
    let max = read(dir.join("pids.max"));
    let hits = keyed(dir.join("pids.events"), "max");
    let show = systemctl_show(&unit(&id), "TasksMax");
    let started = fs::read_to_string(bundle.rootfs().join("out"))
        .unwrap_or_default()
        .lines()
        .count();
    let errors = fs::read_to_string(bundle.rootfs().join("err")).unwrap_or_default();
    delete(&rt, &id);
    assert_eq!(max, "10");
    assert_eq!(show["TasksMax"], "10", "systemd's view");
    assert!(started <= 9, "{started} children forked");
    assert!(hits >= 1, "pids.events max {hits}");
    assert!(errors.contains("fork"), "the shell's fork error: {errors}");
    assert_unit_gone(&rt, &bundle, &id);
    detail(format!(
        "pids.max {max}, TasksMax 10, {started} of 30 forks"
    ));
}

#[test]
#[ignore = "systemd as PID 1 only: tests/v2/run.sh --systemd runs it under QEMU"]
fn update_pause_resume_ps_events_kill() {
    require_systemd();
    let rt = Runtime::new();
    let (id, bundle) = bundle_for(
        &["sh", "-c", "read x < /go; sleep 1001 & exec sleep 1002"],
        json!({"pids": {"limit": 100}, "memory": {"limit": 100 << 20}}),
    );
    let mut bundle = bundle;
    bundle.edit(|c| c["root"]["readonly"] = false.into());
    mkfifo(&bundle.rootfs().join("go"));
    start(&rt, &bundle, &id);
    release(&bundle.rootfs().join("go"));
    let dir = scope_dir(&id);

    rt.run_ok(&["update", "--pids-limit", "6", "--memory", "48m", &id]);
    assert_eq!(read(dir.join("pids.max")), "6");
    assert_eq!(read(dir.join("memory.max")), (48u64 << 20).to_string());

    let ps = || -> usize {
        let text = rt.run_ok(&["ps", "-f", "json", &id]);
        let v: Value = serde_json::from_str(&text).expect("ps json");
        v.as_array().expect("array").len()
    };
    assert!(wait_until(TIMEOUT, || ps() == 2), "ps: {}", ps());

    rt.run_ok(&["pause", &id]);
    assert!(
        wait_until(TIMEOUT, || keyed(dir.join("cgroup.events"), "frozen") == 1),
        "never frozen"
    );
    assert_eq!(rt.status(&id), "paused");
    rt.run_ok(&["resume", &id]);
    assert_eq!(keyed(dir.join("cgroup.events"), "frozen"), 0);
    assert_eq!(rt.status(&id), "running");

    let stats = rt.run_ok(&["events", "--stats", &id]);
    let v: Value = serde_json::from_str(stats.trim()).expect("events json");
    assert_eq!(v["type"], "stats", "{stats}");
    assert_eq!(v["data"]["pids"]["current"], 2, "{stats}");

    rt.run_ok(&["kill", "--all", &id, "KILL"]);
    rt.wait_status(&id, "stopped", TIMEOUT);
    delete(&rt, &id);
    assert_unit_gone(&rt, &bundle, &id);
    detail("update pids.max 6 + memory.max 48m, ps 2, frozen/thawed, events stats, kill --all");
}

#[test]
#[ignore = "systemd as PID 1 only: tests/v2/run.sh --systemd runs it under QEMU"]
fn bad_cgroups_path_is_one_error_and_leaves_nothing() {
    require_systemd();
    let rt = Runtime::new();
    for path in ["system:coracle:x", "system.slice:coracle", "a--b.slice:p:x"] {
        let id = common::unique_id();
        let bundle = Bundle::busybox()
            .args(&["true"])
            .config(|c| c["linux"]["cgroupsPath"] = path.into());
        let before = HostSnapshot::take(&rt, &bundle, &[&id]);
        let out = rt.output(&["--systemd-cgroup", "run", "-b", bundle.path_str(), &id]);
        let err = stderr(&out);
        assert_eq!(exit_code(&out), 1, "{path}: {err}");
        assert!(
            err.contains("linux.cgroupsPath") && err.lines().count() == 1,
            "{path}: not one clear line: {err:?}"
        );
        HostSnapshot::take(&rt, &bundle, &[&id]).assert_same_as(&before);
    }
    detail("3 bad paths: one line naming linux.cgroupsPath each, nothing left");
}

/// A name ending in ".slice" asks for a slice unit: the init is put in the slice's own cgroup.
#[test]
#[ignore = "systemd as PID 1 only: tests/v2/run.sh --systemd runs it under QEMU"]
fn slice_name_makes_a_slice_unit() {
    require_systemd();
    let rt = Runtime::new();
    let id = common::unique_id();
    // Dashes in a slice name mean nesting: keep the container's own part free of them.
    let slice = format!("system-c{}.slice", id.replace('-', ""));
    let path = format!("system.slice:coracle:{slice}");
    let bundle = Bundle::busybox()
        .args(&["sleep", "100"])
        .config(|c| c["linux"]["cgroupsPath"] = path.into());
    start(&rt, &bundle, &id);
    let pid = rt.state(&id)["pid"].as_i64().expect("pid");
    let own = read(format!("/proc/{pid}/cgroup"));
    assert_eq!(own, format!("0::/system.slice/{slice}"));
    let show = systemctl_show(&slice, "ActiveState,ControlGroup");
    assert_eq!(show["ActiveState"], "active", "{show:?}");
    assert_eq!(show["ControlGroup"], format!("/system.slice/{slice}"));
    delete(&rt, &id);
    // systemd loads any slice name asked about (slices need no unit file), so the check is that
    // our transient unit is gone: what `show` finds is a dead, non-transient stand-in.
    let gone = || {
        let s = systemctl_show(&slice, "ActiveState,Transient");
        s["ActiveState"] == "inactive" && s["Transient"] == "no"
    };
    assert!(
        wait_until(TIMEOUT, gone),
        "{slice} still there: {:?}",
        systemctl_show(&slice, "LoadState,ActiveState,SubState,Transient")
    );
    let dir = Path::new("/sys/fs/cgroup/system.slice").join(&slice);
    assert!(!dir.exists(), "{} left", dir.display());
    assert_nothing_left(&rt, &bundle, &id);
    detail(format!("{own}; {show:?}; delete removed the slice"));
}

/// A create that fails after systemd started the unit (the program does not exist: the init
/// finds out after it was placed) stops the unit again: nothing is left, in systemd either.
#[test]
#[ignore = "systemd as PID 1 only: tests/v2/run.sh --systemd runs it under QEMU"]
fn failed_create_stops_the_unit() {
    require_systemd();
    let rt = Runtime::new();
    let (id, bundle) = bundle_for(&["/no/such/program"], json!({"pids": {"limit": 5}}));
    let before = HostSnapshot::take(&rt, &bundle, &[&id]);
    let out = rt.output(&["--systemd-cgroup", "run", "-b", bundle.path_str(), &id]);
    let err = stderr(&out);
    assert_ne!(exit_code(&out), 0);
    assert!(err.contains("/no/such/program"), "{err}");
    assert!(
        wait_until(TIMEOUT, || systemctl_show(&unit(&id), "LoadState")
            ["LoadState"]
            == "not-found"),
        "unit still loaded: {:?}",
        systemctl_show(&unit(&id), "LoadState,ActiveState")
    );
    HostSnapshot::take(&rt, &bundle, &[&id]).assert_same_as(&before);
    assert!(!scope_dir(&id).exists());
    detail(format!("{}; unit and cgroup gone", err.trim()));
}
