//! coracle-runtime under Docker (Debian's docker.io 20.10: dockerd → containerd → runc v2 shim →
//! the runtime), added with `--add-runtime coracle=<it>` and made the default: each test starts
//! a dockerd of its own (see docker_env) with a locally loaded busybox image, drives the real
//! client, checks what a user checks, stops the daemon and asserts nothing is left. Skipped, with
//! the reason printed, when dockerd is not installed.

mod busybox_image;
mod client_cmd;
mod common;
mod docker_env;
mod host_net;
mod host_view;
mod leftovers;

use std::process::Stdio;
use std::time::{Duration, Instant};

use client_cmd::text;
use common::{exit_code, in_pty, wait_until};
use docker_env::Dockerd;
use host_view::{cgroup_dir, cgroup_file, frozen, net_ns};

/// `run -d` of `cmd`, which must print "ready" once set up; waits for it in the logs.
fn start_ready(d: &Dockerd, opts: &[&str], cmd: &[&str]) -> String {
    let name = d.name();
    let mut all = vec!["-d"];
    all.extend_from_slice(opts);
    d.ok(&d.run_args(&name, &all, cmd));
    let up = wait_until(Duration::from_secs(20), || {
        text(&d.output(&["logs", &name])).contains("ready")
    });
    assert!(up, "{name} never printed ready");
    name
}

#[test]
fn run_rm_passes_the_exit_code_and_stdin() {
    let Some(d) = Dockerd::new() else { return };
    let name = d.name();
    let out = d.output(&d.run_args(&name, &["--rm"], &["sh", "-c", "echo out; exit 7"]));
    assert_eq!(exit_code(&out), 7, "{}", text(&out));
    assert!(text(&out).contains("out"), "{}", text(&out));

    let input = d.dir().join("input");
    std::fs::write(&input, "from the host\n").unwrap();
    let name2 = d.name();
    let cmd = d.cmd(&d.run_args(&name2, &["--rm", "-i"], &["tr", "a-z", "A-Z"]));
    let out = d.output_of(cmd, Stdio::from(std::fs::File::open(&input).unwrap()));
    assert_eq!(exit_code(&out), 0, "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "FROM THE HOST\n");

    let all = d.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!all.contains(&name) && !all.contains(&name2), "{all}");
    d.finish();
}

#[test]
fn run_it_and_exec_it_give_a_real_terminal() {
    let Some(d) = Dockerd::new() else { return };
    let name = d.name();
    let line = d.shell_line(&d.run_args(&name, &["--rm", "-it"], &["sh"]));
    let (status, out) = in_pty(&line, b"tty; echo typed-$((6*7)); exit 5\n");
    assert_eq!(status.code(), Some(5), "{out}");
    assert!(out.contains("/dev/pts/0"), "no pty in the container: {out}");
    assert!(out.contains("typed-42"), "{out}");

    let name = start_ready(&d, &[], &["sh", "-c", "echo ready; exec sleep 100000"]);
    let line = d.shell_line(&["exec", "-it", &name, "sh"]);
    let (status, out) = in_pty(&line, b"tty; echo exec-$((6*7)); exit 6\n");
    assert_eq!(status.code(), Some(6), "{out}");
    assert!(out.contains("/dev/pts/"), "no pty for exec: {out}");
    assert!(out.contains("exec-42"), "{out}");
    d.finish();
}

#[test]
fn detached_logs_exec_pause_kill_and_rm() {
    let Some(d) = Dockerd::new() else { return };
    let name = start_ready(&d, &[], &["sh", "-c", "echo ready; exec sleep 100000"]);
    assert_eq!(d.inspect(&name, "{{.HostConfig.Runtime}}"), "coracle");
    let pid: u32 = d.inspect(&name, "{{.State.Pid}}").parse().unwrap();

    // The accounting cgroups are the container's own, so the client's stats are its figures.
    let id = d.inspect(&name, "{{.Id}}");
    for controller in ["memory", "cpuacct", "pids", "blkio"] {
        let dir = cgroup_dir(pid, controller);
        assert!(
            dir.to_string_lossy().contains(&id),
            "{controller}: {}",
            dir.display()
        );
    }
    let pids = d.ok(&["stats", "--no-stream", "--format", "{{.PIDs}}", &name]);
    assert_eq!(
        pids.trim(),
        "1",
        "stats of the container, not of its manager's cgroup"
    );

    let out = d.output(&["exec", &name, "sh", "-c", "cat /proc/1/cmdline; exit 3"]);
    assert_eq!(exit_code(&out), 3, "{}", text(&out));
    assert!(text(&out).contains("sleep"), "{}", text(&out));

    // top (the shim asks the runtime's `ps`) and update (the runtime's `update -r`).
    let top = d.ok(&["top", &name]);
    assert!(top.contains("sleep"), "{top}");
    d.ok(&["update", "--memory", "64m", "--memory-swap", "64m", &name]);
    assert_eq!(
        cgroup_file(pid, "memory", "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );

    d.ok(&["pause", &name]);
    assert_eq!(d.inspect(&name, "{{.State.Status}}"), "paused");
    assert!(frozen(pid), "paused but not frozen");
    d.ok(&["unpause", &name]);
    assert_eq!(d.inspect(&name, "{{.State.Status}}"), "running");
    assert!(!frozen(pid), "unpaused but still frozen");

    d.ok(&["kill", &name]);
    d.wait_status(&name, "exited");
    assert_eq!(d.inspect(&name, "{{.State.ExitCode}}"), "137");

    d.ok(&["rm", &name]);
    let all = d.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!all.contains(&name), "{all}");
    d.finish();
}

#[test]
fn stop_sends_term_then_kill_after_the_timeout_and_start_again() {
    let Some(d) = Dockerd::new() else { return };
    let stubborn = start_ready(
        &d,
        &[],
        &[
            "sh",
            "-c",
            "trap '' TERM; echo ready; while true; do sleep 1; done",
        ],
    );
    let polite = start_ready(
        &d,
        &[],
        &[
            "sh",
            "-c",
            "trap 'exit 42' TERM; echo ready; while true; do sleep 1; done",
        ],
    );

    let t = Instant::now();
    d.ok(&["stop", "-t", "2", &stubborn]);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "SIGKILL before the timeout: {took:?}"
    );
    assert_eq!(d.inspect(&stubborn, "{{.State.ExitCode}}"), "137");

    let t = Instant::now();
    d.ok(&["stop", "-t", "30", &polite]);
    assert!(t.elapsed() < Duration::from_secs(20), "TERM not delivered");
    assert_eq!(d.inspect(&polite, "{{.State.ExitCode}}"), "42");

    // A stopped container starts again (same id: the runtime's state was deleted).
    d.ok(&["start", &polite]);
    d.wait_status(&polite, "running");
    d.finish();
}

#[test]
fn memory_limit_oom_kills_and_inspect_says_so() {
    let Some(d) = Dockerd::new() else { return };
    let name = d.name();
    let out = d.output(&d.run_args(
        &name,
        &["-m", "32m", "--memory-swap", "32m"],
        &[
            "sh",
            "-c",
            "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived",
        ],
    ));
    assert_eq!(exit_code(&out), 137, "{}", text(&out));
    assert!(!text(&out).contains("survived"));
    // The shim watches the container's memory cgroup and tells dockerd, which logs an "oom"
    // event. (`.State.OOMKilled` is not asserted: dockerd 20.10 sets it only when the shim's OOM
    // event beats its exit event, a race of theirs, seen with runc as well.)
    let until = format!(
        "{}",
        std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .unwrap()
            .as_secs()
            + 1
    );
    let filter = format!("container={name}");
    let mut events = String::new();
    let seen = wait_until(Duration::from_secs(20), || {
        events = d.ok(&[
            "events",
            "--since",
            "0",
            "--until",
            &until,
            "--filter",
            &filter,
            "--filter",
            "event=oom",
            "--format",
            "{{.Status}}",
        ]);
        events.contains("oom")
    });
    assert!(seen, "no oom event for {name}: {events:?}");
    d.finish();
}

#[test]
fn read_only_root_bind_volumes_and_cap_drop() {
    let Some(d) = Dockerd::new() else { return };
    let vol = d.dir().join("vol");
    std::fs::create_dir(&vol).unwrap();
    std::fs::write(vol.join("from-host"), "host data\n").unwrap();
    let rw = format!("{}:/data", vol.display());
    let ro = format!("{}:/ro:ro", vol.display());
    let name = d.name();
    let script = "touch /x 2>&1; cat /data/from-host; \
                  echo container data > /data/from-container; touch /ro/y 2>&1; true";
    let out = d.output(&d.run_args(
        &name,
        &["--rm", "--read-only", "-v", &rw, "-v", &ro],
        &["sh", "-c", script],
    ));
    let t = text(&out);
    assert_eq!(exit_code(&out), 0, "{t}");
    assert!(t.contains("touch: /x: Read-only file system"), "{t}");
    assert!(t.contains("host data"), "{t}");
    assert!(t.contains("touch: /ro/y: Read-only file system"), "{t}");
    let written = std::fs::read_to_string(vol.join("from-container")).unwrap();
    assert_eq!(written, "container data\n");

    let chown = "grep CapBnd /proc/self/status; chown 1 /tmp && echo chown-ok; true";
    let name = d.name();
    let with = text(&d.output(&d.run_args(&name, &["--rm"], &["sh", "-c", chown])));
    assert!(with.contains("chown-ok"), "{with}");
    let name = d.name();
    let out = d.output(&d.run_args(
        &name,
        &["--rm", "--cap-drop", "CHOWN"],
        &["sh", "-c", chown],
    ));
    let without = text(&out);
    assert!(!without.contains("chown-ok"), "{without}");
    assert!(without.contains("Operation not permitted"), "{without}");
    let bnd = without
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .expect("CapBnd line");
    assert_eq!(bnd & 1, 0, "CAP_CHOWN still in the bounding set: {bnd:x}");
    d.finish();
}

#[test]
fn network_none_and_host() {
    let Some(d) = Dockerd::new() else { return };
    let host_ns = net_ns("self");
    let show = "readlink /proc/self/ns/net; ls /sys/class/net";
    let name = d.name();
    let out = d.output(&d.run_args(&name, &["--rm", "--network", "none"], &["sh", "-c", show]));
    let none = text(&out);
    assert_eq!(exit_code(&out), 0, "{none}");
    let mut lines = none.lines();
    assert_ne!(lines.next(), Some(host_ns.as_str()), "{none}");
    assert_eq!(lines.collect::<Vec<_>>(), ["lo"], "{none}");

    let name = d.name();
    let out = d.output(&d.run_args(&name, &["--rm", "--network", "host"], &["sh", "-c", show]));
    let host = text(&out);
    assert_eq!(exit_code(&out), 0, "{host}");
    assert_eq!(host.lines().next(), Some(host_ns.as_str()), "{host}");
    d.finish();
}

#[test]
fn docker_loads_and_runs_an_image_coracle_saved() {
    // The `coracle` image tool's docker-archive is what `docker load` reads: the same image ID
    // (the config digest), and it runs. `coracle` is built by `cargo test --workspace`.
    let coracle =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/coracle");
    if !coracle.exists() {
        busybox_image::skip(&format!("{} is not built", coracle.display()));
        return;
    }
    let Some(d) = Dockerd::new() else { return };
    let bundle = common::Bundle::busybox();
    let store = d.dir().join("coracle-store");
    let archive = d.dir().join("from-coracle.tar");
    let coracle_ok = |args: &[&str]| {
        let out = std::process::Command::new(&coracle)
            .arg("--root")
            .arg(&store)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "coracle {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let image = "localhost/from-coracle:v1";
    coracle_ok(&[
        "import",
        bundle.rootfs().to_str().unwrap(),
        image,
        "--cmd",
        "sh",
    ]);
    coracle_ok(&[
        "save",
        "--format",
        "docker-archive",
        "-o",
        archive.to_str().unwrap(),
        image,
    ]);
    let listed: serde_json::Value =
        serde_json::from_str(&coracle_ok(&["images", "--format", "json"])).unwrap();
    let id = listed[0]["Id"].as_str().unwrap().to_string();

    let loaded = d.ok(&["load", "-i", archive.to_str().unwrap()]);
    assert!(loaded.contains(image), "{loaded}");
    assert_eq!(
        d.ok(&["image", "inspect", "--format", "{{.Id}}", image])
            .trim(),
        id
    );
    let out = d.ok(&["run", "--rm", image, "echo", "hello from a coracle image"]);
    assert!(out.contains("hello from a coracle image"), "{out}");
    d.ok(&["rmi", image]);
    d.finish();
}
