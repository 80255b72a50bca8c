//! The parent's side of starting an init: clone it into its namespaces, write its id maps, put it in
//! its cgroup while it builds its root filesystem, run the runtime's hooks when it asks, and wait for
//! it to be ready. On any failure the init is killed and reaped before the error is returned.

use super::channel::{self, unexpected, Msg};
use super::init::{self, InitConfig};
use crate::namespaces::write_id_maps;
use crate::sys::process::{self, Forked};
use crate::{Context, Error, Result};
use oci_spec::runtime::LinuxNamespaceType;
use std::os::fd::OwnedFd;

/// A created init, parked or about to park on the exec fifo.
pub struct Spawned {
    pub pid: libc::pid_t,
    /// The pty master, when the init runs in the foreground with a terminal.
    pub master: Option<OwnedFd>,
}

/// Clone the init and drive it until it is ready. `join_cgroup` puts a pid in the container's cgroup;
/// `runtime_hooks` runs prestart and createRuntime for the pid and returns the state JSON for the
/// container's own hooks.
pub fn spawn(
    cfg: &InitConfig,
    join_cgroup: &dyn Fn(libc::pid_t) -> Result<()>,
    runtime_hooks: &dyn Fn(libc::pid_t) -> Result<String>,
) -> Result<Spawned> {
    cfg.ns.enter_before_clone(cfg.spec)?;
    let (parent, child) = channel::pair()?;
    match process::clone_fork(cfg.ns.flags_for_clone())
        .context(|| "cloning the container's init")?
    {
        Forked::Child => {
            drop(parent);
            init::run(cfg, child)
        }
        Forked::Parent(pid) => {
            drop(child);
            drive(cfg, pid, &parent, join_cgroup, runtime_hooks).inspect_err(|_| {
                let _ = process::kill(pid, libc::SIGKILL);
                let _ = process::waitpid(pid, false);
            })
        }
    }
}

fn drive(
    cfg: &InitConfig,
    pid: libc::pid_t,
    chan: &channel::Channel,
    join_cgroup: &dyn Fn(libc::pid_t) -> Result<()>,
    runtime_hooks: &dyn Fn(libc::pid_t) -> Result<String>,
) -> Result<Spawned> {
    if cfg.ns.has_new(LinuxNamespaceType::User) {
        write_id_maps(pid, cfg.spec)?;
        chan.send(&Msg::Mapped)?;
    }
    // The first cgroup join can block in the kernel for milliseconds; the init builds its root
    // filesystem meanwhile and only waits for it when it must make a cgroup namespace.
    join_cgroup(pid)?;
    if cfg.ns.new_cgroup {
        chan.send(&Msg::CgroupJoined)?;
    }
    let mut master = None;
    loop {
        match chan.recv()? {
            (Msg::RunHooks, _) => chan.send(&Msg::HooksDone(runtime_hooks(pid)?))?,
            (Msg::Terminal, Some(fd)) => master = Some(fd),
            (Msg::Terminal, None) => return Err(Error::msg("container init sent no pty")),
            (Msg::Ready, _) => return Ok(Spawned { pid, master }),
            (other, _) => return Err(unexpected(other, "Ready")),
        }
    }
}
