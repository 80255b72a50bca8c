//! `exec`: run one more process in a live container. The process is described by `--process FILE`
//! (an OCI `process` object, as containerd and conmon write it) or by the bundle's process with the
//! command line's args and flags over it (runc's rule). It joins every namespace of the container's
//! init and its cgroup; in the foreground the runtime relays its terminal, forwards signals and
//! returns its exit code; with `--detach` it returns once the exec happened.

use super::create::write_pid_file;
use super::run::{block_forwarded, wait};
use super::Runtime;
use crate::namespaces::{already_in, clone_flag, kind_name, Join};
use crate::process::channel::{self, unexpected, Msg};
use crate::process::exec::{self as child, ExecConfig};
use crate::process::{cpu_affinity, spawn};
use crate::security::seccomp::listener::Listener;
use crate::security::self_exec::ExecLinkDir;
use crate::state::{self, ContainerDir, Status};
use crate::sys::process::{self, Forked};
use crate::sys::signal::SigSet;
use crate::{spec, terminal, Context, Error, Result};
use oci_spec::runtime::{Capability, LinuxCapabilities, LinuxNamespaceType, Process};
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

/// `exec`'s flags.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// An OCI process JSON file; when given, the flags that describe the process are not used.
    pub process: Option<PathBuf>,
    pub args: Vec<String>,
    pub tty: bool,
    pub detach: bool,
    /// K=V entries added to the environment (replacing the same key).
    pub env: Vec<String>,
    /// UID[:GID].
    pub user: Option<String>,
    pub cwd: Option<String>,
    /// Capabilities added to every set of the bundle's process.
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    /// `--apparmor PROFILE`: replaces the bundle's process.apparmorProfile.
    pub apparmor: Option<String>,
    /// `--process-label LABEL`: replaces the bundle's process.selinuxLabel.
    pub process_label: Option<String>,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: u32,
    pub ignore_paused: bool,
}

/// Namespaces in the order the exec'd process joins them: user first (it grants the rights for
/// the rest), mount last (after it, host paths are gone). Pid and time are joined by the parent
/// before the fork: they apply to children.
const CHILD_ORDER: [(LinuxNamespaceType, &str); 6] = [
    (LinuxNamespaceType::User, "user"),
    (LinuxNamespaceType::Ipc, "ipc"),
    (LinuxNamespaceType::Uts, "uts"),
    (LinuxNamespaceType::Network, "net"),
    (LinuxNamespaceType::Cgroup, "cgroup"),
    (LinuxNamespaceType::Mount, "mnt"),
];
const PARENT_ORDER: [(LinuxNamespaceType, &str); 2] = [
    (LinuxNamespaceType::Pid, "pid"),
    (LinuxNamespaceType::Time, "time"),
];

/// Run the exec; returns the exit code for the runtime to exit with (0 with `--detach`).
pub fn exec(rt: &Runtime, id: &str, opts: &ExecOptions) -> Result<i32> {
    // No lock: a long foreground exec must not keep `kill` or `delete` waiting.
    let dir = ContainerDir::peek(&rt.root, id)?;
    let st = dir.load()?;
    let status = state::status(&dir, &st);
    match status {
        Status::Stopped => return Err(Error::msg("cannot exec in a stopped container")),
        Status::Paused if !opts.ignore_paused => {
            return Err(Error::msg(
                "cannot exec in a paused container (use --ignore-paused to override)",
            ))
        }
        _ => {}
    }
    let proc_ = match &opts.process {
        Some(file) => load_process(file)?,
        None => process_from_flags(&st.bundle, opts)?,
    };
    // The container's seccomp profile and personality apply to exec'd processes too (as runc);
    // the profile compiled here, before anything is joined or forked.
    let bundle = spec::load(&st.bundle)?;
    let seccomp = container_seccomp(&bundle)?;
    let personality = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.personality().clone());
    let memory_policy = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.memory_policy().clone());
    // SCMP_ACT_NOTIFY: connected before anything is joined or forked (a dead path fails here).
    let listener = match seccomp.as_ref().and_then(|f| f.notify.as_ref()) {
        Some(t) => Some(Listener::connect(t).map_err(|problem| {
            let file = st.bundle.join("config.json").display().to_string();
            Error::config(file, "linux.seccomp.listenerPath", problem)
        })?),
        None => None,
    };
    let tty = proc_.terminal() == Some(true);
    terminal::check_combination(tty, opts.detach, opts.console_socket.as_deref())?;

    let mut joins = open_namespaces(st.pid, &CHILD_ORDER)?;
    let mut parent_joins = open_namespaces(st.pid, &PARENT_ORDER)?;
    if crate::rootless::is_rootless() {
        // Unprivileged, setns(pid) needs CAP_SYS_ADMIN in our own user namespace too: we have it
        // only once in the container's (which we own). So the parent joins that one first.
        if let Some(i) = joins
            .iter()
            .position(|j| j.kind == LinuxNamespaceType::User)
        {
            parent_joins.insert(0, joins.remove(i));
        }
    }
    let cgroup = st.cgroup();
    let console = opts
        .console_socket
        .as_deref()
        .map(terminal::connect_console_socket)
        .transpose()?;
    let (mask, sigfd) = if opts.detach {
        (SigSet::empty(), None)
    } else {
        let (old, fd) = block_forwarded()?;
        (old, Some(fd))
    };
    for j in &parent_joins {
        process::setns(j.file.as_fd(), clone_flag(j.kind))
            .context(|| format!("joining the container's {} namespace", kind_name(j.kind)))?;
    }
    let link_dir = ExecLinkDir::make(&dir.fifo())?;
    let cfg = ExecConfig {
        process: &proc_,
        joins: &joins,
        console_socket: console.as_ref(),
        terminal_to_parent: tty && !opts.detach,
        preserve_fds: opts.preserve_fds,
        signal_mask: mask,
        seccomp: seccomp.as_ref(),
        link_dir: link_dir.path(),
        personality: personality.as_ref(),
        memory_policy: memory_policy.as_ref(),
    };
    // execCPUAffinity.initial is set before any cgroup transition: not born in the unified one.
    let initial = cpu_affinity::initial(&proc_)?;
    let unified = cgroup.as_ref().and_then(|c| c.unified_path());
    let (parent, chan) = channel::pair()?;
    let (forked, born_in_unified) = spawn::clone(0, unified.filter(|_| initial.is_none()))?;
    let pid = match forked {
        Forked::Child => {
            drop(parent);
            child::run(&cfg, chan)
        }
        Forked::Parent(pid) => pid,
    };
    drop(chan);
    let started = (|| -> Result<Option<OwnedFd>> {
        if let Some(cpus) = &initial {
            cpu_affinity::apply_initial(pid, cpus, &proc_)?;
        }
        if let Some(cgroup) = &cgroup {
            let joined = if born_in_unified {
                cgroup.add_process_v1(pid)
            } else {
                cgroup.add_process(pid)
            };
            joined.map_err(|e| Error::msg(format!("joining cgroup {}: {e}", cgroup.path())))?;
        }
        parent.send(&Msg::CgroupJoined)?;
        let mut master = None;
        // The child's end is close-on-exec: EOF means the exec happened.
        while let Some(got) = parent.recv_or_eof()? {
            match got {
                (Msg::Terminal, Some(fd)) => master = Some(fd),
                // The exec'd process's own filter: its listener fd goes to listenerPath with
                // the container's state (its status, the init's pid) and this process's pid.
                (Msg::SeccompFd, Some(fd)) => match &listener {
                    Some(l) => l.send(pid, &state::public_json(&st, status), &fd)?,
                    None => return Err(Error::msg("exec'd process sent an unexpected seccomp fd")),
                },
                (other, _) => return Err(unexpected(other, "the exec")),
            }
        }
        write_pid_file(opts.pid_file.as_deref(), pid)?;
        Ok(master)
    })();
    drop(link_dir);
    let master = match started {
        Ok(m) => m,
        Err(e) => {
            let _ = process::kill(pid, libc::SIGKILL);
            let _ = process::waitpid(pid, false);
            return Err(e);
        }
    };
    match sigfd {
        None => Ok(0),
        Some(fd) => Ok(wait(pid, &fd, master)?.status()),
    }
}

/// The container's namespaces of these kinds that differ from ours, opened by /proc/PID/ns.
fn open_namespaces(pid: libc::pid_t, kinds: &[(LinuxNamespaceType, &str)]) -> Result<Vec<Join>> {
    let mut out = Vec::new();
    for &(kind, name) in kinds {
        let path = PathBuf::from(format!("/proc/{pid}/ns/{name}"));
        let file = match File::open(&path) {
            Ok(f) => f,
            // A kernel without time namespaces has no such file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && name == "time" => continue,
            Err(e) => {
                return Err(e).context(|| format!("opening the container's {name} namespace"))
            }
        };
        if !already_in(&file, name) {
            out.push(Join { kind, path, file });
        }
    }
    Ok(out)
}

fn load_process(file: &std::path::Path) -> Result<Process> {
    let name = format!("--process {}", file.display());
    let text = std::fs::read(file)
        .map_err(|e| Error::msg(format!("{name}: {}", crate::spec::io_text(&e))))?;
    spec::parse_process(&text, &name)
}

/// The bundle's linux.seccomp, compiled (None when the config has none).
fn container_seccomp(b: &spec::Bundle) -> Result<Option<crate::security::seccomp::Filter>> {
    let Some(s) = b.spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return Ok(None);
    };
    crate::security::seccomp::compile(s).map(Some).map_err(|p| {
        let file = b.dir.join("config.json").display().to_string();
        Error::config(file, p.field, p.problem)
    })
}

/// The bundle's process with the command line over it, as runc builds it (also what an engine
/// hands another runtime as `exec --process FILE`).
pub fn process_from_flags(bundle: &std::path::Path, o: &ExecOptions) -> Result<Process> {
    if o.args.is_empty() {
        return Err(Error::msg(
            "exec: no command given (pass ARGS after the container id, or --process FILE)",
        ));
    }
    let b = spec::load(bundle)?;
    let mut p = b
        .spec
        .process()
        .clone()
        .ok_or_else(|| Error::msg("process: the bundle's config.json has none"))?;
    p.set_args(Some(o.args.clone()));
    p.set_terminal(Some(o.tty));
    let mut env = p.env().clone().unwrap_or_default();
    for kv in &o.env {
        let key = kv.split('=').next().unwrap_or(kv);
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    p.set_env(Some(env));
    if let Some(cwd) = &o.cwd {
        p.set_cwd(cwd.into());
    }
    if let Some(u) = &o.user {
        let (uid, gid) = parse_user(u)?;
        let user = p.user_mut();
        user.set_uid(uid);
        // As runc: without :GID the bundle's gid stays.
        if let Some(gid) = gid {
            user.set_gid(gid);
        }
    }
    // With no capabilities in the bundle the process keeps all of root's: nothing to add.
    if let Some(caps) = p.capabilities().clone().filter(|_| !o.caps.is_empty()) {
        p.set_capabilities(Some(add_caps(caps, &o.caps)?));
    }
    if o.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    lsm_flags(&mut p, o)?;
    spec::validate_process(&p, "exec")?;
    Ok(p)
}

/// `--apparmor` and `--process-label` over the bundle's labels; on a host without the LSM the
/// flag is named in the error.
fn lsm_flags(p: &mut Process, o: &ExecOptions) -> Result<()> {
    use crate::security::lsm::{apparmor, selinux};
    if let Some(profile) = &o.apparmor {
        if !profile.is_empty() && !apparmor::enabled() {
            return Err(Error::msg(
                "--apparmor: AppArmor is not enabled on this host",
            ));
        }
        p.set_apparmor_profile(Some(profile.clone()));
    }
    if let Some(label) = &o.process_label {
        if !label.is_empty() && !selinux::enabled() {
            return Err(Error::msg(
                "--process-label: SELinux is not enabled on this host",
            ));
        }
        p.set_selinux_label(Some(label.clone()));
    }
    Ok(())
}

/// `-u UID[:GID]`, numbers only (as runc).
fn parse_user(u: &str) -> Result<(u32, Option<u32>)> {
    parse_uid_gid(u)
        .ok_or_else(|| Error::msg(format!("--user {u:?}: expected UID[:GID] (numbers)")))
}

/// `UID[:GID]` in numbers, as exec's `--user` takes it (None: not that).
pub fn parse_uid_gid(u: &str) -> Option<(u32, Option<u32>)> {
    let (uid, gid) = match u.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (u, None),
    };
    let uid = uid.parse().ok()?;
    let gid = match gid {
        Some(g) => Some(g.parse().ok()?),
        None => None,
    };
    Some((uid, gid))
}

/// `--cap CAP`: added to the bounding, effective, permitted, inheritable and ambient sets.
fn add_caps(mut caps: LinuxCapabilities, names: &[String]) -> Result<LinuxCapabilities> {
    let parsed = names
        .iter()
        .map(|n| {
            // The deserializer is the one that reads config.json's names (CAP_ prefix optional).
            serde_json::from_value::<Capability>(serde_json::Value::from(n.as_str()))
                .map_err(|_| Error::msg(format!("--cap {n:?}: unknown capability")))
        })
        .collect::<Result<Vec<_>>>()?;
    let with = |set: &Option<oci_spec::runtime::Capabilities>| {
        let mut s = set.clone().unwrap_or_default();
        s.extend(parsed.iter().copied());
        Some(s)
    };
    let (b, e, p, i, a) = (
        with(caps.bounding()),
        with(caps.effective()),
        with(caps.permitted()),
        with(caps.inheritable()),
        with(caps.ambient()),
    );
    caps.set_bounding(b)
        .set_effective(e)
        .set_permitted(p)
        .set_inheritable(i)
        .set_ambient(a);
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_flag() {
        assert_eq!(parse_user("1000").unwrap(), (1000, None));
        assert_eq!(parse_user("1000:50").unwrap(), (1000, Some(50)));
        assert!(parse_user("bob").is_err());
        assert!(parse_user("1:x").is_err());
    }

    #[test]
    fn cap_flag_adds_to_every_set() {
        let caps = add_caps(LinuxCapabilities::default(), &["CAP_SYS_TIME".into()]).unwrap();
        assert!(caps
            .bounding()
            .as_ref()
            .unwrap()
            .contains(&Capability::SysTime));
        assert!(caps
            .effective()
            .as_ref()
            .unwrap()
            .contains(&Capability::SysTime));
        assert!(add_caps(caps, &["CAP_NOPE".into()]).is_err());
    }
}
