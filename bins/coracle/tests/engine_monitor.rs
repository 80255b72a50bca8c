//! The monitor of a detached container: its memory budget (VmRSS ≤ 1 MiB while the container
//! is quiet).

mod common;
mod engine_support;

use engine_support::*;

/// A `/proc/PID/status` field in KiB.
fn status_kib(pid: i64, key: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = s.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_quiet_containers_monitor_stays_within_1_mib() {
    let env = env();
    let id = env
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "trap 'echo woke' USR1; echo ready; while true; do sleep 0.2; done",
        ])
        .trim()
        .to_string();
    wait_until("ready", || logs(&env, &id).contains("ready"));
    let pid = inspect(&env, &id)["State"]["Pid"].as_i64().unwrap();
    let monitor = status_kib(pid, "PPid:") as i64;
    // The relay drops the pages start-up mapped once the container has been quiet for a
    // second: wait for that, not for a fixed time.
    let mut rss = 0;
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < end {
        rss = status_kib(monitor, "VmRSS:");
        if rss <= 1024 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (anon, file) = (
        status_kib(monitor, "RssAnon:"),
        status_kib(monitor, "RssFile:"),
    );
    eprintln!("monitor {monitor}: VmRSS {rss} KiB (RssAnon {anon}, RssFile {file})");
    assert!(
        rss <= 1024,
        "monitor VmRSS {rss} KiB > 1 MiB (RssAnon {anon}, RssFile {file})"
    );
    // It still relays after the drop: output reaches the log, the exit is recorded.
    env.ok(&["kill", "-s", "USR1", &id]);
    wait_until("woke", || logs(&env, &id).contains("woke"));
    env.ok(&["stop", "-t", "1", &id]);
    let c = inspect(&env, &id);
    assert_eq!(c["State"]["Status"], "exited");
    env.ok(&["rm", &id]);
    assert_gone(&env, &id);
    assert_store_empty(&env);
}

/// How many times `text` is a whole line of the container's log.
fn runs(env: &Env, id: &str, text: &str) -> usize {
    logs(env, id).lines().filter(|l| *l == text).count()
}

/// The monitor process ends (its restarts with it): it releases its lock (what `stop` and
/// `wait` wait for) just before it exits.
fn assert_monitor_gone(monitor: i64) {
    wait_until("the monitor's exit", || {
        let state = std::fs::read_to_string(format!("/proc/{monitor}/stat")).ok();
        state
            .and_then(|s| {
                s.rsplit(')')
                    .next()
                    .map(|r| r.trim_start().starts_with('Z'))
            })
            .is_none_or(|zombie| zombie)
    });
}

fn monitor_of(env: &Env, id: &str) -> i64 {
    // The record's monitor (the init's pid changes at every restart).
    let raw = std::fs::read_to_string(env.root().join("containers").join(id).join("config.json"))
        .unwrap();
    let rec: serde_json::Value = serde_json::from_str(&raw).unwrap();
    rec["monitor_pid"].as_i64().unwrap()
}

#[test]
fn restart_always_restarts_after_exit_0_until_stopped() {
    let env = env();
    let id = env
        .ok(&[
            "run",
            "-d",
            "--restart",
            "always",
            "--network",
            "none",
            IMAGE,
            "echo",
            "ran",
        ])
        .trim()
        .to_string();
    // Exit 0, started again and again: three runs seen in the log and the count.
    wait_until("three runs", || runs(&env, &id, "ran") >= 3);
    let c = inspect(&env, &id);
    assert!(c["RestartCount"].as_u64().unwrap() >= 2, "{c}");
    assert_eq!(c["HostConfig"]["RestartPolicy"]["Name"], "always");
    assert!(
        ["running", "restarting"].contains(&c["State"]["Status"].as_str().unwrap()),
        "up or waiting to restart: {c}"
    );
    assert_eq!(
        c["State"]["Running"], true,
        "between runs it still counts as up"
    );
    let monitor = monitor_of(&env, &id);
    // `stop` ends it for good: when it returns the monitor (which restarts) is gone.
    env.ok(&["stop", "-t", "1", &id]);
    assert_monitor_gone(monitor);
    let c = inspect(&env, &id);
    assert_eq!(c["State"]["Status"], "exited");
    let count = c["RestartCount"].as_u64().unwrap();
    let seen = runs(&env, &id, "ran");
    assert_eq!(
        inspect(&env, &id)["RestartCount"].as_u64(),
        Some(count),
        "no restart after stop"
    );
    assert_eq!(runs(&env, &id, "ran"), seen);
    // `start` again: the policy applies again.
    env.ok(&["start", &id]);
    wait_until("a run after start", || {
        inspect(&env, &id)["RestartCount"].as_u64() >= Some(1)
    });
    env.ok(&["rm", "-f", &id]);
    assert_gone(&env, &id);
    assert_store_empty(&env);
}

/// Between runs a container is "restarting" (inspect, ps), with its last exit; the waits grow
/// (100 ms, doubling: the 7th exit waits 6.4 s), and `stop` ends such a wait at once instead of
/// waiting it out.
#[test]
fn a_crash_loop_shows_restarting_and_stop_ends_its_long_wait() {
    let env = env();
    let id = env
        .ok(&[
            "run",
            "-d",
            "--restart",
            "always",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "echo crash; exit 3",
        ])
        .trim()
        .to_string();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let seventh_wait = || {
        let c = inspect(&env, &id);
        c["State"]["Status"] == "restarting" && c["RestartCount"] == 7
    };
    while !seventh_wait() {
        assert!(
            std::time::Instant::now() < end,
            "no 7th restart wait in 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let c = inspect(&env, &id);
    assert_eq!(
        (&c["State"]["Running"], &c["State"]["Restarting"]),
        (&true.into(), &true.into())
    );
    assert_eq!(
        (c["State"]["ExitCode"].as_i64(), c["State"]["Pid"].as_i64()),
        (Some(3), Some(0))
    );
    let ps: serde_json::Value = serde_json::from_str(
        env.ok(&["ps", "--format", "json"])
            .lines()
            .find(|l| l.contains(&id[..12]))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(ps["State"], "restarting");
    assert!(
        ps["Status"].as_str().unwrap().starts_with("Restarting (3)"),
        "{ps}"
    );
    let monitor = monitor_of(&env, &id);
    let t = std::time::Instant::now();
    env.ok(&["stop", "-t", "1", &id]);
    let took = t.elapsed();
    assert_monitor_gone(monitor);
    assert!(
        took < std::time::Duration::from_secs(4),
        "stop waited out the restart delay: {took:?}"
    );
    let c = inspect(&env, &id);
    assert_eq!(
        (
            c["State"]["Status"].as_str(),
            c["State"]["Restarting"].as_bool(),
            c["RestartCount"].as_u64()
        ),
        (Some("exited"), Some(false), Some(7))
    );
    assert_eq!(runs(&env, &id, "crash"), 7, "no run after stop");
    env.ok(&["rm", &id]);
    assert_gone(&env, &id);
    assert_store_empty(&env);
}

#[test]
fn unless_stopped_restarts_and_kill_or_rm_f_end_it() {
    let env = env();
    // A failing long runner: killed by the user, it is not restarted.
    let id = env
        .ok(&[
            "run",
            "-d",
            "--restart",
            "unless-stopped",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "echo up; sleep 600",
        ])
        .trim()
        .to_string();
    wait_until("up", || runs(&env, &id, "up") == 1);
    assert_eq!(
        inspect(&env, &id)["HostConfig"]["RestartPolicy"]["Name"],
        "unless-stopped"
    );
    let monitor = monitor_of(&env, &id);
    env.ok(&["kill", &id]);
    assert_eq!(env.ok(&["wait", &id]).trim(), "137");
    assert_monitor_gone(monitor);
    let c = inspect(&env, &id);
    assert_eq!(
        (c["State"]["Status"].as_str(), c["RestartCount"].as_u64()),
        (Some("exited"), Some(0))
    );
    env.ok(&["rm", &id]);
    assert_gone(&env, &id);
    // One that exits at once keeps being restarted until `rm -f`.
    let id = env
        .ok(&[
            "run",
            "-d",
            "--restart",
            "unless-stopped",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "echo again; exit 3",
        ])
        .trim()
        .to_string();
    wait_until("two runs", || runs(&env, &id, "again") >= 2);
    env.ok(&["rm", "-f", &id]);
    assert_gone(&env, &id);
    assert_store_empty(&env);
}

#[test]
fn bad_restart_values_are_one_error_and_leave_nothing() {
    let env = env();
    for args in [
        vec!["run", "-d", "--restart", "sometimes", IMAGE, "true"],
        vec!["run", "--restart", "always:3", IMAGE, "true"],
        vec!["create", "--restart", "on-failure:x", IMAGE, "true"],
        vec!["run", "--rm", "--restart", "always", IMAGE, "true"],
        vec!["run", "--rm", "--restart", "unless-stopped", IMAGE, "true"],
        vec!["run", "--rm", "--restart", "on-failure:2", IMAGE, "true"],
    ] {
        let out = env.output(&args);
        assert_one_error(&out, 125, "--restart");
        assert!(ids(&env).is_empty(), "{args:?} left a container");
    }
    assert_store_empty(&env);
}

/// The container's init is blocked in `read(0, …)` (x86-64's syscall 0 on fd 0): its stdin is
/// open and empty.
fn reading_stdin(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/syscall")).is_ok_and(|s| s.starts_with("0 0x0 "))
}

/// The monitor holds the other end of the init's stdin pipe.
fn monitor_holds_stdin(init: i64, monitor: i64) -> bool {
    let target = std::fs::read_link(format!("/proc/{init}/fd/0")).unwrap();
    assert!(target.to_string_lossy().starts_with("pipe:"), "{target:?}");
    std::fs::read_dir(format!("/proc/{monitor}/fd"))
        .unwrap()
        .flatten()
        .any(|e| std::fs::read_link(e.path()).is_ok_and(|t| t == target))
}

#[test]
fn interactive_without_a_caller_keeps_stdin_open_until_stop() {
    let env = env();
    let detached = env
        .ok(&["run", "-di", "--network", "none", IMAGE, "cat"])
        .trim()
        .to_string();
    let created = env
        .ok(&["create", "-i", "--network", "none", IMAGE, "sh"])
        .trim()
        .to_string();
    env.ok(&["start", &created]);
    let tty = env
        .ok(&["run", "-dit", "--network", "none", IMAGE, "cat"])
        .trim()
        .to_string();
    for id in [&detached, &created, &tty] {
        let pid = inspect(&env, id)["State"]["Pid"].as_i64().unwrap();
        // Waiting on its stdin, not at EOF: it stays up.
        wait_until("the init reads its stdin", || reading_stdin(pid));
        let c = inspect(&env, id);
        assert_eq!(
            (c["State"]["Status"].as_str(), c["State"]["Pid"].as_i64()),
            (Some("running"), Some(pid))
        );
        if id != &tty {
            assert!(monitor_holds_stdin(pid, monitor_of(&env, id)));
        }
        // `stop` ends it (cat and sh as pid 1 ignore SIGTERM: SIGKILL after -t).
        env.ok(&["stop", "-t", "1", id]);
        let c = inspect(&env, id);
        assert_eq!(
            (
                c["State"]["Status"].as_str(),
                c["State"]["ExitCode"].as_i64()
            ),
            (Some("exited"), Some(137))
        );
        env.ok(&["rm", id]);
        assert_gone(&env, id);
    }
    assert_store_empty(&env);
}

#[test]
fn a_foreground_always_run_stays_attached_across_restarts_and_ctrl_c_ends_it() {
    use std::io::{BufRead, BufReader, Read};
    let env = env();
    let mut child = env
        .cmd(&[
            "run",
            "--name",
            "fg-always",
            "--restart",
            "always",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            // The first run exits 0 at once; the second (its rootfs kept the mark) stays.
            "trap 'echo got-int; exit 0' INT; echo up; [ -e /tmp/ran ] || { touch /tmp/ran; \
             exit 0; }; while true; do sleep 0.1; done",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    // Two runs' output through one `run`: it stayed attached over the restart.
    let mut seen = vec![];
    while seen.iter().filter(|l| *l == "up\n").count() < 2 {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "output ended: {seen:?}"
        );
        seen.push(line);
    }
    // Ctrl-C goes to the container as Docker's sig-proxy kill: it exits 0 and is not
    // started again; `run` ends with it.
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0), "{rest}");
    assert!(rest.contains("got-int"), "{rest:?}");
    let c = inspect(&env, "fg-always");
    assert_eq!(c["State"]["Status"], "exited");
    assert!(c["RestartCount"].as_u64().unwrap() >= 1);
    env.ok(&["rm", "fg-always"]);
    assert_store_empty(&env);
}
