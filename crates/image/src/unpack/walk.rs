//! Walking inside the target without ever leaving it: every component is opened with
//! openat(O_NOFOLLOW | O_DIRECTORY) from the directory before it, starting at the target's own
//! fd. A symlink where a directory is expected refuses the entry; nothing is resolved by
//! joining strings.

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{mkdirat, openat, statat, unlinkat, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::path::EntryPath;
use crate::error::{Error, Result};

pub const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Open a directory below `dir` by one component, refusing symlinks.
pub fn open_dir_at(dir: impl AsFd, name: &OsStr) -> rustix::io::Result<OwnedFd> {
    openat(dir, name, DIR_FLAGS, Mode::empty())
}

/// Open the directory `comps` below `root`, creating missing ones (mode 0755) when `create`.
/// `entry` names the layer entry in errors.
pub fn open_parent(
    root: &OwnedFd,
    comps: &[Vec<u8>],
    create: bool,
    entry: &str,
) -> Result<OwnedFd> {
    let mut cur = open_dir_at(root, OsStr::new(".")).map_err(|e| io_err(entry, e))?;
    for (i, c) in comps.iter().enumerate() {
        let name = OsStr::from_bytes(c);
        let next = match open_dir_at(&cur, name) {
            Ok(fd) => fd,
            Err(Errno::NOENT) if create => {
                match mkdirat(&cur, name, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(io_err(entry, e)),
                }
                open_dir_at(&cur, name)
                    .map_err(|e| refuse_or_io(&cur, name, &comps[..=i], entry, e))?
            }
            Err(e) => return Err(refuse_or_io(&cur, name, &comps[..=i], entry, e)),
        };
        cur = next;
    }
    Ok(cur)
}

fn refuse_or_io(dir: &OwnedFd, name: &OsStr, upto: &[Vec<u8>], entry: &str, e: Errno) -> Error {
    if e == Errno::LOOP || e == Errno::NOTDIR {
        let is_link = statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink);
        let what = if is_link {
            "is a symlink"
        } else {
            "is not a directory"
        };
        return Error::UnsafeEntry {
            entry: entry.into(),
            reason: format!("parent {} {what}", EntryPath(upto.to_vec())),
        };
    }
    io_err(entry, e)
}

pub fn io_err(entry: &str, e: Errno) -> Error {
    Error::Entry {
        entry: entry.into(),
        source: e.into(),
    }
}

/// The type of `name` in `dir` (not following symlinks), None when absent.
pub fn type_at(dir: &OwnedFd, name: &OsStr) -> rustix::io::Result<Option<FileType>> {
    match statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(FileType::from_raw_mode(st.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Remove `name` in `dir` and, for a directory, everything below it (never following links).
pub fn remove_all_at(dir: &OwnedFd, name: &OsStr) -> rustix::io::Result<()> {
    match type_at(dir, name)? {
        None => Ok(()),
        Some(FileType::Directory) => {
            let sub = open_dir_at(dir, name)?;
            clear_dir(&sub, |_| true)?;
            unlinkat(dir, name, AtFlags::REMOVEDIR)
        }
        Some(_) => unlinkat(dir, name, AtFlags::empty()),
    }
}

/// Remove every child of `dir` for which `doomed(name)` holds.
pub fn clear_dir(dir: &OwnedFd, mut doomed: impl FnMut(&[u8]) -> bool) -> rustix::io::Result<()> {
    let mut names = Vec::new();
    for e in rustix::fs::Dir::read_from(dir)? {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." && doomed(n) {
            names.push(n.to_vec());
        }
    }
    for n in names {
        remove_all_at(dir, OsStr::from_bytes(&n))?;
    }
    Ok(())
}
