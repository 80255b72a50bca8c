//! coracle's engine as a library: what the `coracle` command drives. Containers (records under
//! the store root, the per-container monitor, json-file logs) and container networks (CNI bridge
//! networks, per-container network namespaces, port publishing, /etc/hosts & co.).

#![forbid(unsafe_code)]

pub mod config;
pub mod container;
pub mod init;
pub mod network;
