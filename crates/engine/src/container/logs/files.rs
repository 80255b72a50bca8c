//! A log on disk as a chain of files: `ctr.log` (being written), `ctr.log.1` (the one before
//! it), `ctr.log.2`, … and how the writer rotates them while readers read and follow.
//!
//! The protocol (no daemon: the writer and readers are separate processes):
//! - The writer renames `ctr.log.K` -> `.K+1` (oldest first), `ctr.log` -> `.1` and creates the
//!   new `ctr.log` while holding an exclusive flock on the container's directory; a reader
//!   lists the files under a shared flock, so it always sees a consistent chain.
//! - A reader holds a shared flock on the file it reads, and takes the next file's before it
//!   lets go of its current one.
//! - The file pushed out (`ctr.log.N` for `max-file` N) is deleted once no reader holds it,
//!   or after [`RETIRE_WAIT`]: a reader that far behind holds the container's output back for
//!   that long at most, then loses those lines (never the container its progress).

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long the writer waits for a reader still on the file it must delete.
pub const RETIRE_WAIT: Duration = Duration::from_secs(2);

/// A file's identity (device, inode): names change, this does not.
pub type FileId = (u64, u64);

pub fn id_of(m: &std::fs::Metadata) -> FileId {
    (m.dev(), m.ino())
}

/// `ctr.log.K`
pub fn rotated(base: &Path, k: u32) -> PathBuf {
    let mut name = base.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{k}"));
    base.with_file_name(name)
}

/// The log's files, oldest first. Consistent only under [`lock_dir`].
pub fn list(base: &Path) -> Vec<(PathBuf, FileId)> {
    let Some(dir) = base.parent() else {
        return vec![];
    };
    let name = base
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut files: Vec<(u32, PathBuf, FileId)> = entries
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let k = if n == name {
                0
            } else {
                let k = n.strip_prefix(&name)?.strip_prefix('.')?;
                if !k.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                k.parse().ok()?
            };
            let m = std::fs::metadata(e.path()).ok()?;
            Some((k, e.path(), id_of(&m)))
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    files.into_iter().map(|(_, p, id)| (p, id)).collect()
}

/// The container directory, flocked: shared for readers (waits), exclusive for the writer
/// (waits at most [`RETIRE_WAIT`], then goes on without: a stopped reader must not stall the
/// container). Released on drop.
pub fn lock_dir(base: &Path, exclusive: bool) -> Option<File> {
    let dir = File::open(base.parent()?).ok()?;
    if !exclusive {
        return sys::fd::flock_shared(dir.as_fd()).ok().map(|_| dir);
    }
    try_exclusive(&dir).then_some(dir)
}

fn try_exclusive(f: &File) -> bool {
    let end = Instant::now() + RETIRE_WAIT;
    loop {
        match sys::fd::flock_try_exclusive(f.as_fd()) {
            Ok(true) => return true,
            Ok(false) if Instant::now() < end => std::thread::sleep(Duration::from_millis(2)),
            _ => return false,
        }
    }
}

/// Open `path` for reading with a shared flock, if it still is the file `id` and still named
/// (not deleted while we waited for the lock).
pub fn open_locked(path: &Path, id: FileId) -> Option<File> {
    let f = File::open(path).ok()?;
    sys::fd::flock_shared(f.as_fd()).ok()?;
    let m = f.metadata().ok()?;
    (id_of(&m) == id && m.nlink() > 0).then_some(f)
}

/// The writer's rotation: shift every name up by one, start a new `base` (returned, opened
/// for appending), delete what is beyond `max_file` files.
pub fn rotate(base: &Path, max_file: u32) -> io::Result<File> {
    let new = {
        let _dir = lock_dir(base, true);
        for k in (1..max_file).rev() {
            match std::fs::rename(rotated(base, k), rotated(base, k + 1)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        std::fs::rename(base, rotated(base, 1))?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(base)?
    };
    retire(&rotated(base, max_file));
    Ok(new)
}

/// Delete a file pushed out of the chain once no reader holds it (or after the wait).
fn retire(path: &Path) {
    if let Ok(f) = File::open(path) {
        try_exclusive(&f);
        let _ = std::fs::remove_file(path);
    }
}
