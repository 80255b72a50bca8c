//! The child side of `exec`: born in the container's pid namespace (joined by the parent before
//! the fork) and, where it could be, straight in its unified cgroup. It waits until the parent has
//! put it in the rest of the cgroup, joins the other namespaces (user first, mount last), takes
//! the terminal, becomes the process's user and execs. Any error goes back over the channel; a
//! good exec closes the channel (close-on-exec), which the parent reads as success.

use super::channel::{Channel, Msg};
use super::identity::{find_program, Identity};
use super::init::{cstrings, enter_cwd, prepare_fds, with_home};
use crate::namespaces::{clone_flag, kind_name, Join};
use crate::security::lsm::ExecLabels;
use crate::security::seccomp::Filter;
use crate::security::self_exec::{self, RuntimeBinary};
use crate::sys::{process, signal};
use crate::{terminal, Context, Error, Result};
use oci_spec::runtime::{LinuxMemoryPolicy, LinuxNamespaceType, LinuxPersonality, Process};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

/// What the exec'd process needs; built by the parent before the fork.
pub struct ExecConfig<'a> {
    pub process: &'a Process,
    /// The container's namespaces other than pid and time (joined by the parent), in join order.
    pub joins: &'a [Join],
    pub console_socket: Option<&'a UnixStream>,
    /// A foreground `exec -t`: the pty master goes to the runtime.
    pub terminal_to_parent: bool,
    pub preserve_fds: u32,
    /// The signal mask to restore (the parent blocks the signals it forwards).
    pub signal_mask: signal::SigSet,
    /// The container's linux.seccomp, compiled by the parent: an exec'd process gets it too.
    pub seccomp: Option<&'a Filter>,
    /// This exec's own link directory (security/self_exec.rs).
    pub link_dir: &'a Path,
    /// The container's linux.personality: exec'd processes run in the same domain.
    pub personality: Option<&'a LinuxPersonality>,
    /// The container's linux.memoryPolicy: exec'd processes get it too.
    pub memory_policy: Option<&'a LinuxMemoryPolicy>,
}

/// Entry point in the child; never returns.
pub fn run(cfg: &ExecConfig, chan: Channel) -> ! {
    let _ = cfg.signal_mask.set_mask();
    let err = match setup_and_exec(cfg, &chan) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = chan.send(&Msg::Error(err.to_string()));
    process::exit_now(127)
}

fn setup_and_exec(cfg: &ExecConfig, chan: &Channel) -> Result<std::convert::Infallible> {
    // CVE-2019-5736: this process is the runtime binary until it execs, already in the
    // container's pid namespace: others there must not open its /proc/<pid>/exe or fds.
    process::prctl(libc::PR_SET_DUMPABLE, 0).context(|| "prctl(PR_SET_DUMPABLE)")?;
    let runtime = RuntimeBinary::current()?;
    // On the host's /proc, before the container's mount namespace is joined.
    let labels = ExecLabels::open(cfg.process)?;
    let link_dir = self_exec::open_dir(cfg.link_dir)?;
    chan.expect(Msg::CgroupJoined)?;
    for j in cfg.joins {
        process::setns(j.file.as_fd(), clone_flag(j.kind))
            .context(|| format!("joining the container's {} namespace", kind_name(j.kind)))?;
        if j.kind == LinuxNamespaceType::User {
            // Become the namespace's root until the process's own user is set (fails harmlessly
            // when 0 is not mapped).
            let _ = process::setresgid(0).and_then(|_| process::setresuid(0));
        }
    }
    let p = cfg.process;
    if p.terminal() == Some(true) {
        // After the mount namespace: this is the container's /dev/ptmx, so the pty is in its devpts.
        let (master, slave) = terminal::open_pty()?;
        if let Some(socket) = cfg.console_socket {
            terminal::send_to_console_socket(socket, &master, &slave)?;
        } else if cfg.terminal_to_parent {
            chan.send_fd(&Msg::Terminal, &master)?;
        }
        drop(master);
        terminal::attach_stdio(&slave)?;
    }
    let cwd = p.cwd().to_string_lossy().into_owned();
    let args = p.args().clone().unwrap_or_default();
    let arg0 = args
        .first()
        .ok_or_else(|| Error::msg("process.args: must not be empty"))?;
    let env = with_home(p.env().clone().unwrap_or_default(), p.user().uid());
    let program = find_program(arg0, &env, &cwd)?;
    let identity = Identity::from_process(p)?;
    super::personality::apply(cfg.personality)?;
    super::memory_policy::apply(cfg.memory_policy)?;
    Identity::apply_limits(p)?;
    // CVE-2019-5736: open the program in the container's root and check it (and its #!
    // interpreters) is not the runtime; the file checked is the file exec'd, through a link made
    // while still the container's root (the owner of the link directory).
    let args = cstrings(&args)?;
    let program_path = Path::new(p.cwd()).join(&program);
    let target = self_exec::check(&program_path, args, runtime)?;
    let name = self_exec::link(&program, &target, &link_dir)?;
    // After the cgroups (a v1 cpuset resets the affinity), before a seccomp filter could deny it.
    super::cpu_affinity::apply_final(p)?;
    // The LSM labels (applied at the execve): before any seccomp filter, which might deny the
    // write, and before the capabilities go.
    labels.apply()?;
    // Same order as the init: before the capabilities go without no_new_privs, else last.
    let nnp = p.no_new_privileges() == Some(true);
    if let (Some(f), false) = (cfg.seccomp, nnp) {
        load(f, chan)?;
    }
    identity.become_user(p)?;
    enter_cwd(p.cwd())?;
    prepare_fds(cfg.preserve_fds)?;
    let env = cstrings(&env)?;
    signal::reset_dispositions();
    let _ = signal::SigSet::empty().set_mask();
    if let (Some(f), true) = (cfg.seccomp, nnp) {
        load(f, chan)?;
    }
    Err(self_exec::exec(&program, &target, &link_dir, &name, &env))
}

/// Load the filter; one with SCMP_ACT_NOTIFY passes its listener fd to the runtime (still
/// waiting on the channel), which sends it to `listenerPath`. The sendmsg that does it is
/// allowed by every profile the compiler accepts with a listener.
fn load(f: &Filter, chan: &Channel) -> Result<()> {
    if f.notify.is_some() {
        chan.pass_seccomp_fd(f.load_with_listener()?)
    } else {
        f.load()
    }
}
