//! `delete`: remove a stopped container (or, with `--force`, kill it first): its cgroup, then the
//! poststop hooks, then its state.

use super::Runtime;
use crate::state::{self, ContainerDir, Status};
use crate::sys::{fd, process};
use crate::{hooks, Error, Result};
use std::os::fd::AsFd;

/// How long `delete --force` waits for killed processes to go.
const KILL_WAIT_MS: i32 = 10_000;

pub fn delete(rt: &Runtime, id: &str, force: bool) -> Result<()> {
    let dir = match ContainerDir::open(&rt.root, id) {
        Err(Error::NotFound(_)) if force => return Ok(()),
        other => other?,
    };
    let st = dir.load()?;
    let cgroup = st.cgroup();
    match state::status(&dir, &st) {
        Status::Stopped => {}
        other if !force => {
            return Err(Error::msg(format!(
                "cannot delete container {id} that is {} (stop it, or use --force)",
                other.as_str()
            )))
        }
        _ => {
            if let Some(cgroup) = &cgroup {
                let _ = cgroup.kill_all(libc::SIGKILL);
            }
            // Without a cgroup (rootless), killing the init of its own pid namespace kills the
            // rest of the namespace too.
            let _ = process::kill(st.pid, libc::SIGKILL);
            // A paused container: tasks frozen by the v1 freezer die only once thawed.
            if let Some(cgroup) = cgroup.as_ref().filter(|c| c.is_frozen()) {
                let _ = cgroup.thaw();
            }
            wait_gone(st.pid)?;
        }
    }
    if let Some(unit) = &st.systemd_unit {
        super::systemd_unit::stop(unit)?;
    }
    if let Some(cgroup) = &cgroup {
        cgroup
            .remove()
            .map_err(|e| Error::msg(format!("removing cgroup {}: {e}", st.cgroup_path)))?;
    }
    if let Some(h) = st.hooks.as_ref().and_then(|h| h.poststop().as_ref()) {
        let json = state::public_json(&st, Status::Stopped);
        // The spec: a failing poststop hook is a warning; the delete goes on.
        if let Err(e) = hooks::run("poststop", h, json.as_bytes()) {
            eprintln!("coracle-runtime: warning: {e}");
        }
    }
    dir.remove()
}

/// Wait until the init has exited (it is usually not our child, so poll a pidfd).
fn wait_gone(pid: libc::pid_t) -> Result<()> {
    let Ok(pidfd) = process::pidfd_open(pid) else {
        return Ok(());
    };
    match fd::poll_readable(&[pidfd.as_fd()], KILL_WAIT_MS) {
        Ok(Some(_)) => Ok(()),
        _ => Err(Error::msg(format!(
            "container init (pid {pid}) did not exit after SIGKILL"
        ))),
    }
}
