//! The container commands' work: create (record + bundle), start (spawn the monitor and wait
//! for its word), stop, kill, rm, wait. Each takes the records lock only for its changes.

use super::monitor::LOCK;
use super::record::{self, Lock, Record, Status};
use super::{id, io_err, spec, Engine, Error, Request, Result};
use crate::network::{DEFAULT_NETWORK, HOST, NONE};
use image::rootfs::RootfsMode;
use image::store::Store;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// `create`: the record and the bundle (rootfs mounted, config.json with the flags). On any
/// error nothing is left: no directory, record or mount.
pub fn create(engine: &Engine, req: &Request) -> Result<Record> {
    req.validate()?;
    let mut req = req.clone();
    if let Some(r) = &req.runtime {
        req.runtime = Some(find_runtime(r)?.to_string_lossy().into_owned());
    }
    let req = &req;
    let store = Store::open(&engine.root)?;
    let (named, target) = store.resolve(&req.image)?;
    let mut img = store.image(&target)?;
    // `-u` replaces the image's User: the bundle writer resolves names and groups in the
    // image's own /etc/passwd and /etc/group (symlinks resolved inside the rootfs).
    if let Some(u) = &req.user {
        let mut c = img.config.config().clone().unwrap_or_default();
        c.set_user(Some(u.clone()));
        img.config.set_config(Some(c));
    }
    let nets = engine.networks();
    for n in &req.networks {
        if n != NONE && n != HOST && n != DEFAULT_NETWORK {
            nets.inspect(n)?;
        }
    }
    let lock = record::lock(engine)?;
    let all = record::all(engine)?;
    let cid = id::new_id()?;
    let name = match &req.name {
        Some(n) => {
            if let Some(other) = all.iter().find(|r| &r.name == n) {
                return Err(Error::Conflict(format!(
                    "--name {n:?}: the name is already in use by container {}",
                    other.short_id()
                )));
            }
            n.clone()
        }
        None => (0..50)
            .map(|i| id::generated_name(&cid, i))
            .find(|n| !all.iter().any(|r| &r.name == n))
            .ok_or_else(|| Error::Invalid("no free generated name: give --name".into()))?,
    };
    // Under the records lock: `system prune` never removes a copy a new container is naming.
    let init = if req.init {
        Some(crate::init::install(engine)?)
    } else {
        None
    };
    let dir = engine.container_dir(&cid);
    std::fs::create_dir(&dir).map_err(io_err(&dir))?;
    // Volumes made for this container: removed again if the create fails.
    let mut new_volumes = vec![];
    let made = (|| {
        let bundle = dir.join("bundle");
        // The log exists from the start, so `logs -f` always follows the file the monitor
        // appends to.
        let log = dir.join(super::monitor::LOG);
        File::create(&log).map_err(io_err(&log))?;
        // --entrypoint replaces the image's Entrypoint and Cmd: args are set after the derive.
        let cmd = match (&req.entrypoint, req.cmd.is_empty()) {
            (Some(ep), _) => Some(vec![ep.clone()]),
            (None, false) => Some(req.cmd.clone()),
            (None, true) => None,
        };
        let image_name = named.map_or_else(|| img.id().to_string(), |r| r.to_string());
        image::bundle::create(&store, &img, &image_name, &bundle, RootfsMode::Auto, cmd)?;
        let cfg = bundle.join("config.json");
        let mut s = spec::load(&cfg)?;
        let hostname = req
            .hostname
            .clone()
            .unwrap_or_else(|| id::short(&cid).into());
        let image_volumes = img
            .config
            .config()
            .as_ref()
            .and_then(|c| c.volumes().clone())
            .unwrap_or_default();
        let mounts = super::mounts::prepare(
            engine,
            &cid,
            req,
            &image_volumes,
            &bundle.join("rootfs"),
            &mut new_volumes,
        )?;
        spec::apply(&mut s, req, &hostname, &mounts)?;
        // The record keeps the command as the user gave it (Docker's Path/Args), not the init.
        let args = serde_json::from_value(s["process"]["args"].clone()).unwrap_or_default();
        if let Some(copy) = &init {
            crate::init::check_runs_in(copy, &bundle.join("rootfs"))?;
            crate::init::spec::apply(&mut s, copy);
        }
        spec::save(&cfg, &s)?;
        let rec = Record {
            id: cid.clone(),
            name: name.clone(),
            image: req.image.clone(),
            image_id: img.id().to_string(),
            created: super::logs::now_nanos(),
            request: req.clone(),
            args,
            status: Status::Created,
            pid: 0,
            monitor_pid: 0,
            monitor_start: 0,
            started_at: None,
            finished_at: None,
            exit_code: 0,
            oom_killed: false,
            error: String::new(),
            ips: vec![],
            restart_count: 0,
            stopping: false,
            restarting: false,
            mounts,
        };
        record::save(engine, &rec, &lock)?;
        Ok(rec)
    })();
    if made.is_err() {
        let _ = remove_files(engine, &cid, &lock);
        super::volumes::remove_new(engine, &new_volumes);
    }
    made
}

/// `start`: spawn the monitor (`monitor` is the command line that runs
/// [`super::monitor::main`]) and wait for its word. `attach`: the monitor also copies the output
/// to our stdout/stderr; the returned child ends with the container's exit code.
/// `stdin`: the container reads our stdin (`run -i`).
pub fn start(rec: &Record, mut monitor: Command, attach: bool, stdin: bool) -> Result<Child> {
    if rec.status() == Status::Running {
        return Err(Error::Conflict(format!(
            "container {}: already running",
            rec.name
        )));
    }
    let (mut r, w) = std::io::pipe().map_err(io_err("pipe".as_ref()))?;
    // Inherited at the same number through the exec (the only fd we pass that way).
    sys::fd::clear_cloexec(w.as_fd()).map_err(io_err("pipe".as_ref()))?;
    monitor.env(super::monitor::ENV_READY_FD, w.as_raw_fd().to_string());
    if stdin {
        monitor.env(super::monitor::ENV_STDIN, "1");
    } else {
        monitor
            .stdin(Stdio::null())
            .env_remove(super::monitor::ENV_STDIN);
    }
    if !attach {
        monitor.stdout(Stdio::null()).stderr(Stdio::null());
    }
    let mut child = monitor
        .spawn()
        .map_err(|e| Error::Invalid(format!("starting the monitor: {e}")))?;
    // Without our copy of the write end, EOF comes when the monitor has spoken (or died).
    drop(w);
    drop(monitor);
    let mut word = String::new();
    let _ = r.read_to_string(&mut word);
    let word = word.trim_end();
    if word == "ok" {
        return Ok(child);
    }
    let _ = child.wait();
    let (code, msg) = word.split_once(' ').unwrap_or(("125", word));
    let msg = if msg.is_empty() {
        format!(
            "container {}: the monitor exited before the container started",
            rec.name
        )
    } else {
        msg.to_string()
    };
    Err(match code.parse() {
        Ok(c @ (126 | 127)) => Error::Exec { code: c, msg },
        _ => Error::Invalid(msg),
    })
}

/// Wait until the container's monitor is gone (`None` timeout: forever). Returns false on
/// timeout; the waiting thread stays until the monitor goes (the caller then kills). When it
/// is gone, the exit code it left in its lock file (read through our fd: also after `--rm`
/// removed the directory).
pub struct MonitorWait(mpsc::Receiver<Option<i32>>, std::cell::Cell<Option<i32>>);

impl MonitorWait {
    pub fn new(engine: &Engine, id: &str) -> Result<MonitorWait> {
        let path = engine.container_dir(id).join(LOCK);
        let (tx, rx) = mpsc::channel();
        let f = match File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = tx.send(None);
                return Ok(MonitorWait(rx, Default::default()));
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        std::thread::spawn(move || {
            let _ = sys::fd::flock_exclusive(f.as_fd());
            let mut text = String::new();
            let _ = (&f).read_to_string(&mut text);
            // Released before telling: the caller may check the lock next.
            drop(f);
            let _ = tx.send(text.trim().parse().ok());
        });
        Ok(MonitorWait(rx, Default::default()))
    }

    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let got = match timeout {
            Some(t) => self.0.recv_timeout(t).ok(),
            None => self.0.recv().ok(),
        };
        if let Some(code) = got {
            self.1.set(code);
        }
        got.is_some()
    }

    /// The exit code the monitor left (after a successful [`MonitorWait::wait`]).
    pub fn exit_code(&self) -> Option<i32> {
        self.1.get()
    }
}

/// `kill [-s SIG]`: refuses a container that is not running. Like Docker, a container the user
/// killed counts as stopped by hand: its restart policy no longer applies.
pub fn kill(engine: &Engine, rec: &Record, signal: &str) -> Result<()> {
    let sig = runtime::container::parse_signal(signal)?;
    if rec.status() != Status::Running {
        return Err(Error::Conflict(format!(
            "container {}: is not running",
            rec.name
        )));
    }
    let marked = mark_stopping(engine, &rec.id)?;
    match engine.driver(rec).kill(&rec.id, sig, false) {
        // Between two runs of a restart policy there is no process to signal: marked
        // stopped, the monitor ends instead of starting it again (Docker's kill of a
        // restarting container does the same).
        Err(_) if marked.is_restarting() => Ok(()),
        other => other,
    }
}

/// `stop [-t N]`: the image's StopSignal (or SIGTERM), SIGKILL after `timeout`, then wait for
/// the monitor to have recorded the exit.
pub fn stop(engine: &Engine, rec: &Record, timeout: Duration) -> Result<()> {
    if rec.status() != Status::Running {
        return Ok(());
    }
    let waiter = MonitorWait::new(engine, &rec.id)?;
    let cfg = engine.container_dir(&rec.id).join("bundle/config.json");
    let signal = spec::stop_signal(&spec::load(&cfg)?);
    let rt = engine.driver(rec);
    let sig = runtime::container::parse_signal(&signal)?;
    mark_stopping(engine, &rec.id)?;
    // The container may exit between the check and the signal: that is a stop too.
    let _ = rt.kill(&rec.id, sig, false);
    if !waiter.wait(Some(timeout)) {
        let _ = rt.kill(&rec.id, libc::SIGKILL, true);
        waiter.wait(None);
    }
    Ok(())
}

/// `rm [-f]`: a running container needs `-f` (SIGKILL, then wait for the monitor).
pub fn rm(engine: &Engine, rec: &Record, force: bool) -> Result<()> {
    rm_with_volumes(engine, rec, force, false)
}

/// `rm [-f] [-v]`: with `volumes`, the container's anonymous volumes go too (never a named one,
/// nor one another container mounts).
pub fn rm_with_volumes(engine: &Engine, rec: &Record, force: bool, volumes: bool) -> Result<()> {
    // A monitor holds its lock from before the record says running (a `start` in flight):
    // that counts as running too.
    if rec.status() == Status::Running || monitor_busy(engine, &rec.id) {
        if !force {
            return Err(Error::Conflict(format!(
                "container {}: cannot remove a running container: stop it first or use -f",
                rec.name
            )));
        }
        let waiter = MonitorWait::new(engine, &rec.id)?;
        mark_stopping(engine, &rec.id)?;
        // Again until it is gone: a container still being started has nothing to kill yet.
        loop {
            let _ = engine.driver(rec).kill(&rec.id, libc::SIGKILL, true);
            if waiter.wait(Some(Duration::from_millis(500))) {
                break;
            }
        }
    }
    let lock = record::lock(engine)?;
    if !engine.container_dir(&rec.id).exists() {
        // Its monitor removed it (--rm) meanwhile.
        return Ok(());
    }
    if monitor_busy(engine, &rec.id) {
        return Err(Error::Conflict(format!(
            "container {}: was started meanwhile: use -f",
            rec.name
        )));
    }
    if volumes {
        remove_with_volumes(engine, &rec.id, &lock)
    } else {
        remove_files(engine, &rec.id, &lock)
    }
}

/// `--runtime NAME|PATH` -> the binary's absolute path.
pub fn find_runtime(r: &str) -> Result<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let exe = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let found = if r.contains('/') {
        Some(std::path::PathBuf::from(r)).filter(|p| exe(p))
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(r))
                .find(|p| exe(p))
        })
    };
    found
        .and_then(|p| std::fs::canonicalize(p).ok())
        .ok_or_else(|| Error::Invalid(format!("--runtime {r:?}: no such executable")))
}

/// Tell the monitor that the coming exit is asked for (no restart after it); one waiting to
/// restart is woken to end there. Returns the record as marked.
fn mark_stopping(engine: &Engine, id: &str) -> Result<Record> {
    let lock = record::lock(engine)?;
    let mut rec = record::load(engine, id)?;
    rec.stopping = true;
    record::save(engine, &rec, &lock)?;
    if rec.is_restarting() {
        let _ = sys::process::kill(rec.monitor_pid, super::monitor::WAKE);
    }
    Ok(rec)
}

/// Whether a monitor holds the container's lock right now.
fn monitor_busy(engine: &Engine, id: &str) -> bool {
    let path = engine.container_dir(id).join(LOCK);
    match File::open(&path) {
        Ok(f) => !sys::fd::flock_try_exclusive(f.as_fd()).unwrap_or(true),
        Err(_) => false,
    }
}

/// `wait`: block until the container has exited; its exit code.
pub fn wait(engine: &Engine, rec: &Record) -> Result<i32> {
    let waiter = MonitorWait::new(engine, &rec.id)?;
    waiter.wait(None);
    match (record::load(engine, &rec.id), waiter.exit_code()) {
        (Ok(r), _) => Ok(r.exit_code),
        // Removed by its monitor (--rm): the code it left for us.
        (Err(Error::NoSuchContainer(_)), Some(code)) => Ok(code),
        (Err(e), _) => Err(e),
    }
}

/// Everything of a container on the host: runtime state (if a monitor was killed), networks,
/// the rootfs mount and the bundle, the directory with record and logs.
pub fn remove_files(engine: &Engine, id: &str, _lock: &Lock) -> Result<()> {
    match record::load(engine, id) {
        Ok(rec) => engine.driver(&rec).delete(id)?,
        Err(_) => super::driver::Driver::new(engine, None).delete(id)?,
    }
    engine.networks().detach(id)?;
    let dir = engine.container_dir(id);
    let bundle = dir.join("bundle");
    if bundle.join("rootfs").exists() {
        image::rootfs::release(&bundle.join("rootfs"))?;
    }
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&dir)(e)),
        _ => Ok(()),
    }
}

/// [`remove_files`], then the container's anonymous volumes (`rm -v`, `--rm`), as its record
/// lists them.
pub fn remove_with_volumes(engine: &Engine, id: &str, lock: &Lock) -> Result<()> {
    remove_with(engine, id, lock, super::volumes::remove_anonymous)
}

/// Undo a `run` whose start failed: the container and every volume its create made (named
/// ones made on first use too: nothing of that `run` is left).
pub fn remove_failed_run(engine: &Engine, id: &str, lock: &Lock) -> Result<()> {
    remove_with(engine, id, lock, super::volumes::remove_made)
}

fn remove_with(
    engine: &Engine,
    id: &str,
    lock: &Lock,
    volumes: fn(&Engine, &Record, &Lock) -> Result<()>,
) -> Result<()> {
    let rec = record::load(engine, id).ok();
    remove_files(engine, id, lock)?;
    match rec {
        Some(rec) => volumes(engine, &rec, lock),
        None => Ok(()),
    }
}

/// Our terminal's new size to the container's pty: set on the slave, its stdin (the monitor
/// holds the master; the kernel then sends SIGWINCH to the container's foreground group).
fn copy_winsize(engine: &Engine, id: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(rec) = record::load(engine, id) else {
        return;
    };
    let slave = File::options()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(format!("/proc/{}/fd/0", rec.pid));
    if let (Ok(ws), Ok(slave)) = (sys::tty::get_winsize(sys::fd::borrow_raw(0)), slave) {
        if sys::tty::is_tty(slave.as_fd()) {
            let _ = sys::tty::set_winsize(slave.as_fd(), &ws);
        }
    }
}

/// Signals a foreground `run` passes on to the container (Docker's --sig-proxy): Ctrl-C in
/// the caller's terminal reaches the container, whose monitor is in a session of its own.
const PROXIED: &[libc::c_int] = &[
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// A foreground `run`'s signal proxy. The signals are blocked (queued on a signalfd) before
/// the monitor starts: the container's first output can reach the caller before `start`
/// returns, and a Ctrl-C sent on seeing it must reach the container, not kill us (the monitor
/// and the container would then run on unseen). The monitor's spawn resets the mask.
pub struct SignalProxy {
    fd: Option<OwnedFd>,
    raw: bool,
}

impl SignalProxy {
    /// `raw`: `-it`, our terminal (if stdin is one) goes to raw mode while we wait, so keys
    /// such as Ctrl-C reach the container's pty as bytes; window size changes are passed on.
    pub fn new(raw: bool) -> SignalProxy {
        let mut set = PROXIED
            .iter()
            .fold(sys::signal::SigSet::empty().with(libc::SIGCHLD), |s, &g| {
                s.with(g)
            });
        if raw {
            set = set.with(libc::SIGWINCH);
        }
        let fd = set.block().and_then(|_| set.signalfd()).ok();
        SignalProxy { fd, raw }
    }

    /// Wait for the monitor, forwarding signals to the container; the monitor's exit code.
    pub fn wait(self, engine: &Engine, rec: &Record, mut monitor: Child) -> i32 {
        let _raw = self.raw.then(runtime::terminal::RawMode::enter);
        loop {
            // Checked before each wait: a SIGCHLD from before the block was not queued.
            match monitor.try_wait() {
                Ok(Some(status)) => return status.code().unwrap_or(super::EXIT_ENGINE),
                Ok(None) => {}
                Err(_) => return super::EXIT_ENGINE,
            }
            let Some(fd) = &self.fd else {
                return monitor
                    .wait()
                    .ok()
                    .and_then(|s| s.code())
                    .unwrap_or(super::EXIT_ENGINE);
            };
            match sys::signal::read_signalfd(fd) {
                Ok(libc::SIGCHLD) | Err(_) => {}
                Ok(libc::SIGWINCH) => copy_winsize(engine, &rec.id),
                // Docker's sig-proxy goes through its kill: no restart after it either.
                Ok(sig) => {
                    let _ = mark_stopping(engine, &rec.id);
                    let _ = engine.driver(rec).kill(&rec.id, sig, false);
                }
            }
        }
    }
}
