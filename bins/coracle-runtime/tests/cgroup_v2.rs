//! Enforcement on a pure cgroup v2 host (one cgroup2 mount at /sys/fs/cgroup, no v1 hierarchy).
//!
//! This machine is hybrid, so these tests are `#[ignore]`d here: `tests/v2/run.sh` builds this file
//! as a static binary, boots Debian's kernel under QEMU with it, a static coracle-runtime and
//! busybox, and runs each test there with `--ignored --exact NAME` (`scripts/test.sh` does that
//! after `cargo test`). Each test prints one `DETAIL …` line that the guest's result line carries.
//!
//! Run by hand on any cgroup v2 host: `cargo test -p coracle-runtime --test cgroup_v2 -- --ignored`.

mod common;

use common::{assert_nothing_left, exit_code, stdout, wait_until, Bundle, Runtime};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const CGROUP_ROOT: &str = "/sys/fs/cgroup";
const TIMEOUT: Duration = Duration::from_secs(30);
const V2_ONLY: &str = "cgroup v2 only: tests/v2/run.sh runs it under QEMU";

/// Panic unless this host is pure cgroup v2 (what the results would otherwise not mean).
fn require_v2() {
    let mounts = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let v1 = mounts.lines().any(|l| l.contains(" - cgroup "));
    let v2_root = mounts
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "));
    assert!(
        v2_root && !v1,
        "not a pure cgroup v2 host (cgroup2 at /sys/fs/cgroup, no v1): {V2_ONLY}"
    );
}

/// The line the guest's RESULT line carries.
fn detail(text: impl AsRef<str>) {
    println!("DETAIL {}", text.as_ref());
}

fn cg_dir(id: &str) -> PathBuf {
    Path::new(CGROUP_ROOT).join(id)
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

/// The value of `key` in a flat-keyed file (memory.events, cpu.stat, pids.events, cgroup.events).
fn keyed(path: impl AsRef<Path>, key: &str) -> u64 {
    let text = read(path.as_ref());
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {}: {text}", path.as_ref().display()))
}

fn resources(c: &mut Value, r: Value) {
    let res = &mut c["linux"]["resources"];
    for (k, v) in r.as_object().expect("resources object") {
        res[k] = v.clone();
    }
}

/// `run --keep` in the foreground: the cgroup stays for inspection until `delete`.
fn run_keep(rt: &Runtime, bundle: &Bundle) -> (String, Output) {
    let id = rt.new_id();
    let out = rt.output(&["run", "--keep", "--bundle", bundle.path_str(), &id]);
    (id, out)
}

fn delete(rt: &Runtime, id: &str) {
    rt.run_ok(&["delete", "--force", id]);
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
#[ignore = "cgroup v2 only: tests/v2/run.sh runs it under QEMU"]
fn host_is_pure_v2() {
    require_v2();
    let controllers = read(Path::new(CGROUP_ROOT).join("cgroup.controllers"));
    for c in ["cpu", "cpuset", "memory", "pids"] {
        assert!(
            controllers.split(' ').any(|x| x == c),
            "controller {c} missing: {controllers}"
        );
    }
    detail(format!("controllers: {controllers}"));
}

#[test]
#[ignore = "cgroup v2 only: tests/v2/run.sh runs it under QEMU"]
fn run_true_exits_zero() {
    require_v2();
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["/bin/true"]);
    let (id, out) = rt.run(&bundle);
    assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
    assert_nothing_left(&rt, &bundle, &id);
    detail("exit 0, nothing left");
}

/// No cgroupsPath: the container's cgroup is /<id> at the root of the hierarchy. The runtime runs
/// from a cgroup whose pids.max is 1 (itself): a plain fork there fails with EAGAIN, so `create`
/// succeeds only if the init is born in its own cgroup (clone3 CLONE_INTO_CGROUP), and its
/// /proc/PID/cgroup names that cgroup as soon as `create` returns.
#[test]
#[ignore = "cgroup v2 only: tests/v2/run.sh runs it under QEMU"]
fn default_path_and_birth_in_cgroup() {
    require_v2();
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100"]);
    let id = rt.new_id();
    let cage = Path::new(CGROUP_ROOT).join(format!("{id}-runtime"));
    fs::create_dir(&cage).expect("mkdir runtime cgroup");
    fs::write(cage.join("pids.max"), "1").expect("pids.max of the runtime's cgroup");
    let procs = cage.join("cgroup.procs");
    let out = run_in_cgroup(
        rt.cmd(&["create", "--bundle", bundle.path_str(), &id]),
        procs,
    );
    let events = keyed(cage.join("pids.events"), "max");
    let _ = fs::remove_dir(&cage);
    assert!(
        out.status.success(),
        "create from a cgroup with pids.max 1 failed ({}): {} (pids.events max {events})",
        out.status,
        stderr(&out)
    );
    let pid = rt.state(&id)["pid"].as_i64().expect("state pid");
    let own = read(format!("/proc/{pid}/cgroup"));
    assert_eq!(
        own,
        format!("0::/{id}"),
        "the init's cgroup right after create"
    );
    assert_eq!(rt.state(&id)["status"], "created");
    assert!(
        cg_dir(&id).is_dir(),
        "default cgroup {}",
        cg_dir(&id).display()
    );
    assert_eq!(read(cg_dir(&id).join("cgroup.procs")), pid.to_string());
    delete(&rt, &id);
    assert_nothing_left(&rt, &bundle, &id);
    detail(format!(
        "cgroup 0::/{id} at create; born there (runtime cgroup pids.max 1, max events {events})"
    ));
}

/// Run `cmd` after moving it (before exec, by writing its own pid from a shell) into the cgroup
/// whose `cgroup.procs` is `procs`. The shell execs the runtime, so the cgroup holds one task.
fn run_in_cgroup(cmd: Command, procs: PathBuf) -> Output {
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c")
        .arg(r#"echo $$ > "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(&procs)
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    // A container's stderr inherits ours: collect it in a file, not a pipe the container keeps.
    let err_path = PathBuf::from(format!("/tmp/{}.stderr", common::unique_id()));
    sh.stderr(fs::File::create(&err_path).expect("stderr file"));
    sh.process_group(0);
    let status = sh.status().expect("spawn sh");
    let stderr = fs::read(&err_path).unwrap_or_default();
    let _ = fs::remove_file(&err_path);
    Output {
        status,
        stdout: Vec::new(),
        stderr,
    }
}

#[test]
#[ignore = "cgroup v2 only: tests/v2/run.sh runs it under QEMU"]
fn memory_max_oom_kills() {
    require_v2();
    let rt = Runtime::new();
    // dd's 100 MiB buffer is filled from /dev/zero: every page is touched and charged.
    let bundle = Bundle::busybox()
        .args(&["dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"])
        .config(|c| resources(c, json!({"memory": {"limit": 33554432}})));
    let (id, out) = run_keep(&rt, &bundle);
    let dir = cg_dir(&id);
    let max = read(dir.join("memory.max"));
    let oom_kill = keyed(dir.join("memory.events"), "oom_kill");
    delete(&rt, &id);
    assert_eq!(max, "33554432", "memory.max");
    assert_eq!(exit_code(&out), 137, "dd's exit; stderr: {}", stderr(&out));
    assert!(oom_kill >= 1, "memory.events oom_kill {oom_kill}");
    assert_nothing_left(&rt, &bundle, &id);
    detail(format!(
        "memory.max {max}, exit 137, memory.events oom_kill {oom_kill}"
    ));
}

#[test]
#[ignore = "cgroup v2 only: tests/v2/run.sh runs it under QEMU"]
fn pids_max_stops_a_fork_loop() {
    require_v2();
    let rt = Runtime::new();
    // Each child says it started; the shell stops at the first fork error.
    let script = "i=0; while [ $i -lt 30 ]; do (echo started; exec sleep 100) & i=$((i+1)); done";
    let bundle = Bundle::busybox()
        .args(&["sh", "-c", script])
        .config(|c| resources(c, json!({"pids": {"limit": 10}})));
    let (id, out) = run_keep(&rt, &bundle);
    let dir = cg_dir(&id);
    let max = read(dir.join("pids.max"));
    let hits = keyed(dir.join("pids.events"), "max");
    delete(&rt, &id);
    let started = stdout(&out).lines().count();
    assert_eq!(max, "10", "pids.max");
    // sh itself is one of the 10.
    assert!(started <= 9, "{started} children forked: {}", stdout(&out));
    assert!(hits >= 1, "pids.events max {hits}");
    assert!(
        stderr(&out).contains("fork"),
        "the shell's fork error: {}",
        stderr(&out)
    );
    assert_nothing_left(&rt, &bundle, &id);
    detail(format!(
        "pids.max {max}, {started} of 30 forks, pids.events max {hits}"
    ));
}

#[test]
#[ignore = "cgroup v2 only: tests/v2/run.sh runs it under QEMU"]
fn cpu_quota_slows_a_busy_loop() {
    require_v2();
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        // Not timeout as the init: pid 1 of a pid namespace ignores SIGTERM.
        .args(&["sh", "-c", "timeout 2 sh -c 'while :; do :; done'; echo $?"])
        .config(|c| resources(c, json!({"cpu": {"quota": 20000, "period": 100000}})));
    let started = Instant::now();
    let (id, out) = run_keep(&rt, &bundle);
    let wall = started.elapsed();
    let dir = cg_dir(&id);
    let max = read(dir.join("cpu.max"));
    let usage = keyed(dir.join("cpu.stat"), "usage_usec");
    let throttled = keyed(dir.join("cpu.stat"), "nr_throttled");
    delete(&rt, &id);
    assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
    // timeout's SIGTERM ends the loop: 143.
    assert_eq!(stdout(&out).trim(), "143", "the loop's exit");
    assert_eq!(max, "20000 100000", "cpu.max");
    let share = usage as f64 / wall.as_micros() as f64;
    assert!(throttled >= 1, "cpu.stat nr_throttled {throttled}");
    assert!(
        share <= 0.3,
        "a busy loop got {share:.2} of a CPU under a 0.2 quota ({usage} µs in {wall:?})"
    );
    assert_nothing_left(&rt, &bundle, &id);
    detail(format!(
        "cpu.max {max}; busy loop got {share:.2} CPU ({} ms of {} ms), nr_throttled {throttled}",
        usage / 1000,
        wall.as_millis()
    ));
}

#[test]
#[ignore = "cgroup v2 only: tests/v2/run.sh runs it under QEMU"]
fn cpuset_pins() {
    require_v2();
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&["grep", "Cpus_allowed_list", "/proc/self/status"])
        .config(|c| resources(c, json!({"cpu": {"cpus": "1", "mems": "0"}})));
    let (id, out) = run_keep(&rt, &bundle);
    let effective = read(cg_dir(&id).join("cpuset.cpus.effective"));
    delete(&rt, &id);
    assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
    assert_eq!(effective, "1", "cpuset.cpus.effective");
    let inside = stdout(&out);
    assert_eq!(
        inside.split_whitespace().collect::<Vec<_>>(),
        ["Cpus_allowed_list:", "1"],
        "inside the container"
    );
    assert_nothing_left(&rt, &bundle, &id);
    detail(format!(
        "cpuset.cpus.effective {effective}; inside: {}",
        inside.trim()
    ));
}

/// A kmsg-like node (char 1:11) made by `linux.devices`: the default deny-all eBPF program refuses
/// opening it while /dev/null (a default device) works; an allow rule for 1:11 opens it.
#[test]
#[ignore = "cgroup v2 only: tests/v2/run.sh runs it under QEMU"]
fn device_rules_deny_and_allow() {
    require_v2();
    let rt = Runtime::new();
    // Opened for writing: /dev/kmsg's own syslog check applies to readers only.
    let script = "echo ok > /dev/null && echo null-ok; \
                  if true > /dev/kmsg2; then echo kmsg-opened; else echo kmsg-denied; fi";
    let node = json!([{"path": "/dev/kmsg2", "type": "c", "major": 1, "minor": 11,
                       "fileMode": 438, "uid": 0, "gid": 0}]);
    let denied = Bundle::busybox()
        .args(&["sh", "-c", script])
        .config(|c| c["linux"]["devices"] = node.clone());
    let (id, out) = rt.run(&denied);
    assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
    let deny_says = stdout(&out);
    assert_eq!(
        deny_says.lines().collect::<Vec<_>>(),
        ["null-ok", "kmsg-denied"],
        "stderr: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("not permitted"),
        "EPERM from the device program: {}",
        stderr(&out)
    );
    assert_nothing_left(&rt, &denied, &id);

    let allowed = Bundle::busybox().args(&["sh", "-c", script]).config(|c| {
        c["linux"]["devices"] = node.clone();
        let rules = c["linux"]["resources"]["devices"]
            .as_array_mut()
            .expect("device rules");
        rules.push(json!({"allow": true, "type": "c", "major": 1, "minor": 11,
                              "access": "rw"}));
    });
    let (id, out) = rt.run(&allowed);
    assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().collect::<Vec<_>>(),
        ["null-ok", "kmsg-opened"],
        "stderr: {}",
        stderr(&out)
    );
    assert_nothing_left(&rt, &allowed, &id);
    detail("c 1:11 denied (EPERM) by default, opened with an allow rule; /dev/null works");
}

/// `pause` writes cgroup.freeze (the kernel reports frozen in cgroup.events), `resume` thaws.
/// The guest skips this test when the runtime has no `pause` command.
#[test]
#[ignore = "cgroup v2 only: tests/v2/run.sh runs it under QEMU"]
fn pause_freezes_and_resume_thaws() {
    require_v2();
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100"]);
    let id = rt.create(&bundle);
    rt.run_ok(&["start", &id]);
    rt.wait_status(&id, "running", TIMEOUT);
    let dir = cg_dir(&id);
    rt.run_ok(&["pause", &id]);
    assert_eq!(read(dir.join("cgroup.freeze")), "1");
    assert!(
        wait_until(TIMEOUT, || keyed(dir.join("cgroup.events"), "frozen") == 1),
        "cgroup.events never said frozen"
    );
    assert_eq!(rt.status(&id), "paused");
    rt.run_ok(&["resume", &id]);
    assert_eq!(read(dir.join("cgroup.freeze")), "0");
    assert_eq!(keyed(dir.join("cgroup.events"), "frozen"), 0);
    assert_eq!(rt.status(&id), "running");
    delete(&rt, &id);
    assert_nothing_left(&rt, &bundle, &id);
    detail("cgroup.freeze 1 -> frozen, status paused; 0 -> running");
}

/// `delete` of a running container removes its cgroup directory (and nothing is left).
#[test]
#[ignore = "cgroup v2 only: tests/v2/run.sh runs it under QEMU"]
fn delete_leaves_no_cgroup() {
    require_v2();
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100"]);
    let id = rt.create(&bundle);
    rt.run_ok(&["start", &id]);
    rt.wait_status(&id, "running", TIMEOUT);
    let dir = cg_dir(&id);
    assert!(dir.is_dir(), "{} while running", dir.display());
    delete(&rt, &id);
    assert!(!dir.exists(), "{} after delete", dir.display());
    assert_nothing_left(&rt, &bundle, &id);
    detail(format!("{} gone after delete --force", dir.display()));
}

/// The container's /sys/fs/cgroup is its own cgroup: a bind mount of it without a cgroup namespace,
/// a fresh cgroup2 mount inside one (where /proc/self/cgroup says "0::/").
#[test]
#[ignore = "cgroup v2 only: tests/v2/run.sh runs it under QEMU"]
fn container_sees_its_own_cgroup() {
    require_v2();
    let rt = Runtime::new();
    let script = "cat /proc/self/cgroup /sys/fs/cgroup/pids.max; \
                  grep ' /sys/fs/cgroup ' /proc/self/mountinfo | sed 's/.* - //'";
    let mut seen = Vec::new();
    for cgroupns in [false, true] {
        let bundle = Bundle::busybox().args(&["sh", "-c", script]).config(|c| {
            resources(c, json!({"pids": {"limit": 7}}));
            if cgroupns {
                let ns = c["linux"]["namespaces"].as_array_mut().expect("namespaces");
                ns.push(json!({"type": "cgroup"}));
            }
        });
        let (id, out) = rt.run(&bundle);
        assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
        let text = stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        let own = if cgroupns {
            "0::/".to_string()
        } else {
            format!("0::/{id}")
        };
        assert_eq!(
            lines.first(),
            Some(&own.as_str()),
            "cgroupns {cgroupns}: {text}"
        );
        assert_eq!(lines.get(1), Some(&"7"), "pids.max inside: {text}");
        assert!(
            lines.get(2).is_some_and(|l| l.starts_with("cgroup2 ")),
            "a cgroup2 mount at /sys/fs/cgroup: {text}"
        );
        assert_nothing_left(&rt, &bundle, &id);
        seen.push(format!("{} ({})", own, lines[2]));
    }
    detail(format!(
        "own pids.max 7 at /sys/fs/cgroup; {}",
        seen.join("; ")
    ));
}
