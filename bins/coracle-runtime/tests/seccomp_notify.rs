//! SCMP_ACT_NOTIFY end to end: a seccomp agent (a listener thread of this test, built with the
//! test, no C) binds `listenerPath`, receives the container process state with the notify fd,
//! and answers `mkdir`: EDQUOT for names starting "denied", success without doing it for "fake",
//! and "let the kernel run it" (FLAG_CONTINUE) for anything else. The container sees those
//! answers; the state names the container; exec'd processes notify too; a listenerPath leading
//! nowhere and a notify without one are one clear error with nothing left.

mod common;

use common::{assert_nothing_left, exit_code, stdout, unique_id, Bundle, HostSnapshot, Runtime};
use runtime::sys::{fd as sysfd, seccomp as sys};
use serde_json::{json, Value};
use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// What the agent saw: the state documents received, and (pid, path) of each notified mkdir.
#[derive(Default)]
struct Seen {
    states: Vec<Value>,
    mkdirs: Vec<(u32, String)>,
}

/// A seccomp agent listening on a Unix socket in its own temporary directory.
struct Agent {
    dir: PathBuf,
    path: PathBuf,
    seen: Arc<Mutex<Seen>>,
}

impl Agent {
    fn start() -> Agent {
        let dir = PathBuf::from(format!("/tmp/{}-agent", unique_id()));
        fs::create_dir(&dir).unwrap();
        let path = dir.join("agent.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let mut buf = vec![0u8; 65536];
                let Ok((n, Some(fd))) = sysfd::recv_with_fd(conn.as_fd(), &mut buf) else {
                    continue; // a runtime that connected but sent nothing (its create failed)
                };
                let state: Value = serde_json::from_slice(&buf[..n]).expect("state is JSON");
                shared.lock().unwrap().states.push(state);
                let seen = shared.clone();
                std::thread::spawn(move || serve(fd, &seen));
            }
        });
        Agent { dir, path, seen }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }

    /// Wait until `n` state documents have arrived; returns them.
    fn states(&self, n: usize) -> Vec<Value> {
        let ok = common::wait_until(WAIT, || self.seen.lock().unwrap().states.len() >= n);
        let states = self.seen.lock().unwrap().states.clone();
        assert!(
            ok,
            "the agent got {} states, not {n}: {states:?}",
            states.len()
        );
        states
    }

    /// The profile: everything allowed, mkdir/mkdirat to this agent.
    fn profile(&self) -> Value {
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": self.path(),
            "listenerMetadata": "coracle-test-agent",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
        })
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Answer notifications until no process uses the filter any more (POLLHUP).
fn serve(listener: OwnedFd, seen: &Mutex<Seen>) {
    loop {
        let Ok(ready) = sysfd::poll_readable(&[listener.as_fd()], 30_000) else {
            return;
        };
        let Some(revents) = ready else { return };
        if revents[0] & libc::POLLIN == 0 {
            return; // POLLHUP: every process of the filter is gone
        }
        let Ok(req) = sys::notif_recv(listener.as_fd()) else {
            continue; // the process died meanwhile
        };
        let nr = req.data.nr as i64;
        let addr = match nr {
            libc::SYS_mkdir => req.data.args[0],
            libc::SYS_mkdirat => req.data.args[1],
            _ => 0,
        };
        let path = read_string(req.pid, addr);
        // The memory read is only trusted if the request is still pending (not a reused pid).
        if !sys::notif_id_valid(listener.as_fd(), req.id) {
            continue;
        }
        let name = path.rsplit('/').next().unwrap_or_default().to_string();
        let (val, error, flags) = if name.starts_with("denied") {
            (0, -libc::EDQUOT, 0)
        } else if name.starts_with("fake") {
            (0, 0, 0)
        } else {
            (0, 0, libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32)
        };
        seen.lock().unwrap().mkdirs.push((req.pid, path));
        let _ = sys::notif_send(listener.as_fd(), req.id, val, error, flags);
    }
}

/// A NUL-terminated string from another process's memory.
fn read_string(pid: u32, addr: u64) -> String {
    let mut buf = vec![0u8; 4096];
    let n = fs::File::open(format!("/proc/{pid}/mem"))
        .and_then(|f| f.read_at(&mut buf, addr))
        .unwrap_or(0);
    let end = buf[..n].iter().position(|&b| b == 0).unwrap_or(n);
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Three mkdirs, one per answer, with the results and the container's fds written to /out.
const SCRIPT: &str = r#"
{
mkdir /tmp/denied-1 2>&1; echo "denied=$?"
mkdir /tmp/fake-1 && { test -d /tmp/fake-1 && echo fake=made || echo fake=answered; }
mkdir /tmp/real-1 && test -d /tmp/real-1 && echo real=made
for f in /proc/$$/fd/*; do echo "fd $f -> $(readlink $f)"; done
} >/out 2>&1
"#;

fn bundle(args: &[&str], profile: Value, nnp: bool) -> Bundle {
    Bundle::busybox().args(args).config(|c| {
        c["root"]["readonly"] = json!(false);
        c["process"]["noNewPrivileges"] = json!(nnp);
        c["linux"]["seccomp"] = profile;
    })
}

fn check_answers(out: &str) {
    assert!(out.contains("Disk quota exceeded"), "{out}");
    assert!(out.lines().any(|l| l == "denied=1"), "{out}");
    assert!(out.lines().any(|l| l == "fake=answered"), "{out}");
    assert!(out.lines().any(|l| l == "real=made"), "{out}");
}

/// create + start: the agent gets the state ("creating", the init's pid, the id, the metadata)
/// during create; the container sees the agent's three answers; the listener fd does not reach
/// the container.
#[test]
fn notify_delivers_to_the_listener_and_the_container_sees_its_answers() {
    let rt = Runtime::new();
    let agent = Agent::start();
    let b = bundle(&["sh", "-c", SCRIPT], agent.profile(), true);
    let id = rt.create(&b);
    let init = rt.state(&id)["pid"].as_i64().unwrap();
    let state = agent.states(1).remove(0);
    assert_eq!(state["fds"], json!(["seccompFd"]), "{state}");
    assert_eq!(state["pid"], init, "{state}");
    assert_eq!(state["metadata"], "coracle-test-agent", "{state}");
    assert_eq!(state["state"]["id"], id.as_str(), "{state}");
    assert_eq!(state["state"]["pid"], init, "{state}");
    assert_eq!(state["state"]["status"], "creating", "{state}");
    assert_eq!(
        state["state"]["bundle"].as_str(),
        Some(b.path_str()),
        "{state}"
    );
    rt.run_ok(&["start", &id]);
    rt.wait_status(&id, "stopped", WAIT);
    let out = fs::read_to_string(b.rootfs().join("out")).unwrap();
    rt.run_ok(&["delete", &id]);
    assert_nothing_left(&rt, &b, &id);
    check_answers(&out);
    assert!(
        !out.contains("seccomp"),
        "the listener fd reached the container: {out}"
    );
    // Each mkdir reached the agent once, with its path read from the caller's memory.
    let seen = agent.seen.lock().unwrap();
    let paths: Vec<&str> = seen.mkdirs.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(paths, ["/tmp/denied-1", "/tmp/fake-1", "/tmp/real-1"]);
}

/// `run` in the foreground, without no_new_privs, with WAIT_KILLABLE_RECV and TSYNC (which the
/// kernel takes with a listener only together with TSYNC_ESRCH).
#[test]
fn run_with_notify_and_wait_killable_recv() {
    let rt = Runtime::new();
    let agent = Agent::start();
    let mut profile = agent.profile();
    profile["flags"] = json!([
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        "SECCOMP_FILTER_FLAG_TSYNC"
    ]);
    let b = bundle(&["sh", "-c", &format!("{SCRIPT}cat /out")], profile, false);
    let (id, out) = rt.run(&b);
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert_eq!(exit_code(&out), 0, "{text}");
    assert_nothing_left(&rt, &b, &id);
    check_answers(&text);
    assert_eq!(agent.states(1)[0]["state"]["id"], id.as_str());
}

/// In a new user namespace the init loads the filter as the namespace's root (CAP_SYS_ADMIN
/// there is enough); the agent still gets the fd and answers.
#[test]
fn notify_in_a_user_namespace() {
    let rt = Runtime::new();
    let agent = Agent::start();
    let maps = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    let b = bundle(
        &["sh", "-c", &format!("{SCRIPT}cat /out")],
        agent.profile(),
        true,
    )
    .config(|c| {
        let list = c["linux"]["namespaces"].as_array_mut().unwrap();
        list.push(json!({ "type": "user" }));
        c["linux"]["uidMappings"] = maps.clone();
        c["linux"]["gidMappings"] = maps.clone();
    });
    chown_tree(&b.rootfs(), 100000);
    let (id, out) = rt.run(&b);
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert_eq!(exit_code(&out), 0, "{text}");
    assert_nothing_left(&rt, &b, &id);
    check_answers(&text);
    assert_eq!(agent.states(1)[0]["state"]["id"], id.as_str());
}

/// Give a rootfs to the user namespace's root (host id `id`).
fn chown_tree(dir: &std::path::Path, id: u32) {
    std::os::unix::fs::lchown(dir, Some(id), Some(id)).unwrap();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            chown_tree(&e.path(), id);
        } else {
            std::os::unix::fs::lchown(e.path(), Some(id), Some(id)).unwrap();
        }
    }
}

/// A process added with `exec` loads its own filter: its listener fd reaches the agent with the
/// container's state (running, the init's pid) and the exec'd process's pid; its mkdirs are
/// answered. Once the agent is gone, `exec` fails with one line naming listenerPath.
#[test]
fn exec_processes_notify_too() {
    let rt = Runtime::new();
    let agent = Agent::start();
    let b = bundle(&["sleep", "100000"], agent.profile(), false);
    let id = common::start(&rt, &b);
    let init = rt.state(&id)["pid"].as_i64().unwrap();
    agent.states(1);
    let out = rt.output(&[
        "exec",
        &id,
        "sh",
        "-c",
        "mkdir /tmp/denied-x 2>&1; echo denied=$?; mkdir /tmp/real-x && test -d /tmp/real-x && echo real=made; echo pid=$$",
    ]);
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    let states = agent.states(2);
    drop(agent); // the socket goes away
    let gone = rt.output(&["exec", &id, "true"]);
    rt.run_ok(&["delete", "--force", &id]);
    assert_nothing_left(&rt, &b, &id);

    assert_eq!(exit_code(&out), 0, "{text}");
    assert!(text.contains("Disk quota exceeded"), "{text}");
    assert!(text.lines().any(|l| l == "denied=1"), "{text}");
    assert!(text.lines().any(|l| l == "real=made"), "{text}");
    let exec_state = &states[1];
    assert_eq!(exec_state["state"]["id"], id.as_str(), "{exec_state}");
    assert_eq!(exec_state["state"]["status"], "running", "{exec_state}");
    assert_eq!(exec_state["state"]["pid"], init, "{exec_state}");
    assert_ne!(exec_state["pid"], init, "{exec_state}");
    assert!(exec_state["pid"].as_i64().unwrap() > 0, "{exec_state}");

    let err = String::from_utf8_lossy(&gone.stderr);
    assert_ne!(exit_code(&gone), 0, "exec without its listener succeeded");
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    assert!(
        err.contains("linux.seccomp.listenerPath: cannot connect to"),
        "{err}"
    );
}

/// `create` must fail with one line naming the field, and nothing left behind.
fn refused(rt: &Runtime, profile: Value, want: &str) {
    let b = bundle(&["true"], profile, true);
    let id = rt.new_id();
    let before = HostSnapshot::take(rt, &b, &[&id]);
    let out = rt.output(&["create", "--bundle", b.path_str(), &id]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(exit_code(&out), 0, "create succeeded");
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(want), "stderr lacks {want:?}: {err}");
    assert!(err.contains("config.json"), "{err}");
    HostSnapshot::take(rt, &b, &[&id]).assert_same_as(&before);
    assert_nothing_left(rt, &b, &id);
}

#[test]
fn listener_path_leading_nowhere_is_one_clear_error() {
    let rt = Runtime::new();
    let missing = format!("/tmp/{}-nowhere/agent.sock", unique_id());
    refused(
        &rt,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": missing,
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
        &format!("linux.seccomp.listenerPath: cannot connect to {missing}: No such file"),
    );
    // A socket file nobody listens on any more (its listener closed): connection refused.
    let dir = PathBuf::from(format!("/tmp/{}-closed", unique_id()));
    fs::create_dir(&dir).unwrap();
    let path = dir.join("agent.sock");
    drop(UnixListener::bind(&path).unwrap());
    refused(
        &rt,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path,
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
        "Connection refused",
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn notify_profiles_the_runtime_cannot_honour_are_refused() {
    let rt = Runtime::new();
    let notify = json!([{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]);
    refused(
        &rt,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": notify}),
        "linux.seccomp.listenerPath: is required: linux.seccomp.syscalls[0] uses SCMP_ACT_NOTIFY",
    );
    refused(
        &rt,
        json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/run/x.sock"}),
        "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
    );
    refused(
        &rt,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/x.sock",
               "syscalls": [{"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}]}),
        "linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for sendmsg",
    );
    refused(
        &rt,
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}),
        "linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a listener",
    );
}

#[test]
fn features_report_notify_and_wait_killable_recv() {
    let rt = Runtime::new();
    let v: Value = serde_json::from_str(&rt.run_ok(&["features"])).unwrap();
    let seccomp = &v["linux"]["seccomp"];
    assert!(
        seccomp["actions"]
            .as_array()
            .unwrap()
            .contains(&json!("SCMP_ACT_NOTIFY")),
        "{seccomp}"
    );
    // This kernel (≥ 5.19) has WAIT_KILLABLE_RECV.
    assert!(
        seccomp["supportedFlags"]
            .as_array()
            .unwrap()
            .contains(&json!("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")),
        "{seccomp}"
    );
}
