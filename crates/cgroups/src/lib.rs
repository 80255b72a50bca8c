//! Control groups for coracle containers: one interface over cgroup v1, v2 and hybrid hosts.
//!
//! STUB: the API the runtime uses; the real managers land here.

use std::io;

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
    /// Is the cgroup frozen (paused)?
    pub fn is_frozen(&self) -> bool {
        false
    }
}
