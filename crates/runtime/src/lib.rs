//! coracle's OCI runtime as a library: load a bundle, create a container (namespaces, root filesystem,
//! parked init), start, signal, inspect and delete it. The `coracle-runtime` binary is a thin CLI over
//! this crate; the engine will call it directly.

#![forbid(unsafe_code)]

pub mod container;
pub mod error;
pub mod features;
pub mod hooks;
pub mod namespaces;
pub mod process;
pub mod rootfs;
pub mod rootless;
pub mod security;
pub mod spec;
pub mod spec_template;
pub mod state;
pub mod terminal;

/// The cgroup managers (the binary asks whether systemd runs).
pub use cgroups;
pub use error::{Context, Error, Result};
/// The syscall wrappers (all of the runtime's `unsafe` lives in the `sys` crate).
pub use sys;

/// The OCI runtime-spec version this runtime implements.
pub const OCI_VERSION: &str = "1.2.0";
