//! Enforcement on a pure cgroup v2 host (one cgroup2 mount at /sys/fs/cgroup, no v1 hierarchy).
//!
//! This machine is hybrid, so these tests are `#[ignore]`d here: `tests/v2/run.sh` builds this file
//! as a static binary, boots Debian's kernel under QEMU with it, a static coracle-runtime and
//! busybox, and runs each test there with `--ignored --exact NAME` (`scripts/test.sh` does that
//! after `cargo test`). Each test prints one `DETAIL …` line that the guest's result line carries.
//!
//! Run by hand on any cgroup v2 host: `cargo test -p coracle-runtime --test cgroup_v2 -- --ignored`.

mod common;

use common::{
    assert_nothing_left, events_stream, exit_code, lines_until_end, mkfifo, release, start, stdout,
    wait_until, Bundle, Runtime,
};
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

/// Report the test as skipped (the guest's RESULT line says SKIP and why); the test then returns.
/// On a line of its own: libtest has written "test NAME ... " without a newline before it.
fn skip(why: impl AsRef<str>) {
    println!("\nSKIP {}", why.as_ref());
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

/// `update` of a running container by flags (runc's size suffixes) and by a linux.resources
/// document on stdin (as containerd sends it): memory.max, pids.max and cpu.max change, a lowered
/// pids.max stops forks, and a bad value is one error line that changes nothing.
#[test]
#[ignore = "cgroup v2 only: tests/v2/run.sh runs it under QEMU"]
fn update_changes_live_limits() {
    require_v2();
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&[
            "sh",
            "-c",
            "read x < /go; (for i in 1 2 3 4 5 6 7 8; do sleep 100 & done; echo forked-8) \
             > /tmp/out 2>&1; exec sleep 1000",
        ])
        .config(|c| {
            c["root"]["readonly"] = false.into();
            resources(
                c,
                json!({"pids": {"limit": 100}, "memory": {"limit": 100 << 20}}),
            );
        });
    mkfifo(&bundle.rootfs().join("go"));
    let id = start(&rt, &bundle);
    let dir = cg_dir(&id);
    assert_eq!(read(dir.join("pids.max")), "100");
    assert_eq!(read(dir.join("memory.max")), (100u64 << 20).to_string());

    rt.run_ok(&[
        "update",
        "--pids-limit",
        "6",
        "--memory",
        "48m",
        "--memory-swap",
        "64m",
        "--blkio-weight",
        "500",
        &id,
    ]);
    assert_eq!(read(dir.join("pids.max")), "6");
    assert_eq!(read(dir.join("memory.max")), (48u64 << 20).to_string());
    // runc's memory+swap becomes v2's swap alone: 64m - 48m.
    let swap_max = read(dir.join("memory.swap.max"));
    assert_eq!(swap_max, (16u64 << 20).to_string(), "memory.swap.max");
    // blkio.weight 500: io.bfq.weight takes it as is where BFQ is loaded, else io.weight 4950.
    let io_weight = if dir.join("io.bfq.weight").exists() {
        read(dir.join("io.bfq.weight"))
    } else {
        read(dir.join("io.weight"))
    };
    assert!(
        io_weight == "default 4950" || io_weight == "default 500",
        "io.weight / io.bfq.weight: {io_weight}"
    );

    let mut child = rt
        .cmd(&["update", "--resources", "-", &id])
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn update");
    {
        use std::io::Write as _;
        let doc = br#"{"memory":{"limit":67108864},"pids":{"limit":5},
                       "cpu":{"quota":50000,"period":100000,"shares":512}}"#;
        child
            .stdin
            .take()
            .expect("update stdin")
            .write_all(doc)
            .expect("write the document");
    }
    let status = common::wait_child(&mut child, TIMEOUT).expect("update --resources - hung");
    assert!(status.success(), "update --resources - exited {status}");
    let (memory_max, pids_max, cpu_max, weight) = (
        read(dir.join("memory.max")),
        read(dir.join("pids.max")),
        read(dir.join("cpu.max")),
        read(dir.join("cpu.weight")),
    );
    assert_eq!(memory_max, "67108864", "memory.max after the document");
    assert_eq!(pids_max, "5", "pids.max after the document");
    assert_eq!(cpu_max, "50000 100000", "cpu.max after the document");
    // shares 512 as runc maps it: 1 + (512 - 2) * 9999 / 262142.
    assert_eq!(weight, "20", "cpu.weight after the document");

    // Enforced: the shell and 8 sleeps do not fit in 5 pids.
    release(&bundle.rootfs().join("go"));
    let out = bundle.rootfs().join("tmp/out");
    assert!(
        wait_until(TIMEOUT, || fs::read_to_string(&out)
            .is_ok_and(|t| t.contains("fork") || t.contains("forked-8"))),
        "the fork loop never finished"
    );
    let text = fs::read_to_string(&out).expect("the loop's output");
    assert!(
        text.contains("fork") && !text.contains("forked-8"),
        "{text}"
    );
    let hits = keyed(dir.join("pids.events"), "max");
    assert!(hits >= 1, "pids.events max {hits}");

    // A bad value: one line naming the flag, nothing changed.
    let bad = rt.output(&["update", "--memory", "12x", &id]);
    assert_eq!(exit_code(&bad), 1);
    let err = stderr(&bad);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--memory"), "{err}");
    assert_eq!(read(dir.join("memory.max")), "67108864");

    delete(&rt, &id);
    assert_nothing_left(&rt, &bundle, &id);
    detail(format!(
        "flags: pids.max 6, memory.max 48m, memory.swap.max {swap_max}, io.weight {io_weight}; stdin: memory.max \
         {memory_max}, pids.max {pids_max}, cpu.max {cpu_max}, cpu.weight {weight}; 8 forks \
         stopped (pids.events max {hits})"
    ));
}

/// `ps -f json` lists the pids of the container's cgroup (the init and its child), and the table
/// format cuts the host's ps down to them.
#[test]
#[ignore = "cgroup v2 only: tests/v2/run.sh runs it under QEMU"]
fn ps_lists_the_container_processes() {
    require_v2();
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sh", "-c", "sleep 1001 & exec sleep 1002"]);
    let id = start(&rt, &bundle);
    let dir = cg_dir(&id);
    let ps = || -> Vec<i64> {
        let text = rt.run_ok(&["ps", "-f", "json", &id]);
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("ps json {text}: {e}"));
        let mut pids: Vec<i64> = v
            .as_array()
            .unwrap_or_else(|| panic!("ps json is not an array: {text}"))
            .iter()
            .map(|p| p.as_i64().expect("a pid"))
            .collect();
        pids.sort_unstable();
        pids
    };
    let mut pids = Vec::new();
    // Two processes, both already `sleep` (a forked child is a copy of the shell until it execs).
    let cmdline = |p: &i64| fs::read_to_string(format!("/proc/{p}/cmdline")).unwrap_or_default();
    assert!(
        wait_until(TIMEOUT, || {
            pids = ps();
            pids.len() == 2 && pids.iter().all(|p| cmdline(p).starts_with("sleep\x00100"))
        }),
        "ps -f json: {pids:?}"
    );
    let init = rt.state(&id)["pid"].as_i64().expect("state pid");
    assert!(pids.contains(&init), "{pids:?} lacks the init {init}");
    let mut procs: Vec<i64> = read(dir.join("cgroup.procs"))
        .lines()
        .map(|l| l.parse().expect("a pid in cgroup.procs"))
        .collect();
    procs.sort_unstable();
    assert_eq!(pids, procs, "ps -f json vs cgroup.procs");
    for p in &pids {
        let cmd = fs::read_to_string(format!("/proc/{p}/cmdline")).expect("cmdline");
        assert!(cmd.starts_with("sleep\x00100"), "{p}: {cmd:?}");
    }
    // busybox's ps knows -o but not -ef.
    let table = rt.run_ok(&["ps", &id, "--", "-o", "pid,comm"]);
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(
        rows[1..].iter().all(|l| l.trim_end().ends_with("sleep")),
        "{table}"
    );
    delete(&rt, &id);
    assert_nothing_left(&rt, &bundle, &id);
    detail(format!(
        "ps -f json {pids:?} = cgroup.procs; table has 2 rows"
    ));
}

/// `events --stats`: runc's stats JSON with the v2 values (memory.max, pids.max/current); the
/// `events` stream then reports the OOM kill of a process of the detached container (the v2 watch
/// is inotify on memory.events) and ends when the container stops.
#[test]
#[ignore = "cgroup v2 only: tests/v2/run.sh runs it under QEMU"]
fn events_stats_then_the_oom_kill_of_a_detached_container() {
    require_v2();
    let rt = Runtime::new();
    let limit: u64 = 32 << 20;
    let bundle = Bundle::busybox()
        .args(&[
            "sh",
            "-c",
            "read x < /go; dd if=/dev/zero of=/dev/null bs=100M count=1; exit 3",
        ])
        .config(|c| {
            resources(
                c,
                json!({"memory": {"limit": limit, "swap": limit}, "pids": {"limit": 10}}),
            )
        });
    mkfifo(&bundle.rootfs().join("go"));
    let id = start(&rt, &bundle);

    let line = rt.run_ok(&["events", "--stats", &id]);
    assert_eq!(line.lines().count(), 1, "{line}");
    let ev: Value = serde_json::from_str(&line).expect("the stats line is JSON");
    assert_eq!(ev["type"], "stats", "{line}");
    assert_eq!(ev["id"], id.as_str(), "{line}");
    let mem = &ev["data"]["memory"];
    assert_eq!(
        mem["usage"]["limit"], limit,
        "memory.max as the limit: {line}"
    );
    let usage = mem["usage"]["usage"].as_u64().unwrap_or(0);
    assert!(usage > 0, "memory.current as the usage: {line}");
    assert!(mem["raw"]["anon"].is_u64(), "memory.stat as raw: {line}");
    assert_eq!(ev["data"]["pids"]["limit"], 10, "{line}");
    let current = ev["data"]["pids"]["current"].as_u64().unwrap_or(0);
    assert!(current >= 1, "pids.current: {line}");
    assert!(ev["data"]["cpu"]["usage"]["total"].is_u64(), "{line}");

    let (mut events, rx) = events_stream(&rt, &id, "200ms");
    // The first stats event means the OOM watch is armed.
    let first = rx.recv_timeout(TIMEOUT).expect("a first stats event");
    assert!(first.starts_with(r#"{"type":"stats","id":"#), "{first}");
    release(&bundle.rootfs().join("go"));
    let (lines, ended) = lines_until_end(&rx, first, TIMEOUT);
    if !ended {
        let _ = events.kill();
    }
    let out = events.wait_with_output().expect("wait events");
    assert!(
        ended,
        "events did not end when the container stopped: {lines:?}"
    );
    assert!(
        out.status.success(),
        "events exited {}: {}",
        out.status,
        stderr(&out)
    );
    let oom = json!({"type": "oom", "id": id});
    let ooms = lines
        .iter()
        .filter(|l| serde_json::from_str::<Value>(l).ok().as_ref() == Some(&oom))
        .count();
    let kills = keyed(cg_dir(&id).join("memory.events"), "oom_kill");
    assert_eq!(rt.status(&id), "stopped");
    assert_eq!(rt.state(&id)["status"], "stopped");
    rt.run_ok(&["delete", &id]);
    assert_eq!(
        ooms, 1,
        "one oom event for one kill (oom_kill {kills}): {lines:?}"
    );
    assert_nothing_left(&rt, &bundle, &id);
    detail(format!(
        "stats: limit {limit}, usage {usage}, pids {current}/10; stream: {} lines, \
         {ooms} oom event (memory.events oom_kill {kills})",
        lines.len()
    ));
}

/// A loop device over a file in tmpfs, detached (and the file removed) on Drop.
struct LoopDevice {
    dev: String,
    file: PathBuf,
}

impl LoopDevice {
    /// None when the kernel has no loop driver (tests/v2/run.sh loads loop.ko from the kernel
    /// package).
    fn new(bytes: u64) -> Option<LoopDevice> {
        if !Path::new("/dev/loop-control").exists() {
            return None;
        }
        let file = PathBuf::from(format!("/tmp/{}.img", common::unique_id()));
        fs::write(&file, vec![7u8; bytes as usize]).expect("write the backing file");
        // busybox's losetup has no --show: attach to the next free device, then look it up.
        let out = Command::new("losetup")
            .arg("-f")
            .arg(&file)
            .output()
            .expect("run losetup");
        assert!(
            out.status.success(),
            "losetup -f {}: {}",
            file.display(),
            stderr(&out)
        );
        let list = Command::new("losetup")
            .arg("-a")
            .output()
            .expect("run losetup -a");
        let list = String::from_utf8_lossy(&list.stdout).into_owned();
        let name = file.to_str().expect("UTF-8 path");
        let dev = list
            .lines()
            .find(|l| l.contains(name))
            .and_then(|l| l.split(':').next())
            .unwrap_or_else(|| panic!("{name} not in losetup -a: {list}"))
            .to_string();
        assert!(dev.starts_with("/dev/loop"), "{dev}: {list}");
        Some(LoopDevice { dev, file })
    }

    /// "major:minor" of the device.
    fn numbers(&self) -> (u64, u64) {
        let name = self.dev.trim_start_matches("/dev/");
        let text = read(format!("/sys/block/{name}/dev"));
        let (a, b) = text.split_once(':').expect("major:minor");
        (a.parse().expect("major"), b.parse().expect("minor"))
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.dev]).status();
        let _ = fs::remove_file(&self.file);
    }
}

/// `linux.resources.blockIO.throttleReadBpsDevice` becomes io.max and slows O_DIRECT reads of the
/// device inside the container: a loop device (the guest has no disk) given to the container as
/// /dev/disk0, 2 MiB read with `dd iflag=direct`, timed inside with /proc/uptime, free and at
/// 1 MiB/s.
#[test]
#[ignore = "cgroup v2 only: tests/v2/run.sh runs it under QEMU"]
fn io_max_throttles_direct_reads() {
    require_v2();
    let size: u64 = 2 << 20;
    let Some(disk) = LoopDevice::new(size) else {
        skip("no block device: no /dev/loop-control (loop.ko not loaded)");
        return;
    };
    let (major, minor) = disk.numbers();
    let rt = Runtime::new();
    let script = "read a _ < /proc/uptime; \
                  dd if=/dev/disk0 of=/dev/null bs=64k iflag=direct 2>/dev/null || exit 9; \
                  read b _ < /proc/uptime; echo $a $b";
    let bundle = |rate: Option<u64>| {
        Bundle::busybox().args(&["sh", "-c", script]).config(|c| {
            c["linux"]["devices"] = json!([{"path": "/dev/disk0", "type": "b",
                "major": major, "minor": minor, "fileMode": 0o600, "uid": 0, "gid": 0}]);
            c["linux"]["resources"]["devices"]
                .as_array_mut()
                .expect("device rules")
                .push(
                    json!({"allow": true, "type": "b", "major": major, "minor": minor,
                             "access": "r"}),
                );
            if let Some(rate) = rate {
                resources(
                    c,
                    json!({"blockIO": {"throttleReadBpsDevice":
                        [{"major": major, "minor": minor, "rate": rate}]}}),
                );
            }
        })
    };
    // Seconds the read took, and io.max as the container had it.
    let timed = |b: &Bundle| -> (f64, String) {
        let (id, out) = run_keep(&rt, b);
        let io_max = fs::read_to_string(cg_dir(&id).join("io.max")).unwrap_or_default();
        delete(&rt, &id);
        assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
        let text = stdout(&out);
        let t: Vec<f64> = text
            .split_whitespace()
            .map(|w| w.parse().expect("uptime seconds"))
            .collect();
        assert_eq!(t.len(), 2, "{text}");
        assert_nothing_left(&rt, b, &id);
        (t[1] - t[0], io_max.trim().to_string())
    };
    let (fast, free_max) = timed(&bundle(None));
    let rate = 1u64 << 20;
    let (slow, io_max) = timed(&bundle(Some(rate)));
    assert_eq!(free_max, "", "io.max without a throttle");
    assert_eq!(
        io_max,
        format!("{major}:{minor} rbps={rate} wbps=max riops=max wiops=max"),
        "io.max"
    );
    // 2 MiB at 1 MiB/s: about 2 s (the first slice may run ahead a little).
    assert!(slow > 1.2, "the throttled read took only {slow:.2} s");
    assert!(
        slow > 3.0 * fast,
        "{slow:.2} s throttled vs {fast:.2} s free"
    );
    detail(format!(
        "{}: io.max {io_max}; 2 MiB O_DIRECT read {fast:.2} s free, {slow:.2} s at 1 MiB/s",
        disk.dev
    ));
}
