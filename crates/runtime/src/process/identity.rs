//! Becoming the container's process: rlimits, oom score, user and groups, capabilities,
//! no_new_privs, umask and cwd, in the order the kernel's privilege rules require.

use crate::security::capabilities::CapSets;
use crate::sys::process;
use crate::{Context, Error, Result};
use oci_spec::runtime::{PosixRlimitType, Process};

/// Everything about the process that can be checked before the init parks, so a bad value fails
/// `create` rather than the later `start`.
pub struct Identity {
    caps: Option<CapSets>,
    uid: u32,
    gid: u32,
    groups: Vec<u32>,
}

impl Identity {
    pub fn from_process(p: &Process) -> Result<Identity> {
        let caps = p
            .capabilities()
            .as_ref()
            .map(CapSets::from_spec)
            .transpose()?;
        let user = p.user();
        let groups = user.additional_gids().clone().unwrap_or_default();
        Ok(Identity {
            caps,
            uid: user.uid(),
            gid: user.gid(),
            groups,
        })
    }

    /// Set the scheduler, I/O priority, rlimits and the OOM score while the init still has its
    /// privileges.
    pub fn apply_limits(p: &Process) -> Result<()> {
        super::scheduling::apply(p)?;
        for (i, r) in p.rlimits().iter().flatten().enumerate() {
            process::setrlimit(rlimit_resource(r.typ()), r.soft(), r.hard())
                .context(|| format!("process.rlimits[{i}] ({:?}): setrlimit", r.typ()))?;
        }
        if let Some(score) = p.oom_score_adj() {
            std::fs::write("/proc/self/oom_score_adj", score.to_string())
                .context(|| format!("process.oomScoreAdj: setting {score}"))?;
        }
        Ok(())
    }

    /// Change user and groups and set the capability sets, then no_new_privs and umask.
    pub fn become_user(&self, p: &Process) -> Result<()> {
        if let Some(caps) = &self.caps {
            caps.drop_bounding()?;
        }
        // Keep the permitted set across the uid change; the effective set is set again after it.
        process::prctl(libc::PR_SET_KEEPCAPS, 1).context(|| "prctl(PR_SET_KEEPCAPS)")?;
        match process::setgroups(&self.groups) {
            Ok(()) => {}
            // setgroups is denied in a user namespace whose gid_map was written without it (a
            // rootless single gid mapping): no groups to change then, but the ones asked for
            // cannot be had. Read only on EPERM, so a normal start does not open the file.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) && setgroups_denied() => {
                if !self.groups.is_empty() {
                    return Err(Error::msg(
                        "process.user.additionalGids: setgroups is denied in this user namespace \
                         (a single gid mapping written without newgidmap): map gid ranges in \
                         linux.gidMappings or drop additionalGids",
                    ));
                }
            }
            Err(e) => return Err(e).context(|| "process.user.additionalGids: setgroups"),
        }
        process::setresgid(self.gid)
            .context(|| format!("process.user.gid: setting gid {}", self.gid))?;
        process::setresuid(self.uid)
            .context(|| format!("process.user.uid: setting uid {}", self.uid))?;
        process::prctl(libc::PR_SET_KEEPCAPS, 0).context(|| "prctl(PR_SET_KEEPCAPS)")?;
        if let Some(caps) = &self.caps {
            caps.apply()?;
        }
        if p.no_new_privileges() == Some(true) {
            process::prctl(libc::PR_SET_NO_NEW_PRIVS, 1).context(|| "process.noNewPrivileges")?;
        }
        // Like runc: 0022 unless the config says otherwise, never the caller's own umask.
        process::umask(p.user().umask().unwrap_or(0o022));
        Ok(())
    }
}

fn setgroups_denied() -> bool {
    std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny")
}

fn rlimit_resource(t: PosixRlimitType) -> u32 {
    use PosixRlimitType::*;
    match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// Find the program to exec: a path with a slash is taken as is (relative to cwd), otherwise each
/// directory of the container's PATH is tried, as execvp would.
pub fn find_program(arg0: &str, env: &[String], cwd: &str) -> Result<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if arg0.contains('/') {
        let p = std::path::Path::new(cwd).join(arg0);
        return if executable(&p) {
            Ok(p)
        } else {
            Err(Error::msg(format!(
                "exec: {arg0:?}: no such executable file in the container"
            )))
        };
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    path.split(':')
        .map(|dir| std::path::Path::new(if dir.is_empty() { "." } else { dir }).join(arg0))
        .find(|p| executable(p))
        .ok_or_else(|| {
            Error::msg(format!(
                "exec: {arg0:?}: executable file not found in $PATH"
            ))
        })
}
