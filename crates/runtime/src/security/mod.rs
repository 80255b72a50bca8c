//! Capabilities, no_new_privs, seccomp and LSM labels.

pub mod capabilities;
pub mod lsm;
pub mod seccomp;
pub mod self_exec;
