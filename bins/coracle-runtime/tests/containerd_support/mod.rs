//! Test support for the containerd tests (`tests/containerd.rs`, `tests/cri.rs`): a private
//! containerd per test, images built offline, and a small CRI client.
#![allow(dead_code)]

pub mod cri;
pub mod daemon;
pub mod image;
pub mod proto;
