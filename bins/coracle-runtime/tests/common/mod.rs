//! Shared helpers for the integration tests: busybox bundles, the runtime under test,
//! host snapshots (what a container may leave behind) and bounded polling.
//!
//! Every test file starts with `mod common;`. Tests run as root and in parallel threads, so
//! everything here is unique per call (pid + a process-wide counter) and cleaned up on Drop.
//!
//! The binary under test is `coracle-runtime`, or whatever `CORACLE_TEST_RUNTIME` names
//! (e.g. `/usr/sbin/runc`), so the same tests can be checked against another runtime.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A number unique in this test process.
fn next_n() -> usize {
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// `coracle-test-<pid>-<n>`: a container id no other test (or test process) uses.
pub fn unique_id() -> String {
    format!("coracle-test-{}-{}", std::process::id(), next_n())
}

/// The default `config.json` of `runc spec`, with `terminal` false.
const CONFIG_TEMPLATE: &str = r#"{
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": false,
    "user": { "uid": 0, "gid": 0 },
    "args": ["sh"],
    "env": [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "TERM=xterm"
    ],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
    "noNewPrivileges": true
  },
  "root": { "path": "rootfs", "readonly": true },
  "hostname": "runc",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
      "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
      "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
    { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
      "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
      "options": ["nosuid", "noexec", "nodev"] },
    { "destination": "/sys", "type": "sysfs", "source": "sysfs",
      "options": ["nosuid", "noexec", "nodev", "ro"] },
    { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
      "options": ["nosuid", "noexec", "nodev", "relatime", "ro"] }
  ],
  "linux": {
    "resources": { "devices": [{ "allow": false, "access": "rwm" }] },
    "namespaces": [
      { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
      { "type": "uts" }, { "type": "mount" }
    ],
    "maskedPaths": [
      "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
    ],
    "readonlyPaths": [
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
    ]
  }
}"#;

/// The host's busybox-static binary and the applets it provides.
fn busybox() -> &'static (PathBuf, Vec<String>) {
    static BUSYBOX: OnceLock<(PathBuf, Vec<String>)> = OnceLock::new();
    BUSYBOX.get_or_init(|| {
        let bin = ["/usr/bin/busybox", "/bin/busybox"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .expect("busybox not found: apt-get install busybox-static");
        let list = Command::new(&bin)
            .arg("--list")
            .output()
            .expect("busybox --list");
        let applets = String::from_utf8_lossy(&list.stdout)
            .lines()
            .map(str::trim)
            .filter(|a| !a.is_empty() && *a != "busybox" && !a.contains('/'))
            .map(String::from)
            .collect();
        (bin, applets)
    })
}

/// An OCI bundle in `/tmp/coracle-test-<pid>-<n>/`: a busybox rootfs and a `config.json`
/// (runc's default spec, terminal false). Every change is written to disk at once.
/// The directory is removed on Drop.
pub struct Bundle {
    dir: PathBuf,
    config: Value,
}

impl Bundle {
    /// A fresh bundle whose process is `sh` (change it with `.args`).
    pub fn busybox() -> Bundle {
        let dir = PathBuf::from(format!(
            "/tmp/coracle-test-{}-{}",
            std::process::id(),
            next_n()
        ));
        let rootfs = dir.join("rootfs");
        for d in [
            "bin", "dev", "etc", "home", "proc", "root", "run", "sys", "tmp", "usr", "var",
        ] {
            fs::create_dir_all(rootfs.join(d)).expect("create rootfs dir");
        }
        let (bin, applets) = busybox();
        // A copy, not a link: a writable container must not be able to change the host's binary.
        fs::copy(bin, rootfs.join("bin/busybox")).expect("copy busybox");
        for applet in applets {
            symlink("busybox", rootfs.join("bin").join(applet)).expect("applet symlink");
        }
        fs::write(
            rootfs.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        )
        .expect("write /etc/passwd");
        fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")
            .expect("write /etc/group");
        let bundle = Bundle {
            dir,
            config: serde_json::from_str(CONFIG_TEMPLATE).expect("config template"),
        };
        bundle.save();
        bundle
    }

    /// Set `process.args`.
    pub fn args(mut self, args: &[&str]) -> Bundle {
        self.config["process"]["args"] = args.iter().map(|a| Value::from(*a)).collect();
        self.save();
        self
    }

    /// Change the config with a closure, e.g.
    /// `.config(|c| c["process"]["cwd"] = "/tmp".into())`.
    pub fn config(mut self, edit: impl FnOnce(&mut Value)) -> Bundle {
        self.edit(edit);
        self
    }

    /// Like `.config`, for a bundle already bound to a variable.
    pub fn edit(&mut self, edit: impl FnOnce(&mut Value)) {
        edit(&mut self.config);
        self.save();
    }

    /// The config as last written.
    pub fn spec(&self) -> &Value {
        &self.config
    }

    /// The bundle directory (pass it to `--bundle`).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The bundle directory as `&str`, handy inside `&[&str]` argument lists.
    pub fn path_str(&self) -> &str {
        self.dir.to_str().expect("bundle path is UTF-8")
    }

    /// `<bundle>/rootfs`.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    fn save(&self) {
        let text = serde_json::to_string_pretty(&self.config).expect("serialize config");
        fs::write(self.dir.join("config.json"), text).expect("write config.json");
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The runtime binary under test with a private `--root` (removed on Drop, after
/// `delete --force` of whatever is still in it).
pub struct Runtime {
    bin: PathBuf,
    root: PathBuf,
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new()
    }
}

impl Runtime {
    pub fn new() -> Runtime {
        let bin = std::env::var_os("CORACLE_TEST_RUNTIME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_coracle-runtime")));
        let root = PathBuf::from(format!(
            "/tmp/coracle-test-root-{}-{}",
            std::process::id(),
            next_n()
        ));
        Runtime { bin, root }
    }

    /// A runtime that runs `bin` instead of the binary under test (e.g. a disposable copy).
    pub fn with_bin(bin: &Path) -> Runtime {
        let mut rt = Runtime::new();
        rt.bin = bin.to_path_buf();
        rt
    }

    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// This runtime's `--root` (created by the runtime on first use).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A new unique container id.
    pub fn new_id(&self) -> String {
        unique_id()
    }

    /// `<bin> --root <root> <args…>`, not yet started.
    pub fn cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--root").arg(&self.root).args(args);
        cmd
    }

    /// Run to completion, capturing stdout and stderr (stdin is /dev/null).
    pub fn output<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.cmd(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot execute {}: {e}", self.bin.display()))
    }

    /// Run to completion, panic (showing stderr) unless it exits 0; return stdout.
    pub fn run_ok<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "{} {:?} failed: {}\nstdout: {}\nstderr: {}",
            self.bin.display(),
            args.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `run --bundle <bundle> <new id>` in the foreground; returns the id and the output
    /// (the exit status is the container's).
    pub fn run(&self, bundle: &Bundle) -> (String, Output) {
        let id = self.new_id();
        let out = self.output(&["run", "--bundle", bundle.path_str(), &id]);
        (id, out)
    }

    /// `create --bundle <bundle> <new id>`, which must succeed; returns the id.
    /// The container inherits create's stdio, so stdin/stdout are /dev/null and stderr goes
    /// to a temporary file (a pipe would stay open as long as the container lives).
    pub fn create(&self, bundle: &Bundle) -> String {
        let id = self.new_id();
        let err_path = PathBuf::from(format!("/tmp/{id}.stderr"));
        let err_file = fs::File::create(&err_path).expect("create stderr file");
        let status = self
            .cmd(&["create", "--bundle", bundle.path_str(), &id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err_file)
            .status()
            .expect("execute create");
        let stderr = fs::read_to_string(&err_path).unwrap_or_default();
        let _ = fs::remove_file(&err_path);
        assert!(status.success(), "create {id} failed: {status}\n{stderr}");
        id
    }

    /// `state <id>` parsed as JSON.
    pub fn state(&self, id: &str) -> Value {
        let text = self.run_ok(&["state", id]);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("state {id} is not JSON ({e}): {text}"))
    }

    /// The `status` field of `state <id>` ("created", "running", "stopped", …).
    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"]
            .as_str()
            .expect("state has a status")
            .to_string()
    }

    /// Wait (bounded) until the container's status is `want`; panic with the last status otherwise.
    pub fn wait_status(&self, id: &str, want: &str, timeout: Duration) {
        let mut last = String::new();
        let ok = wait_until(timeout, || {
            last = self.status(id);
            last == want
        });
        assert!(
            ok,
            "container {id}: status {last:?}, expected {want:?} within {timeout:?}"
        );
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Ok(entries) = fs::read_dir(&self.root) {
            for e in entries.flatten() {
                if let Some(id) = e.file_name().to_str() {
                    let _ = self
                        .cmd(&["delete", "--force", id])
                        .stdin(Stdio::null())
                        .output();
                }
            }
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// The exit code of a finished command (panics if it was killed by a signal).
pub fn exit_code(out: &Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {}", out.status))
}

/// stdout as a String.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Poll `cond` every few milliseconds (1 ms, growing to 20 ms) until it is true or `timeout`
/// has passed. Returns whether it became true. A bounded poll, never a sleep-as-sync.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// What a container may leave on the host, restricted to one test: mount points that mention
/// the bundle or the runtime root, cgroup directories named after one of the container ids,
/// entries of the runtime root, live processes of the bundle or those cgroups, and network links.
/// Compared by name, so the rest of the machine (and other tests) does not matter.
#[derive(Debug, Clone)]
pub struct HostSnapshot {
    pub mounts: BTreeSet<String>,
    pub cgroups: BTreeSet<String>,
    pub state: BTreeSet<String>,
    pub processes: BTreeSet<String>,
    pub links: BTreeSet<String>,
    scope: (PathBuf, PathBuf, Vec<String>),
}

impl HostSnapshot {
    /// Look now, for containers `ids` of `rt` made from `bundle`.
    pub fn take(rt: &Runtime, bundle: &Bundle, ids: &[&str]) -> HostSnapshot {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        Self::look((bundle.path().to_path_buf(), rt.root().to_path_buf(), ids))
    }

    fn look(scope: (PathBuf, PathBuf, Vec<String>)) -> HostSnapshot {
        let paths = [scope.0.as_path(), scope.1.as_path()];
        let ids: Vec<&str> = scope.2.iter().map(String::as_str).collect();
        HostSnapshot {
            mounts: mounts_under(&paths),
            cgroups: cgroups_named(&ids),
            state: dir_names(&scope.1),
            processes: processes_in(&paths, &ids),
            links: dir_names(Path::new("/sys/class/net")),
            scope,
        }
    }

    /// Differences as readable lines: "+ cgroup X" is only in `self`, "- link Y" only in `before`.
    pub fn diff(&self, before: &HostSnapshot) -> Vec<String> {
        let mut lines = Vec::new();
        let kinds = [
            ("mount", &self.mounts, &before.mounts),
            ("cgroup", &self.cgroups, &before.cgroups),
            ("state", &self.state, &before.state),
            ("process", &self.processes, &before.processes),
            ("link", &self.links, &before.links),
        ];
        for (kind, now, then) in kinds {
            lines.extend(now.difference(then).map(|x| format!("+ {kind} {x}")));
            lines.extend(then.difference(now).map(|x| format!("- {kind} {x}")));
        }
        lines
    }

    /// Assert that this snapshot matches `before`. Teardown may be asynchronous (a zombie being
    /// reaped, a net namespace going away), so on a difference this looks again (same runtime,
    /// bundle and ids as `self`) for up to 5 s before failing with the differences.
    pub fn assert_same_as(&self, before: &HostSnapshot) {
        let mut first = Some(self.diff(before));
        assert_settles(|| {
            first
                .take()
                .unwrap_or_else(|| Self::look(self.scope.clone()).diff(before))
        });
    }
}

/// Assert (looking again for up to 5 s) that nothing of container `id` is left: no mount
/// mentioning the bundle or the root, no cgroup named after it, no entry of the runtime root
/// naming it, no live process in the bundle or its cgroups.
pub fn assert_nothing_left(rt: &Runtime, bundle: &Bundle, id: &str) {
    assert_settles(|| {
        let now = HostSnapshot::take(rt, bundle, &[id]);
        let mut left: Vec<String> = Vec::new();
        left.extend(now.mounts.iter().map(|m| format!("mount {m}")));
        left.extend(now.cgroups.iter().map(|c| format!("cgroup {c}")));
        left.extend(
            now.state
                .iter()
                .filter(|s| names(s, id))
                .map(|s| format!("state {s}")),
        );
        left.extend(now.processes.iter().map(|p| format!("process {p}")));
        left
    });
}

fn assert_settles(mut problems: impl FnMut() -> Vec<String>) {
    let mut last = Vec::new();
    if !wait_until(Duration::from_secs(5), || {
        last = problems();
        last.is_empty()
    }) {
        panic!("left on the host:\n  {}", last.join("\n  "));
    }
}

fn dir_names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `text` contains `name` not followed by a digit (so "…-1" does not match "…-12").
fn names(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(i, _)| {
        !text[i + name.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

fn mentions(text: &str, paths: &[&Path]) -> bool {
    paths
        .iter()
        .any(|p| p.to_str().is_some_and(|p| names(text, p)))
}

/// Mount points (field 5 of /proc/self/mountinfo) and sources mentioning one of `paths`.
fn mounts_under(paths: &[&Path]) -> BTreeSet<String> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter(|l| mentions(l, paths))
        .map(|l| l.split(' ').nth(4).unwrap_or(l).to_string())
        .collect()
}

/// Directories whose name contains one of `ids`, up to 3 levels below each hierarchy under
/// /sys/fs/cgroup and below this process's own cgroup in each hierarchy (where runc puts
/// containers that have no cgroupsPath).
fn cgroups_named(ids: &[&str]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    if ids.is_empty() {
        return found;
    }
    let base = Path::new("/sys/fs/cgroup");
    let mut starts: Vec<PathBuf> = vec![base.to_path_buf()];
    starts.extend(
        fs::read_dir(base)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path()),
    );
    let own = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    for line in own.lines() {
        // "4:memory:/a/b", "9:name=systemd:/x", "0::/y"
        let mut f = line.splitn(3, ':');
        let (_, ctrl, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or("/"));
        let dir = match ctrl {
            "" => "unified".to_string(),
            c => c.trim_start_matches("name=").to_string(),
        };
        starts.push(base.join(dir).join(path.trim_start_matches('/')));
    }
    for start in starts {
        walk_cgroups(&start, 3, ids, &mut found);
    }
    found
}

fn walk_cgroups(dir: &Path, depth: u32, ids: &[&str], found: &mut BTreeSet<String>) {
    if depth == 0 {
        return;
    }
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        if !e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        if ids.iter().any(|id| names(&name, id)) {
            found.insert(e.path().display().to_string());
        }
        walk_cgroups(&e.path(), depth - 1, ids, found);
    }
}

/// Live processes (not zombies) whose cmdline, cwd or root mentions one of `paths`, or whose
/// cgroup names one of `ids`, as "<pid> <cmdline>". The test process itself is excluded.
fn processes_in(paths: &[&Path], ids: &[&str]) -> BTreeSet<String> {
    let me = std::process::id().to_string();
    let mut found = BTreeSet::new();
    for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let proc_dir = e.path();
        let cmdline = fs::read(proc_dir.join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        let link = |n: &str| {
            fs::read_link(proc_dir.join(n))
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };
        // Zombies have an empty cmdline and unreadable cwd/root: they count as gone.
        // A container's processes sit in another mount namespace (cwd and root read as "/"),
        // so they are found by their cgroup.
        let cgroup = fs::read_to_string(proc_dir.join("cgroup")).unwrap_or_default();
        if mentions(&cmdline, paths)
            || mentions(&link("cwd"), paths)
            || mentions(&link("root"), paths)
            || (!cmdline.is_empty() && ids.iter().any(|id| names(&cgroup, id)))
        {
            found.insert(format!("{pid} {}", cmdline.trim_end()));
        }
    }
    found
}

/// How long a runtime command may take in the helpers below before the test gives up on it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// Wait (bounded) for a child; kill it and return None if it does not finish in time.
pub fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let mut status = None;
    wait_until(timeout, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    status
}

/// Run a command whose container may outlive it (`create`, `run -d`): its stdio is not a pipe (the
/// container would hold it open), stderr goes to a file. Returns the exit code and stderr.
pub fn detached(mut cmd: Command) -> (i32, String) {
    let err_path = PathBuf::from(format!("/tmp/{}.stderr", unique_id()));
    let err = fs::File::create(&err_path).expect("stderr file");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("spawn runtime");
    let status = wait_child(&mut child, COMMAND_TIMEOUT);
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    let _ = fs::remove_file(&err_path);
    let status = status.unwrap_or_else(|| panic!("{cmd:?} did not return in time: {stderr}"));
    (status.code().expect("exited"), stderr)
}

/// `run -b <bundle> <id>` under util-linux `script`, which gives it a real pty as its terminal.
/// Returns script's exit status (with -e, the runtime's) and what came out of the pty, without
/// carriage returns. Script's stdin is a pipe held open until it exits (at EOF it would type into
/// the pty).
pub fn run_in_pty(rt: &Runtime, bundle: &Bundle, id: &str) -> (ExitStatus, String) {
    run_in_pty_typing(rt, bundle, id, b"")
}

/// [`run_in_pty`], typing `input` at the terminal first.
pub fn run_in_pty_typing(
    rt: &Runtime,
    bundle: &Bundle,
    id: &str,
    input: &[u8],
) -> (ExitStatus, String) {
    let cmd = format!(
        "{} --root {} run -b {} {id}",
        rt.bin().display(),
        rt.root().display(),
        bundle.path_str()
    );
    in_pty(&cmd, input)
}

/// Run the shell command line `cmd` under util-linux `script` (a real pty as its terminal),
/// typing `input` first; returns script's exit status (with -e, the command's) and the pty's
/// output without carriage returns.
pub fn in_pty(cmd: &str, input: &[u8]) -> (ExitStatus, String) {
    use std::io::Write;
    let mut child = Command::new("script")
        .args(["-qec", cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("type at the terminal");
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut out)
        .expect("read script output");
    let status = child.wait().expect("wait for script");
    drop(stdin);
    (status, String::from_utf8_lossy(&out).replace('\r', ""))
}

/// Make a fifo at `path`: a container reading it blocks until [`release`].
pub fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

/// Write a line to a fifo the container is (or will soon be) reading: non-blocking opens are
/// retried until a reader is there.
pub fn release(fifo: &Path) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let sent = wait_until(COMMAND_TIMEOUT, || {
        fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(fifo)
            .and_then(|mut f| f.write_all(b"go\n"))
            .is_ok()
    });
    assert!(sent, "no reader opened {} in time", fifo.display());
}

/// `create` then `start`; returns the id.
pub fn start(rt: &Runtime, bundle: &Bundle) -> String {
    let id = rt.create(bundle);
    rt.run_ok(&["start", &id]);
    id
}

/// `events --interval INTERVAL ID`, its stdout lines delivered through a channel by a reader thread.
pub fn events_stream(
    rt: &Runtime,
    id: &str,
    interval: &str,
) -> (Child, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let mut events = rt
        .cmd(&["events", "--interval", interval, id])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn events");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::io::BufReader::new(events.stdout.take().expect("events stdout"));
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (events, rx)
}

/// Collect a stream's lines after `first` until it ends (true) or goes quiet for `timeout` (false).
pub fn lines_until_end(
    rx: &std::sync::mpsc::Receiver<String>,
    first: String,
    timeout: Duration,
) -> (Vec<String>, bool) {
    use std::sync::mpsc::RecvTimeoutError;
    let mut lines = vec![first];
    loop {
        match rx.recv_timeout(timeout) {
            Ok(l) => lines.push(l),
            Err(RecvTimeoutError::Disconnected) => return (lines, true),
            Err(RecvTimeoutError::Timeout) => return (lines, false),
        }
    }
}
