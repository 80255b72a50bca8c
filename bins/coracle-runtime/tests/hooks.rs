//! OCI hooks through the runtime: what each hook gets (state on stdin, env, args, timeout), when
//! it runs (create, start, delete) and where (the runtime's namespaces or the container's), and
//! what a failing or overrunning hook does to the operation.

mod common;

use common::{assert_nothing_left, Bundle, Runtime};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// An environment variable of the runtime process: no hook may see it.
const LEAK: &str = "CORACLE_HOOK_TEST_LEAK=from-the-runtime";

/// The hook kinds that run in the runtime's namespaces from a host program.
const HOST_KINDS: [&str; 5] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "poststart",
    "poststop",
];

/// The environment every recording hook gets.
fn hook_env(kind: &str) -> Vec<String> {
    vec![
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        format!("HOOK_KIND={kind}"),
        "HOOK_SPACES=a b  c".to_string(),
    ]
}

/// A POSIX sh script (dash on the host, busybox in the container) that records, in `out`, what
/// hook `kind` sees: its stdin, env, argv, namespaces and hostname; it appends `kind` to
/// `out/order` last, so a line in `order` means the rest is written. (The shell opens its own
/// /proc/self/cmdline: createContainer runs in the container's pid namespace with the host's /proc,
/// where `$$` would name another process.)
fn recorder(kind: &str, out: &str) -> String {
    format!(
        r#"o={out}; k={kind}
cat > $o/$k.state
env > $o/$k.env
exec 3< /proc/self/cmdline
tr '\000' ' ' <&3 > $o/$k.argv
echo "uts=$(readlink /proc/self/ns/uts) mnt=$(readlink /proc/self/ns/mnt) pid=$(readlink /proc/self/ns/pid) host=$(hostname)" > $o/$k.ns
if [ $k = poststart ]; then
  p=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' $o/$k.state)
  tr '\000' ' ' < /proc/$p/cmdline > $o/$k.target
fi
echo $k >> $o/order
"#
    )
}

/// A bundle whose process is `sleep 1000`, with hostname `hooked`, the host directory `out`
/// (bundle/out) bound at /out, and every hook kind recording into it: host kinds through
/// `/bin/sh -c` with argv[0] `hook-<kind>`; startContainer through a script that exists only
/// inside the rootfs (/hooks/start.sh), since it runs after the pivot.
fn recording_bundle() -> (Bundle, PathBuf) {
    let mut bundle = Bundle::busybox()
        .args(&["sleep", "1000"])
        .config(|c| c["hostname"] = "hooked".into());
    let out = bundle.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::create_dir(bundle.rootfs().join("out")).unwrap();
    fs::create_dir(bundle.rootfs().join("hooks")).unwrap();
    let start_script = bundle.rootfs().join("hooks/start.sh");
    fs::write(
        &start_script,
        format!("#!/bin/sh\n{}", recorder("startContainer", "/out")),
    )
    .unwrap();
    fs::set_permissions(&start_script, fs::Permissions::from_mode(0o755)).unwrap();
    let out_str = out.display().to_string();
    let mut hooks = serde_json::Map::new();
    for kind in HOST_KINDS {
        hooks.insert(
            kind.to_string(),
            json!([{
                "path": "/bin/sh",
                "args": [format!("hook-{kind}"), "-c", recorder(kind, &out_str), "extra-arg"],
                "env": hook_env(kind),
                "timeout": 20,
            }]),
        );
    }
    hooks.insert(
        "startContainer".to_string(),
        json!([{
            "path": "/hooks/start.sh",
            "args": ["start-argv0", "first", "second"],
            "env": hook_env("startContainer"),
            "timeout": 20,
        }]),
    );
    bundle.edit(|c| {
        c["hooks"] = Value::Object(hooks);
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/out", "type": "bind", "source": out_str,
            "options": ["rbind", "rw"],
        }));
    });
    (bundle, out)
}

/// The kinds recorded so far, in order.
fn order(out: &Path) -> Vec<String> {
    fs::read_to_string(out.join("order"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn read(out: &Path, name: &str) -> String {
    fs::read_to_string(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The namespace record line of a hook, as written by `recorder`.
fn ns_line(uts: &str, mnt: &str, pid: &str, host: &str) -> String {
    format!("uts={uts} mnt={mnt} pid={pid} host={host}")
}

fn link(path: &str) -> String {
    fs::read_link(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .display()
        .to_string()
}

fn host_hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

/// Run the runtime with `args`, its stdout and stderr going to files (a container started by it
/// would otherwise hold a pipe open), with `LEAK` in its environment. Returns the exit status and
/// stderr.
fn run_rt(rt: &Runtime, args: &[&str]) -> (std::process::ExitStatus, String) {
    let tag = format!("/tmp/{}.hooks-out", rt.new_id());
    let err = fs::File::create(&tag).unwrap();
    let (name, value) = LEAK.split_once('=').unwrap();
    let status = rt
        .cmd(args)
        .env(name, value)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .status()
        .expect("execute runtime");
    let text = fs::read_to_string(&tag).unwrap_or_default();
    let _ = fs::remove_file(&tag);
    (status, text)
}

fn create(rt: &Runtime, bundle: &Bundle, id: &str) -> (std::process::ExitStatus, String) {
    run_rt(rt, &["create", "--bundle", bundle.path_str(), id])
}

/// Check the state JSON a hook got on stdin (`pid` 0: none).
fn check_state(out: &Path, kind: &str, id: &str, pid: i64, bundle: &Bundle, statuses: &[&str]) {
    let text = read(out, &format!("{kind}.state"));
    let st: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{kind}: state is not JSON: {e}"));
    assert_eq!(st["id"], id, "{kind} state: {st}");
    // A stopped container has no pid (runc leaves it out or 0, as in `state`).
    let got_pid = st["pid"].as_i64().unwrap_or(0);
    assert_eq!(got_pid, pid, "{kind} state: {st}");
    assert_eq!(st["bundle"], bundle.path_str(), "{kind} state: {st}");
    assert!(
        st["ociVersion"].as_str().is_some_and(|v| !v.is_empty()),
        "{kind} state: {st}"
    );
    let status = st["status"].as_str().unwrap_or("");
    assert!(
        statuses.contains(&status),
        "{kind} state status {status:?}, expected one of {statuses:?}: {st}"
    );
}

/// The hook's environment is the given one, plus only what the shell adds itself.
fn check_env(out: &Path, kind: &str) {
    let text = read(out, &format!("{kind}.env"));
    let mut got: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("PWD=") && !l.starts_with("SHLVL="))
        .collect();
    got.sort();
    let mut want = hook_env(kind);
    want.sort();
    assert_eq!(got, want, "{kind} env:\n{text}");
}

#[test]
fn every_hook_runs_when_and_where_the_spec_says_with_its_state_env_and_args() {
    let rt = Runtime::new();
    let (bundle, out) = recording_bundle();
    let id = rt.new_id();

    let (status, stderr) = create(&rt, &bundle, &id);
    assert!(status.success(), "create failed: {status}\n{stderr}");
    // create ran the create-time hooks before it returned, and only those.
    assert_eq!(
        order(&out),
        ["prestart", "createRuntime", "createContainer"],
        "after create"
    );
    let state = rt.state(&id);
    assert_eq!(state["status"], "created");
    let pid = state["pid"].as_i64().expect("state pid");
    for kind in ["prestart", "createRuntime", "createContainer"] {
        check_state(&out, kind, &id, pid, &bundle, &["creating"]);
    }

    let (status, stderr) = run_rt(&rt, &["start", &id]);
    assert!(status.success(), "start failed: {status}\n{stderr}");
    assert_eq!(
        order(&out),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart"
        ],
        "after start"
    );
    assert_eq!(rt.status(&id), "running");
    // poststart ran after the user's process had replaced the init.
    assert_eq!(read(&out, "poststart.target"), "sleep 1000 ");
    check_state(
        &out,
        "startContainer",
        &id,
        pid,
        &bundle,
        &["creating", "created"],
    );
    check_state(&out, "poststart", &id, pid, &bundle, &["running"]);

    // poststop runs on delete, not when the container stops.
    rt.run_ok(&["kill", &id, "KILL"]);
    rt.wait_status(&id, "stopped", Duration::from_secs(10));
    assert_eq!(
        order(&out).len(),
        5,
        "poststop before delete: {:?}",
        order(&out)
    );
    let (status, stderr) = run_rt(&rt, &["delete", &id]);
    assert!(status.success(), "delete failed: {status}\n{stderr}");
    assert_eq!(order(&out).last().map(String::as_str), Some("poststop"));
    assert_eq!(order(&out).len(), 6);
    check_state(&out, "poststop", &id, 0, &bundle, &["stopped"]);

    // Exactly the env given, nothing of the runtime's own.
    for kind in HOST_KINDS.iter().copied().chain(["startContainer"]) {
        check_env(&out, kind);
        assert!(!read(&out, &format!("{kind}.env")).contains("CORACLE_HOOK_TEST_LEAK"));
    }
    // args[0] is argv[0], the rest follow; startContainer's script was found inside the rootfs.
    for kind in HOST_KINDS {
        let argv = read(&out, &format!("{kind}.argv"));
        assert!(
            argv.starts_with(&format!("hook-{kind} -c o=")) && argv.ends_with(" extra-arg "),
            "{kind} argv: {argv:?}"
        );
    }
    assert_eq!(
        read(&out, "startContainer.argv"),
        "/bin/sh /hooks/start.sh first second "
    );
    assert!(
        !Path::new("/hooks/start.sh").exists(),
        "the host must not have /hooks/start.sh, or this proves nothing"
    );

    // Where each ran: prestart, createRuntime, poststart and poststop in the runtime's
    // namespaces; createContainer and startContainer in the container's.
    let host = ns_line(
        &link("/proc/self/ns/uts"),
        &link("/proc/self/ns/mnt"),
        &link("/proc/self/ns/pid"),
        &host_hostname(),
    );
    for kind in ["prestart", "createRuntime", "poststart", "poststop"] {
        assert_eq!(read(&out, &format!("{kind}.ns")).trim(), host, "{kind}");
    }
    let cont_uts = read(&out, "createContainer.ns");
    for kind in ["createContainer", "startContainer"] {
        let line = read(&out, &format!("{kind}.ns"));
        assert!(
            line.ends_with(" host=hooked\n"),
            "{kind} ran outside the container's uts namespace: {line}"
        );
        for (part, host_part) in line.split(' ').zip(host.split(' ')).take(3) {
            assert_ne!(
                part, host_part,
                "{kind} ran in a host namespace: {line} vs {host}"
            );
        }
        assert_eq!(line, cont_uts, "createContainer and startContainer differ");
    }
    assert_nothing_left(&rt, &bundle, &id);
}

/// The container's namespaces are the ones createContainer saw: checked against the init's links
/// while the container exists.
#[test]
fn create_container_hook_runs_in_the_namespaces_of_the_init() {
    let rt = Runtime::new();
    let (bundle, out) = recording_bundle();
    let id = rt.new_id();
    let (status, stderr) = create(&rt, &bundle, &id);
    assert!(status.success(), "create failed: {status}\n{stderr}");
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let want = ns_line(
        &link(&format!("/proc/{pid}/ns/uts")),
        &link(&format!("/proc/{pid}/ns/mnt")),
        &link(&format!("/proc/{pid}/ns/pid")),
        "hooked",
    );
    assert_eq!(read(&out, "createContainer.ns").trim(), want);
    let (status, stderr) = run_rt(&rt, &["delete", "--force", &id]);
    assert!(status.success(), "delete failed: {status}\n{stderr}");
    assert_eq!(order(&out).last().map(String::as_str), Some("poststop"));
    assert_nothing_left(&rt, &bundle, &id);
}

/// A bundle (process `sleep 1000`) with one hook of `kind` running `/bin/sh -c script`; `@DIR@`
/// in the script stands for the bundle directory.
fn bundle_with_hook(kind: &str, script: &str, timeout: Option<i64>) -> Bundle {
    let mut bundle = Bundle::busybox().args(&["sleep", "1000"]);
    let script = script.replace("@DIR@", bundle.path_str());
    let mut hook = json!({ "path": "/bin/sh", "args": ["sh", "-c", script] });
    if let Some(t) = timeout {
        hook["timeout"] = t.into();
    }
    bundle.edit(|c| c["hooks"] = json!({ kind: [hook] }));
    bundle
}

/// A failing hook at create time fails `create` with one line naming the kind and path, and
/// nothing of the container is left.
#[test]
fn a_failing_create_time_hook_fails_create_and_leaves_nothing() {
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let rt = Runtime::new();
        let bundle = bundle_with_hook(kind, "echo 'hook says no' >&2; exit 1", Some(20));
        let id = rt.new_id();
        let (status, stderr) = create(&rt, &bundle, &id);
        assert!(!status.success(), "{kind}: create succeeded");
        assert_eq!(stderr.lines().count(), 1, "{kind}: stderr:\n{stderr}");
        assert!(
            stderr.contains(&format!("{kind} hook /bin/sh"))
                && stderr.contains("exited with status 1")
                && stderr.contains("hook says no"),
            "{kind}: {stderr}"
        );
        assert!(!rt.output(&["state", &id]).status.success());
        assert_nothing_left(&rt, &bundle, &id);
    }
}

/// A hook that overruns its timeout is killed and fails `create`, in about the timeout.
#[test]
fn a_hook_over_its_timeout_fails_create_and_leaves_nothing() {
    for kind in ["createRuntime", "createContainer"] {
        let rt = Runtime::new();
        // The hook notes its host pid (read from the host's /proc, which createContainer also
        // sees before the pivot), then sleeps as that pid.
        let script = "read pid rest < /proc/self/stat; echo $pid > @DIR@/hook.pid; exec sleep 60";
        let bundle = bundle_with_hook(kind, script, Some(1));
        let id = rt.new_id();
        let started = Instant::now();
        let (status, stderr) = create(&rt, &bundle, &id);
        let took = started.elapsed();
        assert!(!status.success(), "{kind}: create succeeded");
        assert_eq!(stderr.lines().count(), 1, "{kind}: stderr:\n{stderr}");
        assert!(
            stderr.contains(&format!("{kind} hook /bin/sh")) && stderr.contains("timed out"),
            "{kind}: {stderr}"
        );
        assert!(
            took >= Duration::from_secs(1) && took < Duration::from_secs(20),
            "{kind}: create took {took:?}"
        );
        assert_nothing_left(&rt, &bundle, &id);
        // The hook itself was killed (and reaped: no zombie either).
        let pid = fs::read_to_string(bundle.path().join("hook.pid")).unwrap();
        let proc_dir = format!("/proc/{}", pid.trim());
        assert!(
            common::wait_until(Duration::from_secs(5), || !Path::new(&proc_dir).exists()),
            "{kind}: the timed-out hook (pid {}) is still there",
            pid.trim()
        );
    }
}

/// A missing hook program fails create with its path named.
#[test]
fn a_missing_create_runtime_hook_program_fails_create() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "1000"]).config(|c| {
        c["hooks"] = json!({ "createRuntime": [{ "path": "/nonexistent/coracle-hook" }] })
    });
    let id = rt.new_id();
    let (status, stderr) = create(&rt, &bundle, &id);
    assert!(!status.success());
    assert_eq!(stderr.lines().count(), 1, "stderr:\n{stderr}");
    assert!(
        stderr.contains("createRuntime hook /nonexistent/coracle-hook"),
        "{stderr}"
    );
    assert_nothing_left(&rt, &bundle, &id);
}

/// A failing poststart hook is a warning: start succeeds and the container runs on.
#[test]
fn a_failing_poststart_hook_is_only_a_warning() {
    let rt = Runtime::new();
    let bundle = bundle_with_hook("poststart", "echo 'poststart trouble' >&2; exit 1", None);
    let id = rt.new_id();
    let (status, stderr) = create(&rt, &bundle, &id);
    assert!(status.success(), "create failed: {status}\n{stderr}");
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let (status, stderr) = run_rt(&rt, &["start", &id]);
    assert!(status.success(), "start failed: {status}\n{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("poststart hook /bin/sh"),
        "{stderr}"
    );
    assert_eq!(rt.status(&id), "running");
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\x001000\x00");
    rt.run_ok(&["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

/// A failing poststop hook is a warning: delete completes and removes everything.
#[test]
fn a_failing_poststop_hook_is_only_a_warning() {
    let rt = Runtime::new();
    let bundle =
        bundle_with_hook("poststop", "echo 'poststop trouble' >&2; exit 1", None).args(&["true"]);
    let id = rt.new_id();
    let (status, stderr) = create(&rt, &bundle, &id);
    assert!(status.success(), "create failed: {status}\n{stderr}");
    rt.run_ok(&["start", &id]);
    rt.wait_status(&id, "stopped", Duration::from_secs(10));
    let (status, stderr) = run_rt(&rt, &["delete", &id]);
    assert!(status.success(), "delete failed: {status}\n{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("poststop hook /bin/sh"),
        "{stderr}"
    );
    assert!(!rt.output(&["state", &id]).status.success());
    assert_nothing_left(&rt, &bundle, &id);
}

/// `run` runs the whole sequence too, ending with poststop as it removes the container.
#[test]
fn run_runs_every_hook_in_order() {
    let rt = Runtime::new();
    let (bundle, out) = recording_bundle();
    let bundle = bundle.args(&["true"]);
    let id = rt.new_id();
    let (status, stderr) = run_rt(&rt, &["run", "--bundle", bundle.path_str(), &id]);
    assert!(status.success(), "run failed: {status}\n{stderr}");
    assert_eq!(
        order(&out),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    assert_nothing_left(&rt, &bundle, &id);
}

/// createContainer's path is resolved in the runtime's namespace: a script that exists only on the
/// host (in the bundle directory, outside the rootfs) runs.
#[test]
fn create_container_hook_path_is_found_on_the_host() {
    let rt = Runtime::new();
    let mut bundle = Bundle::busybox().args(&["sleep", "1000"]);
    let script = bundle.path().join("cc-hook.sh");
    let marker = bundle.path().join("cc-ran");
    fs::write(
        &script,
        format!("#!/bin/sh\nhostname > {}\n", marker.display()),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let path = script.display().to_string();
    bundle.edit(|c| {
        c["hostname"] = "cc-host-path".into();
        c["hooks"] = json!({ "createContainer": [{ "path": path }] });
    });
    let id = rt.new_id();
    let (status, stderr) = create(&rt, &bundle, &id);
    assert!(status.success(), "create failed: {status}\n{stderr}");
    assert_eq!(fs::read_to_string(&marker).unwrap(), "cc-host-path\n");
    rt.run_ok(&["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

/// A failing startContainer hook fails `start` (one line naming it), the user's process never
/// runs, and the container ends stopped; delete then leaves nothing.
#[test]
fn a_failing_start_container_hook_fails_start_and_stops_the_container() {
    let rt = Runtime::new();
    let mut bundle = Bundle::busybox().args(&["sh", "-c", "echo ran > /out/user"]);
    let out = bundle.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::create_dir(bundle.rootfs().join("out")).unwrap();
    let out_str = out.display().to_string();
    bundle.edit(|c| {
        c["hooks"] = json!({ "startContainer": [{
            "path": "/bin/sh", "args": ["sh", "-c", "echo 'not today' >&2; exit 1"],
        }]});
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/out", "type": "bind", "source": out_str,
            "options": ["rbind", "rw"],
        }));
    });
    let id = rt.new_id();
    let (status, stderr) = create(&rt, &bundle, &id);
    assert!(status.success(), "create failed: {status}\n{stderr}");
    let (status, stderr) = run_rt(&rt, &["start", &id]);
    assert!(!status.success(), "start succeeded: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr:\n{stderr}");
    assert!(
        stderr.contains("startContainer hook /bin/sh")
            && stderr.contains("exited with status 1")
            && stderr.contains("not today"),
        "{stderr}"
    );
    rt.wait_status(&id, "stopped", Duration::from_secs(10));
    assert!(!out.join("user").exists(), "the user's process ran");
    rt.run_ok(&["delete", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}
