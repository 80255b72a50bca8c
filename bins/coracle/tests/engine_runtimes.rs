//! `--runtime runc`: the engine drives a runc-compatible binary through its command line
//! (create/start/state/kill/delete) with the same monitor, and the core behaviour holds.
//! (crun refuses this host's hybrid cgroup layout: see MACHINE-NOTES.)

mod common;
mod engine_support;

use engine_support::*;

fn runc() -> &'static str {
    assert!(
        std::process::Command::new("runc")
            .arg("--version")
            .output()
            .is_ok(),
        "runc is missing: apt-get install runc"
    );
    "runc"
}

#[test]
fn runc_runs_exit_codes_output_and_not_found() {
    let env = env();
    let rt = runc();
    let out = env.output(&[
        "run",
        "--rm",
        "--runtime",
        rt,
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(
        (stdout(&out).as_str(), stderr(&out).as_str()),
        ("out\n", "err\n")
    );
    let out = env.output(&[
        "run",
        "--rm",
        "--runtime",
        rt,
        "--network",
        "none",
        IMAGE,
        "nosuch",
    ]);
    assert_one_error(&out, 127, "nosuch");
    let out = env.output(&[
        "run",
        "--rm",
        "--runtime",
        rt,
        "--network",
        "none",
        IMAGE,
        "/etc/passwd",
    ]);
    assert_one_error(&out, 126, "/etc/passwd");
    let out = env.output(&[
        "run",
        "--rm",
        "--runtime",
        "/no/such/runtime",
        IMAGE,
        "true",
    ]);
    assert_one_error(&out, 125, "--runtime");
    assert_store_empty(&env);
}

#[test]
fn runc_detached_logs_stop_restart_and_rm_force() {
    let env = env();
    let rt = runc();
    let id = env
        .ok(&[
            "run",
            "-d",
            "--runtime",
            rt,
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "trap 'echo got-term; exit 7' TERM; echo ready; while true; do sleep 0.1; done",
        ])
        .trim()
        .to_string();
    wait_until("ready", || logs(&env, &id).contains("ready"));
    // The init was runc's child; the monitor (a subreaper) is its parent now.
    let pid = inspect(&env, &id)["State"]["Pid"].as_i64().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let ppid: i64 = status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cmdline = std::fs::read_to_string(format!("/proc/{ppid}/cmdline")).unwrap();
    assert!(cmdline.contains("__relay"), "{cmdline}");
    env.ok(&["stop", &id]);
    assert_eq!(inspect(&env, &id)["State"]["ExitCode"], 7);
    assert!(logs(&env, &id).contains("got-term"));
    env.ok(&["start", &id]);
    wait_until("ready again", || {
        logs(&env, &id).matches("ready").count() == 2
    });
    env.ok(&["rm", "-f", &id]);
    assert_gone(&env, &id);
    let states = env.root().join("runtime-external");
    assert!(
        std::fs::read_dir(&states).map_or(true, |mut d| d.next().is_none()),
        "runc state left"
    );
    let out = env.output(&[
        "run",
        "--name",
        "retried",
        "--runtime",
        rt,
        "--restart",
        "on-failure:2",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "echo try; exit 1",
    ]);
    assert_eq!((code(&out), stdout(&out).as_str()), (1, "try\ntry\ntry\n"));
    env.ok(&["rm", "retried"]);
    assert_store_empty(&env);
}
