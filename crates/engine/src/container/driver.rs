//! Which OCI runtime runs a container: the runtime crate in process (the default: no exec on
//! the start path), or a runc-compatible binary (`--runtime PATH`: runc, crun, coracle-runtime)
//! driven through its command line with the same state root layout.
//!
//! With a binary, the container's init is the child of the runtime's `create` process, which
//! exits; the monitor is a child subreaper (PR_SET_CHILD_SUBREAPER, kept across its re-exec),
//! so the init is reparented to it and it still reaps it and gets its exit code.
//!
//! The engine names the cgroup a binary puts the container in (`linux.cgroupsPath` = `/<id>`,
//! the runtime crate's own default), so that every runtime's container is at the same place
//! on every host layout: the monitor reads its OOM kills there (see [`Driver::oom_killed`])
//! and a leftover is where one looks. Left to itself runc would pick a path below the
//! caller's own cgroup and crun `/<id>`.

use super::{Engine, Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

pub enum Driver {
    InProcess(runtime::container::Runtime),
    Binary {
        path: PathBuf,
        root: PathBuf,
        /// `ROOT/containers`: a container's bundle is `ID/bundle` there.
        containers: PathBuf,
    },
}

impl Driver {
    /// The driver for a container created with `runtime` (`--runtime`, or None).
    pub fn new(engine: &Engine, runtime: Option<&str>) -> Driver {
        match runtime {
            None => Driver::InProcess(engine.runtime()),
            Some(p) => Driver::Binary {
                path: PathBuf::from(p),
                root: engine.root.join("runtime-external"),
                containers: engine.containers_dir(),
            },
        }
    }

    fn cmd(path: &Path, root: &Path) -> Command {
        let mut c = Command::new(path);
        c.arg("--root").arg(root);
        c
    }

    /// Run the binary; its stderr (runc prints its error there, or as JSON with --log) becomes
    /// the error text.
    fn run(mut c: Command, what: &str) -> Result<String> {
        let out = c
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .output()
            .map_err(|e| Error::Invalid(format!("--runtime {:?}: {e}", c.get_program())))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        Err(Error::Invalid(format!(
            "{} {what}: {}",
            c.get_program().to_string_lossy(),
            line.trim()
        )))
    }

    /// `create`: the container's stdio are our fds 0, 1, 2 (inherited by either kind of init).
    pub fn create(&self, id: &str, bundle: &Path, console: Option<&Path>) -> Result<()> {
        match self {
            Driver::InProcess(rt) => {
                let opts = runtime::container::CreateOptions {
                    bundle: bundle.to_path_buf(),
                    console_socket: console.map(Path::to_path_buf),
                    ..Default::default()
                };
                Ok(runtime::container::create(rt, id, &opts)?)
            }
            Driver::Binary { path, root, .. } => {
                let program = name_cgroup(bundle, id)?;
                sys::process::prctl(libc::PR_SET_CHILD_SUBREAPER, 1)
                    .map_err(|e| Error::Invalid(format!("monitor: subreaper: {e}")))?;
                // The init inherits the command's stdio (our pipes): its errors come through
                // runc's --log (JSON lines) instead.
                let log = bundle.with_file_name("runtime-create.log");
                let _ = std::fs::remove_file(&log);
                let mut c = Command::new(path);
                c.arg("--root").arg(root).arg("--log").arg(&log);
                c.args(["--log-format", "json"]);
                c.arg("create").arg("--bundle").arg(bundle);
                if let Some(s) = console {
                    c.arg("--console-socket").arg(s);
                }
                c.arg(id);
                // The init inherits our stdout/stderr: only stderr of the command is captured
                // when it fails, and the init's own copies stay the pipes.
                let out = c
                    .stdin(std::process::Stdio::inherit())
                    .stdout(std::process::Stdio::inherit())
                    .stderr(std::process::Stdio::inherit())
                    .status()
                    .map_err(|e| Error::Invalid(format!("--runtime {}: {e}", path.display())))?;
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let _ = std::fs::remove_file(&log);
                if out.success() {
                    return Ok(());
                }
                let msg = text
                    .lines()
                    .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                    .filter(|v| v["level"] == "error")
                    .filter_map(|v| v["msg"].as_str().map(String::from))
                    .next_back()
                    .unwrap_or_else(|| format!("failed ({out})"));
                // Not every runtime names the program it could not run ("open executable:
                // Permission denied", says crun): the error line should.
                let msg = if msg.contains(&program) {
                    msg
                } else {
                    format!("{program}: {msg}")
                };
                Err(Error::Invalid(format!("{} create: {msg}", path.display())))
            }
        }
    }

    /// Whether the kernel OOM-killed a process of the container's cgroup (read after the
    /// exit, before [`Driver::delete`] removes the cgroup): the v1 memory controller's
    /// `oom_kill` count, else cgroup2's `memory.events`.
    pub fn oom_killed(&self, id: &str) -> bool {
        let cgroup = match self {
            Driver::InProcess(rt) => runtime::state::ContainerDir::peek(&rt.root, id)
                .and_then(|d| d.load())
                .ok()
                .and_then(|s| s.cgroup()),
            Driver::Binary { .. } => Some(cgroups::Cgroup::open(&cgroup_path(id))),
        };
        cgroup
            .and_then(|cg| cg.oom_watch().ok().flatten())
            .and_then(|w| w.kills().ok())
            .is_some_and(|k| k > 0)
    }

    pub fn start(&self, id: &str) -> Result<()> {
        match self {
            Driver::InProcess(rt) => Ok(runtime::container::start(rt, id)?),
            Driver::Binary { path, root, .. } => {
                let mut c = Driver::cmd(path, root);
                c.args(["start", id]);
                Driver::run(c, "start").map(drop)
            }
        }
    }

    /// The init's host pid.
    pub fn pid(&self, id: &str) -> Result<i32> {
        match self {
            Driver::InProcess(rt) => {
                let dir = runtime::state::ContainerDir::peek(&rt.root, id)?;
                Ok(dir.load()?.pid)
            }
            Driver::Binary { path, root, .. } => {
                let mut c = Driver::cmd(path, root);
                c.args(["state", id]);
                let out = Driver::run(c, "state")?;
                let v: serde_json::Value = serde_json::from_str(&out)
                    .map_err(|e| Error::Invalid(format!("{} state: {e}", path.display())))?;
                v["pid"]
                    .as_i64()
                    .map(|p| p as i32)
                    .ok_or_else(|| Error::Invalid(format!("{} state: no pid", path.display())))
            }
        }
    }

    pub fn kill(&self, id: &str, sig: i32, all: bool) -> Result<()> {
        match self {
            Driver::InProcess(rt) => Ok(runtime::container::kill(rt, id, sig, all)?),
            Driver::Binary { path, root, .. } => {
                let mut c = Driver::cmd(path, root);
                c.arg("kill");
                if all {
                    c.arg("--all");
                }
                c.args([id, &sig.to_string()]);
                Driver::run(c, "kill").map(drop)
            }
        }
    }

    /// `delete --force`; a container the runtime does not know is fine (already gone).
    pub fn delete(&self, id: &str) -> Result<()> {
        match self {
            Driver::InProcess(rt) => match runtime::container::delete(rt, id, true) {
                Err(runtime::Error::NotFound(_)) => Ok(()),
                r => Ok(r?),
            },
            Driver::Binary { path, root, .. } => {
                let mut c = Driver::cmd(path, root);
                c.args(["delete", "--force", id]);
                match Driver::run(c, "delete") {
                    Err(e) if e.to_string().contains("not exist") => Ok(()),
                    Err(e) if e.to_string().contains("not found") => Ok(()),
                    r => r.map(drop),
                }
            }
        }
    }
}

/// The cgroup path the engine gives a binary runtime's container.
fn cgroup_path(id: &str) -> String {
    format!("/{id}")
}

/// Set `linux.cgroupsPath` in the bundle's config.json (unless the config names one); the
/// program the container runs (args[0]).
fn name_cgroup(bundle: &Path, id: &str) -> Result<String> {
    let cfg = bundle.join("config.json");
    let mut spec = super::spec::load(&cfg)?;
    let program = spec["process"]["args"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if spec["linux"]["cgroupsPath"]
        .as_str()
        .is_some_and(|p| !p.is_empty())
    {
        return Ok(program);
    }
    spec["linux"]["cgroupsPath"] = serde_json::json!(cgroup_path(id));
    super::spec::save(&cfg, &spec)?;
    Ok(program)
}

/// `exec`'s request (Docker's flags that map onto the runtime's).
#[derive(Debug, Clone, Default)]
pub struct Exec {
    pub args: Vec<String>,
    pub tty: bool,
    pub detach: bool,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub cwd: Option<String>,
    /// `-i`: the process reads our stdin; otherwise /dev/null (Docker's behaviour).
    pub stdin: bool,
}

impl Driver {
    /// Run a process in the running container with our stdio; its exit code (0 detached).
    pub fn exec(&self, id: &str, e: &Exec) -> Result<i32> {
        if !e.stdin {
            let null = std::fs::File::open("/dev/null")
                .map_err(|err| Error::Invalid(format!("/dev/null: {err}")))?;
            sys::fd::dup_onto(std::os::fd::AsFd::as_fd(&null), 0)
                .map_err(|err| Error::Invalid(format!("stdin: {err}")))?;
        }
        match self {
            Driver::InProcess(rt) => {
                let opts = runtime::container::ExecOptions {
                    process: None,
                    args: e.args.clone(),
                    tty: e.tty,
                    detach: e.detach,
                    env: e.env.clone(),
                    user: e.user.clone(),
                    cwd: e.cwd.clone(),
                    ..Default::default()
                };
                Ok(runtime::container::exec(rt, id, &opts)?)
            }
            Driver::Binary {
                path,
                root,
                containers,
            } => {
                // A whole process object (see exec_process), in the container's directory
                // until the runtime has read it.
                let bundle = containers.join(id).join("bundle");
                let process = super::exec_process::build(&bundle, e)?;
                let file = containers
                    .join(id)
                    .join(format!("exec-{}.json", std::process::id()));
                std::fs::write(&file, process.to_string()).map_err(super::io_err(&file))?;
                let mut c = Driver::cmd(path, root);
                c.arg("exec").arg("--process").arg(&file);
                if e.detach {
                    c.arg("--detach");
                }
                c.arg(id);
                let st = c.status();
                let _ = std::fs::remove_file(&file);
                let st = st.map_err(|err| {
                    Error::Invalid(format!("--runtime {}: {err}", path.display()))
                })?;
                Ok(st.code().unwrap_or(super::EXIT_ENGINE))
            }
        }
    }
}

impl Driver {
    /// The host pids of the container's processes (its cgroup).
    pub fn pids(&self, id: &str) -> Result<Vec<i32>> {
        match self {
            Driver::InProcess(rt) => Ok(runtime::container::ps_pids(rt, id)?),
            Driver::Binary { path, root, .. } => {
                let mut c = Driver::cmd(path, root);
                c.args(["ps", "--format", "json", id]);
                let out = Driver::run(c, "ps")?;
                serde_json::from_str(&out)
                    .map_err(|e| Error::Invalid(format!("{} ps: {e}", path.display())))
            }
        }
    }
}

impl Driver {
    /// One stats event (runc's `events --stats` shape: `data.cpu.usage.total`,
    /// `data.memory.usage.{usage,limit}`, `data.pids.current`).
    pub fn stats(&self, id: &str) -> Result<serde_json::Value> {
        let line = match self {
            Driver::InProcess(rt) => runtime::container::events_stats(rt, id)?,
            Driver::Binary { path, root, .. } => {
                let mut c = Driver::cmd(path, root);
                c.args(["events", "--stats", id]);
                Driver::run(c, "events --stats")?
            }
        };
        serde_json::from_str(line.trim()).map_err(|e| Error::Invalid(format!("stats of {id}: {e}")))
    }
}
