//! How the container's processes are scheduled and placed, end to end: process.scheduler,
//! process.ioPriority, process.execCPUAffinity and linux.memoryPolicy, for the init and for
//! exec'd processes (from config.json's process, and from an exec's own --process object),
//! checked from inside as a user would (ionice, /proc/self/sched and stat, Cpus_allowed_list,
//! /proc/self/numa_maps); bad values are one error line naming the field, with nothing left.

mod common;

use common::{assert_nothing_left, exit_code, stdout, Bundle, HostSnapshot, Runtime};
use serde_json::{json, Value};
use std::process::{Command, Output};

/// `run` with `sh -c script`, which must exit 0; stdout, after checking nothing was left.
fn run_ok(rt: &Runtime, bundle: Bundle, script: &str) -> String {
    let bundle = bundle.args(&["sh", "-c", script]);
    let (id, out) = rt.run(&bundle);
    assert_nothing_left(rt, &bundle, &id);
    assert_eq!(exit_code(&out), 0, "{script:?}: {}", err_text(&out));
    stdout(&out)
}

/// `run` must fail before the process starts: non-zero, one stderr line holding each of
/// `want`, and nothing on the host differs from before.
fn run_fails(rt: &Runtime, bundle: &Bundle, want: &[&str]) -> String {
    let id = rt.new_id();
    let before = HostSnapshot::take(rt, bundle, &[&id]);
    let out = rt.output(&["run", "--bundle", bundle.path_str(), &id]);
    let err = err_text(&out);
    assert_ne!(exit_code(&out), 0, "run succeeded: {}{err}", stdout(&out));
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    for w in want {
        assert!(err.contains(w), "stderr lacks {w:?}: {err}");
    }
    assert!(!rt.output(&["state", &id]).status.success(), "state left");
    HostSnapshot::take(rt, bundle, &[&id]).assert_same_as(&before);
    assert_nothing_left(rt, bundle, &id);
    err
}

fn err_text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `exec ID sh -c script` (the process from config.json), which must succeed; stdout.
fn exec_sh(rt: &Runtime, id: &str, script: &str) -> String {
    rt.run_ok(&["exec", id, "sh", "-c", script])
}

/// `exec --process FILE ID` with `process` written to the bundle dir; the output.
fn exec_process(rt: &Runtime, bundle: &Bundle, id: &str, process: Value) -> Output {
    let file = bundle.path().join(format!("{id}-process.json"));
    std::fs::write(&file, process.to_string()).unwrap();
    let out = rt.output(&["exec", "--process", file.to_str().unwrap(), id]);
    let _ = std::fs::remove_file(&file);
    out
}

/// A process object running `sh -c script` as root in /, plus `extra` fields.
fn process(script: &str, extra: Value) -> Value {
    let mut p = json!({
        "args": ["sh", "-c", script],
        "cwd": "/",
        "env": ["PATH=/bin:/usr/bin:/sbin:/usr/sbin"],
        "user": {"uid": 0, "gid": 0},
    });
    p.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    p
}

/// A started container whose init is `sleep 100`, with `edit` applied to config.json. (Started:
/// until its execve the init is the runtime, which keeps other processes out of its /proc.)
fn started(rt: &Runtime, edit: impl FnOnce(&mut Value)) -> (Bundle, String) {
    let bundle = Bundle::busybox().args(&["sleep", "100"]).config(edit);
    let id = rt.create(&bundle);
    rt.run_ok(&["start", &id]);
    (bundle, id)
}

fn delete(rt: &Runtime, bundle: &Bundle, id: &str) {
    rt.run_ok(&["delete", "--force", id]);
    assert_nothing_left(rt, bundle, id);
}

/// The `policy` and `prio` lines of /proc/<pid>/sched and the nice value (stat field 19) of
/// the shell's own process, as "policy=P prio=N nice=K" (for SCHED_OTHER/BATCH/IDLE, prio is
/// 120 + nice).
const SCHED_OF_SHELL: &str = "set -- $(grep -E '^(policy|prio) ' /proc/$$/sched | tr -d ' '); \
     echo \"$1 $2 nice=$(cut -d' ' -f19 /proc/$$/stat)\" | tr ':' '='";

#[test]
fn io_priority_applies_to_the_init_and_exec() {
    let rt = Runtime::new();
    let ioprio = json!({"class": "IOPRIO_CLASS_BE", "priority": 6});
    // Without the field, the process keeps what it inherits (the caller's).
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("busybox");
    let ours = Command::new(busybox)
        .args(["ionice", "-p", &std::process::id().to_string()])
        .output()
        .unwrap();
    let inherited = stdout(&ours);
    assert_ne!(
        inherited, "best-effort: prio 6\n",
        "pick another value for this host"
    );
    assert_eq!(run_ok(&rt, Bundle::busybox(), "ionice -p $$"), inherited);
    let io = ioprio.clone();
    let got = run_ok(
        &rt,
        Bundle::busybox().config(|c| c["process"]["ioPriority"] = io),
        "ionice -p $$",
    );
    assert_eq!(got, "best-effort: prio 6\n");

    let (bundle, id) = started(&rt, |c| c["process"]["ioPriority"] = ioprio);
    // The init (pid 1 in its pid namespace) and an exec from config.json's process.
    assert_eq!(exec_sh(&rt, &id, "ionice -p 1"), "best-effort: prio 6\n");
    assert_eq!(exec_sh(&rt, &id, "ionice -p $$"), "best-effort: prio 6\n");
    // An exec's own process object decides for that process.
    let idle = json!({"ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 0}});
    let out = exec_process(&rt, &bundle, &id, process("ionice -p $$", idle));
    assert_eq!(stdout(&out), "idle\n", "{}", err_text(&out));
    let none = exec_process(&rt, &bundle, &id, process("ionice -p $$", json!({})));
    assert_eq!(stdout(&none), inherited, "{}", err_text(&none));
    delete(&rt, &bundle, &id);

    let bad = Bundle::busybox().config(|c| {
        c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 8})
    });
    run_fails(&rt, &bad, &["process.ioPriority.priority", "outside 0..7"]);
}

#[test]
fn scheduler_applies_to_the_init_and_exec() {
    let rt = Runtime::new();
    assert_eq!(
        run_ok(&rt, Bundle::busybox(), SCHED_OF_SHELL),
        "policy=0 prio=120 nice=0\n"
    );
    let batch = json!({"policy": "SCHED_BATCH", "nice": 7});
    let b = batch.clone();
    let got = run_ok(
        &rt,
        Bundle::busybox().config(|c| c["process"]["scheduler"] = b),
        SCHED_OF_SHELL,
    );
    assert_eq!(got, "policy=3 prio=127 nice=7\n");
    // A real-time policy: prio is 99 - priority.
    let fifo = json!({"policy": "SCHED_FIFO", "priority": 10});
    let got = run_ok(
        &rt,
        Bundle::busybox().config(|c| c["process"]["scheduler"] = fifo),
        SCHED_OF_SHELL,
    );
    assert_eq!(got, "policy=1 prio=89 nice=0\n");

    let (bundle, id) = started(&rt, |c| c["process"]["scheduler"] = batch);
    let init = "grep -E '^(policy|prio) ' /proc/1/sched | tr -d ' ' | tr '\\n' ' '";
    assert_eq!(exec_sh(&rt, &id, init), "policy:3 prio:127 ");
    assert_eq!(
        exec_sh(&rt, &id, SCHED_OF_SHELL),
        "policy=3 prio=127 nice=7\n"
    );
    let own = json!({"scheduler": {"policy": "SCHED_OTHER", "nice": -5}});
    let out = exec_process(&rt, &bundle, &id, process(SCHED_OF_SHELL, own));
    assert_eq!(
        stdout(&out),
        "policy=0 prio=115 nice=-5\n",
        "{}",
        err_text(&out)
    );
    let idle = json!({"scheduler": {"policy": "SCHED_IDLE"}});
    let out = exec_process(&rt, &bundle, &id, process(SCHED_OF_SHELL, idle));
    assert!(stdout(&out).starts_with("policy=5 "), "{out:?}");
    delete(&rt, &bundle, &id);
}

/// The spec's flag names (SCHED_FLAG_RESET_ON_FORK, which oci-spec spells differently) are
/// read, and the flag does what it says: a negative nice is not inherited by children (the
/// shell keeps nice -3, prio 117; its child is back at 120).
#[test]
fn scheduler_flags_use_the_spec_names() {
    let rt = Runtime::new();
    let sched = |flags| json!({"policy": "SCHED_BATCH", "nice": -3, "flags": flags});
    let script =
        "grep '^prio ' /proc/$$/sched | tr -d ' '; grep '^prio ' /proc/self/sched | tr -d ' '";
    let flags = json!(["SCHED_FLAG_RESET_ON_FORK"]);
    let reset = Bundle::busybox().config(|c| c["process"]["scheduler"] = sched(flags));
    assert_eq!(run_ok(&rt, reset, script), "prio:117\nprio:120\n");
    let kept = Bundle::busybox().config(|c| c["process"]["scheduler"] = sched(json!([])));
    assert_eq!(run_ok(&rt, kept, script), "prio:117\nprio:117\n");
}

#[test]
fn scheduler_refusals_name_the_field() {
    let rt = Runtime::new();
    let with = |s: Value| Bundle::busybox().config(|c| c["process"]["scheduler"] = s);
    run_fails(
        &rt,
        &with(json!({"policy": "SCHED_OTHER", "nice": -21})),
        &["process.scheduler.nice: -21 is outside -20..19"],
    );
    run_fails(
        &rt,
        &with(json!({"policy": "SCHED_BATCH", "priority": 5})),
        &["process.scheduler.priority", "only SCHED_FIFO and SCHED_RR"],
    );
    run_fails(
        &rt,
        &with(json!({"policy": "SCHED_OTHER", "runtime": 1000})),
        &["process.scheduler.runtime", "only SCHED_DEADLINE"],
    );
    // SCHED_ISO is in the spec's list but no kernel implements it: the kernel's refusal is
    // `create`'s error, with nothing left.
    run_fails(
        &rt,
        &with(json!({"policy": "SCHED_ISO"})),
        &["process.scheduler: sched_setattr SCHED_ISO: Invalid argument"],
    );
}

/// The online CPUs of this host ("0-1" style) and how many.
fn online_cpus() -> (String, usize) {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    let text = text.trim().to_string();
    let count = text
        .split(',')
        .map(|p| match p.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1,
            None => 1,
        })
        .sum();
    (text, count)
}

const CPUS: &str = "grep Cpus_allowed_list /proc/$$/status | cut -f2";

#[test]
fn exec_cpu_affinity_applies_to_exec_not_the_init() {
    let (all, count) = online_cpus();
    if count < 2 || !all.starts_with("0-") {
        eprintln!("SKIP: needs CPUs 0 and 1 online (have {all})");
        return;
    }
    let rt = Runtime::new();
    let aff = json!({"initial": "0", "final": "1"});
    let (bundle, id) = started(&rt, |c| c["process"]["execCPUAffinity"] = aff);
    // The spec: not applicable to the init.
    let init = exec_sh(&rt, &id, "grep Cpus_allowed_list /proc/1/status | cut -f2");
    assert_eq!(init.trim(), all);
    // An exec from config.json's process ends on `final`.
    assert_eq!(exec_sh(&rt, &id, CPUS), "1\n");
    // Its own process object: `final` 0; with only `initial` (an empty
    // `final` is omitted), back to the default at the end.
    let own = json!({"execCPUAffinity": {"initial": "1", "final": "0"}});
    let out = exec_process(&rt, &bundle, &id, process(CPUS, own));
    assert_eq!(stdout(&out), "0\n", "{}", err_text(&out));
    let initial_only = json!({"execCPUAffinity": {"initial": "1", "final": ""}});
    let out = exec_process(&rt, &bundle, &id, process(CPUS, initial_only));
    assert_eq!(stdout(&out).trim(), all, "{}", err_text(&out));
    // A CPU the host lacks: `initial` is really applied (its failure is the exec's error),
    // likewise `final`; one line each, and the container carries on.
    for field in ["initial", "final"] {
        let bad = json!({"execCPUAffinity": {field: "1000"}});
        let out = exec_process(&rt, &bundle, &id, process("true", bad));
        let err = err_text(&out);
        assert_ne!(exit_code(&out), 0);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        let want = format!("process.execCPUAffinity.{field}: sched_setaffinity \"1000\"");
        assert!(err.contains(&want), "{err}");
    }
    assert_eq!(exec_sh(&rt, &id, "echo alive"), "alive\n");
    delete(&rt, &bundle, &id);

    let bad = Bundle::busybox()
        .config(|c| c["process"]["execCPUAffinity"] = json!({"initial": "0", "final": "1-0"}));
    run_fails(
        &rt,
        &bad,
        &[
            "process.execCPUAffinity.final",
            "range \"1-0\" runs backwards",
        ],
    );
}

/// The policy of the first mapping in /proc/<pid>/numa_maps (the task's policy: the mappings
/// have none of their own), e.g. "bind:0".
const NUMA_POLICY: &str = "head -1 /proc/$$/numa_maps | cut -d' ' -f2";

#[test]
fn memory_policy_applies_to_the_init_and_exec() {
    if !std::path::Path::new("/proc/self/numa_maps").exists() {
        eprintln!("SKIP: the kernel has no NUMA support (no /proc/self/numa_maps)");
        return;
    }
    let rt = Runtime::new();
    let with = |m: Value| Bundle::busybox().config(|c| c["linux"]["memoryPolicy"] = m);
    assert_eq!(run_ok(&rt, Bundle::busybox(), NUMA_POLICY), "default\n");
    let bind = json!({"mode": "MPOL_BIND", "nodes": "0"});
    assert_eq!(run_ok(&rt, with(bind.clone()), NUMA_POLICY), "bind:0\n");
    let static_bind = json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]});
    assert_eq!(
        run_ok(&rt, with(static_bind), NUMA_POLICY),
        "bind=static:0\n"
    );
    let interleave = json!({"mode": "MPOL_INTERLEAVE", "nodes": "0"});
    assert_eq!(run_ok(&rt, with(interleave), NUMA_POLICY), "interleave:0\n");

    let (bundle, id) = started(&rt, |c| c["linux"]["memoryPolicy"] = bind);
    let init = "head -1 /proc/1/numa_maps | cut -d' ' -f2";
    assert_eq!(exec_sh(&rt, &id, init), "bind:0\n");
    assert_eq!(exec_sh(&rt, &id, NUMA_POLICY), "bind:0\n");
    let out = exec_process(&rt, &bundle, &id, process(NUMA_POLICY, json!({})));
    assert_eq!(stdout(&out), "bind:0\n", "{}", err_text(&out));
    delete(&rt, &bundle, &id);

    // A node this host does not have: the kernel's refusal, with the host's nodes, on one line.
    let online = std::fs::read_to_string("/sys/devices/system/node/online").unwrap();
    if online.trim() == "0" {
        let err = run_fails(
            &rt,
            &with(json!({"mode": "MPOL_BIND", "nodes": "1"})),
            &["linux.memoryPolicy: set_mempolicy MPOL_BIND nodes \"1\": Invalid argument"],
        );
        assert!(err.contains("online nodes: 0"), "{err}");
    }
    run_fails(
        &rt,
        &with(json!({"mode": "MPOL_LOCAL", "nodes": "0"})),
        &["linux.memoryPolicy.nodes: MPOL_LOCAL takes no nodes"],
    );
}

#[test]
fn features_lists_memory_policy() {
    let rt = Runtime::new();
    let doc: Value = serde_json::from_str(&rt.run_ok(&["features"])).unwrap();
    let mp = &doc["linux"]["memoryPolicy"];
    assert!(
        mp["modes"]
            .as_array()
            .unwrap()
            .contains(&json!("MPOL_BIND")),
        "{mp}"
    );
    assert!(
        mp["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("MPOL_F_STATIC_NODES")),
        "{mp}"
    );
}
