//! seccomp: `linux.seccomp` compiled to classic BPF in the runtime before the clone (pure Rust,
//! no libseccomp), loaded by the init just before exec. A profile with SCMP_ACT_NOTIFY is loaded
//! with a listener whose fd goes to the runtime and on to `listenerPath` (listener.rs).

mod compile;
pub mod listener;
mod syscalls;
#[cfg(test)]
mod tests;

pub use compile::{compile, Filter, NotifyTarget, Problem};

use crate::sys::seccomp as sys;
use crate::{Error, Result};
use std::os::fd::OwnedFd;

impl Filter {
    /// Install the filter on the calling thread (TSYNC: on all threads) with the profile's flags.
    /// Only for profiles without SCMP_ACT_NOTIFY (see [`Filter::load_with_listener`]).
    pub fn load(&self) -> Result<()> {
        sys::set_filter(&self.program, self.flags)
            .map_err(|e| Error::msg(format!("linux.seccomp: loading the filter: {e}")))
    }

    /// Install a filter that uses SCMP_ACT_NOTIFY and return its listener fd (close-on-exec).
    pub fn load_with_listener(&self) -> Result<OwnedFd> {
        sys::set_filter_listener(&self.program, self.flags).map_err(|e| {
            Error::msg(format!(
                "linux.seccomp: loading the filter with a listener: {e}"
            ))
        })
    }
}
