//! A few real runs that every runtime must pass (also with `CORACLE_TEST_RUNTIME=/usr/sbin/runc`).

mod common;

use common::{assert_nothing_left, exit_code, stdout, Bundle, HostSnapshot, Runtime};
use std::time::Duration;

#[test]
fn run_true_exits_zero_and_leaves_nothing() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["/bin/true"]);
    let id = rt.new_id();
    let before = HostSnapshot::take(&rt, &bundle, &[&id]);
    let out = rt.output(&["run", "--bundle", bundle.path_str(), &id]);
    assert_eq!(
        exit_code(&out),
        0,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    HostSnapshot::take(&rt, &bundle, &[&id]).assert_same_as(&before);
}

#[test]
fn run_passes_on_the_exit_code() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sh", "-c", "exit 3"]);
    let (id, out) = rt.run(&bundle);
    assert_eq!(
        exit_code(&out),
        3,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn run_shows_the_container_output() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&["sh", "-c", "echo hello; hostname; ls /"])
        .config(|c| c["hostname"] = "smoke".into());
    let (_, out) = rt.run(&bundle);
    assert_eq!(
        exit_code(&out),
        0,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[..2], ["hello", "smoke"]);
    for dir in ["bin", "dev", "etc", "proc", "sys"] {
        assert!(lines.contains(&dir), "ls / lacks {dir}: {text}");
    }
}

#[test]
fn created_container_reports_created_and_delete_leaves_nothing() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100"]);
    let id = rt.create(&bundle);
    let state = rt.state(&id);
    assert_eq!(state["status"], "created");
    assert_eq!(state["id"], id.as_str());
    assert!(state["pid"].as_i64().unwrap_or(0) > 0, "state: {state}");
    rt.run_ok(&["delete", "--force", &id]);
    assert!(
        !rt.output(&["state", &id]).status.success(),
        "state after delete"
    );
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn started_container_runs_then_stops() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sh", "-c", "exit 0"]);
    let id = rt.create(&bundle);
    rt.run_ok(&["start", &id]);
    rt.wait_status(&id, "stopped", Duration::from_secs(10));
    rt.run_ok(&["delete", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}
