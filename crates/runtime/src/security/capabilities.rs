//! The five capability sets of the container's process.

use crate::{Error, Result};
use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::{Capabilities, LinuxCapabilities};

/// The process's sets, converted from the spec once (before any privilege is dropped).
pub struct CapSets {
    bounding: CapsHashSet,
    effective: CapsHashSet,
    permitted: CapsHashSet,
    inheritable: CapsHashSet,
    ambient: CapsHashSet,
}

fn convert(set: &Option<Capabilities>, field: &str) -> Result<CapsHashSet> {
    let Some(set) = set else {
        return Ok(CapsHashSet::new());
    };
    set.iter()
        .map(|c| {
            let name = format!("CAP_{c}");
            name.parse::<Capability>().map_err(|_| {
                Error::msg(format!(
                    "process.capabilities.{field}: {name} is not known to this runtime"
                ))
            })
        })
        .collect()
}

impl CapSets {
    pub fn from_spec(caps: &LinuxCapabilities) -> Result<CapSets> {
        Ok(CapSets {
            bounding: convert(caps.bounding(), "bounding")?,
            effective: convert(caps.effective(), "effective")?,
            permitted: convert(caps.permitted(), "permitted")?,
            inheritable: convert(caps.inheritable(), "inheritable")?,
            ambient: convert(caps.ambient(), "ambient")?,
        })
    }

    /// Drop from the bounding set everything the container may not have. Needs CAP_SETPCAP, so it runs
    /// before the uid change.
    pub fn drop_bounding(&self) -> Result<()> {
        for cap in caps::all() {
            if !self.bounding.contains(&cap)
                && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false)
            {
                caps::drop(None, CapSet::Bounding, cap).map_err(|e| {
                    Error::msg(format!("dropping {cap} from the bounding set: {e}"))
                })?;
            }
        }
        Ok(())
    }

    /// Set effective, permitted, inheritable and ambient (after the uid change).
    pub fn apply(&self) -> Result<()> {
        let set = |which: CapSet, value: &CapsHashSet, name: &str| {
            caps::set(None, which, value)
                .map_err(|e| Error::msg(format!("setting {name} capabilities: {e}")))
        };
        // capset keeps effective within permitted at every step: shrink effective first, set
        // inheritable while permitted is still full, shrink permitted last.
        set(CapSet::Effective, &self.effective, "effective")?;
        set(CapSet::Inheritable, &self.inheritable, "inheritable")?;
        set(CapSet::Permitted, &self.permitted, "permitted")?;
        // The kernel raises an ambient capability only if it is permitted and inheritable. runc's own
        // default spec lists ambient capabilities without inheritable ones, and runc then goes on
        // without them; so do we, rather than refusing every config copied from `runc spec`.
        let ambient: CapsHashSet = self
            .ambient
            .iter()
            .filter(|c| self.permitted.contains(c) && self.inheritable.contains(c))
            .copied()
            .collect();
        if !ambient.is_empty() {
            set(CapSet::Ambient, &ambient, "ambient")?;
        }
        Ok(())
    }
}
