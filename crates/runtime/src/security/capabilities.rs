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
    let Some(set) = set else { return Ok(CapsHashSet::new()) };
    set.iter()
        .map(|c| {
            let name = format!("CAP_{c}");
            name.parse::<Capability>()
                .map_err(|_| Error::msg(format!("process.capabilities.{field}: {name} is not known to this runtime")))
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
            if !self.bounding.contains(&cap) && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
                caps::drop(None, CapSet::Bounding, cap)
                    .map_err(|e| Error::msg(format!("dropping {cap} from the bounding set: {e}")))?;
            }
        }
        Ok(())
    }

    /// Set effective, permitted, inheritable and ambient (after the uid change).
    pub fn apply(&self) -> Result<()> {
        let set = |which: CapSet, value: &CapsHashSet, name: &str| {
            caps::set(None, which, value).map_err(|e| Error::msg(format!("setting {name} capabilities: {e}")))
        };
        set(CapSet::Permitted, &self.permitted, "permitted")?;
        set(CapSet::Inheritable, &self.inheritable, "inheritable")?;
        set(CapSet::Effective, &self.effective, "effective")?;
        if !self.ambient.is_empty() {
            set(CapSet::Ambient, &self.ambient, "ambient")?;
        }
        Ok(())
    }
}
