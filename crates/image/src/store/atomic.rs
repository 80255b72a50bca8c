//! Durable, atomic file-system steps. Every file the store publishes is written to ROOT/tmp
//! first, fsynced, renamed into place, and its directory fsynced: after a crash a name either
//! points at complete content or does not exist.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{IoContext, Result};

/// A name no other process or thread in this store will pick.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{nanos:09}-{n}", std::process::id())
}

/// Create a new temp file (O_EXCL) in `dir`.
pub fn create_temp(dir: &Path, prefix: &str) -> Result<(File, PathBuf)> {
    let path = dir.join(unique_name(prefix));
    let f = OpenOptions::new()
        .write(true)
        .read(true)
        .create_new(true)
        .mode(0o644)
        .open(&path)
        .at(&path)?;
    Ok((f, path))
}

/// fsync a directory (makes a rename or unlink in it durable).
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

/// Rename `from` to `to` and make it durable.
pub fn publish(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).at(to)?;
    sync_dir(to.parent().expect("published paths have a parent"))
}

/// Write `data` to `path` atomically and durably, through a temp file in `tmp`.
pub fn write_file(tmp: &Path, path: &Path, data: &[u8]) -> Result<()> {
    let (mut f, t) = create_temp(tmp, "file")?;
    let r = f
        .write_all(data)
        .and_then(|_| f.sync_all())
        .at(&t)
        .and_then(|_| publish(&t, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&t);
    }
    r
}
