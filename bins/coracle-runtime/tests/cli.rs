//! The command line as runc's callers use it: command names, flag spellings, output shapes and
//! exit codes, and the global flags (`--root`, `--log`/`--log-format`, `--systemd-cgroup`,
//! `--rootless`, `--debug`). Every test runs real containers from a busybox bundle.

mod common;

use common::{
    assert_nothing_left, detached, exit_code, stdout, wait_child, wait_until, Bundle, HostSnapshot,
    Runtime, COMMAND_TIMEOUT as TIMEOUT,
};
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::Stdio;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The host view of a pid's namespace pids (`NSpid:` of /proc/PID/status), e.g. [4242, 1].
fn nspids(pid: i64) -> Vec<i64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn without_pid_namespace(c: &mut Value) {
    let ns = c["linux"]["namespaces"].as_array_mut().expect("namespaces");
    ns.retain(|n| n["type"] != "pid");
}

#[test]
fn version_has_runcs_line_format() {
    let rt = Runtime::new();
    let text = rt.run_ok(&["--version"]);
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.first().copied().unwrap_or_default();
    let version = first
        .strip_prefix("coracle-runtime version ")
        .unwrap_or_else(|| panic!("first line {first:?} of {text}"));
    assert!(
        !version.is_empty() && version.chars().next().unwrap().is_ascii_digit(),
        "{text}"
    );
    let spec = lines
        .iter()
        .find_map(|l| l.strip_prefix("spec: "))
        .unwrap_or_else(|| panic!("no spec line: {text}"));
    assert!(spec.starts_with("1."), "spec version {spec:?}");
}

#[test]
fn features_is_json_with_the_oci_version_range() {
    let rt = Runtime::new();
    let f: Value = serde_json::from_str(&rt.run_ok(&["features"])).expect("features is JSON");
    let min = f["ociVersionMin"].as_str().expect("ociVersionMin");
    let max = f["ociVersionMax"].as_str().expect("ociVersionMax");
    assert!(min.starts_with("1.0."), "ociVersionMin {min}");
    let version = rt.run_ok(&["--version"]);
    assert!(
        version.lines().any(|l| l == format!("spec: {max}")),
        "ociVersionMax {max} is not the spec line of --version:\n{version}"
    );
}

/// `spec` into a bundle whose rootfs is busybox; point args at busybox; `run` accepts it.
fn spec_then_run(rootless: bool) {
    let rt = Runtime::new();
    let bundle = Bundle::busybox();
    let config = bundle.path().join("config.json");
    fs::remove_file(&config).unwrap();
    let mut args = vec!["spec"];
    if rootless {
        args.push("--rootless");
    }
    args.extend(["-b", bundle.path_str()]);
    rt.run_ok(&args);
    let mut spec: Value = serde_json::from_slice(&fs::read(&config).unwrap()).unwrap();
    assert_eq!(spec["root"]["path"], "rootfs");
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] = serde_json::json!(["sh", "-c", "echo spec-ok; hostname"]);
    fs::write(&config, serde_json::to_vec(&spec).unwrap()).unwrap();

    let id = rt.new_id();
    let out = rt.output(&["run", "-b", bundle.path_str(), &id]);
    assert_eq!(exit_code(&out), 0, "run of spec's config: {}", stderr(&out));
    let hostname = spec["hostname"].as_str().expect("spec sets a hostname");
    assert_eq!(stdout(&out), format!("spec-ok\n{hostname}\n"));
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn spec_writes_a_config_that_run_accepts() {
    spec_then_run(false);
}

#[test]
fn spec_rootless_writes_a_config_that_run_accepts() {
    spec_then_run(true);
}

#[test]
fn bundle_flag_forms_all_work() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100"]);
    let b = bundle.path_str();
    let eq_short = format!("-b={b}");
    let eq_long = format!("--bundle={b}");
    let forms: [Vec<&str>; 4] = [
        vec!["-b", b],
        vec![&eq_short],
        vec!["--bundle", b],
        vec![&eq_long],
    ];
    for form in forms {
        let id = rt.new_id();
        let mut args = vec!["create"];
        args.extend(form.iter().copied());
        args.push(&id);
        let (code, err) = detached(rt.cmd(&args));
        assert_eq!(code, 0, "create {form:?}: {err}");
        let state = rt.state(&id);
        assert_eq!(state["bundle"], b, "create {form:?}");
        assert_eq!(state["status"], "created");
        rt.run_ok(&["delete", "-f", &id]);
        assert_nothing_left(&rt, &bundle, &id);
    }
    // Without a flag, the bundle is the current directory.
    let id = rt.new_id();
    let mut cmd = rt.cmd(&["create", &id]);
    cmd.current_dir(bundle.path());
    let (code, err) = detached(cmd);
    assert_eq!(code, 0, "create in the bundle directory: {err}");
    assert_eq!(rt.state(&id)["bundle"], b);
    rt.run_ok(&["delete", "-f", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

/// The pid file holds the init's host pid: the same as `state`'s, and pid 1 of its namespace.
fn check_pid_file(rt: &Runtime, id: &str, pid_file: &Path) {
    let text = fs::read_to_string(pid_file).expect("pid file written");
    let pid: i64 = text
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("pid file holds {text:?}"));
    assert_eq!(
        rt.state(id)["pid"].as_i64(),
        Some(pid),
        "state pid vs pid file"
    );
    assert_eq!(
        nspids(pid),
        vec![pid, 1],
        "pid {pid} is not the container's pid 1"
    );
}

#[test]
fn pid_file_holds_the_inits_host_pid() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100"]);

    let id = rt.new_id();
    let pid_file = bundle.path().join("create.pid");
    let (code, err) = detached(rt.cmd(&[
        "create",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--bundle",
        bundle.path_str(),
        &id,
    ]));
    assert_eq!(code, 0, "{err}");
    check_pid_file(&rt, &id, &pid_file);
    rt.run_ok(&["delete", "-f", &id]);
    assert_nothing_left(&rt, &bundle, &id);

    let id = rt.new_id();
    let pid_file = bundle.path().join("run.pid");
    let (code, err) = detached(rt.cmd(&[
        "run",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "-b",
        bundle.path_str(),
        &id,
    ]));
    assert_eq!(code, 0, "{err}");
    check_pid_file(&rt, &id, &pid_file);
    rt.run_ok(&["delete", "-f", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn run_exits_with_the_containers_code() {
    let rt = Runtime::new();
    for code in [0, 1, 42, 255] {
        let bundle = Bundle::busybox().args(&["sh", "-c", &format!("exit {code}")]);
        let (id, out) = rt.run(&bundle);
        assert_eq!(exit_code(&out), code, "stderr: {}", stderr(&out));
        assert_nothing_left(&rt, &bundle, &id);
    }
}

#[test]
fn run_of_an_init_killed_by_a_signal_exits_128_plus_n() {
    let rt = Runtime::new();
    // Not pid 1 of a namespace, so the shell can die of its own SIGUSR1 (10).
    let bundle = Bundle::busybox()
        .args(&["sh", "-c", "kill -USR1 $$; exit 3"])
        .config(without_pid_namespace);
    let (id, out) = rt.run(&bundle);
    assert_eq!(exit_code(&out), 128 + 10, "stderr: {}", stderr(&out));
    assert_nothing_left(&rt, &bundle, &id);

    // SIGKILL from outside (`kill ID KILL`) while `run` waits in the foreground.
    let bundle = Bundle::busybox().args(&["sleep", "100"]);
    let id = rt.new_id();
    let mut child = rt
        .cmd(&["run", "--bundle", bundle.path_str(), &id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn run");
    let running = wait_until(TIMEOUT, || {
        let out = rt.output(&["state", &id]);
        serde_json::from_slice::<Value>(&out.stdout).is_ok_and(|s| s["status"] == "running")
    });
    if !running {
        let _ = child.kill();
    }
    assert!(running, "container {id} never ran");
    rt.run_ok(&["kill", &id, "KILL"]);
    let status = wait_child(&mut child, TIMEOUT).expect("run returns after the kill");
    assert_eq!(status.code(), Some(128 + 9));
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn run_detach_returns_at_once_with_the_container_running() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100"]);
    let id = rt.new_id();
    // `detached` bounds the wait: a run -d that waited for the container would time out.
    let (code, err) = detached(rt.cmd(&["run", "-d", "-b", bundle.path_str(), &id]));
    assert_eq!(code, 0, "{err}");
    let state = rt.state(&id);
    assert_eq!(state["status"], "running", "{state}");
    let pid = state["pid"].as_i64().unwrap();
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_eq!(
        comm.trim(),
        "sleep",
        "the init has exec'd the user's process"
    );
    rt.run_ok(&["delete", "-f", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn run_keep_leaves_the_container_stopped() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sh", "-c", "exit 5"]);
    let id = rt.new_id();
    let out = rt.output(&["run", "--keep", "-b", bundle.path_str(), &id]);
    assert_eq!(exit_code(&out), 5, "{}", stderr(&out));
    let state = rt.state(&id);
    assert_eq!(state["status"], "stopped", "{state}");
    assert_eq!(state["id"], id.as_str());
    let listed = rt.run_ok(&["list", "-q"]);
    assert!(listed.lines().any(|l| l == id), "list -q: {listed}");
    rt.run_ok(&["delete", &id]);
    assert!(!rt.output(&["state", &id]).status.success());
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn state_has_runcs_json_shape() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&["sleep", "100"])
        .config(|c| c["annotations"] = serde_json::json!({"org.example.k": "v"}));
    let id = rt.create(&bundle);
    let state = rt.state(&id);
    let keys: Vec<&str> = state
        .as_object()
        .expect("state is an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = vec![
        "annotations",
        "bundle",
        "created",
        "id",
        "ociVersion",
        "owner",
        "pid",
        "rootfs",
        "status",
    ];
    want.sort();
    let mut got = keys.clone();
    got.sort();
    assert_eq!(got, want, "{state}");
    assert_eq!(state["id"], id.as_str());
    assert_eq!(state["status"], "created");
    assert_eq!(state["bundle"], bundle.path_str());
    assert_eq!(state["rootfs"], bundle.rootfs().to_str().unwrap());
    assert_eq!(state["annotations"]["org.example.k"], "v");
    assert!(state["ociVersion"].as_str().unwrap().starts_with("1."));
    let created = state["created"].as_str().unwrap();
    // RFC 3339, UTC: 2024-01-02T03:04:05.123456789Z
    let b = created.as_bytes();
    assert!(
        created.len() >= 20
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && created.ends_with('Z'),
        "created {created:?}"
    );
    assert!(state["pid"].as_i64().unwrap() > 1);
    rt.run_ok(&["delete", "-f", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn kill_takes_a_name_a_sig_name_or_a_number() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100"]);
    for signal in ["KILL", "SIGKILL", "9"] {
        let id = rt.create(&bundle);
        rt.run_ok(&["start", &id]);
        assert_eq!(rt.status(&id), "running");
        rt.run_ok(&["kill", &id, signal]);
        rt.wait_status(&id, "stopped", TIMEOUT);
        rt.run_ok(&["delete", &id]);
        assert_nothing_left(&rt, &bundle, &id);
    }
    let id = rt.create(&bundle);
    let out = rt.output(&["kill", &id, "NOSUCHSIG"]);
    assert_eq!(exit_code(&out), 1);
    assert!(stderr(&out).contains("NOSUCHSIG"), "{}", stderr(&out));
    rt.run_ok(&["delete", "-f", &id]);
}

#[test]
fn kill_sends_sigterm_by_default() {
    let rt = Runtime::new();
    // pid 1 of a namespace ignores SIGTERM unless it has a handler: give it one.
    let bundle = Bundle::busybox()
        .args(&[
            "sh",
            "-c",
            "trap 'echo TERM > /got; exit 0' TERM; touch /ready; sleep 1000 & wait",
        ])
        .config(|c| c["root"]["readonly"] = false.into());
    let id = rt.create(&bundle);
    rt.run_ok(&["start", &id]);
    let ready = bundle.rootfs().join("ready");
    assert!(wait_until(TIMEOUT, || ready.exists()), "trap never set");
    rt.run_ok(&["kill", &id]);
    rt.wait_status(&id, "stopped", TIMEOUT);
    let got = fs::read_to_string(bundle.rootfs().join("got")).unwrap_or_default();
    assert_eq!(got, "TERM\n", "the trap for SIGTERM did not run");
    rt.run_ok(&["delete", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn kill_all_signals_every_process_of_the_container() {
    let rt = Runtime::new();
    // Without a pid namespace, killing the init does not take its children with it.
    let bundle = Bundle::busybox()
        .args(&["sh", "-c", "sleep 1000 & sleep 1001 & exec sleep 1002"])
        .config(without_pid_namespace);
    let id = rt.create(&bundle);
    rt.run_ok(&["start", &id]);
    let procs = || HostSnapshot::take(&rt, &bundle, &[&id]).processes;
    assert!(
        wait_until(TIMEOUT, || procs().len() == 3),
        "expected 3 processes: {:?}",
        procs()
    );
    rt.run_ok(&["kill", "--all", &id, "KILL"]);
    assert!(
        wait_until(TIMEOUT, || procs().is_empty()),
        "kill --all left {:?}",
        procs()
    );
    assert_eq!(rt.status(&id), "stopped");
    rt.run_ok(&["delete", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn list_prints_runcs_table_ids_or_json() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100"]);
    let created = rt.create(&bundle);
    let running = rt.create(&bundle);
    rt.run_ok(&["start", &running]);

    let table = rt.run_ok(&["list"]);
    let mut lines = table.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
        "{table}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 2, "{table}");
    for (id, status) in [(&created, "created"), (&running, "running")] {
        let row = rows
            .iter()
            .find(|r| r[0] == id.as_str())
            .unwrap_or_else(|| panic!("{id} not listed:\n{table}"));
        let pid = rt.state(id)["pid"].to_string();
        assert_eq!(
            (&row[1..4], row.last().copied()),
            (&[pid.as_str(), status, bundle.path_str()][..], Some("root")),
            "{table}"
        );
    }

    let quiet = rt.run_ok(&["list", "-q"]);
    let mut ids: Vec<&str> = quiet.lines().collect();
    ids.sort();
    let mut want = vec![created.as_str(), running.as_str()];
    want.sort();
    assert_eq!(ids, want);

    for args in [&["list", "-f", "json"][..], &["list", "--format=json"][..]] {
        let json: Value = serde_json::from_str(&rt.run_ok(args)).expect("list -f json is JSON");
        let arr = json.as_array().expect("a JSON array");
        assert_eq!(arr.len(), 2, "{json}");
        for s in arr {
            let id = s["id"].as_str().unwrap();
            assert_eq!(s["status"], rt.status(id));
            assert_eq!(s["bundle"], bundle.path_str());
            assert_eq!(s["owner"], "root", "the state directory's owner, as runc");
        }
    }
    for id in [&created, &running] {
        rt.run_ok(&["delete", "-f", id]);
        assert_nothing_left(&rt, &bundle, id);
    }
    assert_eq!(rt.run_ok(&["list", "-q"]), "");
}

#[test]
fn root_flag_holds_the_state() {
    let rt = Runtime::new();
    let other = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100"]);
    let id = rt.create(&bundle);
    assert!(rt.root().join(&id).is_dir(), "no state under --root");
    let out = other.output(&["state", &id]);
    assert_eq!(exit_code(&out), 1, "another --root must not see {id}");
    assert!(!other.root().join(&id).exists());
    assert_eq!(other.run_ok(&["list", "-q"]), "");
    rt.run_ok(&["delete", "-f", &id]);
    assert!(!rt.root().join(&id).exists());
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn log_json_records_the_error_as_containerds_shim_reads_it() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox();
    let log = bundle.path().join("runtime.log");
    let id = rt.new_id();
    for format in [&["--log-format", "json"][..], &["--log-format=json"][..]] {
        let _ = fs::remove_file(&log);
        let mut args = vec!["--log", log.to_str().unwrap()];
        args.extend(format);
        args.extend(["start", &id]);
        let out = rt.output(&args);
        assert_eq!(exit_code(&out), 1);
        let text = fs::read_to_string(&log).expect("log file written");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?} not JSON: {e}")))
            .collect();
        let last = lines.last().expect("a log line");
        assert_eq!(last["level"], "error", "{text}");
        assert_eq!(
            last["msg"],
            format!("container {id} does not exist"),
            "{text}"
        );
    }
}

#[test]
fn systemd_cgroup_gives_a_clear_error_and_leaves_nothing() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["true"]);
    let id = rt.new_id();
    let before = HostSnapshot::take(&rt, &bundle, &[&id]);
    let out = rt.output(&["--systemd-cgroup", "run", "-b", bundle.path_str(), &id]);
    assert_eq!(exit_code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("systemd") && err.lines().count() == 1,
        "not one clear line: {err:?}"
    );
    HostSnapshot::take(&rt, &bundle, &[&id]).assert_same_as(&before);
}

#[test]
fn rootless_false_and_debug_are_accepted() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sh", "-c", "echo hi"]);
    for flags in [
        &["--rootless", "false"][..],
        &["--rootless=false"][..],
        &["--debug"][..],
    ] {
        let id = rt.new_id();
        let mut args = flags.to_vec();
        args.extend(["run", "-b", bundle.path_str(), &id]);
        let out = rt.output(&args);
        assert_eq!(exit_code(&out), 0, "{flags:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "hi\n", "{flags:?}");
        assert_nothing_left(&rt, &bundle, &id);
    }
}
