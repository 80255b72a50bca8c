//! coracle-runtime under Podman (Debian's podman 4.3 + conmon), as `podman --runtime <it>`:
//! each test has a Podman of its own (storage, config, cgroup parent; see podman_env) with a
//! locally built busybox image, drives the real client, checks what a user checks (exit codes,
//! output, inspect, the cgroup files on the host), then removes everything and asserts nothing
//! is left. Skipped, with the reason printed, when podman is not installed.

mod busybox_image;
mod client_cmd;
mod common;
mod host_net;
mod host_view;
mod leftovers;
mod podman_env;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use client_cmd::text;
use common::{exit_code, in_pty, wait_until};
use host_view::{cgroup_dir, cgroup_file, frozen, net_ns};
use podman_env::Podman;

/// The init's host pid of a running container.
fn pid(pm: &Podman, name: &str) -> u32 {
    pm.inspect(name, "{{.State.Pid}}")
        .parse()
        .expect("State.Pid is a number")
}

/// `run -d` of `cmd`, which must print "ready" once set up; waits for it in the logs.
fn start_ready(pm: &Podman, opts: &[&str], cmd: &[&str]) -> String {
    let name = pm.name();
    let mut all = vec!["-d"];
    all.extend_from_slice(opts);
    pm.ok(&pm.run_args(&name, &all, cmd));
    let up = wait_until(Duration::from_secs(20), || {
        pm.ok(&["logs", &name]).contains("ready")
    });
    assert!(
        up,
        "{name} never printed ready: {}",
        pm.ok(&["logs", &name])
    );
    name
}

#[test]
fn run_rm_passes_the_exit_code_and_stdin() {
    let Some(pm) = Podman::new() else { return };
    let name = pm.name();
    let out = pm.output(&pm.run_args(&name, &["--rm"], &["sh", "-c", "echo out; exit 7"]));
    assert_eq!(exit_code(&out), 7, "{}", text(&out));
    assert!(text(&out).contains("out"), "{}", text(&out));

    let input = pm.dir().join("input");
    std::fs::write(&input, "from the host\n").unwrap();
    let name2 = pm.name();
    let cmd = pm.cmd(&pm.run_args(&name2, &["--rm", "-i"], &["tr", "a-z", "A-Z"]));
    let out = pm.output_of(cmd, Stdio::from(std::fs::File::open(&input).unwrap()));
    assert_eq!(exit_code(&out), 0, "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "FROM THE HOST\n");

    // --rm removed both.
    let all = pm.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!all.contains(&name) && !all.contains(&name2), "{all}");
    pm.finish();
}

#[test]
fn run_it_and_exec_it_give_a_real_terminal() {
    let Some(pm) = Podman::new() else { return };
    let name = pm.name();
    let line = pm.shell_line(&pm.run_args(&name, &["--rm", "-it"], &["sh"]));
    let (status, out) = in_pty(&line, b"tty; echo typed-$((6*7)); stty size; exit 5\n");
    assert_eq!(status.code(), Some(5), "{out}");
    assert!(out.contains("/dev/pts/0"), "no pty in the container: {out}");
    assert!(out.contains("typed-42"), "{out}");

    let name = start_ready(&pm, &[], &["sh", "-c", "echo ready; exec sleep 100000"]);
    let line = pm.shell_line(&["exec", "-it", &name, "sh"]);
    let (status, out) = in_pty(&line, b"tty; echo exec-$((6*7)); exit 6\n");
    assert_eq!(status.code(), Some(6), "{out}");
    assert!(out.contains("/dev/pts/"), "no pty for exec: {out}");
    assert!(out.contains("exec-42"), "{out}");
    pm.finish();
}

#[test]
fn detached_logs_exec_pause_kill_and_rm() {
    let Some(pm) = Podman::new() else { return };
    let name = start_ready(&pm, &[], &["sh", "-c", "echo ready; exec sleep 100000"]);
    let runtime = common::Runtime::new().bin().display().to_string();
    assert_eq!(pm.inspect(&name, "{{.OCIRuntime}}"), runtime);
    assert_eq!(pm.inspect(&name, "{{.State.Status}}"), "running");
    let pid = pid(&pm, &name);

    // exec: in the container's pid namespace, its exit code passed through.
    // The accounting cgroups are the container's own, so the client's stats are its figures.
    let id = pm.inspect(&name, "{{.Id}}");
    for controller in ["memory", "cpuacct", "pids", "blkio"] {
        let dir = cgroup_dir(pid, controller);
        assert!(
            dir.to_string_lossy().contains(&id),
            "{controller}: {}",
            dir.display()
        );
    }
    let pids = pm.ok(&["stats", "--no-stream", "--format", "{{.PIDs}}", &name]);
    assert_eq!(
        pids.trim(),
        "1",
        "stats of the container, not of its manager's cgroup"
    );

    let out = pm.output(&["exec", &name, "sh", "-c", "cat /proc/1/cmdline; exit 3"]);
    assert_eq!(exit_code(&out), 3, "{}", text(&out));
    assert!(text(&out).contains("sleep"), "{}", text(&out));

    pm.ok(&["pause", &name]);
    assert_eq!(pm.inspect(&name, "{{.State.Status}}"), "paused");
    assert!(frozen(pid), "paused but not frozen");
    pm.ok(&["unpause", &name]);
    assert_eq!(pm.inspect(&name, "{{.State.Status}}"), "running");
    assert!(!frozen(pid), "unpaused but still frozen");

    pm.ok(&["kill", &name]);
    pm.wait_status(&name, "exited");
    assert_eq!(pm.inspect(&name, "{{.State.ExitCode}}"), "137");

    pm.ok(&["rm", &name]);
    let all = pm.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!all.contains(&name), "{all}");
    pm.finish();
}

#[test]
fn stop_sends_term_then_kill_after_the_timeout_and_start_again() {
    let Some(pm) = Podman::new() else { return };
    // Ignores TERM: stop -t 2 must fall back to SIGKILL after about 2 s.
    let stubborn = start_ready(
        &pm,
        &[],
        &[
            "sh",
            "-c",
            "trap '' TERM; echo ready; while true; do sleep 1; done",
        ],
    );
    // Handles TERM: stops with its own code, long before the timeout.
    let polite = start_ready(
        &pm,
        &[],
        &[
            "sh",
            "-c",
            "trap 'exit 42' TERM; echo ready; while true; do sleep 1; done",
        ],
    );

    let t = Instant::now();
    pm.ok(&["stop", "-t", "2", &stubborn]);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "SIGKILL before the timeout: {took:?}"
    );
    assert_eq!(pm.inspect(&stubborn, "{{.State.ExitCode}}"), "137");

    let t = Instant::now();
    pm.ok(&["stop", "-t", "30", &polite]);
    assert!(t.elapsed() < Duration::from_secs(20), "TERM not delivered");
    assert_eq!(pm.inspect(&polite, "{{.State.ExitCode}}"), "42");

    // A stopped container starts again (same id: the runtime's state was deleted).
    pm.ok(&["start", &polite]);
    pm.wait_status(&polite, "running");
    pm.finish();
}

#[test]
fn memory_limit_oom_kills_and_inspect_says_so() {
    let Some(pm) = Podman::new() else { return };
    let name = pm.name();
    let mut args = pm.run_args(
        &name,
        &["-m", "32m"],
        &[
            "sh",
            "-c",
            "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived",
        ],
    );
    args[0] = "create";
    pm.ok(&args);
    // Debian's podman 4.3 starts conmon in its own working directory and conmon 2.1.6 writes its
    // `oom` marker there, while podman looks for it in the bundle: start from the bundle (the
    // same holds with runc).
    let bundle = pm.inspect(&name, "{{.StaticDir}}");
    let mut start = pm.cmd(&["start", "--attach", &name]);
    start.current_dir(&bundle);
    let out = pm.output_of(start, Stdio::null());
    assert_eq!(exit_code(&out), 137, "{}", text(&out));
    assert!(!text(&out).contains("survived"));
    assert_eq!(pm.inspect(&name, "{{.State.OOMKilled}}"), "true");
    assert_eq!(pm.inspect(&name, "{{.State.ExitCode}}"), "137");
    pm.finish();
}

#[test]
fn pids_limit_and_cpus_are_enforced_in_the_container_cgroup() {
    let Some(pm) = Podman::new() else { return };
    let name = start_ready(
        &pm,
        &["--pids-limit", "20", "--cpus", "0.5"],
        &["sh", "-c", "echo ready; exec sleep 100000"],
    );
    let pid = pid(&pm, &name);
    assert_eq!(cgroup_file(pid, "pids", "pids.max"), "20");
    assert_eq!(cgroup_file(pid, "cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(cgroup_file(pid, "cpu", "cpu.cfs_period_us"), "100000");

    // The 21st process cannot be made.
    let out = pm.output(&[
        "exec",
        &name,
        "sh",
        "-c",
        "i=0; while [ $i -lt 40 ]; do sleep 1000 & i=$((i+1)); done",
    ]);
    assert!(text(&out).contains("can't fork"), "{}", text(&out));
    let current: u32 = cgroup_file(pid, "pids", "pids.current").parse().unwrap();
    assert!(current <= 20, "pids.current {current}");
    pm.finish();
}

#[test]
fn read_only_root_bind_volumes_and_cap_drop() {
    let Some(pm) = Podman::new() else { return };
    let vol = pm.dir().join("vol");
    std::fs::create_dir(&vol).unwrap();
    std::fs::write(vol.join("from-host"), "host data\n").unwrap();
    let rw = format!("{}:/data", vol.display());
    let ro = format!("{}:/ro:ro", vol.display());
    let name = pm.name();
    let script = "touch /x 2>&1; touch /tmp/x && echo tmp-ok; cat /data/from-host; \
                  echo container data > /data/from-container; touch /ro/y 2>&1; true";
    let out = pm.output(&pm.run_args(
        &name,
        &["--rm", "--read-only", "-v", &rw, "-v", &ro],
        &["sh", "-c", script],
    ));
    let t = text(&out);
    assert_eq!(exit_code(&out), 0, "{t}");
    assert!(t.contains("touch: /x: Read-only file system"), "{t}");
    assert!(
        t.contains("tmp-ok"),
        "--read-only keeps a writable /tmp: {t}"
    );
    assert!(t.contains("host data"), "{t}");
    assert!(t.contains("touch: /ro/y: Read-only file system"), "{t}");
    let written = std::fs::read_to_string(vol.join("from-container")).unwrap();
    assert_eq!(written, "container data\n");

    // CAP_CHOWN is in Podman's default set; --cap-drop takes it out of every set.
    let chown = "grep CapBnd /proc/self/status; chown 1 /tmp && echo chown-ok; true";
    let name = pm.name();
    let with = text(&pm.output(&pm.run_args(&name, &["--rm"], &["sh", "-c", chown])));
    assert!(with.contains("chown-ok"), "{with}");
    let name = pm.name();
    let out = pm.output(&pm.run_args(
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
    pm.finish();
}

#[test]
fn network_none_and_host() {
    let Some(pm) = Podman::new() else { return };
    let host_ns = net_ns("self");
    let show = "readlink /proc/self/ns/net; ls /sys/class/net";
    let name = pm.name();
    let out = pm.output(&pm.run_args(&name, &["--rm", "--network", "none"], &["sh", "-c", show]));
    let none = text(&out);
    assert_eq!(exit_code(&out), 0, "{none}");
    let mut lines = none.lines();
    assert_ne!(lines.next(), Some(host_ns.as_str()), "{none}");
    assert_eq!(lines.collect::<Vec<_>>(), ["lo"], "{none}");

    let name = pm.name();
    let out = pm.output(&pm.run_args(&name, &["--rm", "--network", "host"], &["sh", "-c", show]));
    let host = text(&out);
    assert_eq!(exit_code(&out), 0, "{host}");
    assert_eq!(host.lines().next(), Some(host_ns.as_str()), "{host}");
    pm.finish();
}

/// A bridge network of the test's own (netavark: its own bridge name and subnet), a port
/// published on 127.0.0.1 reached from the host; afterwards the bridge, netavark's iptables
/// chains and ip_forward are as they were.
#[test]
fn bridge_network_and_published_port() {
    let Some(pm) = Podman::new() else { return };
    let before = host_net::HostNet::take();
    let n = std::process::id() % 200;
    let bridge = format!("cpm{}", std::process::id());
    let subnet = format!("10.213.{n}.0/24");
    let network = format!(
        r#"{{"name": "coracle", "id": "{}", "driver": "bridge", "network_interface": "{bridge}",
            "subnets": [{{"subnet": "{subnet}", "gateway": "10.213.{n}.1"}}],
            "ipv6_enabled": false, "internal": false, "dns_enabled": false,
            "ipam_options": {{"driver": "host-local"}}}}"#,
        "c0".repeat(32)
    );
    std::fs::write(pm.dir().join("networks/coracle.json"), network).unwrap();
    let www = pm.dir().join("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::write(www.join("index.html"), "served by busybox httpd\n").unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let publish = format!("127.0.0.1:{port}:80");
    let vol = format!("{}:/www:ro", www.display());
    let name = pm.name();
    pm.ok(&pm.run_args(
        &name,
        &["-d", "--network", "coracle", "-p", &publish, "-v", &vol],
        &["httpd", "-f", "-p", "80", "-h", "/www"],
    ));
    let addr = pm.ok(&["exec", &name, "ip", "-4", "addr", "show", "eth0"]);
    assert!(addr.contains(&format!("inet 10.213.{n}.")), "{addr}");

    let mut body = String::new();
    let served = wait_until(Duration::from_secs(20), || {
        body = get(port).unwrap_or_default();
        body.contains("served by busybox httpd")
    });
    assert!(served, "no answer on 127.0.0.1:{port}: {body:?}");

    pm.ok(&["rm", "--force", "--time", "0", &name]);
    assert!(!host_net::link_exists(&bridge), "bridge {bridge} left");
    let undone = before.restore(&["NETAVARK"]);
    assert!(undone.is_empty(), "could not undo: {undone:?}");
    let diff = before.unchanged(&["NETAVARK"]);
    assert!(diff.is_empty(), "host networking changed: {diff:?}");
    pm.finish();
}

/// `GET /` on 127.0.0.1:port, the whole response.
fn get(port: u16) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    Ok(resp)
}
