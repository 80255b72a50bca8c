//! Helpers for the container tests (`engine_*.rs`): a store per test with a busybox image, and
//! the check that a container left nothing on the host.
#![allow(dead_code)]

use std::path::Path;
use std::process::Output;

pub use crate::common::Env;

pub const IMAGE: &str = "engine-test/busybox:1";

/// A test's store with the busybox image imported; on drop (also after a failed assertion)
/// every container of that store is removed (`rm -f`: processes, mounts, netns), before the
/// temp dir goes.
pub fn env() -> TestEnv {
    let env = Env::new();
    env.import_busybox(IMAGE);
    TestEnv(env)
}

pub struct TestEnv(pub Env);

impl std::ops::Deref for TestEnv {
    type Target = Env;
    fn deref(&self) -> &Env {
        &self.0
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        for id in ids(&self.0) {
            let _ = self.0.output(&["rm", "-f", &id]);
        }
    }
}

pub fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not signalled")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exactly one error line, naming `what`; exit `want`.
pub fn assert_one_error(out: &Output, want: i32, what: &str) {
    let err = stderr(out);
    assert_eq!(code(out), want, "exit code; stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one error line: {err}");
    assert!(err.contains(what), "{err:?} does not name {what:?}");
}

/// `inspect` of one container, parsed.
pub fn inspect(env: &Env, name: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["inspect", name])).unwrap();
    v[0].clone()
}

/// Nothing of the container `id` (64 hex) on the host: no record dir, runtime state, mount,
/// cgroup or netns file.
pub fn assert_gone(env: &Env, id: &str) {
    let root = env.root();
    assert!(
        !root.join("containers").join(id).exists(),
        "record dir of {id} left"
    );
    assert!(
        !root.join("runtime").join(id).exists(),
        "runtime state of {id} left"
    );
    assert!(
        !root.join("run/netns").join(id).exists(),
        "netns of {id} left"
    );
    assert!(
        !root.join("run/net").join(id).exists(),
        "network files of {id} left"
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(id), "a mount of {id} left:\n{mounts}");
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        assert!(
            !h.path().join(id).exists(),
            "cgroup {}/{id} left",
            h.path().display()
        );
    }
    // A pure cgroup v2 host has one hierarchy, /sys/fs/cgroup itself.
    assert!(
        !Path::new("/sys/fs/cgroup").join(id).exists(),
        "cgroup /sys/fs/cgroup/{id} left"
    );
}

/// No container of this store is left at all (records, mounts under the root, netns).
pub fn assert_store_empty(env: &Env) {
    let root = env.root();
    let left: Vec<String> = std::fs::read_dir(root.join("containers"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != ".lock")
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "containers left: {left:?}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let r = root.to_string_lossy().into_owned();
    assert!(!mounts.contains(&r), "mounts under {r} left");
    let netns = root.join("run/netns");
    assert!(
        !netns.exists() || std::fs::read_dir(&netns).unwrap().next().is_none(),
        "netns files left"
    );
}

/// The containers' ids (all states).
pub fn ids(env: &Env) -> Vec<String> {
    let dir = env.root().join("containers");
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.len() == 64)
                .collect()
        })
        .unwrap_or_default()
}

pub fn exists(p: &Path) -> bool {
    p.symlink_metadata().is_ok()
}

/// Poll `f` until it holds (10 s at most): for conditions with no event to wait on.
pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !f() {
        assert!(
            std::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The pid of the container's monitor, the parent of its init `pid`, once it relays: the
/// monitor answers `run -d` and then re-execs itself as `__relay ID`, and while that exec is
/// under way its /proc cmdline reads empty (or still `__monitor`).
pub fn relaying_monitor(pid: i64, id: &str) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let ppid = status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cmdline = || {
        let c = std::fs::read(format!("/proc/{ppid}/cmdline")).unwrap_or_default();
        String::from_utf8_lossy(&c).replace('\0', " ")
    };
    wait_until("the monitor's exec as __relay", || {
        let c = cmdline();
        c.contains("__relay") && c.contains(id)
    });
    ppid
}

/// The container's log so far (`logs`, stdout only).
pub fn logs(env: &Env, name: &str) -> String {
    env.ok(&["logs", name])
}

/// Load the busybox rootfs as `reference` with this image config (`config` is the image
/// config's `config` object, e.g. `{"Cmd":["sh"],"StopSignal":"SIGUSR1"}`), through a
/// docker-archive made here.
pub fn load_busybox_with_config(env: &Env, reference: &str, config: serde_json::Value) {
    let rootfs = env.path("busybox-rootfs");
    if !rootfs.exists() {
        crate::common::busybox_rootfs(&rootfs);
    }
    let mut layer = tar::Builder::new(Vec::new());
    layer.follow_symlinks(false);
    layer.append_dir_all(".", &rootfs).unwrap();
    let layer = layer.into_inner().unwrap();
    let diff_id = format!("sha256:{}", crate::common::sha256_hex(&layer));
    let cfg = serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": config,
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
    });
    let cfg = serde_json::to_vec(&cfg).unwrap();
    let manifest = serde_json::json!([{
        "Config": "config.json", "RepoTags": [reference], "Layers": ["layer.tar"],
    }]);
    let mut archive = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("config.json", cfg),
        ("layer.tar", layer),
        ("manifest.json", serde_json::to_vec(&manifest).unwrap()),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        archive.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    let path = env.path("image.tar");
    std::fs::write(&path, archive.into_inner().unwrap()).unwrap();
    env.ok(&[
        std::ffi::OsStr::new("load"),
        "-i".as_ref(),
        path.as_os_str(),
    ]);
}
