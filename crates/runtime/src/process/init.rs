//! The container's init, from the clone until exec: it runs in the new namespaces, builds the root
//! filesystem, reports ready, parks on the exec fifo until `start`, then becomes the user's process.
//! Errors before the park go back to the runtime over the channel; after it, through the fifo to
//! `start`.

use super::channel::{unexpected, Channel, Msg};
use super::identity::{find_program, Identity};
use crate::namespaces::Namespaces;
use crate::rootfs::{self, RootfsOptions};
use crate::security::lsm::{self, ExecLabels};
use crate::security::seccomp::Filter;
use crate::security::self_exec::{self, RuntimeBinary};
use crate::sys::{fd, process, signal};
use crate::{hooks, terminal, Context, Error, Result};
use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// What the init needs to know; built by the parent before the clone.
pub struct InitConfig<'a> {
    pub id: &'a str,
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub ns: &'a Namespaces,
    pub fifo: &'a Path,
    /// The `--console-socket`, connected by the runtime before the clone (its path is on the host,
    /// out of the init's reach once it has pivoted).
    pub console_socket: Option<&'a UnixStream>,
    /// `run` in the foreground with a terminal: the pty master goes to the runtime.
    pub terminal_to_parent: bool,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub cgroup_mounts: &'a [cgroups::Hierarchy],
    /// The state directory's lock, inherited through the clone: closed first thing in the child.
    pub lock_fd: std::os::fd::RawFd,
    /// The signal mask to restore (the parent blocks signals before the clone).
    pub signal_mask: signal::SigSet,
    /// Whether any hook runs while the container is created (prestart, createRuntime,
    /// createContainer, startContainer): then the parent sends the state for them.
    pub has_create_hooks: bool,
    /// linux.seccomp, compiled by the runtime before the clone; loaded just before exec.
    pub seccomp: Option<&'a Filter>,
    /// Wait for the parent's CgroupJoined even without a cgroup namespace: under the systemd
    /// driver the container's cgroup exists only once systemd has placed the init.
    pub wait_for_cgroup: bool,
}

/// What the init holds while parked.
struct Parked {
    program: PathBuf,
    /// process.env, with HOME added when the config has none (as runc does).
    env: Vec<String>,
    identity: Identity,
    fifo: File,
    state_json: String,
    /// The runtime's own binary, which the container must never exec (CVE-2019-5736).
    runtime: RuntimeBinary,
    /// Where the exec symlink is made (in the state dir, held open from before the pivot).
    exec_dir: File,
}

/// Entry point in the child; never returns.
pub fn run(cfg: &InitConfig, chan: Channel) -> ! {
    process::close(cfg.lock_fd);
    let _ = cfg.signal_mask.set_mask();
    match setup(cfg, &chan) {
        Ok(parked) => {
            drop(chan);
            let err = park_and_exec(cfg, parked);
            // Only reached on failure; `start` reports what the init wrote to the fifo.
            let _ = err;
            process::exit_now(127)
        }
        Err(e) => {
            let _ = chan.send(&Msg::Error(e.to_string()));
            process::exit_now(1)
        }
    }
}

fn process_of(spec: &Spec) -> Result<&Process> {
    spec.process()
        .as_ref()
        .ok_or_else(|| Error::msg("process: is required to create a container"))
}

/// Everything up to the point where the container is created and the init can park.
fn setup(cfg: &InitConfig, chan: &Channel) -> Result<Parked> {
    let spec = cfg.spec;
    let proc_ = process_of(spec)?;
    if cfg.ns.has_new(LinuxNamespaceType::User) || cfg.ns.joins_user() {
        chan.expect(Msg::Mapped)?;
        // Become root of the namespace (new, or joined: born in it); our host uid is not mapped
        // there and files we made would be refused (EOVERFLOW). Fails harmlessly if 0 is not mapped.
        let _ = process::setresgid(0).and_then(|_| process::setresuid(0));
    }
    // CVE-2019-5736: until it execs, this process is the runtime binary; other processes in the
    // container (a joined pid namespace, an exec) must not open /proc/<pid>/exe or fd/* of it.
    // After the id maps: the parent writes them while /proc/<pid> still belongs to its owner.
    process::prctl(libc::PR_SET_DUMPABLE, 0).context(|| "prctl(PR_SET_DUMPABLE)")?;
    let runtime = RuntimeBinary::current()?;
    cfg.ns.enter_in_child()?;
    if cfg.ns.new_cgroup || cfg.wait_for_cgroup {
        chan.expect(Msg::CgroupJoined)?;
    }
    if cfg.ns.new_cgroup {
        process::unshare(libc::CLONE_NEWCGROUP).context(|| "creating the cgroup namespace")?;
    }
    set_names(spec)?;
    if !cfg.no_new_keyring {
        session_keyring(cfg.id, proc_)?;
    }
    let identity = Identity::from_process(proc_)?;
    // Opened here, on the host's /proc (the container's may be missing or not a procfs); written
    // just before `Ready`.
    let labels = ExecLabels::open(proc_)?;
    let fifo_path = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
        .open(cfg.fifo)
        .context(|| format!("opening {}", cfg.fifo.display()))?;
    let exec_dir = self_exec::open_exec_dir(cfg.fifo)?;

    let opts = RootfsOptions {
        spec,
        rootfs: cfg.rootfs,
        no_pivot: cfg.no_pivot,
        userns: cfg.ns.has_new(LinuxNamespaceType::User) || cfg.ns.joins_user(),
        console: proc_.terminal() == Some(true),
        cgroupns: cfg.ns.new_cgroup,
        cgroup_mounts: cfg.cgroup_mounts,
        mount_label: mount_label(spec),
    };
    rootfs::prepare(&opts)?;
    let state_json = runtime_hooks(cfg, chan)?;
    if let Some(h) = spec
        .hooks()
        .as_ref()
        .and_then(|h| h.create_container().as_ref())
    {
        hooks::run("createContainer", h, state_json.as_bytes())?;
    }
    rootfs::enter(&opts)?;
    if opts.console {
        setup_terminal(cfg, chan)?;
    }
    // Before `finish`, which may make the root read-only.
    let cwd = proc_.cwd().to_string_lossy().into_owned();
    ensure_cwd(&cwd)?;
    rootfs::finish(&opts)?;

    let args = proc_.args().clone().unwrap_or_default();
    let arg0 = args
        .first()
        .ok_or_else(|| Error::msg("process.args: must not be empty"))?;
    let env = with_home(proc_.env().clone().unwrap_or_default(), proc_.user().uid());
    let program = find_program(arg0, &env, &cwd)?;
    check_fifo_writable(&fifo_path)?;
    super::personality::apply(spec.linux().as_ref().and_then(|l| l.personality().as_ref()))?;
    super::memory_policy::apply(
        spec.linux()
            .as_ref()
            .and_then(|l| l.memory_policy().as_ref()),
    )?;
    // Last, so the runtime's own setup never runs under the process's limits (a small
    // RLIMIT_NOFILE would make it fail); still before the park, so a bad value fails `create`.
    Identity::apply_limits(proc_)?;
    // The LSM labels take effect at the execve. Written before `Ready` (where runc applies the
    // AppArmor profile) so a profile that is not loaded fails `create` with nothing left; the
    // steps after the park are the runtime's own and run in the init's current context.
    labels.apply()?;
    if let Some(f) = cfg.seccomp.filter(|f| f.notify.is_some()) {
        // SCMP_ACT_NOTIFY: the listener fd must reach the runtime, whose `create` is gone by the
        // time the init execs; so this filter is loaded here, before the park (where runc loads
        // every filter). The init has all its capabilities, so no_new_privs is not needed yet.
        // What follows runs under the filter: the channel's sendmsg (the compiler refuses
        // profiles that do not allow it), the park, startContainer hooks and the exec steps.
        chan.pass_seccomp_fd(f.load_with_listener()?)?;
    }
    chan.send(&Msg::Ready)?;
    Ok(Parked {
        program,
        env,
        identity,
        fifo: fifo_path,
        state_json,
        runtime,
        exec_dir,
    })
}

/// The cwd must be a directory; a missing one is made (runc does, and images rely on it).
fn ensure_cwd(cwd: &str) -> Result<()> {
    let path = Path::new(cwd);
    if path.exists() && !path.is_dir() {
        return Err(Error::msg(format!(
            "process.cwd: {cwd} is not a directory in the container"
        )));
    }
    std::fs::create_dir_all(path).context(|| format!("process.cwd: creating {cwd}"))
}

/// Add HOME when process.env has none: the user's home from the container's /etc/passwd, else "/".
pub(crate) fn with_home(mut env: Vec<String>, uid: u32) -> Vec<String> {
    if env.iter().any(|e| e.starts_with("HOME=")) {
        return env;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let home = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 5 && f[2].parse() == Ok(uid))
        .map_or("/".to_string(), |f| f[5].to_string());
    env.push(format!("HOME={home}"));
    env
}

/// The park opens the fifo for writing; make sure it can, so a failure is `create`'s error and
/// not a silent exit after `Ready`. With no reader yet, a writable fifo answers ENXIO.
fn check_fifo_writable(fifo: &File) -> Result<()> {
    let reopen = format!("/proc/self/fd/{}", fifo.as_raw_fd());
    match OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&reopen)
    {
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => Ok(()),
        Err(e) => Err(e).context(|| "opening the exec fifo in the container"),
        Ok(_) => Err(Error::msg("the exec fifo already has a reader")),
    }
}

fn set_names(spec: &Spec) -> Result<()> {
    if let Some(h) = spec.hostname() {
        process::sethostname(h).context(|| format!("hostname: setting {h:?}"))?;
    }
    if let Some(d) = spec.domainname() {
        process::setdomainname(d).context(|| format!("domainname: setting {d:?}"))?;
    }
    Ok(())
}

/// Have the parent run prestart and createRuntime (in the runtime's namespaces); it answers with the
/// state JSON the container's own hooks get.
fn runtime_hooks(cfg: &InitConfig, chan: &Channel) -> Result<String> {
    if !cfg.has_create_hooks {
        return Ok(String::new());
    }
    chan.send(&Msg::RunHooks)?;
    match chan.recv()?.0 {
        Msg::HooksDone(state) => Ok(state),
        other => Err(unexpected(other, "HooksDone")),
    }
}

/// Allocate the pty inside the container, hand its master out, and make it /dev/console and stdio.
fn setup_terminal(cfg: &InitConfig, chan: &Channel) -> Result<()> {
    let (master, slave) = terminal::open_pty()?;
    if let Some(socket) = cfg.console_socket {
        terminal::send_to_console_socket(socket, &master, &slave)?;
    } else if cfg.terminal_to_parent {
        chan.send_fd(&Msg::Terminal, &master)?;
    }
    rootfs::bind_console(&slave)?;
    terminal::attach_stdio(&slave)
}

/// The container's session keyring (possessor-only); with process.selinuxLabel it is made with
/// that context (keycreate, reset afterwards as runc does).
fn session_keyring(id: &str, proc_: &Process) -> Result<()> {
    let label = lsm::non_empty(proc_.selinux_label());
    let mut keycreate = label.map(|_| lsm::selinux::open_keycreate()).transpose()?;
    if let (Some(f), Some(l)) = (keycreate.as_mut(), label) {
        lsm::selinux::set_keycreate(f, l)?;
    }
    process::join_session_keyring(&format!("_ses.{id}"))
        .context(|| "creating the session keyring")?;
    process::restrict_session_keyring()
        .context(|| "restricting the session keyring to its possessors")?;
    if let Some(f) = keycreate.as_mut() {
        lsm::selinux::set_keycreate(f, "")?;
    }
    Ok(())
}

/// linux.mountLabel when SELinux is on; skipped without a word when it is off (as crun does).
fn mount_label(spec: &Spec) -> Option<&str> {
    let label = spec
        .linux()
        .as_ref()
        .and_then(|l| lsm::non_empty(l.mount_label()))?;
    lsm::selinux::enabled().then_some(label)
}

/// Wait for `start`, then exec. Returns only on failure, after telling `start` why.
fn park_and_exec(cfg: &InitConfig, parked: Parked) -> Error {
    // Opening the fifo for writing blocks until `start` opens it for reading.
    let reopen = format!("/proc/self/fd/{}", parked.fifo.as_raw_fd());
    let mut fifo = match OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(&reopen)
    {
        Ok(f) => f,
        Err(e) => return Error::msg(format!("waiting for start on the exec fifo: {e}")),
    };
    if fifo.write_all(b"0").is_err() {
        return Error::msg("start went away");
    }
    let err = exec(cfg, &parked).unwrap_err();
    // The fifo is close-on-exec: `start` sees EOF after a good exec, this text after a failed one.
    let _ = fifo.write_all(err.to_string().as_bytes());
    err
}

fn exec(cfg: &InitConfig, parked: &Parked) -> Result<std::convert::Infallible> {
    let proc_ = process_of(cfg.spec)?;
    if let Some(h) = cfg
        .spec
        .hooks()
        .as_ref()
        .and_then(|h| h.start_container().as_ref())
    {
        hooks::run("startContainer", h, parked.state_json.as_bytes())?;
    }
    let args = cstrings(proc_.args().as_deref().unwrap_or_default())?;
    let env = cstrings(&parked.env)?;
    // CVE-2019-5736: open the program in the final root and check it (and its #! interpreters)
    // is not the runtime; the file checked is the file exec'd. While still root here, so the
    // exec link can be made in the state dir, which only the container's root may write.
    let program = Path::new(proc_.cwd()).join(&parked.program);
    let target = self_exec::check(&program, args, parked.runtime)?;
    let name = self_exec::link(&parked.program, &target, &parked.exec_dir)?;
    // Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter: load it while the
    // init still has its capabilities (as runc does), so the profile must then allow the few
    // calls that follow (setresuid, capset, chdir, close_range, rt_sigaction, execve).
    let nnp = proc_.no_new_privileges() == Some(true);
    // A filter with a listener was loaded before the park (see `setup`).
    let seccomp = cfg.seccomp.filter(|f| f.notify.is_none());
    if let (Some(f), false) = (seccomp, nnp) {
        f.load()?;
    }
    parked.identity.become_user(proc_)?;
    enter_cwd(proc_.cwd())?;
    prepare_fds(cfg.preserve_fds)?;
    signal::reset_dispositions();
    let _ = signal::SigSet::empty().set_mask();
    // Last before exec when no_new_privs is set: nothing of the runtime runs under the filter.
    if let (Some(f), true) = (seccomp, nnp) {
        f.load()?;
    }
    Err(self_exec::exec(
        &parked.program,
        &target,
        &parked.exec_dir,
        &name,
        &env,
    ))
}

/// Strings for execve.
pub(crate) fn cstrings(v: &[String]) -> Result<Vec<CString>> {
    v.iter()
        .map(|s| {
            CString::new(s.as_bytes()).map_err(|_| Error::msg(format!("{s:?} contains a NUL byte")))
        })
        .collect()
}

/// chdir to the cwd and make sure it is inside the container's root: a directory reached through a
/// leaked descriptor (cwd /proc/self/fd/N, CVE-2024-21626) is outside it, and getcwd says so.
pub(crate) fn enter_cwd(cwd: &Path) -> Result<()> {
    std::env::set_current_dir(cwd)
        .context(|| format!("process.cwd: chdir to {}", cwd.display()))?;
    match std::env::current_dir() {
        Ok(p) if p.is_absolute() => Ok(()),
        _ => Err(Error::msg(format!(
            "process.cwd: {} is outside the container",
            cwd.display()
        ))),
    }
}

/// Only stdio and the preserved fds (3 .. 3+N) may reach the container's process.
pub(crate) fn prepare_fds(preserve: u32) -> Result<()> {
    for n in 3..3 + preserve {
        let _ = fd::clear_cloexec(fd::borrow_raw(n as i32));
    }
    process::cloexec_range_from(3 + preserve).context(|| "marking inherited fds close-on-exec")
}
