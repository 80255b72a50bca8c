//! The parent's side of starting an init: clone it into its namespaces, write its id maps, put it in
//! its cgroup while it builds its root filesystem, run the runtime's hooks when it asks, and wait for
//! it to be ready. On any failure the init is killed and reaped before the error is returned.

use super::channel::{self, unexpected, Msg};
use super::init::{self, InitConfig};
use crate::namespaces::write_id_maps;
use crate::sys::process::{self, Forked};
use crate::{Context, Error, Result};
use oci_spec::runtime::LinuxNamespaceType;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// A created init, parked or about to park on the exec fifo.
pub struct Spawned {
    pub pid: libc::pid_t,
    /// The pty master, when the init runs in the foreground with a terminal.
    pub master: Option<OwnedFd>,
}

/// The container's cgroup as the spawn sees it: where the init can be born (the unified
/// directory), and how to put it in the rest (`born_in_unified` says whether it was).
pub struct CgroupJoin<'a> {
    pub unified: Option<&'a Path>,
    pub join: &'a dyn Fn(libc::pid_t, bool) -> Result<()>,
}

/// What the parent does when the init asks: `runtime_hooks` runs prestart and createRuntime for
/// the pid and returns the state JSON for the container's own hooks; `seccomp_fd` takes the
/// listener fd of a filter with SCMP_ACT_NOTIFY (sent on to `listenerPath`).
pub struct ParentSide<'a> {
    pub runtime_hooks: &'a dyn Fn(libc::pid_t) -> Result<String>,
    pub seccomp_fd: &'a dyn Fn(libc::pid_t, OwnedFd) -> Result<()>,
}

/// Clone the init and drive it until it is ready.
pub fn spawn(cfg: &InitConfig, cgroup: &CgroupJoin, side: &ParentSide) -> Result<Spawned> {
    cfg.ns.enter_before_clone(cfg.spec)?;
    let (parent, child) = channel::pair()?;
    let (forked, born_in_unified) = if cfg.ns.joins_user() {
        (clone_in_joined_user_ns(cfg)?, false)
    } else {
        clone(cfg.ns.flags_for_clone(), cgroup.unified)?
    };
    match forked {
        Forked::Child => {
            drop(parent);
            init::run(cfg, child)
        }
        Forked::Parent(pid) => {
            drop(child);
            let join = |pid| (cgroup.join)(pid, born_in_unified);
            drive(cfg, pid, &parent, &join, side).inspect_err(|_| {
                let _ = process::kill(pid, libc::SIGKILL);
                let _ = process::waitpid(pid, false);
            })
        }
    }
}

/// A new pid namespace must belong to the user namespace the container joins, or the init could not
/// mount its /proc. So a helper joins that user namespace first and clones the init from there as our
/// child (CLONE_PARENT); it tells us the init's pid and exits. The init is born in the user namespace.
fn clone_in_joined_user_ns(cfg: &InitConfig) -> Result<Forked> {
    let (mut ours, mut theirs) =
        UnixStream::pair().context(|| "creating the user-namespace helper's socket")?;
    match process::clone_fork(0).context(|| "forking the user-namespace helper")? {
        Forked::Child => {
            drop(ours);
            let user = cfg
                .ns
                .joins
                .iter()
                .find(|j| j.kind == LinuxNamespaceType::User);
            let cloned = user
                .ok_or_else(|| std::io::Error::from_raw_os_error(libc::EINVAL))
                .and_then(|j| process::setns(j.file.as_fd(), libc::CLONE_NEWUSER))
                .and_then(|_| process::clone_fork(cfg.ns.flags_for_clone() | libc::CLONE_PARENT));
            let answer = match cloned {
                Ok(Forked::Child) => {
                    drop(theirs);
                    return Ok(Forked::Child);
                }
                Ok(Forked::Parent(pid)) => pid,
                Err(e) => -e.raw_os_error().unwrap_or(libc::EINVAL),
            };
            let _ = theirs.write_all(&answer.to_ne_bytes());
            process::exit_now(0)
        }
        Forked::Parent(helper) => {
            drop(theirs);
            let mut buf = [0u8; 4];
            let read = ours.read_exact(&mut buf);
            let _ = process::waitpid(helper, false);
            read.context(|| "the user-namespace helper ended without an answer")?;
            match i32::from_ne_bytes(buf) {
                pid if pid > 0 => Ok(Forked::Parent(pid)),
                err => Err(std::io::Error::from_raw_os_error(-err))
                    .context(|| "cloning the container's init in the joined user namespace"),
            }
        }
    }
}

/// Clone into the unified cgroup directory where there is one and the kernel takes it (clone3
/// with CLONE_INTO_CGROUP, Linux 5.7): a child born in its cgroup costs no migration. Otherwise a
/// plain clone, joined by writing cgroup.procs.
pub(crate) fn clone(flags: libc::c_int, unified: Option<&Path>) -> Result<(Forked, bool)> {
    if let Some(dir) = unified {
        let fd = File::open(dir).context(|| format!("opening cgroup {}", dir.display()))?;
        match process::clone_into_cgroup(flags, fd.as_fd()) {
            Ok(forked) => return Ok((forked, true)),
            Err(e) if cannot_clone_into_cgroup(&e) => {}
            Err(e) => return Err(e).context(|| "cloning the container's init"),
        }
    }
    let forked = process::clone_fork(flags).context(|| "cloning the container's init")?;
    Ok((forked, false))
}

/// Errors that mean "this kernel or this cgroup cannot take CLONE_INTO_CGROUP" (no clone3, an
/// older clone_args, no permission on the cgroup), not "cloning fails".
fn cannot_clone_into_cgroup(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ENOSYS
                | libc::E2BIG
                | libc::EINVAL
                | libc::EOPNOTSUPP
                | libc::EBUSY
                | libc::EACCES
                | libc::EPERM
        )
    )
}

fn drive(
    cfg: &InitConfig,
    pid: libc::pid_t,
    chan: &channel::Channel,
    join_cgroup: &dyn Fn(libc::pid_t) -> Result<()>,
    side: &ParentSide,
) -> Result<Spawned> {
    if cfg.ns.has_new(LinuxNamespaceType::User) {
        write_id_maps(pid, cfg.spec)?;
    }
    if cfg.ns.has_new(LinuxNamespaceType::User) || cfg.ns.joins_user() {
        give_fifo_to_ns_root(cfg, pid)?;
        chan.send(&Msg::Mapped)?;
    }
    // The first cgroup join can block in the kernel for milliseconds; the init builds its root
    // filesystem meanwhile and only waits for it when it must make a cgroup namespace.
    join_cgroup(pid)?;
    if cfg.ns.new_cgroup || cfg.wait_for_cgroup {
        chan.send(&Msg::CgroupJoined)?;
    }
    let mut master = None;
    loop {
        match chan.recv()? {
            (Msg::RunHooks, _) => chan.send(&Msg::HooksDone((side.runtime_hooks)(pid)?))?,
            (Msg::SeccompFd, Some(fd)) => (side.seccomp_fd)(pid, fd)?,
            (Msg::SeccompFd, None) => return Err(Error::msg("container init sent no seccomp fd")),
            (Msg::Terminal, Some(fd)) => master = Some(fd),
            (Msg::Terminal, None) => return Err(Error::msg("container init sent no pty")),
            (Msg::Ready, _) => return Ok(Spawned { pid, master }),
            (other, _) => return Err(unexpected(other, "Ready")),
        }
    }
}

/// In a user namespace the parked init is the namespace's root, not the host's, and the exec fifo
/// (0622 trimmed by the umask to 0600, owned by the host's root) would refuse it: give the fifo to the
/// host ids that the namespace's root maps to.
fn give_fifo_to_ns_root(cfg: &InitConfig, pid: libc::pid_t) -> Result<()> {
    let root_of = |map: &str| -> Result<Option<u32>> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/{map}"))
            .context(|| format!("reading /proc/{pid}/{map}"))?;
        // "<inside> <outside> <count>" per range.
        Ok(text.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&"0")).then(|| f.get(1)?.parse().ok())?
        }))
    };
    let (uid, gid) = (root_of("uid_map")?, root_of("gid_map")?);
    // The init makes its exec symlink there (security/self_exec.rs).
    let exec_dir = crate::security::self_exec::exec_dir_path(cfg.fifo);
    for path in [cfg.fifo, exec_dir.as_path()] {
        match std::os::unix::fs::chown(path, uid, gid) {
            // Rootless, only ids of one's own can be given.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) && crate::rootless::is_rootless() => {
                return Err(Error::msg(format!(
                    "linux.uidMappings: container uid 0 maps to host uid {}, which an unprivileged \
                     caller cannot give files to: map container uid 0 to your own uid (as `spec \
                     --rootless` does) and other ids to your subordinate ranges",
                    uid.map_or_else(|| "(none)".into(), |u| u.to_string())
                )))
            }
            r => r.context(|| format!("giving {} to the container's root", path.display()))?,
        }
    }
    Ok(())
}
