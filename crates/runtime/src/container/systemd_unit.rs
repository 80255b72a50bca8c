//! `--systemd-cgroup` at create: the container's transient unit. The cgroupsPath is parsed before
//! anything exists (a bad path fails `create` with nothing behind); systemd is reached and the unit
//! started once the init's pid is known (see the `systemd` module of the cgroups crate for the
//! order of events and why there is no CLONE_INTO_CGROUP). The connection is made only then, in
//! the runtime after the clone, so the parked init never holds a D-Bus socket.

use crate::{Error, Result};
use cgroups::systemd::{Systemd, UnitPath};
use oci_spec::runtime::LinuxResources;
use std::cell::RefCell;
use std::io;

pub(crate) struct SystemdUnit {
    pub path: UnitPath,
    /// Set once `start` has talked to systemd (`stop` then undoes it).
    conn: RefCell<Option<Systemd>>,
}

impl SystemdUnit {
    pub fn prepare(cgroups_path: &str, id: &str) -> Result<SystemdUnit> {
        let path = UnitPath::parse(cgroups_path, id).map_err(|e| Error::msg(e.to_string()))?;
        Ok(SystemdUnit {
            path,
            conn: RefCell::new(None),
        })
    }

    /// Start the unit with `pid` in it; returns once systemd has done it.
    pub fn start(&self, id: &str, pid: i32, res: Option<&LinuxResources>) -> io::Result<()> {
        let pid = u32::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let mut slot = self.conn.borrow_mut();
        let conn = slot.insert(Systemd::connect()?);
        conn.start_unit(&self.path, id, pid, res)
            .map_err(|e| io::Error::new(e.kind(), format!("systemd unit {}: {e}", self.path.unit)))
    }

    /// Undo a start (create failed after it).
    pub fn stop(&self) {
        if let Some(conn) = self.conn.borrow_mut().as_mut() {
            let _ = conn.stop_unit(&self.path.unit);
        }
    }
}

/// `delete`: stop the container's unit (systemd removes its cgroup) and forget it.
pub(crate) fn stop(unit: &str) -> Result<()> {
    Systemd::connect()
        .and_then(|mut s| s.stop_unit(unit))
        .map_err(|e| Error::msg(format!("stopping systemd unit {unit}: {e}")))
}
