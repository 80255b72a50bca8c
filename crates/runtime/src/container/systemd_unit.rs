//! `--systemd-cgroup` at create: the container's transient unit. The cgroupsPath is parsed and
//! systemd reached before anything exists (a bad path or an unreachable systemd fails `create`
//! with nothing behind); the unit is started once the init's pid is known (see the `systemd`
//! module of the cgroups crate for the order of events and why there is no CLONE_INTO_CGROUP).

use crate::{Error, Result};
use cgroups::systemd::{Systemd, UnitPath};
use oci_spec::runtime::LinuxResources;
use std::cell::{Cell, RefCell};
use std::io;

pub(crate) struct SystemdUnit {
    pub path: UnitPath,
    conn: RefCell<Systemd>,
    started: Cell<bool>,
}

impl SystemdUnit {
    pub fn prepare(cgroups_path: &str, id: &str) -> Result<SystemdUnit> {
        let path = UnitPath::parse(cgroups_path, id).map_err(|e| Error::msg(e.to_string()))?;
        let conn = Systemd::connect().map_err(|e| Error::msg(format!("--systemd-cgroup: {e}")))?;
        Ok(SystemdUnit {
            path,
            conn: RefCell::new(conn),
            started: Cell::new(false),
        })
    }

    /// Start the unit with `pid` in it; returns once systemd has done it.
    pub fn start(&self, id: &str, pid: i32, res: Option<&LinuxResources>) -> io::Result<()> {
        let pid = u32::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        self.started.set(true);
        self.conn
            .borrow_mut()
            .start_unit(&self.path, id, pid, res)
            .map_err(|e| io::Error::new(e.kind(), format!("systemd unit {}: {e}", self.path.unit)))
    }

    /// Undo a start (create failed after it).
    pub fn stop(&self) {
        if self.started.get() {
            let _ = self.conn.borrow_mut().stop_unit(&self.path.unit);
        }
    }
}

/// `delete`: stop the container's unit (systemd removes its cgroup) and forget it.
pub(crate) fn stop(unit: &str) -> Result<()> {
    Systemd::connect()
        .and_then(|mut s| s.stop_unit(unit))
        .map_err(|e| Error::msg(format!("stopping systemd unit {unit}: {e}")))
}
