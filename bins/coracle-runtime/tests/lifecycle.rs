//! Lifecycle rules: `create` parks the init, `start` releases it (once), `delete` refuses live
//! containers without `-f`, state outlives the runtime process, concurrent calls on one container
//! are serialised, a container that exits at once never hangs `run`, and errors for stopped or
//! missing containers are clear.

mod common;

use common::{
    assert_nothing_left, detached, exit_code, wait_child, wait_until, Bundle, HostSnapshot,
    Runtime, COMMAND_TIMEOUT as TIMEOUT,
};
use std::fs;
use std::process::{Output, Stdio};
use std::time::Duration;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn writable(c: &mut serde_json::Value) {
    c["root"]["readonly"] = false.into();
}

fn pid_of(rt: &Runtime, id: &str) -> i64 {
    rt.state(id)["pid"].as_i64().expect("state pid")
}

fn alive(pid: i64) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !matches!(
                s.rsplit(')').next().unwrap_or("").trim().chars().next(),
                Some('Z' | 'X')
            )
        })
        .unwrap_or(false)
}

#[test]
fn create_parks_the_init_until_start() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&["touch", "/marker"])
        .config(writable);
    let marker = bundle.rootfs().join("marker");
    let id = rt.create(&bundle);
    let state = rt.state(&id);
    assert_eq!(state["status"], "created");
    let pid = state["pid"].as_i64().unwrap();
    assert!(alive(pid), "the parked init (pid {pid}) is gone");
    assert!(!marker.exists(), "the user process ran before start");
    // Still parked a moment later, seen from a fresh runtime process.
    assert_eq!(rt.status(&id), "created");
    assert!(!marker.exists(), "the user process ran before start");

    rt.run_ok(&["start", &id]);
    assert!(
        wait_until(TIMEOUT, || marker.exists()),
        "start did not release the init"
    );
    rt.wait_status(&id, "stopped", TIMEOUT);
    rt.run_ok(&["delete", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn start_twice_fails() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100"]);
    let id = rt.create(&bundle);
    rt.run_ok(&["start", &id]);
    let pid = pid_of(&rt, &id);
    let out = rt.output(&["start", &id]);
    assert_eq!(exit_code(&out), 1);
    assert!(stderr(&out).contains("running"), "{}", stderr(&out));
    assert_eq!(rt.status(&id), "running");
    assert_eq!(pid_of(&rt, &id), pid);

    // And a stopped container cannot be started again either.
    rt.run_ok(&["kill", &id, "KILL"]);
    rt.wait_status(&id, "stopped", TIMEOUT);
    let out = rt.output(&["start", &id]);
    assert_eq!(exit_code(&out), 1);
    assert!(stderr(&out).contains("stopped"), "{}", stderr(&out));
    rt.run_ok(&["delete", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn delete_refuses_live_containers_without_force() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100"]);

    let running = rt.create(&bundle);
    rt.run_ok(&["start", &running]);
    let pid = pid_of(&rt, &running);
    let out = rt.output(&["delete", &running]);
    assert_eq!(exit_code(&out), 1, "delete of a running container");
    assert!(stderr(&out).contains("running"), "{}", stderr(&out));
    assert_eq!(rt.status(&running), "running");
    assert!(alive(pid), "delete without -f killed the init");

    let created = rt.create(&bundle);
    let cpid = pid_of(&rt, &created);
    let out = rt.output(&["delete", &created]);
    assert_eq!(exit_code(&out), 1, "delete of a created container");
    assert!(stderr(&out).contains("created"), "{}", stderr(&out));
    assert_eq!(rt.status(&created), "created");
    assert!(alive(cpid));

    for id in [&running, &created] {
        rt.run_ok(&["delete", "-f", id]);
        assert!(!rt.output(&["state", id]).status.success());
    }
    // (Checked once both are gone: the snapshot also counts any process of the shared bundle.)
    for id in [&running, &created] {
        assert_nothing_left(&rt, &bundle, id);
    }
    assert!(!alive(pid) && !alive(cpid));
}

#[test]
fn state_survives_the_runtime_process() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100"]);
    let id = rt.create(&bundle);
    let pid = pid_of(&rt, &id);
    // `create` has exited: the only process left of this container is its parked init.
    let procs = HostSnapshot::take(&rt, &bundle, &[&id]).processes;
    let pids: Vec<i64> = procs
        .iter()
        .filter_map(|p| p.split(' ').next()?.parse().ok())
        .collect();
    assert_eq!(pids, vec![pid], "processes of {id}: {procs:?}");
    // Each call below is a new runtime process reading what the last one left.
    assert_eq!(rt.status(&id), "created");
    rt.run_ok(&["start", &id]);
    assert_eq!(rt.status(&id), "running");
    assert_eq!(pid_of(&rt, &id), pid);
    let listed = rt.run_ok(&["list", "-q"]);
    assert_eq!(listed.trim(), id);
    rt.run_ok(&["delete", "-f", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn parallel_delete_and_state_are_serialised() {
    let rt = Runtime::new();
    let mut bundle = Bundle::busybox().args(&["sleep", "100"]);
    // Counts deletions: poststop runs once per container removed.
    let count = bundle.path().join("poststop.count");
    let hook_cmd = format!("echo deleted >> {}", count.display());
    bundle.edit(|c| {
        c["hooks"] = serde_json::json!({
            "poststop": [{ "path": "/bin/sh", "args": ["sh", "-c", hook_cmd] }]
        })
    });
    for round in 0..3 {
        let _ = fs::remove_file(&count);
        let id = rt.create(&bundle);
        if round % 2 == 1 {
            rt.run_ok(&["start", &id]);
        }
        let outs: Vec<(&str, Output)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|i| {
                    let (rt, id) = (&rt, &id);
                    s.spawn(move || {
                        let what = if i % 2 == 0 { "delete" } else { "state" };
                        let args: &[&str] = if what == "delete" {
                            &["delete", "-f", id]
                        } else {
                            &["state", id]
                        };
                        (what, rt.output(args))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (what, out) in &outs {
            if out.status.success() {
                continue;
            }
            assert_eq!(*what, "state", "delete -f failed: {}", stderr(out));
            assert_eq!(
                stderr(out).trim_end(),
                format!("coracle-runtime: container {id} does not exist"),
                "state failed otherwise"
            );
            assert_eq!(exit_code(out), 1);
        }
        let deleted = fs::read_to_string(&count).unwrap_or_default();
        assert_eq!(
            deleted, "deleted\n",
            "round {round}: poststop ran {deleted:?}"
        );
        assert!(!rt.output(&["state", &id]).status.success());
        assert_nothing_left(&rt, &bundle, &id);
    }
}

#[test]
fn parallel_create_of_one_id_lets_exactly_one_win() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100"]);
    for _ in 0..3 {
        let id = rt.new_id();
        let results: Vec<(i32, String)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let (rt, id, b) = (&rt, &id, bundle.path_str());
                    s.spawn(move || detached(rt.cmd(&["create", "-b", b, id])))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let won = results.iter().filter(|(c, _)| *c == 0).count();
        assert_eq!(won, 1, "{results:?}");
        for (code, err) in results.iter().filter(|(c, _)| *c != 0) {
            assert_eq!(*code, 1);
            assert!(err.contains("already exists"), "{err}");
        }
        assert_eq!(rt.status(&id), "created");
        let pid = pid_of(&rt, &id);
        let procs = HostSnapshot::take(&rt, &bundle, &[&id]).processes;
        assert_eq!(procs.len(), 1, "one init only, the winner's: {procs:?}");
        assert!(procs.iter().next().unwrap().starts_with(&format!("{pid} ")));
        rt.run_ok(&["delete", "-f", &id]);
        assert_nothing_left(&rt, &bundle, &id);
    }
}

#[test]
fn run_of_a_container_that_exits_at_once_never_hangs() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["/bin/true"]);
    let ids: Vec<String> = (0..50).map(|_| rt.new_id()).collect();
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let before = HostSnapshot::take(&rt, &bundle, &id_refs);
    for (i, id) in ids.iter().enumerate() {
        let mut child = rt
            .cmd(&["run", "-b", bundle.path_str(), id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn run");
        let status = wait_child(&mut child, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("run #{i} of /bin/true hung"));
        assert_eq!(status.code(), Some(0), "run #{i}");
    }
    HostSnapshot::take(&rt, &bundle, &id_refs).assert_same_as(&before);
}

#[test]
fn kill_of_a_stopped_container_fails_clearly() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["true"]);
    let id = rt.new_id();
    let out = rt.output(&["run", "--keep", "-b", bundle.path_str(), &id]);
    assert_eq!(exit_code(&out), 0, "{}", stderr(&out));
    assert_eq!(rt.status(&id), "stopped");
    for signal in ["KILL", "TERM"] {
        let out = rt.output(&["kill", &id, signal]);
        assert_eq!(exit_code(&out), 1);
        assert_eq!(
            stderr(&out).trim_end(),
            format!("coracle-runtime: container not running: {id}")
        );
    }
    let out = rt.output(&["kill", "--all", &id, "KILL"]);
    assert_eq!(exit_code(&out), 1);
    rt.run_ok(&["delete", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn missing_container_does_not_exist() {
    let rt = Runtime::new();
    let id = rt.new_id();
    for args in [
        &["state", &id][..],
        &["delete", &id][..],
        &["start", &id][..],
        &["kill", &id, "KILL"][..],
    ] {
        let out = rt.output(args);
        assert_eq!(exit_code(&out), 1, "{args:?}");
        assert_eq!(
            stderr(&out).trim_end(),
            format!("coracle-runtime: container {id} does not exist"),
            "{args:?}"
        );
    }
    for args in [&["delete", "-f", &id][..], &["delete", "--force", &id][..]] {
        let out = rt.output(args);
        assert_eq!(exit_code(&out), 0, "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "");
    }
}
