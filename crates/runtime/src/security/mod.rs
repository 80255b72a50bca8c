//! Capabilities, no_new_privs and (later) seccomp and LSM labels.

pub mod capabilities;
pub mod self_exec;
