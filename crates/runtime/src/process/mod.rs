//! The process model: the runtime clones the container's init into new namespaces; parent and child
//! talk over a socket pair (see `channel`); the init sets up the container, reports ready, parks on the
//! exec fifo until `start`, then becomes the user's process.

pub mod channel;
pub mod cpu_affinity;
pub mod exec;
pub mod identity;
pub mod init;
pub mod list_format;
pub mod memory_policy;
pub mod personality;
pub mod scheduling;
pub mod spawn;
