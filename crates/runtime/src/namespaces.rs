//! Which namespaces a container gets, and how: new ones come from clone flags (or, for time and
//! cgroup, from unshare at the right moment); existing ones are joined by path with setns.

use crate::sys::process;
use crate::{Context, Error, Result};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::fs::File;
use std::os::fd::AsFd;
use std::path::PathBuf;

/// A namespace to join: the open namespace file and its kind.
pub struct Join {
    pub kind: LinuxNamespaceType,
    pub path: PathBuf,
    pub file: File,
}

/// The namespace plan of one container.
#[derive(Default)]
pub struct Namespaces {
    /// CLONE_NEW* flags passed to clone (pid, net, mount, ipc, uts, user).
    pub clone_flags: libc::c_int,
    /// Namespaces to join, opened by the parent before the clone so a bad path fails early.
    pub joins: Vec<Join>,
    /// A new cgroup namespace: made by the init after it is in its cgroup, so the namespace's root is
    /// the container's cgroup.
    pub new_cgroup: bool,
    /// A new time namespace: made by the parent before the clone, offsets written, child born in it.
    pub new_time: bool,
}

pub fn clone_flag(kind: LinuxNamespaceType) -> libc::c_int {
    match kind {
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::User => libc::CLONE_NEWUSER,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Time => libc::CLONE_NEWTIME,
    }
}

impl Namespaces {
    /// Read the plan from `linux.namespaces`, opening every path to join.
    pub fn from_spec(spec: &Spec) -> Result<Namespaces> {
        let mut plan = Namespaces::default();
        let list = spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().clone())
            .unwrap_or_default();
        for (i, ns) in list.iter().enumerate() {
            let kind = ns.typ();
            match ns.path() {
                Some(path) => {
                    let file = File::open(path).map_err(|e| {
                        Error::msg(format!(
                            "linux.namespaces[{i}].path: {}: {e}",
                            path.display()
                        ))
                    })?;
                    check_kind(&file, kind).map_err(|problem| {
                        Error::msg(format!(
                            "linux.namespaces[{i}].path: {}: {problem}",
                            path.display()
                        ))
                    })?;
                    plan.joins.push(Join {
                        kind,
                        path: path.clone(),
                        file,
                    });
                }
                None => match kind {
                    LinuxNamespaceType::Cgroup => plan.new_cgroup = true,
                    LinuxNamespaceType::Time => plan.new_time = true,
                    _ => plan.clone_flags |= clone_flag(kind),
                },
            }
        }
        // A joined user namespace must come first: the others are joined with its privileges.
        plan.joins
            .sort_by_key(|j| j.kind != LinuxNamespaceType::User);
        Ok(plan)
    }

    pub fn has_new(&self, kind: LinuxNamespaceType) -> bool {
        match kind {
            LinuxNamespaceType::Cgroup => self.new_cgroup,
            LinuxNamespaceType::Time => self.new_time,
            _ => self.clone_flags & clone_flag(kind) != 0,
        }
    }

    pub fn joins_user(&self) -> bool {
        self.joins
            .iter()
            .any(|j| j.kind == LinuxNamespaceType::User)
    }

    /// The flags to clone with. After joining an existing user namespace the child must make its new
    /// namespaces itself (so they belong to that user namespace); only the pid namespace has to come
    /// from clone, to make the init its pid 1.
    pub fn flags_for_clone(&self) -> libc::c_int {
        if self.joins_user() {
            self.clone_flags & libc::CLONE_NEWPID
        } else {
            self.clone_flags
        }
    }

    /// In the parent, before the clone: join the pid namespace (affects children only) and make the
    /// time namespace with its offsets (also for children only).
    pub fn enter_before_clone(&self, spec: &Spec) -> Result<()> {
        for j in self
            .joins
            .iter()
            .filter(|j| j.kind == LinuxNamespaceType::Pid)
        {
            process::setns(j.file.as_fd(), libc::CLONE_NEWPID)
                .context(|| format!("joining pid namespace {}", j.path.display()))?;
        }
        if self.new_time {
            process::unshare(libc::CLONE_NEWTIME).context(|| "creating the time namespace")?;
            let offsets = time_offsets(spec);
            if !offsets.is_empty() {
                std::fs::write("/proc/self/timens_offsets", offsets)
                    .context(|| "linux.timeOffsets: writing offsets")?;
            }
        }
        Ok(())
    }

    /// In the child: join the namespaces given by path (user first), then make the rest if a joined
    /// user namespace kept them out of the clone.
    pub fn enter_in_child(&self) -> Result<()> {
        for j in self
            .joins
            .iter()
            .filter(|j| j.kind != LinuxNamespaceType::Pid)
        {
            if j.kind == LinuxNamespaceType::User && already_in(&j.file, "user") {
                // Joined before the clone, to own the new pid namespace (setns would refuse).
                continue;
            }
            process::setns(j.file.as_fd(), clone_flag(j.kind)).context(|| {
                format!(
                    "joining {} namespace {}",
                    kind_name(j.kind),
                    j.path.display()
                )
            })?;
        }
        let rest = self.clone_flags & !self.flags_for_clone();
        if rest != 0 {
            process::unshare(rest)
                .context(|| "creating namespaces inside the joined user namespace")?;
        }
        Ok(())
    }
}

/// An opened namespace file must be of the kind it is listed as (setns would only say EINVAL, and
/// only after the clone).
fn check_kind(file: &File, kind: LinuxNamespaceType) -> std::result::Result<(), String> {
    let found = process::namespace_type(file.as_fd()).map_err(|_| "is not a namespace file")?;
    if found == clone_flag(kind) {
        return Ok(());
    }
    let found = ALL_KINDS
        .into_iter()
        .find(|k| clone_flag(*k) == found)
        .map_or("another", kind_name);
    Err(format!(
        "is a {found} namespace, not a {} namespace",
        kind_name(kind)
    ))
}

const ALL_KINDS: [LinuxNamespaceType; 8] = [
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Mount,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::User,
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Time,
];

/// Whether this process is already in the namespace behind `file` (`/proc/self/ns/<name>`).
pub(crate) fn already_in(file: &File, name: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (
        file.metadata(),
        std::fs::metadata(format!("/proc/self/ns/{name}")),
    ) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// The contents of /proc/self/timens_offsets for `linux.timeOffsets`.
fn time_offsets(spec: &Spec) -> String {
    let Some(offsets) = spec.linux().as_ref().and_then(|l| l.time_offsets().clone()) else {
        return String::new();
    };
    offsets
        .iter()
        .map(|(clock, o)| {
            format!(
                "{clock} {} {}\n",
                o.secs().unwrap_or(0),
                o.nanosecs().unwrap_or(0)
            )
        })
        .collect()
}

pub fn kind_name(kind: LinuxNamespaceType) -> &'static str {
    match kind {
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "network",
        LinuxNamespaceType::Mount => "mount",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Time => "time",
    }
}

/// Write the uid and gid maps of a child's new user namespace (as root: any number of ranges).
/// An unprivileged caller has its own rules (rootless/idmap.rs).
pub fn write_id_maps(pid: libc::pid_t, spec: &Spec) -> Result<()> {
    if crate::rootless::is_rootless() {
        return crate::rootless::idmap::write(pid, spec);
    }
    let linux = spec.linux().as_ref();
    let fmt = |maps: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>| -> String {
        maps.map(|m| {
            m.iter()
                .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
                .collect()
        })
        .unwrap_or_default()
    };
    let uid = fmt(linux.and_then(|l| l.uid_mappings().as_ref()));
    let gid = fmt(linux.and_then(|l| l.gid_mappings().as_ref()));
    if !uid.is_empty() {
        std::fs::write(format!("/proc/{pid}/uid_map"), uid)
            .context(|| "linux.uidMappings: writing uid_map")?;
    }
    if !gid.is_empty() {
        std::fs::write(format!("/proc/{pid}/gid_map"), gid)
            .context(|| "linux.gidMappings: writing gid_map")?;
    }
    Ok(())
}
