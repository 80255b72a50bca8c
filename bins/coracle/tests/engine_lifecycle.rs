//! Detached containers: logs (-f, --tail, -t), wait, stop (signal, then SIGKILL after -t),
//! kill, rm (-f), start again, and the monitor (the container's parent, its memory).

mod common;
mod engine_support;

use engine_support::*;
use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn detached_logs_follow_tail_timestamps_and_wait() {
    let env = env();
    let id = env
        .ok(&[
            "run",
            "-d",
            "--name",
            "talker",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "for i in 1 2 3; do echo line$i; sleep 0.2; done; echo oops >&2; exit 5",
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    let f = env.output(&["logs", "-f", "talker"]);
    assert_eq!(code(&f), 0);
    assert_eq!(
        stdout(&f),
        "line1\nline2\nline3\n",
        "logs -f returns at the exit"
    );
    assert_eq!(stderr(&f), "oops\n");
    assert_eq!(env.ok(&["wait", "talker"]).trim(), "5");
    // --tail counts the lines of both streams.
    let tail = env.output(&["logs", "--tail", "2", "talker"]);
    assert_eq!(
        (stdout(&tail).as_str(), stderr(&tail).as_str()),
        ("line3\n", "oops\n")
    );
    let t = env.ok(&["logs", "-t", "--tail", "3", "talker"]);
    assert_eq!(t.lines().count(), 2);
    for l in t.lines() {
        let (time, text) = l.split_once(' ').unwrap();
        assert!(
            time.len() == 30 && time.ends_with('Z') && time.contains('T'),
            "{time}"
        );
        assert!(text.starts_with("line"));
    }
    // The json-file lines on disk, as Docker writes them.
    let raw =
        std::fs::read_to_string(env.root().join("containers").join(&id).join("ctr.log")).unwrap();
    let first: serde_json::Value = serde_json::from_str(raw.lines().next().unwrap()).unwrap();
    assert_eq!(first["log"], "line1\n");
    assert_eq!(first["stream"], "stdout");
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    let c = inspect(&env, "talker");
    assert_eq!(c["State"]["Status"], "exited");
    assert_eq!(c["State"]["ExitCode"], 5);
    env.ok(&["rm", "talker"]);
    assert_gone(&env, &id);
}

#[test]
fn stop_sends_sigterm_and_the_container_exits_on_it() {
    let env = env();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "polite",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "trap 'echo got-term; exit 7' TERM; echo ready; while true; do sleep 0.1; done",
    ]);
    wait_until("ready", || logs(&env, "polite").contains("ready"));
    let t = Instant::now();
    assert_eq!(env.ok(&["stop", "polite"]).trim(), "polite");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "no SIGKILL wait needed"
    );
    assert!(logs(&env, "polite").contains("got-term"));
    let c = inspect(&env, "polite");
    assert_eq!(c["State"]["ExitCode"], 7);
    assert_eq!(c["State"]["Running"], false);
    // Stopping a stopped container is fine (Docker's behaviour).
    env.ok(&["stop", "polite"]);
    env.ok(&["rm", "polite"]);
    assert_store_empty(&env);
}

#[test]
fn stop_kills_after_the_timeout_when_sigterm_is_ignored() {
    let env = env();
    // pid 1 of a pid namespace ignores signals it has no handler for: `sleep` as init never
    // reacts to SIGTERM.
    let id = env
        .ok(&["run", "-d", "--network", "none", IMAGE, "sleep", "600"])
        .trim()
        .to_string();
    let t = Instant::now();
    env.ok(&["stop", "-t", "1", &id]);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(1),
        "SIGKILL came before -t: {took:?}"
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_eq!(inspect(&env, &id)["State"]["ExitCode"], 137);
    env.ok(&["rm", &id]);
    assert_gone(&env, &id);
}

#[test]
fn kill_delivers_the_signal_and_refuses_a_stopped_container() {
    let env = env();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "kk",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "trap 'echo usr1; exit 3' USR1; echo ready; while true; do sleep 0.1; done",
    ]);
    wait_until("ready", || logs(&env, "kk").contains("ready"));
    env.ok(&["kill", "-s", "USR1", "kk"]);
    assert_eq!(env.ok(&["wait", "kk"]).trim(), "3");
    assert!(logs(&env, "kk").contains("usr1"));
    let out = env.output(&["kill", "kk"]);
    assert_one_error(&out, 1, "not running");
    let out = env.output(&["kill", "-s", "NOPE", "kk"]);
    assert_one_error(&out, 1, "NOPE");
    let out = env.output(&["kill", "nosuch"]);
    assert_one_error(&out, 1, "no such container: nosuch");
    env.ok(&["rm", "kk"]);
    assert_store_empty(&env);
}

#[test]
fn rm_of_a_running_container_needs_force() {
    let env = env();
    let id = env
        .ok(&[
            "run",
            "-d",
            "--name",
            "busy",
            "--network",
            "none",
            IMAGE,
            "sleep",
            "600",
        ])
        .trim()
        .to_string();
    let out = env.output(&["rm", "busy"]);
    assert_one_error(&out, 1, "running");
    assert_eq!(env.ok(&["ps", "-q"]).trim(), &id[..12]);
    let ps: serde_json::Value =
        serde_json::from_str(env.ok(&["ps", "--format", "json"]).trim()).unwrap();
    assert!(ps["Status"].as_str().unwrap().starts_with("Up "), "{ps}");
    assert_eq!(ps["State"], "running");
    assert_eq!(env.ok(&["rm", "-f", "busy"]).trim(), "busy");
    assert_gone(&env, &id);
    assert_store_empty(&env);
}

#[test]
fn create_then_start_and_start_again_after_the_exit() {
    let env = env();
    let id = env
        .ok(&[
            "create",
            "--name",
            "again",
            "--network",
            "none",
            IMAGE,
            "echo",
            "hello",
        ])
        .trim()
        .to_string();
    assert_eq!(inspect(&env, "again")["State"]["Status"], "created");
    assert_eq!(env.ok(&["logs", "again"]), "");
    assert_eq!(env.ok(&["start", "again"]).trim(), "again");
    assert_eq!(env.ok(&["wait", "again"]).trim(), "0");
    env.ok(&["start", "again"]);
    env.ok(&["wait", "again"]);
    assert_eq!(env.ok(&["logs", "again"]), "hello\nhello\n");
    let ps: serde_json::Value =
        serde_json::from_str(env.ok(&["ps", "-a", "--format", "json"]).trim()).unwrap();
    assert_eq!(ps["Names"], "again");
    let status = ps["Status"].as_str().unwrap();
    assert!(
        status.starts_with("Exited (0) ") && status.ends_with(" ago"),
        "{status}"
    );
    let table = env.ok(&["ps", "-a"]);
    assert!(table.starts_with("CONTAINER ID"), "{table}");
    assert!(table.lines().nth(1).unwrap().ends_with("again"), "{table}");
    assert_eq!(ps["Image"], IMAGE);
    env.ok(&["rm", "again"]);
    assert_gone(&env, &id);
}

#[test]
fn detached_rm_container_removes_itself_and_wait_still_gets_its_code() {
    let env = env();
    let id = env
        .ok(&[
            "run",
            "-d",
            "--rm",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "sleep 1; exit 6",
        ])
        .trim()
        .to_string();
    assert_eq!(env.ok(&["wait", &id]).trim(), "6");
    wait_until("the --rm container gone", || ids(&env).is_empty());
    assert_gone(&env, &id);
    assert_store_empty(&env);
}

fn status_kb(pid: i64, key: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = s.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn the_monitor_is_the_containers_parent_and_stays_small() {
    let env = env();
    let id = env
        .ok(&["run", "-d", "--network", "none", IMAGE, "sleep", "600"])
        .trim()
        .to_string();
    let pid = inspect(&env, &id)["State"]["Pid"].as_i64().unwrap();
    assert!(pid > 0);
    let monitor = relaying_monitor(pid, &id);
    let rss = status_kb(monitor, "VmRSS:");
    let anon = status_kb(monitor, "RssAnon:");
    eprintln!("monitor {monitor}: VmRSS {rss} kB, RssAnon {anon} kB");
    // Its private memory; the rest of VmRSS is the binary's pages, shared with the page cache.
    assert!(anon <= 1536, "monitor RssAnon {anon} kB");
    env.ok(&["rm", "-f", &id]);
    assert_gone(&env, &id);
}

#[test]
fn foreground_run_passes_sigint_to_the_container() {
    use std::io::{BufRead, BufReader};
    let env = env();
    let mut child = env
        .cmd(&[
            "run",
            "--rm",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "trap 'echo got-int; exit 9' INT; echo ready; while true; do sleep 0.1; done",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let pid = child.id() as i32;
    assert!(Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(9));
    assert_eq!(rest, "got-int\n");
    assert_store_empty(&env);
}

#[test]
fn a_killed_monitor_leaves_an_exited_record_that_rm_cleans_up() {
    let env = env();
    let id = env
        .ok(&["run", "-d", "--network", "none", IMAGE, "sleep", "600"])
        .trim()
        .to_string();
    let pid = inspect(&env, &id)["State"]["Pid"].as_i64().unwrap();
    let monitor = status_kb(pid, "PPid:");
    assert!(Command::new("kill")
        .args(["-KILL", &monitor.to_string()])
        .status()
        .unwrap()
        .success());
    wait_until("the monitor gone", || {
        inspect(&env, &id)["State"]["Status"] == "exited"
    });
    env.ok(&["rm", &id]);
    wait_until("the orphaned init gone", || {
        sys_state(pid).is_none_or(|s| s == 'Z')
    });
    assert_gone(&env, &id);
}

fn sys_state(pid: i64) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

#[test]
fn stop_uses_the_images_stop_signal() {
    let env = env();
    let image = "engine-test/stopsignal:1";
    load_busybox_with_config(
        &env,
        image,
        serde_json::json!({ "Cmd": ["sh"], "StopSignal": "SIGUSR1" }),
    );
    env.ok(&[
        "run", "-d", "--name", "usr1", "--network", "none", image, "sh", "-c",
        "trap 'echo got-usr1; exit 4' USR1; trap 'echo got-term; exit 5' TERM; echo ready; while true; do sleep 0.1; done",
    ]);
    wait_until("ready", || logs(&env, "usr1").contains("ready"));
    env.ok(&["stop", "usr1"]);
    assert_eq!(inspect(&env, "usr1")["State"]["ExitCode"], 4);
    assert!(logs(&env, "usr1").contains("got-usr1"));
    env.ok(&["rm", "usr1"]);
    assert_store_empty(&env);
}

#[test]
fn rm_racing_start_never_leaves_half_a_container() {
    let env = env();
    for i in 0..4 {
        let name = format!("race{i}");
        let id = env
            .ok(&[
                "create",
                "--name",
                &name,
                "--network",
                "none",
                IMAGE,
                "sleep",
                "600",
            ])
            .trim()
            .to_string();
        let mut start = env
            .cmd(&["start", &name])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let rm = env.output(&["rm", &name]);
        let _ = start.wait();
        if rm.status.success() {
            // rm won: whatever start did, nothing of the container may remain.
            wait_until("the container gone", || !ids(&env).contains(&id));
        } else {
            assert!(
                stderr(&rm).contains("running") || stderr(&rm).contains("meanwhile"),
                "{}",
                stderr(&rm)
            );
            env.ok(&["rm", "-f", &name]);
        }
        assert_gone(&env, &id);
    }
    assert_store_empty(&env);
}

#[test]
fn restart_on_failure_3_restarts_exactly_three_times_and_stop_is_not_a_failure() {
    let env = env();
    let id = env
        .ok(&[
            "run",
            "-d",
            "--restart",
            "on-failure:3",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "echo run; exit 1",
        ])
        .trim()
        .to_string();
    // The monitor holds its lock across the restarts: `wait` returns after the last one.
    assert_eq!(env.ok(&["wait", &id]).trim(), "1");
    assert_eq!(logs(&env, &id), "run\nrun\nrun\nrun\n");
    let c = inspect(&env, &id);
    assert_eq!(c["RestartCount"], 3);
    assert_eq!(c["State"]["Status"], "exited");
    env.ok(&["rm", &id]);
    assert_gone(&env, &id);
    // A success is not restarted.
    let out = env.output(&[
        "run",
        "--name",
        "once",
        "--restart",
        "on-failure",
        "--network",
        "none",
        IMAGE,
        "echo",
        "once",
    ]);
    assert_eq!((code(&out), stdout(&out).as_str()), (0, "once\n"));
    assert_eq!(inspect(&env, "once")["RestartCount"], 0);
    env.ok(&["rm", "once"]);
    // `stop` of an on-failure container: exit 137, and no restart.
    let id = env
        .ok(&[
            "run",
            "-d",
            "--restart",
            "on-failure",
            "--network",
            "none",
            IMAGE,
            "sleep",
            "600",
        ])
        .trim()
        .to_string();
    env.ok(&["stop", "-t", "0", &id]);
    let c = inspect(&env, &id);
    assert_eq!(
        (c["State"]["ExitCode"].as_i64(), c["RestartCount"].as_i64()),
        (Some(137), Some(0))
    );
    assert_eq!(c["State"]["Running"], false);
    env.ok(&["rm", &id]);
    let out = env.output(&["run", "--restart", "sometimes", IMAGE, "true"]);
    assert_one_error(&out, 125, "--restart");
    assert_store_empty(&env);
}

#[test]
fn rmi_refuses_an_image_a_container_uses_until_it_is_removed() {
    let env = env();
    env.ok(&["tag", IMAGE, "engine-test/other:1"]);
    let id = env
        .ok(&["create", "--network", "none", IMAGE, "true"])
        .trim()
        .to_string();
    // Another name of the same image may go: the image stays.
    env.ok(&["rmi", "engine-test/other:1"]);
    let out = env.output(&["rmi", IMAGE]);
    assert_one_error(&out, 1, "used by container");
    env.ok(&["start", &id]);
    assert_eq!(env.ok(&["wait", &id]).trim(), "0");
    env.ok(&["rm", &id]);
    env.ok(&["rmi", IMAGE]);
    assert!(env.images().is_empty());
    assert_store_empty(&env);
}

#[test]
fn volume_commands_and_a_volume_in_use_is_kept() {
    let env = env();
    env.ok(&["volume", "create", "made"]);
    let id = env
        .ok(&[
            "create",
            "--network",
            "none",
            "-v",
            "used:/data",
            IMAGE,
            "true",
        ])
        .trim()
        .to_string();
    let ls = env.ok(&["volume", "ls"]);
    assert!(
        ls.contains("local     made") && ls.contains("local     used"),
        "{ls}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["volume", "inspect", "used"])).unwrap();
    assert_eq!(
        v[0]["UsedBy"][0],
        inspect(&env, &id)["Name"]
            .as_str()
            .unwrap()
            .trim_start_matches('/')
    );
    let out = env.output(&["volume", "rm", "used"]);
    assert_one_error(&out, 1, "in use");
    // Docker 23+: a bare prune takes only anonymous volumes; -a named ones too.
    assert_eq!(env.ok(&["volume", "prune"]).trim(), "");
    assert_eq!(env.ok(&["volume", "prune", "-a"]).trim(), "made");
    env.ok(&["rm", &id]);
    env.ok(&["volume", "rm", "used"]);
    let out = env.output(&["volume", "rm", "used"]);
    assert_one_error(&out, 1, "no such volume");
    let out = env.output(&["volume", "create", "../escape"]);
    assert_one_error(&out, 1, "invalid name");
    assert!(!env.root().join("escape").exists());
    assert_store_empty(&env);
}

#[test]
fn restart_stops_and_starts_again() {
    let env = env();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "again2",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "trap 'exit 0' TERM; echo up; while true; do sleep 0.1; done",
    ]);
    wait_until("up", || logs(&env, "again2").contains("up"));
    let pid1 = inspect(&env, "again2")["State"]["Pid"].as_i64().unwrap();
    assert_eq!(env.ok(&["restart", "again2"]).trim(), "again2");
    wait_until("up twice", || {
        logs(&env, "again2").matches("up").count() == 2
    });
    let c = inspect(&env, "again2");
    assert_eq!(c["State"]["Running"], true);
    assert_ne!(c["State"]["Pid"].as_i64().unwrap(), pid1);
    env.ok(&["rm", "-f", "again2"]);
    assert_store_empty(&env);
}

#[test]
fn exec_runs_in_the_running_container() {
    use std::io::Write;
    let env = env();
    let id = env
        .ok(&[
            "run",
            "-d",
            "--name",
            "ex",
            "--network",
            "none",
            "--hostname",
            "exhost",
            IMAGE,
            "sleep",
            "600",
        ])
        .trim()
        .to_string();
    let out = env.output(&["exec", "ex", "sh", "-c", "hostname; echo $X; exit 3"]);
    assert_eq!((code(&out), stdout(&out).as_str()), (3, "exhost\n\n"));
    let out = env.output(&[
        "exec",
        "-e",
        "X=1",
        "-w",
        "/tmp",
        "-u",
        "1:1",
        "ex",
        "sh",
        "-c",
        "echo $X $(pwd) $(id -u)",
    ]);
    assert_eq!(stdout(&out), "1 /tmp 1\n", "{}", stderr(&out));
    let mut c = env
        .cmd(&["exec", "-i", "ex", "cat"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(b"through\n").unwrap();
    assert_eq!(c.wait_with_output().unwrap().stdout, b"through\n");
    let out = env.output(&["exec", "-t", "ex", "sh", "-c", "tty"]);
    assert_eq!(stdout(&out), "/dev/pts/0\r\n");
    let out = env.output(&["exec", "ex", "nosuch"]);
    assert_one_error(&out, 127, "nosuch");
    env.ok(&["stop", "-t", "0", "ex"]);
    let out = env.output(&["exec", "ex", "true"]);
    assert_one_error(&out, 1, "not running");
    env.ok(&["rm", "ex"]);
    assert_gone(&env, &id);
}

#[test]
fn system_prune_removes_stopped_containers_and_keeps_running_ones() {
    let env = env();
    let running = env
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "-v",
            "kept:/k",
            IMAGE,
            "sleep",
            "600",
        ])
        .trim()
        .to_string();
    let exited = env
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "-v",
            "named:/g",
            "-v",
            "/anonymous",
            IMAGE,
            "true",
        ])
        .trim()
        .to_string();
    env.ok(&["wait", &exited]);
    let anon = inspect(&env, &exited)["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Destination"] == "/anonymous")
        .unwrap()["Name"]
        .as_str()
        .unwrap()
        .to_string();
    let created = env
        .ok(&["create", "--network", "none", IMAGE, "true"])
        .trim()
        .to_string();
    let out = env.output(&["system", "prune"]);
    assert_one_error(&out, 1, "-f");
    let out = env.ok(&["system", "prune", "-f", "--volumes"]);
    assert!(out.contains(&exited) && out.contains(&created), "{out}");
    // Docker 23+: --volumes takes anonymous volumes only.
    assert!(out.contains(&format!("Deleted volume: {anon}")), "{out}");
    assert!(!out.contains("kept") && !out.contains("named"), "{out}");
    assert_gone(&env, &exited);
    assert_gone(&env, &created);
    assert_eq!(ids(&env), vec![running.clone()]);
    assert_eq!(env.images().len(), 1, "the image a container uses stays");
    env.ok(&["rm", "-f", &running]);
    assert_store_empty(&env);
}

#[test]
fn top_lists_the_containers_processes() {
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
            "sleep 600 & exec sleep 601",
        ])
        .trim()
        .to_string();
    wait_until("both sleeps", || env.ok(&["top", &id]).lines().count() == 3);
    let top = env.ok(&["top", &id]);
    assert!(top.starts_with("PID"), "{top}");
    assert!(
        top.contains("sleep 600") && top.contains("sleep 601"),
        "{top}"
    );
    let pid = inspect(&env, &id)["State"]["Pid"].as_i64().unwrap();
    assert!(
        top.lines().any(|l| l.starts_with(&format!("{pid} "))),
        "{top}"
    );
    env.ok(&["rm", "-f", &id]);
    let out = env.output(&["top", &id]);
    assert_one_error(&out, 1, "no such container");
    assert_gone(&env, &id);
}

#[test]
fn stats_no_stream_reads_the_cgroup() {
    let env = env();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "busyloop",
        "-m",
        "64m",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "while true; do :; done",
    ]);
    let out = env.ok(&["stats", "--no-stream", "busyloop"]);
    let row: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[1], "busyloop", "{out}");
    let cpu: f64 = row[2].trim_end_matches('%').parse().unwrap();
    assert!(cpu > 5.0, "a busy loop uses CPU: {out}");
    assert_eq!(row[5], "64.0MiB", "the -m limit: {out}");
    assert_eq!(*row.last().unwrap(), "1", "one process: {out}");
    env.ok(&["rm", "-f", "busyloop"]);
    assert_store_empty(&env);
}

#[test]
fn a_killed_foreground_run_leaves_the_container_running_and_logging() {
    use std::io::{BufRead, BufReader};
    let env = env();
    let mut child = env
        .cmd(&[
            "run",
            "--name",
            "orphan",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "echo first; read x < /dev/null; sleep 1; echo second",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "first\n");
    child.kill().unwrap();
    child.wait().unwrap();
    drop(out);
    // The monitor writes to a closed pipe now: it must neither die nor stop logging.
    assert_eq!(env.ok(&["wait", "orphan"]).trim(), "0");
    assert_eq!(logs(&env, "orphan"), "first\nsecond\n");
    env.ok(&["rm", "orphan"]);
    assert_store_empty(&env);
}

#[test]
fn info_counts_what_the_store_holds() {
    let env = env();
    let id = env
        .ok(&["run", "-d", "--network", "none", IMAGE, "sleep", "600"])
        .trim()
        .to_string();
    env.ok(&[
        "create",
        "--network",
        "none",
        "-v",
        "infovol:/x",
        IMAGE,
        "true",
    ]);
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["info", "--format", "json"])).unwrap();
    assert_eq!(v["Containers"], 2);
    assert_eq!(v["ContainersRunning"], 1);
    assert_eq!(v["ContainersCreated"], 1);
    assert_eq!(v["Images"], 1);
    assert_eq!(v["Volumes"], 1);
    assert_eq!(v["Root"], env.root().to_str().unwrap());
    assert!(env.ok(&["info"]).contains("ContainersRunning: 1"));
    env.ok(&["rm", "-f", &id]);
}
