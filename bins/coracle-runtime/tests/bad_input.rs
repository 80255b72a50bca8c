//! Bad input and failures: each gives one clear line on stderr naming the field or file and what is
//! wrong, a non-zero exit, and leaves nothing behind (no mounts, cgroups, state, processes),
//! checked by comparing the host before and after.

mod common;

use common::{assert_nothing_left, Bundle, HostSnapshot, Runtime};
use serde_json::json;
use std::fs;
use std::process::{ExitStatus, Stdio};

/// Run the runtime with stdout and stderr in files (a container that wrongly survived would hold a
/// pipe open and hang the test); returns the status and stderr.
fn run_rt(rt: &Runtime, args: &[&str]) -> (ExitStatus, String) {
    let path = format!("/tmp/{}.bad-input-err", rt.new_id());
    let err = fs::File::create(&path).unwrap();
    let status = rt
        .cmd(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .status()
        .expect("execute runtime");
    let text = fs::read_to_string(&path).unwrap_or_default();
    let _ = fs::remove_file(&path);
    (status, text)
}

/// Run `args` (which must fail) for container `id` of `bundle`; check the exit is non-zero, that
/// stderr is exactly one line containing every one of `wants`, and that the host is as before.
/// Also checks nothing of `id` exists (see `failure_of` for an id that is taken).
/// Returns the line.
fn expect_failure(
    rt: &Runtime,
    bundle: &Bundle,
    id: &str,
    args: &[&str],
    wants: &[&str],
) -> String {
    let line = failure_of(rt, bundle, id, args, wants);
    assert_nothing_left(rt, bundle, id);
    assert!(
        !rt.output(&["state", id]).status.success(),
        "{args:?}: `state {id}` works after a failed command"
    );
    line
}

/// `expect_failure` without the check that `id` is unknown: the host is only as it was before.
fn failure_of(rt: &Runtime, bundle: &Bundle, id: &str, args: &[&str], wants: &[&str]) -> String {
    let before = HostSnapshot::take(rt, bundle, &[id]);
    let (status, stderr) = run_rt(rt, args);
    assert!(
        !status.success() && status.code().is_some(),
        "{args:?}: expected a failing exit, got {status}; stderr: {stderr}"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?}: stderr must be one line:\n{stderr}"
    );
    assert!(stderr.ends_with('\n'), "{args:?}: {stderr:?}");
    let line = stderr.trim_end().to_string();
    assert!(!line.contains("(os error"), "{args:?}: {line:?}");
    for want in wants {
        assert!(line.contains(want), "{args:?}: {line:?} lacks {want:?}");
    }
    HostSnapshot::take(rt, bundle, &[id]).assert_same_as(&before);
    line
}

/// `create --bundle <bundle> <new id>` must fail with one line containing `wants`.
fn create_fails(bundle: &Bundle, wants: &[&str]) -> String {
    let rt = Runtime::new();
    let id = rt.new_id();
    expect_failure(
        &rt,
        bundle,
        &id,
        &["create", "--bundle", bundle.path_str(), &id],
        wants,
    )
}

fn config_json(bundle: &Bundle) -> String {
    bundle.path().join("config.json").display().to_string()
}

#[test]
fn a_missing_bundle_directory() {
    let bundle = Bundle::busybox();
    let missing = bundle.path().join("no-such-bundle");
    let missing = missing.to_str().unwrap();
    let rt = Runtime::new();
    let id = rt.new_id();
    expect_failure(
        &rt,
        &bundle,
        &id,
        &["create", "--bundle", missing, &id],
        &[missing, "No such file or directory"],
    );
}

#[test]
fn a_config_that_is_not_json_keeps_line_and_column() {
    let bundle = Bundle::busybox();
    fs::write(
        bundle.path().join("config.json"),
        "{\n  \"ociVersion\": \"1.0.2\",\n  oops\n}\n",
    )
    .unwrap();
    create_fails(&bundle, &[&config_json(&bundle), "line 3 column 3"]);
}

#[test]
fn a_field_of_the_wrong_type_is_named_by_its_json_path() {
    let bundle = Bundle::busybox().config(|c| c["process"]["args"] = "sh".into());
    create_fails(&bundle, &[&config_json(&bundle), "process.args", "string"]);
}

#[test]
fn an_unsupported_oci_version() {
    let bundle = Bundle::busybox().config(|c| c["ociVersion"] = "2.0.0".into());
    create_fails(&bundle, &["ociVersion", "2.0.0", "not supported"]);
}

#[test]
fn a_missing_rootfs_directory() {
    let bundle = Bundle::busybox();
    fs::remove_dir_all(bundle.rootfs()).unwrap();
    let rootfs = bundle.rootfs().display().to_string();
    create_fails(
        &bundle,
        &["root.path", &rootfs, "No such file or directory"],
    );
}

#[test]
fn empty_process_args() {
    let bundle = Bundle::busybox().args(&[]);
    create_fails(&bundle, &["process.args", "must not be empty"]);
}

#[test]
fn an_unknown_namespace_path() {
    let bundle = Bundle::busybox();
    let path = bundle.path().join("no-such-netns").display().to_string();
    let bundle = bundle.config(|c| c["linux"]["namespaces"][1]["path"] = path.clone().into());
    assert_eq!(bundle.spec()["linux"]["namespaces"][1]["type"], "network");
    create_fails(
        &bundle,
        &[
            "linux.namespaces[1].path",
            &path,
            "No such file or directory",
        ],
    );
}

#[test]
fn a_namespace_path_that_is_not_a_namespace() {
    let bundle = Bundle::busybox();
    let path = config_json(&bundle);
    let bundle = bundle.config(|c| c["linux"]["namespaces"][1]["path"] = path.clone().into());
    create_fails(
        &bundle,
        &["linux.namespaces[1].path", &path, "not a namespace"],
    );
}

#[test]
fn a_namespace_listed_twice() {
    let bundle = Bundle::busybox().config(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "uts"}))
    });
    create_fails(&bundle, &["linux.namespaces[5]", "uts", "twice"]);
}

#[test]
fn an_unknown_namespace_type() {
    let bundle = Bundle::busybox().config(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "bogus"}))
    });
    create_fails(&bundle, &["linux.namespaces[5]", "bogus"]);
}

#[test]
fn an_unknown_capability() {
    let bundle = Bundle::busybox().config(|c| {
        c["process"]["capabilities"]["bounding"]
            .as_array_mut()
            .unwrap()
            .push("CAP_BOGUS".into())
    });
    create_fails(
        &bundle,
        &[
            "process.capabilities.bounding[3]",
            "CAP_BOGUS",
            "capability",
        ],
    );
}

/// The bind source is checked in the init, after the clone and the cgroup: the error must still
/// come back whole and everything be undone.
#[test]
fn a_bind_mount_whose_source_is_missing_names_the_mount() {
    let bundle = Bundle::busybox();
    let source = bundle.path().join("no-such-source").display().to_string();
    let bundle = bundle.config(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/data", "type": "bind", "source": source,
            "options": ["rbind", "ro"],
        }))
    });
    create_fails(&bundle, &["mounts[7]", &source]);
}

#[test]
fn an_invalid_container_id() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox();
    for id in ["a/b", "..", "bad id"] {
        let line = expect_failure(
            &rt,
            &bundle,
            id,
            &["create", "--bundle", bundle.path_str(), id],
            &[id, "invalid container id"],
        );
        assert!(!line.contains("No such file"), "{line}");
    }
    assert!(
        fs::read_dir(rt.root())
            .map(|d| d.count() == 0)
            .unwrap_or(true),
        "the runtime root is not empty"
    );
}

/// A second create of the same id fails and leaves the first container as it was.
#[test]
fn a_duplicate_id_fails_and_the_first_container_is_untouched() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "1000"]);
    let other = Bundle::busybox().args(&["sleep", "1000"]);
    let id = rt.create(&bundle);
    let first = rt.state(&id);
    assert_eq!(first["status"], "created");
    // The snapshot covers the first container's cgroups, state and process.
    failure_of(
        &rt,
        &bundle,
        &id,
        &["create", "--bundle", other.path_str(), &id],
        &[&id, "already exists"],
    );
    let again = rt.state(&id);
    assert_eq!(again, first, "the first container changed");
    let pid = first["pid"].as_i64().unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    // It still starts and runs its own process.
    rt.run_ok(&["start", &id]);
    assert_eq!(rt.status(&id), "running");
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\x001000\x00");
    rt.run_ok(&["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn create_of_a_missing_binary() {
    let bundle = Bundle::busybox().args(&["/bin/no-such-binary", "x"]);
    create_fails(&bundle, &["/bin/no-such-binary", "no such executable"]);
}

#[test]
fn run_of_a_missing_binary() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["no-such-binary"]);
    let id = rt.new_id();
    let line = expect_failure(
        &rt,
        &bundle,
        &id,
        &["run", "--bundle", bundle.path_str(), &id],
        &["no-such-binary"],
    );
    assert!(
        line.contains("not found") || line.contains("No such file"),
        "{line}"
    );
}

#[test]
fn a_failing_hook() {
    let bundle = Bundle::busybox().config(|c| {
        c["hooks"] = json!({"createRuntime": [{
            "path": "/bin/sh", "args": ["sh", "-c", "echo refused >&2; exit 1"],
        }]})
    });
    create_fails(
        &bundle,
        &[
            "createRuntime hook /bin/sh",
            "exited with status 1",
            "refused",
        ],
    );
}

#[test]
fn a_cwd_that_is_a_file() {
    let bundle = Bundle::busybox().config(|c| c["process"]["cwd"] = "/etc/passwd".into());
    create_fails(&bundle, &["process.cwd", "/etc/passwd", "not a directory"]);
}

#[test]
fn a_relative_cwd() {
    let bundle = Bundle::busybox().config(|c| c["process"]["cwd"] = "tmp".into());
    create_fails(&bundle, &["process.cwd", "absolute"]);
}

/// The pid file is written after the init was started: its failure must kill the init (a parked
/// init shows the runtime's command line, naming the root; the snapshot finds it by that or by its
/// cgroup) and remove the cgroup and state too. The message names the user's path.
#[test]
fn a_pid_file_in_a_missing_directory() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "1000"]);
    let id = rt.new_id();
    let pid_file = bundle.path().join("no-such-dir/pid").display().to_string();
    let args = [
        "create",
        "--bundle",
        bundle.path_str(),
        "--pid-file",
        &pid_file,
        &id,
    ];
    let want = format!("--pid-file {pid_file}: No such file or directory");
    expect_failure(&rt, &bundle, &id, &args, &[&want]);
}

/// A pid file that cannot replace what is at its path (a directory) fails the same way and leaves
/// no temporary file next to it.
#[test]
fn a_pid_file_that_is_a_directory() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "1000"]);
    let id = rt.new_id();
    let pid_dir = bundle.path().join("pid-dir");
    fs::create_dir(&pid_dir).unwrap();
    let pid_file = pid_dir.display().to_string();
    let args = [
        "create",
        "--bundle",
        bundle.path_str(),
        "--pid-file",
        &pid_file,
        &id,
    ];
    expect_failure(
        &rt,
        &bundle,
        &id,
        &args,
        &[&format!("--pid-file {pid_file}: ")],
    );
    let mut names: Vec<String> = fs::read_dir(bundle.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["config.json", "pid-dir", "rootfs"]);
}

/// With `--log FILE --log-format json` (how the containerd shim calls a runtime) the same error is
/// the last JSON line of the log, at level "error", and stderr still has the one line.
#[test]
fn the_error_also_goes_to_the_json_log() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().config(|c| c["process"]["args"] = json!([]));
    let id = rt.new_id();
    let log = bundle.path().join("runtime.log");
    let log_str = log.display().to_string();
    let args = [
        "--log",
        &log_str,
        "--log-format",
        "json",
        "create",
        "--bundle",
        bundle.path_str(),
        &id,
    ];
    let line = expect_failure(&rt, &bundle, &id, &args, &["process.args"]);
    let text = fs::read_to_string(&log).expect("log written");
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap())
        .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {text}"));
    assert_eq!(last["level"], "error", "{text}");
    let msg = last["msg"].as_str().unwrap();
    assert!(line.ends_with(msg), "stderr {line:?} vs log msg {msg:?}");
    assert!(msg.contains("process.args: must not be empty"), "{msg}");
}
