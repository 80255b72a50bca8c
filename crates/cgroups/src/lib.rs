//! Control groups for coracle containers: one interface over cgroup v1, v2 and hybrid hosts.
//!
//! STUB: the API the runtime uses; the real managers land here.

use std::io;
use std::path::PathBuf;

/// One hierarchy the container's cgroup lives on: what the rootfs code needs to give the container a
/// /sys/fs/cgroup of its own.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    /// Directory name under /sys/fs/cgroup inside the container ("memory", "cpu,cpuacct", "unified",
    /// "systemd"); empty on a pure v2 host, where the hierarchy is /sys/fs/cgroup itself.
    pub mount_dir: String,
    /// The container's cgroup directory on the host (bind-mounted when there is no cgroup namespace).
    pub host_path: PathBuf,
    /// "cgroup" (v1) or "cgroup2".
    pub fs_type: &'static str,
    /// Mount data for a fresh mount inside a cgroup namespace: "memory", "cpu,cpuacct",
    /// "none,name=systemd"; empty for cgroup2.
    pub options: String,
}

/// A container's cgroup, on every hierarchy the host has.
#[derive(Debug, Clone)]
pub struct Cgroup {
    path: String,
}

impl Cgroup {
    /// Create the container's cgroup. `cgroups_path` is the spec's `linux.cgroupsPath` (empty: the
    /// default for `id`); `resources` are applied once the process joins.
    pub fn create(
        cgroups_path: &str,
        id: &str,
        _resources: Option<&oci_spec::runtime::LinuxResources>,
    ) -> io::Result<Cgroup> {
        let path = if cgroups_path.is_empty() {
            format!("/{id}")
        } else {
            cgroups_path.to_string()
        };
        Ok(Cgroup { path })
    }

    /// Re-open a container's cgroup from the path recorded in its state.
    pub fn open(path: &str) -> Cgroup {
        Cgroup {
            path: path.to_string(),
        }
    }

    /// The cgroup path (relative to each hierarchy's root), as recorded in the state.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Move `pid` (a whole process) into the cgroup on every hierarchy.
    pub fn add_process(&self, _pid: i32) -> io::Result<()> {
        Ok(())
    }

    /// The pids in the cgroup.
    pub fn pids(&self) -> io::Result<Vec<i32>> {
        Ok(Vec::new())
    }

    /// Send `signal` to every process in the cgroup.
    pub fn kill_all(&self, _signal: i32) -> io::Result<()> {
        Ok(())
    }

    /// Remove the cgroup from every hierarchy (the processes must be gone).
    pub fn remove(&self) -> io::Result<()> {
        Ok(())
    }
}

impl Cgroup {
    /// The hierarchies the container's cgroup exists on.
    pub fn hierarchies(&self) -> Vec<Hierarchy> {
        Vec::new()
    }

    /// Is the cgroup frozen (paused)?
    pub fn is_frozen(&self) -> bool {
        false
    }
}
