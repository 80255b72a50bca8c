//! `pause` and `resume`: freeze and thaw every process of the container (the v1 freezer where
//! mounted, else cgroup2's `cgroup.freeze`). As with runc, a running or created container can be
//! paused (its status is then `paused`) and only a paused one resumed.

use super::Runtime;
use crate::state::{self, ContainerDir, Status};
use crate::{Context, Error, Result};

pub fn pause(rt: &Runtime, id: &str) -> Result<()> {
    let dir = ContainerDir::open(&rt.root, id)?;
    let st = dir.load()?;
    match state::status(&dir, &st) {
        Status::Running | Status::Created => {}
        other => {
            return Err(Error::msg(format!(
                "cannot pause container {id}: it is {} (not running)",
                other.as_str()
            )))
        }
    }
    st.cgroup()
        .ok_or_else(|| st.no_cgroup("pause"))?
        .freeze()
        .context(|| format!("pausing container {id}"))
}

pub fn resume(rt: &Runtime, id: &str) -> Result<()> {
    let dir = ContainerDir::open(&rt.root, id)?;
    let st = dir.load()?;
    match state::status(&dir, &st) {
        Status::Paused => {}
        other => {
            return Err(Error::msg(format!(
                "cannot resume container {id}: it is {} (not paused)",
                other.as_str()
            )))
        }
    }
    st.cgroup()
        .ok_or_else(|| st.no_cgroup("resume"))?
        .thaw()
        .context(|| format!("resuming container {id}"))
}
