//! `linux.personality`: the execution domain the container's processes run in (`LINUX32` makes
//! `uname -m` say i686 on x86_64, for 32-bit builds), set in the init and in every exec'd
//! process, as runc does. The spec defines no flags: a config that lists some is refused.

use crate::sys::process;
use crate::{Context, Result};
use oci_spec::runtime::{LinuxPersonality, LinuxPersonalityDomain};

/// The kernel's PER_LINUX and PER_LINUX32 (linux/personality.h).
fn persona(domain: LinuxPersonalityDomain) -> libc::c_ulong {
    match domain {
        LinuxPersonalityDomain::PerLinux => 0x0000,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    }
}

/// Set the domain, when the config names one.
pub fn apply(p: Option<&LinuxPersonality>) -> Result<()> {
    let Some(p) = p else { return Ok(()) };
    process::personality(persona(p.domain()))
        .context(|| format!("linux.personality: setting domain {}", p.domain()))
}
