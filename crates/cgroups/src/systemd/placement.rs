//! The container's cgroup under the systemd driver: planned before the init exists, filled in
//! once systemd has made the unit (see the module docs of `systemd`).

use std::io;

use oci_spec::runtime::LinuxResources;

use super::UnitPath;
use crate::layout::{self, Mode};
use crate::{resources, Cgroup, Dir};

impl Cgroup {
    /// The cgroup `unit` will have, on every hierarchy. Nothing is made; the resources are validated (a bad value fails here, before
    /// any process or unit exists).
    pub fn systemd_planned(unit: &UnitPath, res: Option<&LinuxResources>) -> io::Result<Cgroup> {
        let layout = layout::host()?;
        if let Some(r) = res {
            resources::plan(r, layout.mode == Mode::V2)?;
            super::properties::resources(r, layout.mode == Mode::V2)?;
        }
        // Every hierarchy, as runc does: a slice:prefix:name path comes from an engine, and
        // engines read the container's v1 cgroups themselves (hybrid hosts).
        let dirs = layout
            .hierarchies
            .iter()
            .map(|host| Dir {
                host,
                path: host.dir(&unit.cgroup),
                made_parents: 0,
            })
            .collect();
        Ok(Cgroup {
            path: unit.cgroup.clone(),
            dirs,
            bad_path: None,
        })
    }

    /// After systemd started the unit: make the cgroup where systemd did not (v1 hierarchies it
    /// does not manage), enforce every resource on the unit's cgroup, and put `pid` in it on
    /// every hierarchy (systemd placed it on the ones it manages; a slice unit has no pid).
    pub fn systemd_populate(&self, res: Option<&LinuxResources>, pid: i32) -> io::Result<()> {
        let layout = layout::host()?;
        let mut plan = match res {
            Some(r) => resources::plan(r, layout.mode == Mode::V2)?,
            None => resources::Plan::default(),
        };
        let mut made = Cgroup {
            path: self.path.clone(),
            dirs: Vec::with_capacity(self.dirs.len()),
            bad_path: None,
        };
        let hosts: Vec<_> = self.dirs.iter().map(|d| d.host).collect();
        made.make_dirs(&hosts)?;
        // systemd enabled the controllers of a delegated unit itself (Delegate=true).
        if let Some(rules) = plan.devices.take() {
            made.enforce_devices(layout, &rules, &mut plan)?;
        }
        resources::apply(&plan, &made)?;
        made.add_process(pid)
    }
}
