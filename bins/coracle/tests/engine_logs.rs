//! Log size limits (`--log-opt max-size=… max-file=…`, defaults from the config file): the
//! monitor rotates `ctr.log` to `ctr.log.1`, … between whole lines, keeps at most max-file
//! files, and `logs` / `logs -f` read across rotations in order, every line once.

mod common;
mod engine_support;

use engine_support::*;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

const PAD: &str =
    "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp";
const LINES: usize = 10_000;

/// About 1 MB of numbered lines (1.6 MB of json-file log).
fn writer() -> String {
    format!("i=0; while [ $i -lt {LINES} ]; do echo \"line $i {PAD}\"; i=$((i+1)); done")
}

fn expected(n: usize) -> String {
    format!("line {n} {PAD}")
}

/// The container's log files, by name, sorted.
fn log_files(env: &Env, id: &str) -> Vec<(String, PathBuf)> {
    let dir = env.root().join("containers").join(id);
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(n, _)| n.starts_with("ctr.log"))
        .collect();
    v.sort();
    v
}

/// Every file is at most `max` bytes of whole json-file lines (a single line may pass
/// `max` only when it is alone in its file).
fn assert_whole_lines_within(files: &[(String, PathBuf)], max: u64) {
    for (name, path) in files {
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            text.ends_with('\n') || text.is_empty(),
            "{name}: cut line at the end"
        );
        assert!(
            text.len() as u64 <= max || lines.len() == 1,
            "{name}: {} bytes over {max}",
            text.len()
        );
        for l in lines {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l:?}"));
            assert!(v["log"].as_str().unwrap().ends_with('\n'), "{name}: {l}");
        }
    }
}

/// `logs` output: consecutive whole lines ending with the last one written; their count.
fn assert_newest_in_order(out: &str, min: usize) -> usize {
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() >= min, "only {} lines", lines.len());
    let first = LINES - lines.len();
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(*l, expected(first + i), "line {i} of logs");
    }
    lines.len()
}

#[test]
fn rotation_keeps_max_file_files_and_logs_shows_the_newest_lines_whole_and_in_order() {
    let env = env();
    let id = env.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "chatty",
        "--log-opt",
        "max-size=100k",
        "--log-opt",
        "max-file=3",
        IMAGE,
        "sh",
        "-c",
        &writer(),
    ]);
    let id = id.trim();
    assert_eq!(env.ok(&["wait", "chatty"]).trim(), "0");
    let files = log_files(&env, id);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["ctr.log", "ctr.log.1", "ctr.log.2"]);
    assert_whole_lines_within(&files, 100_000);
    // Two full rotated files (~600 lines of ~165 bytes each) at least, then the current one.
    let shown = assert_newest_in_order(&env.ok(&["logs", "chatty"]), 1_000);
    assert!(shown < LINES, "nothing was rotated away");
    let tail = env.ok(&["logs", "--tail", "2", "chatty"]);
    assert_eq!(
        tail,
        format!("{}\n{}\n", expected(LINES - 2), expected(LINES - 1))
    );
    let cfg = &inspect(&env, "chatty")["HostConfig"]["LogConfig"];
    assert_eq!(cfg["Config"]["max-size"], "100000", "{cfg}");
    assert_eq!(cfg["Config"]["max-file"], "3", "{cfg}");
    env.ok(&["rm", "chatty"]);
    assert_store_empty(&env);
}

#[test]
fn logs_follow_started_before_the_output_sees_every_line_once_across_rotations() {
    let env = env();
    let gate = env.path("gate");
    std::fs::create_dir(&gate).unwrap();
    let script = format!(
        "echo ready; while [ ! -e /gate/go ]; do sleep 0.05; done; {}",
        writer()
    );
    env.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "followed",
        "-v",
        &format!("{}:/gate", gate.display()),
        "--log-opt",
        "max-size=100k",
        "--log-opt",
        "max-file=3",
        IMAGE,
        "sh",
        "-c",
        &script,
    ]);
    let mut follower = env
        .cmd(&["logs", "-f", "followed"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follower.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reading = std::thread::spawn(move || {
        for l in std::io::BufReader::new(stdout).lines() {
            if tx.send(l.unwrap()).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(20));
    assert_eq!(
        first.as_deref(),
        Ok("ready"),
        "logs -f did not show the first line"
    );
    // The follower is reading; only now does the output start.
    std::fs::write(gate.join("go"), "").unwrap();
    let mut got = vec![];
    loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => got.push(l),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(e) => panic!("logs -f stalled after {} lines: {e}", got.len()),
        }
    }
    reading.join().unwrap();
    let out = follower.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(stderr(&out), "", "the follower lost lines");
    assert_eq!(got.len(), LINES, "lines seen by logs -f");
    for (i, l) in got.iter().enumerate() {
        assert_eq!(*l, expected(i));
    }
    let id = inspect(&env, "followed")["Id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(log_files(&env, &id).len() <= 3);
    env.ok(&["rm", "followed"]);
    assert_store_empty(&env);
}

#[test]
fn config_sets_the_log_defaults_and_the_flag_overrides_them() {
    let env = env();
    let cfg = env.path("coracle.toml");
    std::fs::write(
        &cfg,
        "log_max_size = \"20k\"\nlog_max_files = 1\nnetwork = \"none\"\n",
    )
    .unwrap();
    let run = |name: &str, extra: &[&str]| {
        let mut args = vec!["run", "-d", "--name", name];
        args.extend_from_slice(extra);
        let w = writer();
        args.extend_from_slice(&[IMAGE, "sh", "-c", &w]);
        let out = env.cmd(&args).env("CORACLE_CONFIG", &cfg).output().unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(env.ok(&["wait", name]).trim(), "0");
        stdout(&out).trim().to_string()
    };
    // max-file=1: the log starts afresh when full.
    let id = run("one-file", &[]);
    let files = log_files(&env, &id);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_whole_lines_within(&files, 20_000);
    // Whatever came after the last fresh start: at least the last line.
    assert_newest_in_order(&env.ok(&["logs", "one-file"]), 1);
    // A flag overrides one key; the other stays the config's.
    let id = run("two-files", &["--log-opt", "max-file=2"]);
    let files = log_files(&env, &id);
    assert_eq!(files.len(), 2, "{files:?}");
    assert_whole_lines_within(&files, 20_000);
    assert_newest_in_order(&env.ok(&["logs", "two-files"]), 100);
    let cfg = &inspect(&env, "two-files")["HostConfig"]["LogConfig"]["Config"];
    assert_eq!(
        (cfg["max-size"].as_str(), cfg["max-file"].as_str()),
        (Some("20000"), Some("2"))
    );
    env.ok(&["rm", "one-file", "two-files"]);
    assert_store_empty(&env);
}

#[test]
fn bad_log_options_are_one_error_and_leave_nothing() {
    let env = env();
    for (opt, want) in [
        (
            "compress=true",
            "--log-opt \"compress=true\": unknown option",
        ),
        ("max-size=ten", "--log-opt \"max-size=ten\""),
        ("max-size=0", "--log-opt \"max-size=0\""),
        ("max-file=0", "--log-opt \"max-file=0\""),
        ("max-size", "--log-opt \"max-size\": expected KEY=VALUE"),
    ] {
        for cmd in ["run", "create"] {
            let out = env.output(&[cmd, "--network", "none", "--log-opt", opt, IMAGE, "true"]);
            assert_one_error(&out, 125, want);
        }
    }
    // A bad default in the config file is the config's error, before anything is made.
    let cfg = env.path("coracle.toml");
    std::fs::write(&cfg, "log_max_files = 0\n").unwrap();
    let out = env
        .cmd(&["run", "--rm", "--network", "none", IMAGE, "true"])
        .env("CORACLE_CONFIG", &cfg)
        .output()
        .unwrap();
    assert_one_error(&out, 125, "key `log_max_files`");
    assert_store_empty(&env);
}
