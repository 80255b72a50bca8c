//! seccomp: `linux.seccomp` compiled to classic BPF in the runtime before the clone (pure Rust,
//! no libseccomp), loaded by the init just before exec.

mod compile;
mod syscalls;
#[cfg(test)]
mod tests;

pub use compile::{compile, Filter, Problem};

use crate::sys::seccomp as sys;
use crate::{Error, Result};

impl Filter {
    /// Install the filter on the calling thread (TSYNC: on all threads) with the profile's flags.
    pub fn load(&self) -> Result<()> {
        sys::set_filter(&self.program, self.flags)
            .map_err(|e| Error::msg(format!("linux.seccomp: loading the filter: {e}")))
    }
}
