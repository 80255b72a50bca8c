//! A private dockerd (Debian's docker.io 20.10) for one test, started by the test: its own data
//! root, exec root (where it starts its own managed containerd), socket, pid file, config file
//! (so /etc/docker/daemon.json is not read and the trust key goes to the test's directory) and
//! cgroup parent; the runtime under test added as `coracle` and made the default; no bridge,
//! no iptables, no ip_forward change, so the host's networking is not touched. The busybox
//! image is loaded from a docker archive.
//!
//! `finish` removes the containers by name, stops dockerd by its pid (it stops its containerd),
//! unmounts and removes the directory and the cgroup parent, and asserts that nothing is left:
//! no process mentioning the directory (dockerd, containerd, shims), no mount, no cgroup, no
//! DOCKER iptables chain, ip_forward as it was.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use crate::busybox_image::{on_path, tools_missing, Image, NAME};
use crate::client_cmd::{must, run_bounded};
use crate::common::{unique_id, wait_child, wait_until, Runtime};
use crate::host_net::HostNet;
use crate::leftovers::{
    cgroup_trees, mounts_under, processes_mentioning, remove_cgroup_trees, unmount_under,
    MachineDirs,
};

/// dockerd makes its plugin socket directory there whatever its exec root.
static MACHINE_DIRS: MachineDirs = MachineDirs::new(&["/run/docker/plugins", "/run/docker"]);

pub struct Dockerd {
    dir: PathBuf,
    daemon: Child,
    client: PathBuf,
    cgroup_parent: String,
    names: Mutex<Vec<String>>,
    net: HostNet,
    finished: bool,
}

/// Debian's client (/usr/bin/docker), which matches the daemon, before any other on PATH.
fn client() -> PathBuf {
    let debian = PathBuf::from("/usr/bin/docker");
    if debian.exists() {
        debian
    } else {
        PathBuf::from("docker")
    }
}

impl Dockerd {
    /// A running dockerd with the busybox image, or None (reason printed) when dockerd is absent.
    pub fn new() -> Option<Dockerd> {
        if !on_path("dockerd") {
            crate::busybox_image::skip("dockerd is not installed (apt-get install docker.io)");
            return None;
        }
        if let Some(why) = tools_missing() {
            panic!("dockerd is installed but {why}");
        }
        let id = unique_id();
        let dir = PathBuf::from(format!("/tmp/{id}-docker"));
        fs::create_dir_all(dir.join("cfg")).expect("docker dirs");
        let key = dir.join("key.json");
        fs::write(
            dir.join("daemon.json"),
            serde_json::json!({ "deprecated-key-path": key }).to_string(),
        )
        .expect("daemon.json");
        let net = HostNet::take();
        MACHINE_DIRS.enter();
        let runtime = Runtime::new().bin().to_path_buf();
        let cgroup_parent = format!("/{id}-docker");
        let log = fs::File::create(dir.join("dockerd.log")).expect("dockerd.log");
        let daemon = Command::new("dockerd")
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", dir.join("d.sock").display()))
            .arg("--add-runtime")
            .arg(format!("coracle={}", runtime.display()))
            .args([
                "--default-runtime",
                "coracle",
                "--cgroup-parent",
                &cgroup_parent,
            ])
            .args(["--bridge", "none", "--iptables=false", "--ip-forward=false"])
            .args(["--ip-masq=false", "--userland-proxy=false"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn dockerd");
        let d = Dockerd {
            dir,
            daemon,
            client: client(),
            cgroup_parent,
            names: Mutex::new(Vec::new()),
            net,
            finished: false,
        };
        let up = wait_until(Duration::from_secs(60), || {
            d.dir.join("d.sock").exists() && d.output(&["version"]).status.success()
        });
        assert!(up, "dockerd did not come up:\n{}", d.log());
        let archive = d.dir.join("busybox.tar");
        Image::build().to_docker_archive(&archive);
        d.ok(&[
            "load",
            "--quiet",
            "--input",
            archive.to_str().expect("UTF-8"),
        ]);
        Some(d)
    }

    /// dockerd's log so far (for failure messages).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `docker -H unix://SOCKET ARGS` (client config in the test's directory), not started.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.client);
        cmd.env("DOCKER_CONFIG", self.dir.join("cfg"))
            .arg("-H")
            .arg(format!("unix://{}", self.dir.join("d.sock").display()))
            .args(args);
        cmd
    }

    /// The command line of `cmd(args)` for a shell (args must need no quoting).
    pub fn shell_line(&self, args: &[&str]) -> String {
        let cmd = self.cmd(args);
        let mut line = format!(
            "DOCKER_CONFIG={} {}",
            self.dir.join("cfg").display(),
            self.client.display()
        );
        for a in cmd.get_args() {
            line.push(' ');
            line.push_str(&a.to_string_lossy());
        }
        line
    }

    pub fn output_of(&self, cmd: Command, stdin: Stdio) -> Output {
        run_bounded(cmd, stdin, &self.dir)
    }

    pub fn output(&self, args: &[&str]) -> Output {
        self.output_of(self.cmd(args), Stdio::null())
    }

    /// Run, panic (with its output and dockerd's log) unless it exits 0; return stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.output(args);
        if !out.status.success() {
            eprintln!("dockerd log:\n{}", self.log());
        }
        must(out, &format!("docker {args:?}"))
    }

    /// A new unique container name, removed by `finish`.
    pub fn name(&self) -> String {
        let name = unique_id();
        self.names.lock().unwrap().push(name.clone());
        name
    }

    /// `run --name NAME OPTS… IMAGE CMD…` arguments.
    pub fn run_args<'a>(&self, name: &'a str, opts: &[&'a str], cmd: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["run", "--name", name];
        args.extend_from_slice(opts);
        args.push(NAME);
        args.extend_from_slice(cmd);
        args
    }

    /// `docker inspect --format FORMAT NAME`, trimmed.
    pub fn inspect(&self, name: &str, format: &str) -> String {
        self.ok(&["inspect", "--format", format, name])
            .trim()
            .to_string()
    }

    /// Wait (bounded) until `.State.Status` is `want`.
    pub fn wait_status(&self, name: &str, want: &str) {
        let mut last = String::new();
        let ok = wait_until(Duration::from_secs(20), || {
            last = self.inspect(name, "{{.State.Status}}");
            last == want
        });
        assert!(ok, "{name}: status {last:?}, expected {want:?}");
    }

    /// Remove everything this dockerd made and assert that nothing of it is left.
    pub fn finish(mut self) {
        self.finished = true;
        let left = self.clean();
        assert!(
            left.is_empty(),
            "left on the host:\n  {}",
            left.join("\n  ")
        );
    }

    fn clean(&mut self) -> Vec<String> {
        let names = self.names.lock().unwrap().clone();
        for name in &names {
            let _ = self.output(&["rm", "--force", name]);
        }
        self.stop_daemon();
        let dir = self.dir.to_string_lossy().into_owned();
        // containerd and the shims exit after dockerd; wait before removing their cgroups.
        wait_until(Duration::from_secs(20), || {
            processes_mentioning(&dir).is_empty()
        });
        unmount_under(&dir);
        let _ = fs::remove_dir_all(&self.dir);
        let parent = self.cgroup_parent.trim_start_matches('/').to_string();
        wait_until(Duration::from_secs(5), || remove_cgroup_trees(&parent));
        MACHINE_DIRS.leave();
        let mut left = self.net.restore(&["DOCKER"]);
        left.extend(self.net.unchanged(&["DOCKER"]));
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

    /// SIGTERM to dockerd by its pid (it stops its containerd), SIGKILL if it hangs.
    fn stop_daemon(&mut self) {
        let pid = self.daemon.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        if wait_child(&mut self.daemon, Duration::from_secs(30)).is_none() {
            eprintln!("dockerd {pid} ignored SIGTERM for 30 s: killed");
        }
    }
}

impl Drop for Dockerd {
    /// A test that panicked before `finish` still cleans up (without asserting).
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.clean();
        }
    }
}
