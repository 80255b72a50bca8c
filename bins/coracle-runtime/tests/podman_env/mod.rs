//! A private Podman for one test: its own storage (`--root`, `--runroot`), a containers.conf of
//! its own (CONTAINERS_CONF) that names the runtime under test in `runtime_supports_json` (so
//! conmon passes `--log-format=json --log FILE` and surfaces our errors), the sandbox's
//! `default_ulimits` (no CAP_SYS_RESOURCE here: Podman's nofile=1048576 fails with every runtime),
//! cgroupfs, file events, file locks (the default shm lock segment is shared by every Podman on
//! the machine and freed on a fresh storage's first use), no network unless a test asks, its own
//! network config dir and tmp dir, and a cgroup parent of its own. The busybox image is copied in.
//!
//! `finish` removes the containers by name, unmounts and removes the storage and the cgroup
//! parent, and asserts that nothing of it is left (conmon processes, mounts, cgroups).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use crate::busybox_image::{on_path, tools_missing, Image, NAME};
use crate::client_cmd::{must, run_bounded};
use crate::common::{unique_id, wait_until, Runtime};
use crate::leftovers::{
    cgroup_trees, mounts_under, processes_mentioning, remove_cgroup_trees, unmount_under,
    MachineDirs,
};

/// Podman as root keeps machine-wide state whatever its `--root`: netavark's IPAM database in
/// /run/containers/networks (shared by every rootful Podman by design) and the image blob-info
/// cache in /var/lib/containers/cache.
static MACHINE_DIRS: MachineDirs = MachineDirs::new(&[
    "/run/containers/networks",
    "/run/containers",
    "/var/lib/containers/cache",
    "/var/lib/containers",
]);

pub struct Podman {
    dir: PathBuf,
    runtime: PathBuf,
    /// The cgroup parent of every container (and of conmon), below each hierarchy's root.
    cgroup_parent: String,
    names: Mutex<Vec<String>>,
    finished: bool,
}

impl Podman {
    /// A fresh Podman with the busybox image, or None (reason printed) when Podman is absent.
    pub fn new() -> Option<Podman> {
        if !on_path("podman") {
            crate::busybox_image::skip("podman is not installed (apt-get install podman conmon)");
            return None;
        }
        if let Some(why) = tools_missing() {
            panic!("podman is installed but {why}");
        }
        let id = unique_id();
        let dir = PathBuf::from(format!("/tmp/{id}-podman"));
        for d in ["root", "runroot", "tmp", "networks"] {
            fs::create_dir_all(dir.join(d)).expect("podman dirs");
        }
        let runtime = Runtime::new().bin().to_path_buf();
        MACHINE_DIRS.enter();
        let pm = Podman {
            cgroup_parent: format!("/{id}-podman"),
            dir,
            runtime,
            names: Mutex::new(Vec::new()),
            finished: false,
        };
        fs::write(pm.dir.join("containers.conf"), pm.containers_conf()).expect("containers.conf");
        let image = Image::build();
        pm.ok(&["pull", "--quiet", &image.oci_ref()]);
        pm.ok(&[
            "tag",
            &image.oci_ref().replacen("oci:", "localhost", 1),
            NAME,
        ]);
        Some(pm)
    }

    fn containers_conf(&self) -> String {
        let runtime_name = self
            .runtime
            .file_name()
            .and_then(|n| n.to_str())
            .expect("runtime file name");
        let d = self.dir.display();
        format!(
            r#"[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{d}/events.log"
tmp_dir = "{d}/tmp"
lock_type = "file"
runtime_supports_json = ["{runtime_name}"]
[network]
network_backend = "netavark"
network_config_dir = "{d}/networks"
"#
        )
    }

    /// This Podman's directory (storage, config, networks).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `podman --root … --runroot … --runtime <runtime under test> ARGS`, not started.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("podman");
        cmd.env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("runroot"))
            .args(["--storage-driver", "overlay", "--runtime"])
            .arg(&self.runtime)
            .args(args);
        cmd
    }

    /// Run `cmd` (from [`Podman::cmd`]) to completion, bounded, with `stdin`.
    pub fn output_of(&self, cmd: Command, stdin: Stdio) -> Output {
        run_bounded(cmd, stdin, &self.dir)
    }

    pub fn output(&self, args: &[&str]) -> Output {
        self.output_of(self.cmd(args), Stdio::null())
    }

    /// Run, panic (with its output) unless it exits 0; return stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        must(self.output(args), &format!("podman {args:?}"))
    }

    /// The command line of `cmd(args)` for a shell (args must need no quoting).
    pub fn shell_line(&self, args: &[&str]) -> String {
        let cmd = self.cmd(args);
        let mut line = format!(
            "CONTAINERS_CONF={} podman",
            self.dir.join("containers.conf").display()
        );
        for a in cmd.get_args() {
            line.push(' ');
            line.push_str(&a.to_string_lossy());
        }
        line
    }

    /// A new unique container name, removed by `finish`.
    pub fn name(&self) -> String {
        let name = unique_id();
        self.names.lock().unwrap().push(name.clone());
        name
    }

    /// `run --name NAME --cgroup-parent P OPTS… IMAGE CMD…` arguments.
    pub fn run_args<'a>(
        &'a self,
        name: &'a str,
        opts: &[&'a str],
        cmd: &[&'a str],
    ) -> Vec<&'a str> {
        let mut args = vec![
            "run",
            "--name",
            name,
            "--cgroup-parent",
            &self.cgroup_parent,
        ];
        args.extend_from_slice(opts);
        args.push(NAME);
        args.extend_from_slice(cmd);
        args
    }

    /// `podman inspect NAME --format FORMAT`, trimmed.
    pub fn inspect(&self, name: &str, format: &str) -> String {
        self.ok(&["inspect", name, "--format", format])
            .trim()
            .to_string()
    }

    /// Wait (bounded) until `inspect`'s `.State.Status` is `want`.
    pub fn wait_status(&self, name: &str, want: &str) {
        let mut last = String::new();
        let ok = wait_until(Duration::from_secs(20), || {
            last = self.inspect(name, "{{.State.Status}}");
            last == want
        });
        assert!(ok, "{name}: status {last:?}, expected {want:?}");
    }

    /// Remove everything this Podman made and assert that nothing of it is left.
    pub fn finish(mut self) {
        self.finished = true;
        let left = self.clean();
        assert!(
            left.is_empty(),
            "left on the host:\n  {}",
            left.join("\n  ")
        );
    }

    /// Containers by name, mounts under the directory, the directory, the cgroup parent.
    /// Returns what is still there afterwards.
    fn clean(&self) -> Vec<String> {
        let names = self.names.lock().unwrap().clone();
        for name in &names {
            let _ = self.output(&["rm", "--force", "--time", "0", name]);
        }
        let dir = self.dir.to_string_lossy().into_owned();
        // conmon exits once its container is gone; wait for it before removing its cgroup.
        wait_until(Duration::from_secs(10), || {
            processes_mentioning(&dir).is_empty()
        });
        unmount_under(&dir);
        let _ = fs::remove_dir_all(&self.dir);
        let parent = self.cgroup_parent.trim_start_matches('/').to_string();
        wait_until(Duration::from_secs(5), || remove_cgroup_trees(&parent));
        MACHINE_DIRS.leave();
        let mut left: Vec<String> = Vec::new();
        left.extend(mounts_under(&dir).into_iter().map(|m| format!("mount {m}")));
        left.extend(
            processes_mentioning(&dir)
                .into_iter()
                .map(|p| format!("process {p}")),
        );
        left.extend(
            cgroup_trees(&parent)
                .into_iter()
                .map(|c| format!("cgroup {}", c.display())),
        );
        if self.dir.exists() {
            left.push(format!("dir {dir}"));
        }
        left
    }
}

impl Drop for Podman {
    /// A test that panicked before `finish` still cleans up (without asserting).
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.clean();
        }
    }
}
