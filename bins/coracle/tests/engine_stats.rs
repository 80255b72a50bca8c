//! `stats` streaming: a reading every second until the named containers stop (then exit 0);
//! plain tables on a pipe, a redrawn screen on a terminal; `--format json`; bad input.

mod common;
mod engine_support;

use engine_support::*;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

const HEADER: &str = "CONTAINER ID";

/// A detached container that runs until stopped (TERM ends it at once: sh traps it).
fn start(env: &TestEnv, name: &str) {
    env.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "trap 'exit 0' TERM; while :; do sleep 0.1; done",
    ]);
}

/// The child's stdout, line by line, through a channel (so every read has a deadline).
fn lines_of(child: &mut Child) -> Receiver<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Read lines until `n` tables (header lines) have come, each with a row for `name`.
fn read_tables(rx: &Receiver<String>, n: usize, name: &str) -> Vec<String> {
    let end = Instant::now() + Duration::from_secs(20);
    let mut seen = vec![];
    let mut complete = 0;
    while complete < n {
        let left = end.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).unwrap_or_else(|e| {
            panic!(
                "waiting for table {}: {e:?}; so far {seen:#?}",
                complete + 1
            )
        });
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(1) == Some(&name)
            && seen.last().is_some_and(|l: &String| l.starts_with(HEADER))
        {
            complete += 1;
        }
        seen.push(line);
    }
    seen
}

/// The child ends by itself (its stdout closes, then it exits) within the deadline.
fn ends_by_itself(mut child: Child, rx: Receiver<String>) -> (i32, Vec<String>) {
    let end = Instant::now() + Duration::from_secs(20);
    let mut rest = vec![];
    loop {
        match rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
            Ok(l) => rest.push(l),
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!("stats did not end after its container stopped; printed {rest:#?}");
            }
        }
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(err.is_empty(), "stderr: {err}");
    (status.code().expect("exited"), rest)
}

#[test]
fn stats_streams_readings_until_the_named_container_stops() {
    let env = env();
    start(&env, "streamer");
    let mut child = env
        .cmd(&["stats", "streamer"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    let seen = read_tables(&rx, 2, "streamer");
    for l in &seen {
        assert!(!l.contains('\x1b'), "no terminal codes on a pipe: {l:?}");
    }
    let row: Vec<&str> = seen.last().unwrap().split_whitespace().collect();
    assert!(
        row[2].ends_with('%') && *row.last().unwrap() != "0",
        "{row:?}"
    );
    env.ok(&["stop", "streamer"]);
    let (code, _) = ends_by_itself(child, rx);
    assert_eq!(code, 0);
    env.ok(&["rm", "streamer"]);
    assert_store_empty(&env);
}

#[test]
fn stats_without_names_follows_the_running_containers_until_interrupted() {
    let env = env();
    let mut child = env
        .cmd(&["stats"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    let next = |what: &str| {
        rx.recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("waiting for {what}: {e:?}"))
    };
    assert!(
        next("the first table").starts_with(HEADER),
        "no containers: an empty table"
    );
    // A container started after stats is in a later reading.
    start(&env, "late");
    let mut tables = read_tables(&rx, 1, "late")
        .iter()
        .filter(|l| l.starts_with(HEADER))
        .count();
    // Once stopped it leaves the table: two header lines in a row are an empty table.
    env.ok(&["stop", "late"]);
    let mut last = String::new();
    loop {
        let line = next("an empty table");
        tables += usize::from(line.starts_with(HEADER));
        if line.starts_with(HEADER) && last.starts_with(HEADER) {
            break;
        }
        last = line;
    }
    // About one reading a second, empty ones too (not a flood of headers).
    assert!(tables < 30, "{tables} tables in a few seconds");
    assert!(
        child.try_wait().unwrap().is_none(),
        "stats without names goes on"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    env.ok(&["rm", "late"]);
    assert_store_empty(&env);
}

#[test]
fn stats_redraws_the_screen_on_a_terminal() {
    let env = env();
    start(&env, "onscreen");
    // script(1) (util-linux, always installed) gives stats a pty as its stdout.
    let cmd = format!(
        "{} --root {} stats onscreen",
        env!("CARGO_BIN_EXE_coracle"),
        env.root().display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    let end = Instant::now() + Duration::from_secs(20);
    let mut homes = 0;
    while homes < 2 {
        let line = rx
            .recv_timeout(end.saturating_duration_since(Instant::now()))
            .expect("two redraws");
        if line.contains("\x1b[H") {
            assert!(line.contains(HEADER) && line.contains("\x1b[K"), "{line:?}");
            homes += 1;
        }
    }
    env.ok(&["stop", "onscreen"]);
    let (code, _) = ends_by_itself(child, rx);
    assert_eq!(code, 0);
    env.ok(&["rm", "onscreen"]);
    assert_store_empty(&env);
}

#[test]
fn stats_json_uses_dockers_keys() {
    let env = env();
    start(&env, "jsonout");
    let out = env.ok(&["stats", "--no-stream", "--format", "json", "jsonout"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["Name"], "jsonout");
    assert_eq!(v["Container"], "jsonout");
    assert_eq!(v["ID"].as_str().unwrap().len(), 12);
    for key in ["CPUPerc", "MemPerc"] {
        assert!(v[key].as_str().unwrap().ends_with('%'), "{v}");
    }
    assert!(v["MemUsage"].as_str().unwrap().contains(" / "), "{v}");
    assert_ne!(v["PIDs"], "0");
    env.ok(&["rm", "-f", "jsonout"]);
    assert_store_empty(&env);
}

/// Without `-m` (on this hybrid host: no memory cgroup) the usage is still the container's:
/// a shell holding a 40 MB string shows at least that much.
#[test]
fn stats_shows_memory_use_without_a_memory_limit() {
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
            "x=$(head -c 40000000 /dev/zero | tr '\\0' a); echo ready; while :; do sleep 0.1; done",
        ])
        .trim()
        .to_string();
    wait_until("ready", || logs(&env, &id).contains("ready"));
    let out = env.ok(&["stats", "--no-stream", "--format", "json", &id]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let usage = v["MemUsage"]
        .as_str()
        .unwrap()
        .split(" / ")
        .next()
        .unwrap()
        .to_string();
    let mib: f64 = match usage.strip_suffix("MiB") {
        Some(m) => m.parse().unwrap(),
        None => usage
            .strip_suffix("GiB")
            .map_or(0.0, |g| g.parse::<f64>().unwrap() * 1024.0),
    };
    assert!(mib >= 38.0, "40 MB held, {usage} shown: {v}");
    env.ok(&["rm", "-f", &id]);
    assert_store_empty(&env);
}

#[test]
fn stats_bad_input_is_one_error_line_and_exit_125() {
    let env = env();
    let out = env.output(&["stats", "no-such"]);
    assert_one_error(&out, 125, "no-such");
    assert!(stdout(&out).is_empty());
    let out = env.output(&["stats", "--no-stream", "no-such"]);
    assert_one_error(&out, 125, "no-such");
    let out = env.output(&["stats", "--format", "xml"]);
    assert_one_error(&out, 125, "--format");
    env.ok(&[
        "create",
        "--name",
        "idle",
        "--network",
        "none",
        IMAGE,
        "true",
    ]);
    let out = env.output(&["stats", "idle"]);
    assert_one_error(&out, 125, "is not running");
    env.ok(&["rm", "idle"]);
    assert_store_empty(&env);
}
