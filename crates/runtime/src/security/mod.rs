//! Capabilities, no_new_privs and seccomp; (later) LSM labels.

pub mod capabilities;
pub mod seccomp;
pub mod self_exec;
