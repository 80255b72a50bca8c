//! `exec` into a running container: the process is in the container's namespaces and cgroup, gets
//! the flags' env, user, cwd, capabilities and NNP (or a --process file), passes its exit code
//! through, can be detached with a pid file, can have a terminal (relayed or sent over a console
//! socket), is reached by `kill --all` and `delete -f`; bad cases fail with one line.

mod common;

use common::{
    assert_nothing_left, detached, exit_code, start, stdout, wait_until, Bundle, Runtime,
    COMMAND_TIMEOUT,
};
use runtime::sys::fd::recv_with_fd;
use serde_json::Value;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A container whose init sleeps until it is killed.
fn sleeper(rt: &Runtime) -> (Bundle, String) {
    let bundle = Bundle::busybox().args(&["sleep", "100000"]);
    let id = start(rt, &bundle);
    (bundle, id)
}

/// `exec ARGS` (flags, id, command), stdin /dev/null.
fn exec(rt: &Runtime, args: &[&str]) -> Output {
    let mut all = vec!["exec"];
    all.extend_from_slice(args);
    rt.output(&all)
}

fn exec_ok(rt: &Runtime, args: &[&str]) -> String {
    let out = exec(rt, args);
    assert!(
        out.status.success(),
        "exec {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

fn init_pid(rt: &Runtime, id: &str) -> i64 {
    rt.state(id)["pid"].as_i64().expect("pid in state")
}

/// Alive and not a zombie.
fn alive(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

fn finish(rt: &Runtime, bundle: &Bundle, id: &str) {
    rt.run_ok(&["delete", "--force", id]);
    assert_nothing_left(rt, bundle, id);
}

#[test]
fn exec_joins_the_pid_namespace_every_namespace_and_the_cgroup() {
    let rt = Runtime::new();
    let (bundle, id) = sleeper(&rt);
    let out = exec_ok(
        &rt,
        &[
            &id,
            "sh",
            "-c",
            "echo pid=$$; hostname; ps; echo ---; cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup",
        ],
    );
    let pid_line = out.lines().next().unwrap();
    assert_ne!(pid_line, "pid=1", "{out}");
    assert!(pid_line.starts_with("pid="), "{out}");
    assert_eq!(
        out.lines().nth(1),
        Some("runc"),
        "container's hostname: {out}"
    );
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().next() == Some("1") && l.contains("sleep")),
        "ps inside shows the init as pid 1: {out}"
    );
    let parts: Vec<&str> = out.split("---\n").collect();
    assert_eq!(parts.len(), 3, "{out}");
    assert!(!parts[1].is_empty());
    assert_eq!(parts[1], parts[2], "same cgroups as the init");

    // Namespaces, seen from the host: the exec'd process is the one the runtime execs, so ask it
    // to print its own links.
    let init = init_pid(&rt, &id);
    for ns in ["ipc", "mnt", "net", "pid", "uts", "cgroup", "user"] {
        let inside = exec_ok(&rt, &[&id, "readlink", &format!("/proc/self/ns/{ns}")]);
        let host = std::fs::read_link(format!("/proc/{init}/ns/{ns}")).unwrap();
        assert_eq!(inside.trim(), host.to_string_lossy(), "{ns} namespace");
    }
    finish(&rt, &bundle, &id);
}

#[test]
fn exit_code_and_signal_pass_through() {
    let rt = Runtime::new();
    let (bundle, id) = sleeper(&rt);
    assert_eq!(exit_code(&exec(&rt, &[&id, "sh", "-c", "exit 7"])), 7);
    assert_eq!(
        exit_code(&exec(&rt, &[&id, "sh", "-c", "kill -TERM $$"])),
        128 + 15
    );
    assert_eq!(exit_code(&exec(&rt, &[&id, "true"])), 0);
    finish(&rt, &bundle, &id);
}

/// A foreground exec forwards the signals it gets to its process.
#[test]
fn foreground_exec_forwards_signals() {
    use std::io::BufRead;
    let rt = Runtime::new();
    let (bundle, id) = sleeper(&rt);
    let mut child = rt
        .cmd(&[
            "exec",
            &id,
            "sh",
            "-c",
            "trap 'echo got-term; exit 5' TERM; echo ready; while :; do sleep 1; done",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    runtime::sys::process::kill(child.id() as i32, libc::SIGTERM).unwrap();
    let status = common::wait_child(&mut child, COMMAND_TIMEOUT).expect("exec returns");
    assert_eq!(lines.next().unwrap().unwrap(), "got-term");
    assert_eq!(status.code(), Some(5));
    finish(&rt, &bundle, &id);
}

#[test]
fn env_user_cwd_cap_and_no_new_privs_flags() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&["sleep", "100000"])
        .config(|c| c["process"]["noNewPrivileges"] = false.into());
    let id = start(&rt, &bundle);
    let out = exec_ok(
        &rt,
        &[
            "-e",
            "FOO=bar baz",
            "-e",
            "PATH=/bin",
            "-u",
            "1000:1001",
            "--cwd",
            "/tmp",
            "--no-new-privs",
            &id,
            "sh",
            "-c",
            "echo FOO=$FOO; echo PATH=$PATH; id -u; id -g; pwd; grep NoNewPrivs /proc/self/status",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "FOO=bar baz", "{out}");
    assert_eq!(lines[1], "PATH=/bin", "{out}");
    assert_eq!(lines[2], "1000", "{out}");
    assert_eq!(lines[3], "1001", "{out}");
    assert_eq!(lines[4], "/tmp", "{out}");
    assert!(lines[5].ends_with("\t1"), "{out}");

    // -u UID alone keeps the bundle's gid (0).
    assert_eq!(exec_ok(&rt, &["-u", "1000", &id, "id", "-g"]), "0\n");

    // Without the flags: the bundle's process (root in /, NNP off).
    let out = exec_ok(
        &rt,
        &[
            &id,
            "sh",
            "-c",
            "id -u; pwd; grep NoNewPrivs /proc/self/status",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..2], ["0", "/"], "{out}");
    assert!(lines[2].ends_with("\t0"), "{out}");

    // --cap adds to the bundle's capabilities (CAP_SYS_TIME is bit 25).
    let cap_eff = |extra: &[&str]| -> u64 {
        let mut args = extra.to_vec();
        args.extend([id.as_str(), "grep", "CapEff", "/proc/self/status"]);
        let out = exec_ok(&rt, &args);
        u64::from_str_radix(out.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    assert_eq!(cap_eff(&[]) & (1 << 25), 0);
    assert_ne!(cap_eff(&["--cap", "CAP_SYS_TIME"]) & (1 << 25), 0);
    let bad = exec(&rt, &["--cap", "CAP_NOPE", &id, "true"]);
    assert_ne!(exit_code(&bad), 0);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--cap \"CAP_NOPE\""), "{err}");
    finish(&rt, &bundle, &id);
}

#[test]
fn process_file_describes_the_process() {
    let rt = Runtime::new();
    let (bundle, id) = sleeper(&rt);
    let file = bundle.path().join("process.json");
    std::fs::write(
        &file,
        serde_json::json!({
            "terminal": false,
            "user": {"uid": 65534, "gid": 65534},
            "args": ["sh", "-c", "echo X=$X; id -u; pwd"],
            "env": ["PATH=/bin", "X=from-file"],
            "cwd": "/tmp",
            "noNewPrivileges": true
        })
        .to_string(),
    )
    .unwrap();
    let out = exec_ok(&rt, &["--process", file.to_str().unwrap(), &id]);
    assert_eq!(out, "X=from-file\n65534\n/tmp\n");

    std::fs::write(
        &file,
        r#"{"args": [], "cwd": "/", "user": {"uid": 0, "gid": 0}}"#,
    )
    .unwrap();
    let bad = exec(&rt, &["--process", file.to_str().unwrap(), &id]);
    assert_ne!(exit_code(&bad), 0);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("process.args"), "{err}");
    finish(&rt, &bundle, &id);
}

#[test]
fn missing_binary_is_one_line_and_leaves_nothing_running() {
    let rt = Runtime::new();
    let (bundle, id) = sleeper(&rt);
    let out = exec(&rt, &[&id, "no-such-binary"]);
    assert_ne!(exit_code(&out), 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(r#"exec: "no-such-binary": executable file not found in $PATH"#),
        "{err}"
    );
    let pids: Value = serde_json::from_str(&rt.run_ok(&["ps", "--format", "json", &id])).unwrap();
    assert_eq!(
        pids,
        serde_json::json!([init_pid(&rt, &id)]),
        "only the init"
    );
    finish(&rt, &bundle, &id);
}

#[test]
fn exec_into_a_stopped_container_fails() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["true"]);
    let id = start(&rt, &bundle);
    rt.wait_status(&id, "stopped", Duration::from_secs(10));
    let out = exec(&rt, &[&id, "true"]);
    assert_ne!(exit_code(&out), 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("stopped container"), "{err}");
    rt.run_ok(&["delete", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

/// `exec -d --pid-file F`: returns at once; the pid is alive, in the container's pid namespace and
/// cgroup.
fn exec_detached(rt: &Runtime, bundle: &Bundle, id: &str) -> i64 {
    let pid_file = bundle
        .path()
        .join(format!("exec-{}.pid", common::unique_id()));
    let (code, err) = detached(rt.cmd(&[
        "exec",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        id,
        "sleep",
        "100000",
    ]));
    assert_eq!(code, 0, "{err}");
    let pid: i64 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(pid));
    let init = init_pid(rt, id);
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap(),
        std::fs::read_link(format!("/proc/{init}/ns/pid")).unwrap()
    );
    let pids: Value = serde_json::from_str(&rt.run_ok(&["ps", "--format", "json", id])).unwrap();
    assert!(
        pids.as_array().unwrap().contains(&Value::from(pid)),
        "{pids} has {pid}"
    );
    pid
}

#[test]
fn detached_exec_writes_the_pid_file_and_kill_all_reaches_it() {
    let rt = Runtime::new();
    let (bundle, id) = sleeper(&rt);
    // TERM goes to each pid of the cgroup: the exec'd sleep dies, the init (pid 1 in its
    // namespace, no handler) ignores it.
    let pid = exec_detached(&rt, &bundle, &id);
    rt.run_ok(&["kill", "--all", &id, "TERM"]);
    assert!(
        wait_until(COMMAND_TIMEOUT, || !alive(pid)),
        "exec'd pid {pid} survived"
    );
    assert_eq!(rt.status(&id), "running");
    let pid = exec_detached(&rt, &bundle, &id);
    rt.run_ok(&["kill", "--all", &id, "KILL"]);
    assert!(
        wait_until(COMMAND_TIMEOUT, || !alive(pid)),
        "exec'd pid {pid} survived"
    );
    rt.wait_status(&id, "stopped", Duration::from_secs(10));
    rt.run_ok(&["delete", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn delete_force_kills_exec_processes() {
    let rt = Runtime::new();
    let (bundle, id) = sleeper(&rt);
    let pid = exec_detached(&rt, &bundle, &id);
    rt.run_ok(&["delete", "--force", &id]);
    assert!(
        wait_until(COMMAND_TIMEOUT, || !alive(pid)),
        "exec'd pid {pid} survived"
    );
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn tty_exec_gets_a_terminal_inside_the_container() {
    let rt = Runtime::new();
    let (bundle, id) = sleeper(&rt);
    let cmd = format!(
        "{} --root {} exec -t {id} sh -c 'tty; test -t 0 && echo stdin-is-a-tty; exit 3'",
        rt.bin().display(),
        rt.root().display(),
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script");
    let stdin = child.stdin.take();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    let out = out.replace('\r', "");
    assert_eq!(status.code(), Some(3), "{out}");
    assert!(out.lines().any(|l| l.starts_with("/dev/pts/")), "{out}");
    assert!(out.contains("stdin-is-a-tty"), "{out}");
    finish(&rt, &bundle, &id);
}

#[test]
fn tty_detach_sends_the_master_over_the_console_socket() {
    let rt = Runtime::new();
    let (bundle, id) = sleeper(&rt);
    // Without a socket: refused with runc's meaning.
    let out = exec(&rt, &["-t", "-d", &id, "true"]);
    assert_ne!(exit_code(&out), 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--console-socket"), "{err}");

    let path = bundle.path().join("exec-console.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let exec_cmd = rt
        .cmd(&[
            "exec",
            "-t",
            "-d",
            "--console-socket",
            path.to_str().unwrap(),
            &id,
            "sh",
            "-c",
            "tty; test -t 0 && echo stdin-is-a-tty; echo done",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (conn, _) = listener.accept().unwrap();
    let mut name = [0u8; 256];
    let (n, master) = recv_with_fd(conn.as_fd(), &mut name).unwrap();
    let master = master.expect("the message carries the pty master");
    let name = String::from_utf8_lossy(&name[..n]).into_owned();
    assert!(name.starts_with("/dev/pts/"), "{name:?}");
    let mut exec_cmd = exec_cmd;
    let status = common::wait_child(&mut exec_cmd, COMMAND_TIMEOUT).expect("exec returns");
    assert!(status.success());
    let mut out = String::new();
    let _ = std::fs::File::from(master).read_to_string(&mut out);
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    assert_eq!(lines.first().copied(), Some(name.as_str()), "{out:?}");
    assert!(lines.contains(&"stdin-is-a-tty"), "{out:?}");
    assert!(lines.contains(&"done"), "{out:?}");
    finish(&rt, &bundle, &id);
}

#[test]
fn paused_container_is_refused_without_ignore_paused() {
    let rt = Runtime::new();
    let (bundle, id) = sleeper(&rt);
    rt.run_ok(&["pause", &id]);
    let out = exec(&rt, &[&id, "true"]);
    assert_ne!(exit_code(&out), 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("paused"), "{err}");
    rt.run_ok(&["resume", &id]);
    assert_eq!(exit_code(&exec(&rt, &[&id, "true"])), 0);

    // With --ignore-paused the process joins the frozen cgroup, and runs once it is resumed.
    rt.run_ok(&["pause", &id]);
    let mut waiting = rt
        .cmd(&["exec", "--ignore-paused", &id, "echo", "after-resume"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let in_cgroup = wait_until(COMMAND_TIMEOUT, || {
        let pids: Value =
            serde_json::from_str(&rt.run_ok(&["ps", "--format", "json", &id])).unwrap();
        pids.as_array().unwrap().len() == 2
    });
    assert!(
        in_cgroup,
        "the exec'd process is in the paused container's cgroup"
    );
    assert_eq!(rt.status(&id), "paused");
    rt.run_ok(&["resume", &id]);
    let status = common::wait_child(&mut waiting, COMMAND_TIMEOUT).expect("exec returns");
    let mut text = String::new();
    waiting
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(status.success());
    assert_eq!(text, "after-resume\n");
    finish(&rt, &bundle, &id);
}

fn chown_tree(dir: &std::path::Path, id: u32) {
    std::os::unix::fs::lchown(dir, Some(id), Some(id)).unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            chown_tree(&e.path(), id);
        } else {
            std::os::unix::fs::lchown(e.path(), Some(id), Some(id)).unwrap();
        }
    }
}

/// A container with its own user and cgroup namespaces: the exec'd process joins them (user
/// first), is root there with the container's id maps, and sees the init's cgroup view.
#[test]
fn exec_joins_a_user_and_cgroup_namespace() {
    let rt = Runtime::new();
    let maps = serde_json::json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    let bundle = Bundle::busybox().args(&["sleep", "100000"]).config(|c| {
        let list = c["linux"]["namespaces"].as_array_mut().unwrap();
        list.push(serde_json::json!({ "type": "user" }));
        list.push(serde_json::json!({ "type": "cgroup" }));
        c["linux"]["uidMappings"] = maps.clone();
        c["linux"]["gidMappings"] = maps.clone();
    });
    chown_tree(&bundle.rootfs(), 100000);
    let id = start(&rt, &bundle);
    let out = exec_ok(
        &rt,
        &[
            &id,
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map; cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup",
        ],
    );
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("0"), "{out}");
    let map: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(map, ["0", "100000", "65536"], "{out}");
    let (mine, init) = out.split_once("---\n").unwrap();
    assert!(mine.ends_with(init), "{out}");
    let init_pid = init_pid(&rt, &id);
    for ns in ["user", "cgroup", "mnt", "pid"] {
        let inside = exec_ok(&rt, &[&id, "readlink", &format!("/proc/self/ns/{ns}")]);
        let host = std::fs::read_link(format!("/proc/{init_pid}/ns/{ns}")).unwrap();
        assert_eq!(inside.trim(), host.to_string_lossy(), "{ns} namespace");
    }
    finish(&rt, &bundle, &id);
}

/// `--preserve-fds N`: fds 3..3+N reach the process, the rest do not.
#[test]
fn preserve_fds_passes_the_given_descriptors() {
    let rt = Runtime::new();
    let (bundle, id) = sleeper(&rt);
    let file = bundle.path().join("passed.txt");
    std::fs::write(&file, "through fd 3\n").unwrap();
    let run = |preserve: &str| {
        // The shell opens the file as the runtime's fd 3.
        let line = format!(
            "exec {} --root {} exec --preserve-fds {preserve} {id} sh -c 'cat <&3 2>/dev/null || echo no-fd-3' 3<{}",
            rt.bin().display(),
            rt.root().display(),
            file.display()
        );
        let out = Command::new("sh")
            .args(["-c", &line])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout(&out)
    };
    assert_eq!(run("1"), "through fd 3\n");
    assert_eq!(run("0"), "no-fd-3\n");
    finish(&rt, &bundle, &id);
}
