//! coracle's engine as a library: what the `coracle` command drives. Today: container networks
//! (CNI bridge networks, per-container network namespaces, port publishing, /etc/hosts & co.).

#![forbid(unsafe_code)]

pub mod network;
