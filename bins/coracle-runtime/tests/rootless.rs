//! Rootless: the runtime run by an unprivileged user. Each test makes a throwaway user (useradd,
//! home under its own temp dir, subordinate id ranges), runs the runtime as that user through
//! `setpriv`, and removes the user (userdel, /etc/subuid and /etc/subgid lines) on Drop, even
//! when the test fails.

mod common;

use common::*;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// useradd/userdel lock /etc/passwd and fail rather than wait: one at a time in this process.
static USER_DB: Mutex<()> = Mutex::new(());

/// A first id and a count, as in /etc/subuid.
type Range = (u32, u32);

/// A throwaway unprivileged user with a home and an XDG_RUNTIME_DIR under `dir`.
struct TestUser {
    name: String,
    uid: u32,
    gid: u32,
    dir: PathBuf,
    subuid: Range,
    subgid: Range,
    /// The runtime binary as this user can reach it.
    bin: PathBuf,
}

impl TestUser {
    fn new() -> TestUser {
        let n = unique_id();
        let suffix = n.trim_start_matches("coracle-test-").replace('-', "x");
        let name = format!("crl{suffix}");
        // The guard exists from here on: whatever fails below, Drop removes the user and dir.
        let mut user = TestUser {
            uid: 0,
            gid: 0,
            name,
            dir: PathBuf::from(format!("/tmp/coracle-rootless-{suffix}")),
            subuid: (0, 0),
            subgid: (0, 0),
            bin: PathBuf::new(),
        };
        fs::create_dir_all(&user.dir).expect("user temp dir");
        fs::set_permissions(&user.dir, fs::Permissions::from_mode(0o755)).expect("chmod dir");
        {
            let _db = USER_DB.lock().unwrap_or_else(|e| e.into_inner());
            run_ok(
                Command::new("useradd")
                    .args(["-m", "-s", "/bin/sh", "-d"])
                    .arg(user.dir.join("home"))
                    .arg(&user.name),
            );
        }
        let ids = |flag: &str| -> u32 {
            let out = run_ok(Command::new("id").arg(flag).arg(&user.name));
            out.trim().parse().expect("numeric id")
        };
        (user.uid, user.gid) = (ids("-u"), ids("-g"));
        user.subuid = user.sub_range("/etc/subuid", "--add-subuids");
        user.subgid = user.sub_range("/etc/subgid", "--add-subgids");
        let run = user.xdg_runtime_dir();
        fs::create_dir(&run).expect("XDG_RUNTIME_DIR");
        std::os::unix::fs::chown(&run, Some(user.uid), Some(user.gid)).expect("chown run dir");
        fs::set_permissions(&run, fs::Permissions::from_mode(0o700)).expect("chmod run dir");
        user.bin = user.reachable_runtime();
        user
    }

    /// The user's range in `file` (useradd adds one where login.defs says so; else we do).
    fn sub_range(&self, file: &str, flag: &str) -> Range {
        if let Some(r) = range_of(file, &self.name) {
            return r;
        }
        let start = fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| parse_range(l).map(|(_, (s, c))| s + c))
            .max()
            .unwrap_or(0)
            .max(100_000);
        let _db = USER_DB.lock().unwrap_or_else(|e| e.into_inner());
        let span = format!("{start}-{}", start + 65535);
        run_ok(Command::new("usermod").args([flag, &span, &self.name]));
        range_of(file, &self.name).expect("range just added")
    }

    fn xdg_runtime_dir(&self) -> PathBuf {
        self.dir.join("run")
    }

    /// The binary under test, or a hard link (a copy across filesystems) in our dir when a
    /// directory on its path is closed to other users (a checkout under /root, say).
    fn reachable_runtime(&self) -> PathBuf {
        let bin = Runtime::new().bin().to_path_buf();
        let open = bin
            .ancestors()
            .all(|p| fs::metadata(p).is_ok_and(|m| m.mode() & 0o001 != 0));
        if open {
            return bin;
        }
        let here = self.dir.join("coracle-runtime");
        if fs::hard_link(&bin, &here).is_err() {
            fs::copy(&bin, &here).expect("copy the runtime");
        }
        here
    }

    /// The runtime as this user: `setpriv` to its uid, gid and groups, with its HOME and
    /// XDG_RUNTIME_DIR, and `--root` when `root` is given.
    fn runtime<S: AsRef<std::ffi::OsStr>>(&self, root: Option<&Path>, args: &[S]) -> Command {
        let mut cmd = Command::new("setpriv");
        cmd.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--init-groups")
            .arg("--")
            .arg(&self.bin)
            .env("HOME", self.dir.join("home"))
            .env("USER", &self.name)
            .env("LOGNAME", &self.name)
            .env("XDG_RUNTIME_DIR", self.xdg_runtime_dir())
            .stdin(Stdio::null());
        if let Some(root) = root {
            cmd.arg("--root").arg(root);
        }
        cmd.args(args);
        cmd
    }

    /// Run to completion as this user (stdin /dev/null, output captured).
    fn output<S: AsRef<std::ffi::OsStr>>(&self, root: Option<&Path>, args: &[S]) -> Output {
        self.runtime(root, args).output().expect("run the runtime")
    }

    fn run_ok<S: AsRef<std::ffi::OsStr>>(&self, root: Option<&Path>, args: &[S]) -> String {
        let out = self.output(root, args);
        assert!(
            out.status.success(),
            "{:?} as {}: {}\nstdout: {}\nstderr: {}",
            args.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn state(&self, root: Option<&Path>, id: &str) -> Value {
        serde_json::from_str(&self.run_ok(root, &["state", id])).expect("state is JSON")
    }

    /// A busybox bundle with the config `spec --rootless` writes for this user (terminal off,
    /// the given args), readable by the user.
    fn bundle(&self, args: &[&str]) -> Bundle {
        let spec_dir = self.dir.join(format!("spec-{}", unique_id()));
        fs::create_dir(&spec_dir).expect("spec dir");
        std::os::unix::fs::chown(&spec_dir, Some(self.uid), Some(self.gid)).expect("chown");
        self.run_ok(
            None,
            &["spec", "--rootless", "--bundle", spec_dir.to_str().unwrap()],
        );
        let text = fs::read_to_string(spec_dir.join("config.json")).expect("config.json");
        fs::remove_dir_all(&spec_dir).expect("remove spec dir");
        let mut config: Value = serde_json::from_str(&text).expect("JSON");
        config["process"]["terminal"] = json!(false);
        let bundle = Bundle::busybox().config(move |c| *c = config).args(args);
        run_ok(
            Command::new("chmod")
                .args(["-R", "a+rX"])
                .arg(bundle.path()),
        );
        bundle
    }

    /// Live (not zombie) processes of this user, as "PID NAME".
    fn processes(&self) -> Vec<String> {
        let mut found = Vec::new();
        for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(status) = fs::read_to_string(e.path().join("status")) else {
                continue;
            };
            let field = |k: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(k))
                    .unwrap_or("")
                    .trim()
                    .to_string()
            };
            let zombie = field("State:").starts_with('Z');
            let real_uid = field("Uid:").split_whitespace().next().map(str::to_string);
            if !zombie && real_uid == Some(self.uid.to_string()) {
                found.push(format!(
                    "{} {}",
                    e.file_name().to_string_lossy(),
                    field("Name:")
                ));
            }
        }
        found
    }

    /// Assert (for up to 5 s) that no process of this user is left.
    fn assert_no_processes(&self) {
        let mut left = Vec::new();
        let gone = wait_until(Duration::from_secs(5), || {
            left = self.processes();
            left.is_empty()
        });
        assert!(gone, "processes of {} left: {left:?}", self.name);
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _db = USER_DB.lock().unwrap_or_else(|e| e.into_inner());
        // -f: even if a failed test left a process behind (it is still removed as a user).
        let _ = Command::new("userdel")
            .args(["-f", "-r", &self.name])
            .output();
        for file in ["/etc/subuid", "/etc/subgid"] {
            if let Ok(text) = fs::read_to_string(file) {
                let prefix = format!("{}:", self.name);
                if text.lines().any(|l| l.starts_with(&prefix)) {
                    let kept: String = text
                        .lines()
                        .filter(|l| !l.starts_with(&prefix))
                        .map(|l| format!("{l}\n"))
                        .collect();
                    let _ = fs::write(file, kept);
                }
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn parse_range(line: &str) -> Option<(&str, Range)> {
    let mut f = line.split(':');
    let name = f.next()?;
    Some((name, (f.next()?.parse().ok()?, f.next()?.parse().ok()?)))
}

fn range_of(file: &str, name: &str) -> Option<Range> {
    fs::read_to_string(file)
        .ok()?
        .lines()
        .filter_map(parse_range)
        .find(|(n, _)| *n == name)
        .map(|(_, r)| r)
}

/// Run a host command as root; panic with its output unless it succeeds.
fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The host uid a process runs as (real uid, from its /proc status).
fn host_uid(pid: i64) -> u32 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    let line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .expect("Uid line");
    let ids: Vec<u32> = line[4..]
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(ids.iter().all(|&i| i == ids[0]), "mixed ids: {line}");
    ids[0]
}

fn mappings(ranges: &[(u32, u32, u32)]) -> Value {
    ranges
        .iter()
        .map(|&(c, h, s)| json!({"containerID": c, "hostID": h, "size": s}))
        .collect()
}

#[test]
fn run_of_a_spec_rootless_bundle_is_root_inside() {
    let user = TestUser::new();
    let rt = Runtime::new();
    let bundle = user.bundle(&["sh", "-c", "id -u; id -g; cat /proc/self/uid_map"]);
    let id = rt.new_id();
    let out = user.output(
        Some(rt.root()),
        &["run", "--bundle", bundle.path_str(), &id],
    );
    assert_eq!(exit_code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["0"], "{text}");
    assert_eq!(lines[1], ["0"], "{text}");
    assert_eq!(lines[2], ["0", &user.uid.to_string(), "1"], "{text}");
    assert_nothing_left(&rt, &bundle, &id);
    user.assert_no_processes();
}

#[test]
fn a_detached_container_is_the_user_on_the_host() {
    let user = TestUser::new();
    let rt = Runtime::new();
    let bundle = user.bundle(&["sleep", "60"]);
    let id = rt.new_id();
    let (code, err) = detached(user.runtime(
        Some(rt.root()),
        &["run", "-d", "--bundle", bundle.path_str(), &id],
    ));
    assert_eq!(code, 0, "{err}");
    let st = user.state(Some(rt.root()), &id);
    assert_eq!(st["status"], "running");
    let pid = st["pid"].as_i64().expect("pid");
    assert_eq!(host_uid(pid), user.uid);
    user.run_ok(Some(rt.root()), &["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
    user.assert_no_processes();
}

#[test]
fn a_root_only_host_file_bound_in_stays_unreadable() {
    let user = TestUser::new();
    let rt = Runtime::new();
    let secret = user.dir.join("secret");
    fs::write(&secret, "host secret\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let mut bundle = user.bundle(&["cat", "/secret"]);
    bundle.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/secret", "type": "bind", "source": secret, "options": ["bind"]
        }))
    });
    let id = rt.new_id();
    let out = user.output(
        Some(rt.root()),
        &["run", "--bundle", bundle.path_str(), &id],
    );
    assert_ne!(exit_code(&out), 0, "cat of a root-only file succeeded");
    assert!(!stdout(&out).contains("host secret"));
    assert!(
        stderr(&out).contains("Permission denied"),
        "{}",
        stderr(&out)
    );
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn several_ranges_go_through_newuidmap() {
    let user = TestUser::new();
    let rt = Runtime::new();
    let (su, sg) = (user.subuid, user.subgid);
    let mut bundle = user.bundle(&["cat", "/proc/self/uid_map", "/proc/self/gid_map"]);
    bundle.edit(|c| {
        c["linux"]["uidMappings"] = mappings(&[(0, user.uid, 1), (1, su.0, su.1)]);
        c["linux"]["gidMappings"] = mappings(&[(0, user.gid, 1), (1, sg.0, sg.1)]);
    });
    let id = rt.new_id();
    let out = user.output(
        Some(rt.root()),
        &["run", "--bundle", bundle.path_str(), &id],
    );
    assert_eq!(exit_code(&out), 0, "{}", stderr(&out));
    let got: Vec<Vec<String>> = stdout(&out)
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect();
    let want: Vec<Vec<String>> = [
        (0, user.uid, 1),
        (1, su.0, su.1),
        (0, user.gid, 1),
        (1, sg.0, sg.1),
    ]
    .iter()
    .map(|(c, h, s)| vec![c.to_string(), h.to_string(), s.to_string()])
    .collect();
    assert_eq!(got, want);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn a_container_user_from_the_subordinate_range_is_that_host_uid() {
    let user = TestUser::new();
    let rt = Runtime::new();
    let (su, sg) = (user.subuid, user.subgid);
    let mut bundle = user.bundle(&["sleep", "60"]);
    bundle.edit(|c| {
        c["linux"]["uidMappings"] = mappings(&[(0, user.uid, 1), (1, su.0, su.1)]);
        c["linux"]["gidMappings"] = mappings(&[(0, user.gid, 1), (1, sg.0, sg.1)]);
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    });
    let id = rt.new_id();
    let (code, err) = detached(user.runtime(
        Some(rt.root()),
        &["run", "-d", "--bundle", bundle.path_str(), &id],
    ));
    assert_eq!(code, 0, "{err}");
    let pid = user.state(Some(rt.root()), &id)["pid"].as_i64().unwrap();
    assert_eq!(host_uid(pid), su.0 + 999);
    user.run_ok(Some(rt.root()), &["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn state_lives_under_xdg_runtime_dir_without_root() {
    let user = TestUser::new();
    let bundle = user.bundle(&["sleep", "60"]);
    let id = unique_id();
    let (code, err) = detached(user.runtime(None, &["create", "--bundle", bundle.path_str(), &id]));
    assert_eq!(code, 0, "{err}");
    let state_dir = user.xdg_runtime_dir().join("coracle-runtime").join(&id);
    let meta = fs::metadata(state_dir.join("state.json")).expect("state under XDG_RUNTIME_DIR");
    assert_eq!(meta.uid(), user.uid);
    assert!(user.run_ok(None, &["list", "-q"]).lines().any(|l| l == id));
    user.run_ok(None, &["delete", "--force", &id]);
    assert!(
        !state_dir.exists(),
        "state dir left: {}",
        state_dir.display()
    );
    user.assert_no_processes();
}

#[test]
fn without_root_or_xdg_runtime_dir_one_clear_error() {
    let user = TestUser::new();
    let mut cmd = user.runtime(None, &["list"]);
    cmd.env_remove("XDG_RUNTIME_DIR");
    let out = cmd.output().unwrap();
    assert_ne!(exit_code(&out), 0);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("XDG_RUNTIME_DIR") && err.contains("--root"),
        "{err}"
    );
}

#[test]
fn undelegated_cgroups_are_skipped_with_one_warning() {
    let user = TestUser::new();
    let rt = Runtime::new();
    let bundle = user.bundle(&["true"]);
    let id = rt.new_id();
    let out = user.output(
        Some(rt.root()),
        &["run", "--bundle", bundle.path_str(), &id],
    );
    assert_eq!(exit_code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("warning") && err.contains("without a cgroup"),
        "{err}"
    );
    assert!(err.contains(&id), "{err}");
    // No cgroup directory named after the container, anywhere.
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn resource_limits_without_a_cgroup_are_refused() {
    let user = TestUser::new();
    let rt = Runtime::new();
    let mut bundle = user.bundle(&["true"]);
    bundle.edit(|c| c["linux"]["resources"] = json!({"memory": {"limit": 33554432}}));
    let id = rt.new_id();
    let before = HostSnapshot::take(&rt, &bundle, &[&id]);
    let out = user.output(
        Some(rt.root()),
        &["run", "--bundle", bundle.path_str(), &id],
    );
    assert_ne!(exit_code(&out), 0);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("linux.resources"), "{err}");
    HostSnapshot::take(&rt, &bundle, &[&id]).assert_same_as(&before);
    user.assert_no_processes();
}

#[test]
fn lifecycle_works_rootless() {
    let user = TestUser::new();
    let rt = Runtime::new();
    let bundle = user.bundle(&["sleep", "60"]);
    let root = Some(rt.root());
    let id = rt.new_id();
    let (code, err) = detached(user.runtime(root, &["create", "--bundle", bundle.path_str(), &id]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(user.state(root, &id)["status"], "created");
    user.run_ok(root, &["start", &id]);
    assert_eq!(user.state(root, &id)["status"], "running");
    let list = user.run_ok(root, &["list", "--format", "json"]);
    let list: Value = serde_json::from_str(&list).unwrap();
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == id.as_str()));
    assert_eq!(user.run_ok(root, &["exec", &id, "id", "-u"]).trim(), "0");
    let pids: Value =
        serde_json::from_str(&user.run_ok(root, &["ps", "--format", "json", &id])).unwrap();
    let init = user.state(root, &id)["pid"].clone();
    assert!(
        pids.as_array().unwrap().contains(&init),
        "{pids} lacks {init}"
    );
    user.run_ok(root, &["kill", &id, "KILL"]);
    let stopped = wait_until(Duration::from_secs(10), || {
        user.state(root, &id)["status"] == "stopped"
    });
    assert!(stopped, "not stopped after kill");
    user.run_ok(root, &["delete", &id]);
    assert_nothing_left(&rt, &bundle, &id);
    user.assert_no_processes();
}

#[test]
fn pause_without_a_cgroup_is_a_clear_error() {
    let user = TestUser::new();
    let rt = Runtime::new();
    let bundle = user.bundle(&["sleep", "60"]);
    let root = Some(rt.root());
    let id = rt.new_id();
    let (code, err) =
        detached(user.runtime(root, &["run", "-d", "--bundle", bundle.path_str(), &id]));
    assert_eq!(code, 0, "{err}");
    let out = user.output(root, &["pause", &id]);
    assert_ne!(exit_code(&out), 0);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("has no cgroup"), "{err}");
    assert_eq!(user.state(root, &id)["status"], "running");
    user.run_ok(root, &["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
    user.assert_no_processes();
}

#[test]
fn a_mapping_the_user_may_not_have_is_one_error_and_leaves_nothing() {
    let user = TestUser::new();
    let rt = Runtime::new();
    let mut bundle = user.bundle(&["true"]);
    // Right after the user's own subordinate range: someone else's ids.
    let beyond = user.subuid.0 + user.subuid.1;
    bundle.edit(|c| c["linux"]["uidMappings"] = mappings(&[(0, user.uid, 1), (1, beyond, 1000)]));
    let id = rt.new_id();
    let before = HostSnapshot::take(&rt, &bundle, &[&id]);
    let out = user.output(
        Some(rt.root()),
        &["run", "--bundle", bundle.path_str(), &id],
    );
    assert_ne!(exit_code(&out), 0);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("linux.uidMappings") && err.contains("newuidmap"),
        "{err}"
    );
    HostSnapshot::take(&rt, &bundle, &[&id]).assert_same_as(&before);
    user.assert_no_processes();
}

#[test]
fn sysfs_falls_back_to_the_hosts_sys_without_a_network_namespace() {
    let user = TestUser::new();
    let rt = Runtime::new();
    let mut bundle = user.bundle(&[
        "sh",
        "-c",
        "ls /sys/kernel >/dev/null && grep ' /sys ' /proc/self/mountinfo",
    ]);
    bundle.edit(|c| {
        for m in c["mounts"].as_array_mut().unwrap() {
            if m["destination"] == "/sys" {
                *m = json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
                            "options": ["nosuid", "noexec", "nodev", "ro"]});
            }
        }
    });
    let id = rt.new_id();
    let out = user.output(
        Some(rt.root()),
        &["run", "--bundle", bundle.path_str(), &id],
    );
    assert_eq!(exit_code(&out), 0, "{}", stderr(&out));
    let line = stdout(&out);
    let opts = line.split_whitespace().nth(5).unwrap_or("");
    assert!(
        opts.split(',').any(|o| o == "ro"),
        "/sys not read-only: {line}"
    );
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn rootless_false_makes_an_undelegated_cgroup_an_error() {
    let user = TestUser::new();
    let rt = Runtime::new();
    let bundle = user.bundle(&["true"]);
    let id = rt.new_id();
    let before = HostSnapshot::take(&rt, &bundle, &[&id]);
    let out = user.output(
        Some(rt.root()),
        &[
            "--rootless=false",
            "run",
            "--bundle",
            bundle.path_str(),
            &id,
        ],
    );
    assert_ne!(exit_code(&out), 0);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("linux.cgroupsPath") && err.contains("Permission denied"),
        "{err}"
    );
    HostSnapshot::take(&rt, &bundle, &[&id]).assert_same_as(&before);
    user.assert_no_processes();
}

#[test]
fn a_config_without_a_user_namespace_is_one_clear_error() {
    let user = TestUser::new();
    let rt = Runtime::new();
    // The harness's default: runc's root config, no user namespace.
    let bundle = Bundle::busybox().args(&["true"]);
    run_ok(
        Command::new("chmod")
            .args(["-R", "a+rX"])
            .arg(bundle.path()),
    );
    let id = rt.new_id();
    let before = HostSnapshot::take(&rt, &bundle, &[&id]);
    let out = user.output(
        Some(rt.root()),
        &["run", "--bundle", bundle.path_str(), &id],
    );
    assert_ne!(exit_code(&out), 0);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("linux.namespaces") && err.contains("user namespace"),
        "{err}"
    );
    HostSnapshot::take(&rt, &bundle, &[&id]).assert_same_as(&before);
    user.assert_no_processes();
}

#[test]
fn additional_gids_with_setgroups_denied_are_one_clear_error() {
    let user = TestUser::new();
    let rt = Runtime::new();
    let mut bundle = user.bundle(&["true"]);
    bundle.edit(|c| c["process"]["user"]["additionalGids"] = json!([0]));
    let id = rt.new_id();
    let before = HostSnapshot::take(&rt, &bundle, &[&id]);
    let out = user.output(
        Some(rt.root()),
        &["run", "--bundle", bundle.path_str(), &id],
    );
    assert_ne!(exit_code(&out), 0);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("process.user.additionalGids"), "{err}");
    HostSnapshot::take(&rt, &bundle, &[&id]).assert_same_as(&before);
    user.assert_no_processes();
}

/// A cgroup2 directory given to a user (as systemd delegates one): the directory and its files are
/// the user's, and `outer/` is where the runtime itself is put. Removed on Drop (children first).
struct DelegatedCgroup {
    dir: PathBuf,
}

impl DelegatedCgroup {
    /// On the host's cgroup2 hierarchy (the unified mount on hybrid hosts); None on pure v1.
    fn new(user: &TestUser) -> Option<DelegatedCgroup> {
        let mount = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .iter()
            .map(Path::new)
            .find(|m| {
                m.join("cgroup.procs").exists()
                    && fs::metadata(m.join("cgroup.controllers")).is_ok()
            })?;
        let dir = mount.join(unique_id().replace("coracle-test", "coracle-deleg"));
        fs::create_dir_all(dir.join("outer")).expect("mkdir delegated cgroup");
        let cg = DelegatedCgroup { dir };
        run_ok(
            Command::new("chown")
                .arg("-R")
                .arg(format!("{}:{}", user.uid, user.gid))
                .arg(&cg.dir),
        );
        Some(cg)
    }

    /// The cgroupsPath of a container below it.
    fn path_for(&self, name: &str) -> String {
        let mount = self.dir.parent().unwrap();
        format!(
            "/{}/{name}",
            self.dir.strip_prefix(mount).unwrap().display()
        )
    }

    /// `cmd`, started from `outer/` (a shell moves itself there, then execs it).
    fn run_inside(&self, cmd: &Command) -> Command {
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(r#"echo $$ > "$0" && exec "$@""#)
            .arg(self.dir.join("outer/cgroup.procs"))
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .stdin(Stdio::null());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
        }
        sh
    }
}

impl Drop for DelegatedCgroup {
    fn drop(&mut self) {
        fn remove(dir: &Path) {
            for e in fs::read_dir(dir).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    remove(&e.path());
                }
            }
            let _ = fs::remove_dir(dir);
        }
        remove(&self.dir);
    }
}

#[test]
fn a_delegated_cgroup_is_used_without_a_warning() {
    let user = TestUser::new();
    let Some(cg) = DelegatedCgroup::new(&user) else {
        eprintln!("no cgroup2 hierarchy on this host: skipped");
        return;
    };
    let rt = Runtime::new();
    let root = Some(rt.root());
    let mut bundle = user.bundle(&["sh", "-c", "cat /proc/self/cgroup; sleep 60"]);
    let path = cg.path_for("ctr");
    bundle.edit(|c| c["linux"]["cgroupsPath"] = json!(path));
    let id = rt.new_id();
    let out_file = user.dir.join("out");
    let mut run =
        cg.run_inside(&user.runtime(root, &["run", "-d", "--bundle", bundle.path_str(), &id]));
    run.stdout(fs::File::create(&out_file).unwrap());
    let (code, err) = detached_keeping_stdout(run);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    let shown = wait_until(Duration::from_secs(5), || {
        fs::read_to_string(&out_file).is_ok_and(|t| t.lines().any(|l| l == format!("0::{path}")))
    });
    assert!(shown, "not in {path}: {:?}", fs::read_to_string(&out_file));
    user.run_ok(root, &["pause", &id]);
    assert_eq!(user.state(root, &id)["status"], "paused");
    user.run_ok(root, &["resume", &id]);
    assert_eq!(user.state(root, &id)["status"], "running");
    user.run_ok(root, &["delete", "--force", &id]);
    assert!(
        !cg.dir.join("ctr").exists(),
        "the container's cgroup is left"
    );
    assert_nothing_left(&rt, &bundle, &id);
    user.assert_no_processes();
}

/// Like the harness's `detached`, but stdout stays where the command has it.
fn detached_keeping_stdout(mut cmd: Command) -> (i32, String) {
    let err_path = PathBuf::from(format!("/tmp/{}.stderr", unique_id()));
    cmd.stderr(fs::File::create(&err_path).expect("stderr file"));
    let mut child = cmd.spawn().expect("spawn");
    let status = wait_child(&mut child, COMMAND_TIMEOUT);
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    let _ = fs::remove_file(&err_path);
    (status.and_then(|s| s.code()).unwrap_or(-1), stderr)
}

#[test]
fn kill_all_without_a_cgroup_reaches_the_whole_pid_namespace() {
    let user = TestUser::new();
    let rt = Runtime::new();
    let root = Some(rt.root());
    // The init (pid 1 inside) ignores SIGTERM; its child does not.
    let bundle = user.bundle(&["sh", "-c", "sleep 100 & exec sleep 200"]);
    let id = rt.new_id();
    let (code, err) =
        detached(user.runtime(root, &["run", "-d", "--bundle", bundle.path_str(), &id]));
    assert_eq!(code, 0, "{err}");
    let pids = || -> Vec<Value> {
        let text = user.run_ok(root, &["ps", "--format", "json", &id]);
        serde_json::from_str::<Value>(&text)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    assert!(
        wait_until(Duration::from_secs(5), || pids().len() == 2),
        "{:?}",
        pids()
    );
    user.run_ok(root, &["kill", "--all", &id, "TERM"]);
    let init = user.state(root, &id)["pid"].clone();
    assert!(
        wait_until(Duration::from_secs(5), || pids() == [init.clone()]),
        "{:?}",
        pids()
    );
    assert_eq!(user.state(root, &id)["status"], "running");
    user.run_ok(root, &["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
    user.assert_no_processes();
}

#[test]
fn container_root_mapped_away_from_the_user_is_one_clear_error() {
    let user = TestUser::new();
    let rt = Runtime::new();
    let (su, sg) = (user.subuid, user.subgid);
    let mut bundle = user.bundle(&["true"]);
    // Allowed by /etc/subuid, but the runtime could not hand its exec fifo to that uid.
    bundle.edit(|c| {
        c["linux"]["uidMappings"] = mappings(&[(0, su.0, su.1)]);
        c["linux"]["gidMappings"] = mappings(&[(0, sg.0, sg.1)]);
    });
    let id = rt.new_id();
    let before = HostSnapshot::take(&rt, &bundle, &[&id]);
    let out = user.output(
        Some(rt.root()),
        &["run", "--bundle", bundle.path_str(), &id],
    );
    assert_ne!(exit_code(&out), 0);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("linux.uidMappings") && err.contains(&format!("host uid {}", su.0)),
        "{err}"
    );
    HostSnapshot::take(&rt, &bundle, &[&id]).assert_same_as(&before);
    user.assert_no_processes();
}
