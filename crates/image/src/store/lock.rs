//! The store lock: ROOT/lock, flock(2)ed shared by every process that adds to the store and
//! exclusive by the ones that delete (prune, fsck, rmi). So a prune never removes a blob that a
//! running pull has written but not yet referenced, and fsck may treat every temp file as a
//! leftover of a dead process. The lock dies with its holder (kill -9 included).
//!
//! ROOT/refs.lock serialises the read-modify-write of the reference index (held for
//! milliseconds, taken while already holding ROOT/lock).

use std::fs::{File, OpenOptions};
use std::path::Path;

use rustix::fs::{flock, FlockOperation};

use crate::error::{IoContext, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    Shared,
    Exclusive,
}

/// Open (creating) and flock `path`; the lock is released when the File is dropped.
pub fn lock(path: &Path, mode: LockMode) -> Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .at(path)?;
    let op = match mode {
        LockMode::Shared => FlockOperation::LockShared,
        LockMode::Exclusive => FlockOperation::LockExclusive,
    };
    flock(&f, op).at(path)?;
    Ok(f)
}
