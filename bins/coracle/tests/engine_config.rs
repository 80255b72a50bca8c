//! The config file (`CORACLE_CONFIG=FILE` here: the tests never touch /etc/coracle): the
//! default runtime, network, store root and stop timeout it sets are used, flags override
//! them, and a bad file is one error line naming the file, line and key (exit 125) for every
//! command, with nothing made.

mod common;
mod engine_support;

use engine_support::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A config file with `text` in the test's dir.
fn config(env: &Env, text: &str) -> PathBuf {
    let p = env.path("coracle.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// `coracle --root ROOT ARGS` with CORACLE_CONFIG=cfg.
fn with_config(env: &Env, cfg: &Path, args: &[&str]) -> Output {
    env.cmd(args).env("CORACLE_CONFIG", cfg).output().unwrap()
}

fn ok_with_config(env: &Env, cfg: &Path, args: &[&str]) -> String {
    let out = with_config(env, cfg, args);
    assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// The interface names the container sees (from /proc/net/dev).
fn interfaces(dev: &str) -> Vec<String> {
    dev.lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(|s| s.trim().to_string())
        .collect()
}

#[test]
fn config_runtime_runc_is_used_and_the_flag_overrides_it() {
    let env = env();
    assert!(
        std::process::Command::new("runc")
            .arg("--version")
            .output()
            .is_ok(),
        "runc is missing: apt-get install runc"
    );
    let cfg = config(&env, "runtime = \"runc\"\nnetwork = \"none\"\n");
    let id = ok_with_config(
        &env,
        &cfg,
        &["run", "-d", "--name", "cfg-runc", IMAGE, "sleep", "60"],
    );
    let id = id.trim();
    // runc keeps its state in the engine's runc root; the built-in runtime's root stays empty.
    let state = env
        .root()
        .join("runtime-external")
        .join(id)
        .join("state.json");
    assert!(state.exists(), "no runc state at {}", state.display());
    assert!(!env.root().join("runtime").join(id).exists());
    let rt = inspect(&env, "cfg-runc")["HostConfig"]["Runtime"].clone();
    assert!(rt.as_str().unwrap().ends_with("/runc"), "{rt}");
    let info = ok_with_config(&env, &cfg, &["info", "--format", "json"]);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["DefaultRuntime"], "runc");
    assert_eq!(info["ConfigFiles"][0], cfg.to_str().unwrap());
    env.ok(&["rm", "-f", "cfg-runc"]);
    assert_gone(&env, id);
    // `--runtime coracle`: the built-in runtime whatever the config says.
    ok_with_config(
        &env,
        &cfg,
        &[
            "create",
            "--runtime",
            "coracle",
            "--name",
            "builtin",
            IMAGE,
            "true",
        ],
    );
    assert_eq!(inspect(&env, "builtin")["HostConfig"]["Runtime"], "coracle");
    let out = with_config(&env, &cfg, &["start", "builtin"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(env.ok(&["wait", "builtin"]).trim(), "0");
    env.ok(&["rm", "builtin"]);

    // A runtime the config names but that does not exist: the error names the file; the
    // flag overrides the config.
    let cfg = config(&env, "runtime = \"/no/such/runtime\"\nnetwork = \"none\"\n");
    let out = with_config(&env, &cfg, &["run", "--rm", IMAGE, "true"]);
    assert_one_error(&out, 125, cfg.to_str().unwrap());
    assert!(
        stderr(&out).contains("/no/such/runtime"),
        "{}",
        stderr(&out)
    );
    let out = with_config(
        &env,
        &cfg,
        &[
            "run",
            "--rm",
            "--runtime",
            "runc",
            IMAGE,
            "echo",
            "flag wins",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "flag wins\n");
    assert_store_empty(&env);
}

#[test]
fn config_network_none_is_the_default_and_the_flag_overrides_it() {
    let env = env();
    let cfg = config(&env, "network = \"none\"\n");
    let dev = ok_with_config(&env, &cfg, &["run", "--rm", IMAGE, "cat", "/proc/net/dev"]);
    assert_eq!(interfaces(&dev), ["lo"], "{dev}");
    let dev = ok_with_config(
        &env,
        &cfg,
        &[
            "run",
            "--rm",
            "--network",
            "host",
            IMAGE,
            "cat",
            "/proc/net/dev",
        ],
    );
    let host = std::fs::read_to_string("/proc/net/dev").unwrap();
    assert_eq!(interfaces(&dev).len(), interfaces(&host).len(), "{dev}");
    // The default is recorded at create, like the flag would be.
    ok_with_config(&env, &cfg, &["create", "--name", "netcfg", IMAGE, "true"]);
    assert_eq!(inspect(&env, "netcfg")["HostConfig"]["NetworkMode"], "none");
    env.ok(&["rm", "netcfg"]);
    assert_store_empty(&env);
}

#[test]
fn config_root_is_the_store_unless_the_flag_or_env_says_otherwise() {
    let env = Env::new();
    let store = env.path("from-config");
    let cfg = config(&env, &format!("root = \"{}\"\n", store.display()));
    let rootfs = env.path("busybox-rootfs");
    common::busybox_rootfs(&rootfs);
    let bare = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_coracle"))
            .args(args)
            .env("CORACLE_CONFIG", &cfg)
            .env_remove("CORACLE_ROOT")
            .output()
            .unwrap()
    };
    let out = bare(&["import", rootfs.to_str().unwrap(), "cfgroot/busybox:1"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let refs = std::fs::read_to_string(store.join("refs.json")).unwrap();
    assert!(refs.contains("cfgroot/busybox:1"), "{refs}");
    let info: serde_json::Value =
        serde_json::from_slice(&bare(&["info", "--format", "json"]).stdout).unwrap();
    assert_eq!(info["Root"], store.to_str().unwrap());
    // --root and CORACLE_ROOT win over the config.
    let other = env.path("flag-root");
    let out = bare(&[
        "--root",
        other.to_str().unwrap(),
        "info",
        "--format",
        "json",
    ]);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["Root"], other.to_str().unwrap());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coracle"))
        .args(["info", "--format", "json"])
        .env("CORACLE_CONFIG", &cfg)
        .env("CORACLE_ROOT", &other)
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["Root"], other.to_str().unwrap());
}

#[test]
fn a_bad_config_is_one_line_naming_file_line_and_key_for_every_command() {
    let env = env();
    let cases = [
        (
            "network = \"none\"\n\nbogus = 1\n",
            "line 3: key `bogus`: unknown key",
        ),
        (
            "log_max_files = \"3\"\n",
            "line 1: key `log_max_files`: invalid type",
        ),
        ("\nlog_max_size = \"ten\"\n", "line 2: key `log_max_size`: "),
        ("root = \"relative/dir\"\n", "line 1: key `root`: "),
        ("stop_timeout = -1\n", "key `stop_timeout`"),
        ("runtime = \n", "line 1: "),
    ];
    let commands: [&[&str]; 7] = [
        &["ps", "-a"],
        &["images"],
        &["info"],
        &["run", "--rm", IMAGE, "true"],
        &["create", IMAGE, "true"],
        &["volume", "ls"],
        &["logs", "nosuch"],
    ];
    for (text, want) in cases {
        let cfg = config(&env, text);
        for args in commands {
            let out = with_config(&env, &cfg, args);
            let err = stderr(&out);
            assert_one_error(&out, 125, cfg.to_str().unwrap());
            assert!(err.contains(want), "{args:?} with {text:?}: {err}");
        }
    }
    let missing = env.path("nope.toml");
    let out = with_config(&env, &missing, &["ps"]);
    assert_one_error(&out, 125, missing.to_str().unwrap());
    assert_store_empty(&env);
    assert!(env
        .root()
        .join("volumes")
        .read_dir()
        .map_or(true, |mut d| d.next().is_none()));
}

#[test]
fn config_stop_timeout_is_the_default_of_stop() {
    let env = env();
    let cfg = config(&env, "stop_timeout = 1\nnetwork = \"none\"\n");
    env.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "stubborn",
        IMAGE,
        "sh",
        "-c",
        "trap '' TERM; echo ready; while true; do sleep 1; done",
    ]);
    wait_until("ready", || logs(&env, "stubborn").contains("ready"));
    let t = std::time::Instant::now();
    ok_with_config(&env, &cfg, &["stop", "stubborn"]);
    let took = t.elapsed();
    // SIGTERM is ignored: stop kills after the config's 1 s, far before the built-in 10 s.
    assert!(
        took < std::time::Duration::from_secs(6),
        "stop took {took:?}"
    );
    assert!(
        took >= std::time::Duration::from_millis(900),
        "stop took {took:?}"
    );
    assert_eq!(inspect(&env, "stubborn")["State"]["ExitCode"], 137);
    env.ok(&["rm", "stubborn"]);
    assert_store_empty(&env);
}
