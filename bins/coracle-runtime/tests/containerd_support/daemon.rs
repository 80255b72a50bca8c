//! A private containerd for one test: its own root, state, gRPC and ttrpc sockets and runtime
//! root under `/tmp/coracle-test-<pid>-<n>-containerd/`, its own namespace (so the cgroup parent
//! `/<namespace>` that ctr gives containers is unique too), the test images imported. On Drop:
//! what is still running is killed and deleted, containerd is stopped by PID, leftover shims
//! of this daemon are killed by PID, mounts under the directory are detached, the shim sockets
//! it made under /run/containerd/s, the cgroup parents and the directory are removed.

use super::image::{self, archives};
use crate::common::{unique_id, wait_until, COMMAND_TIMEOUT};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// The name of the CRI runtime handler (a Kubernetes RuntimeClass) whose BinaryName is the
/// runtime under test.
pub const CRI_HANDLER: &str = "coracle";

pub struct Containerd {
    dir: PathBuf,
    child: Child,
    namespace: String,
    runtime: PathBuf,
    cri: bool,
}

impl Containerd {
    /// Whether containerd is installed; if not, print why the calling test is skipped.
    pub fn installed(test: &str) -> bool {
        let found = Command::new("containerd")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok();
        if !found {
            // Straight to stderr: the test harness captures eprintln! of passing tests.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: containerd is not installed (apt-get install containerd)"
            );
        }
        found
    }

    /// Start containerd without the CRI plugin, for `ctr` with `--runc-binary runtime`.
    pub fn start(runtime: &Path) -> Containerd {
        Self::launch(runtime, false)
    }

    /// Start containerd with the CRI plugin: runtime handler [`CRI_HANDLER`] runs `runtime`
    /// through the runc v2 shim; the sandbox image is the local pause image.
    pub fn start_with_cri(runtime: &Path) -> Containerd {
        Self::launch(runtime, true)
    }

    fn launch(runtime: &Path, cri: bool) -> Containerd {
        let archives = archives();
        let namespace = unique_id();
        let dir = PathBuf::from(format!("/tmp/{namespace}-containerd"));
        fs::create_dir_all(dir.join("cni")).expect("create containerd dir");
        let config = dir.join("config.toml");
        fs::write(&config, config_toml(&dir, runtime, cri)).expect("write config.toml");
        let log = fs::File::create(dir.join("containerd.log")).expect("containerd.log");
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("spawn containerd");
        let mut d = Containerd {
            dir,
            child,
            namespace,
            runtime: runtime.to_path_buf(),
            cri,
        };
        d.wait_ready();
        let image_ns = if cri { "k8s.io" } else { d.namespace.as_str() };
        for archive in [&archives.busybox, &archives.pause] {
            d.ctr_in_ok(image_ns, &["image", "import", s(archive)]);
        }
        d
    }

    /// Wait (bounded) until `ctr version` reaches the daemon.
    fn wait_ready(&mut self) {
        let ok = wait_until(COMMAND_TIMEOUT, || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("containerd exited: {status}\n{}", self.log());
            }
            self.socket().exists()
                && self
                    .ctr(&["version"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
        });
        assert!(ok, "containerd did not come up:\n{}", self.log());
    }

    /// The directory everything of this daemon lives in (removed on Drop).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The gRPC socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("containerd.sock")
    }

    /// The namespace the `ctr` helpers use.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The runtime's `--root` for this daemon's containers.
    pub fn runtime_root(&self) -> PathBuf {
        self.dir.join("runtime")
    }

    /// `--runc-binary RUNTIME --runc-root ROOT`: what `ctr run` needs to use the runtime.
    pub fn runtime_flags(&self) -> Vec<String> {
        vec![
            "--runc-binary".into(),
            s(&self.runtime).into(),
            "--runc-root".into(),
            s(&self.runtime_root()).into(),
        ]
    }

    /// containerd's own log (the shim's warnings land here too).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
    }

    /// `ctr --address SOCKET --namespace NS ARGS`, not yet started.
    pub fn ctr<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        self.ctr_in(&self.namespace, args)
    }

    fn ctr_in<S: AsRef<std::ffi::OsStr>>(&self, namespace: &str, args: &[S]) -> Command {
        let mut cmd = Command::new("ctr");
        cmd.arg("--address")
            .arg(self.socket())
            .arg("--namespace")
            .arg(namespace)
            .args(args);
        cmd
    }

    /// Run `ctr ARGS` to completion (stdin /dev/null).
    pub fn ctr_output<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Output {
        self.ctr(args)
            .stdin(Stdio::null())
            .output()
            .expect("run ctr")
    }

    /// Run `ctr ARGS`; panic with its stderr and containerd's log unless it exits 0.
    pub fn ctr_ok<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> String {
        self.ctr_in_ok(&self.namespace, args)
    }

    fn ctr_in_ok<S: AsRef<std::ffi::OsStr>>(&self, namespace: &str, args: &[S]) -> String {
        let out = self
            .ctr_in(namespace, args)
            .stdin(Stdio::null())
            .output()
            .expect("run ctr");
        assert!(
            out.status.success(),
            "ctr {:?}: {}\nstdout: {}\nstderr: {}\ncontainerd log (tail):\n{}",
            args.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail(&self.log(), 15)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Live `containerd-shim-runc-v2` processes started for this daemon (their command line
    /// names its socket), as pids.
    pub fn live_shims(&self) -> Vec<i32> {
        let socket = self.socket();
        let mut pids = Vec::new();
        for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = fs::read(e.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            if cmdline.contains("containerd-shim") && cmdline.contains(s(&socket)) {
                pids.push(pid);
            }
        }
        pids
    }

    /// Wait (bounded) until no shim of this daemon is alive: each shim exits once its last task
    /// is deleted.
    pub fn assert_shims_gone(&self) {
        let mut left = Vec::new();
        let gone = wait_until(Duration::from_secs(10), || {
            left = self.live_shims();
            left.is_empty()
        });
        assert!(gone, "shims still running: {left:?}");
    }

    /// Container cgroups still there below this daemon's cgroup parent `/<namespace>` (ctr's
    /// parent, and the one the CRI tests give their pods), on any hierarchy.
    pub fn container_cgroups(&self) -> Vec<PathBuf> {
        self.cgroup_parents()
            .into_iter()
            .filter(|d| !d.ends_with(&self.namespace))
            .collect()
    }

    /// The unix sockets of this daemon's shims (each task's `address` file names one).
    fn shim_sockets(&self) -> Vec<PathBuf> {
        let tasks = self.dir.join("state/io.containerd.runtime.v2.task");
        let mut sockets = Vec::new();
        for ns in fs::read_dir(tasks).into_iter().flatten().flatten() {
            for task in fs::read_dir(ns.path()).into_iter().flatten().flatten() {
                if let Ok(a) = fs::read_to_string(task.path().join("address")) {
                    sockets.push(PathBuf::from(a.trim().trim_start_matches("unix://")));
                }
            }
        }
        sockets
    }

    /// Kill and delete every task and container still there, in every namespace.
    fn delete_everything(&self) {
        let namespaces = [self.namespace.as_str(), "k8s.io"];
        for ns in namespaces.iter().take(if self.cri { 2 } else { 1 }) {
            let quiet = |args: &[&str]| {
                self.ctr_in(ns, args)
                    .stdin(Stdio::null())
                    .stderr(Stdio::null())
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default()
            };
            for id in quiet(&["task", "ls", "-q"]).lines() {
                quiet(&["task", "delete", "--force", id]);
            }
            for id in quiet(&["container", "ls", "-q"]).lines() {
                quiet(&["container", "rm", id]);
            }
        }
    }

    /// Cgroup directories named after this daemon's namespace (ctr's cgroup parent), or under
    /// it, deepest first.
    fn cgroup_parents(&self) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        for h in fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            let parent = h.path().join(&self.namespace);
            if parent.is_dir() {
                for child in fs::read_dir(&parent).into_iter().flatten().flatten() {
                    if child.path().is_dir() {
                        dirs.push(child.path());
                    }
                }
                dirs.push(parent);
            }
        }
        dirs
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.delete_everything();
        let sockets = self.shim_sockets();
        // SIGTERM: containerd shuts down cleanly and removes its sockets.
        let pid = self.child.id() as i32;
        let _ = Command::new("kill").arg(pid.to_string()).status();
        let stopped = wait_until(COMMAND_TIMEOUT, || {
            self.child.try_wait().ok().flatten().is_some()
        });
        if !stopped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for shim in self.live_shims() {
            let _ = Command::new("kill")
                .args(["-9", &shim.to_string()])
                .status();
        }
        unmount_under(&self.dir);
        for socket in sockets {
            let _ = fs::remove_file(socket);
        }
        for cg in self.cgroup_parents() {
            let _ = fs::remove_dir(cg);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Detach every mount point below `dir` (rootfs overlays, sandbox /dev/shm), deepest first.
fn unmount_under(dir: &Path) {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = format!("{}/", dir.display());
    let mut points: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = Command::new("umount").args(["-l", p]).status();
    }
}

/// containerd's config.toml: everything under `dir`, the plugins these tests do not use off
/// (CRI too unless `cri`), the CRI plugin as this sandbox needs it (see MACHINE-NOTES.md:
/// no negative oom_score_adj, no AppArmor; no CNI: pods use the host network).
fn config_toml(dir: &Path, runtime: &Path, cri: bool) -> String {
    let d = dir.display();
    let mut disabled = vec![
        "io.containerd.internal.v1.opt",
        "io.containerd.snapshotter.v1.btrfs",
        "io.containerd.snapshotter.v1.zfs",
        "io.containerd.snapshotter.v1.devmapper",
        "io.containerd.snapshotter.v1.aufs",
        "io.containerd.tracing.processor.v1.otlp",
        "io.containerd.internal.v1.tracing",
    ];
    if !cri {
        disabled.push("io.containerd.grpc.v1.cri");
    }
    let disabled = disabled
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut toml = format!(
        r#"version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = [{disabled}]
[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"
"#
    );
    if cri {
        let c = r#"plugins."io.containerd.grpc.v1.cri""#;
        toml.push_str(&format!(
            r#"[{c}]
  sandbox_image = "{pause}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[{c}.cni]
  bin_dir = "{d}/cni"
  conf_dir = "{d}/cni"
[{c}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "{CRI_HANDLER}"
[{c}.containerd.runtimes.{CRI_HANDLER}]
  runtime_type = "io.containerd.runc.v2"
[{c}.containerd.runtimes.{CRI_HANDLER}.options]
  BinaryName = "{rt}"
  Root = "{d}/runtime"
"#,
            pause = image::PAUSE,
            rt = runtime.display(),
        ));
    }
    toml
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
