//! Creating one entry (file, dir, symlink, hardlink, device, fifo) inside its parent's fd, and
//! giving it the entry's ownership, mode, xattrs and mtime.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::Timespec;
use rustix::fs::{
    chmodat, chownat, fchmod, fchown, fsetxattr, futimens, linkat, makedev, mkdirat, mknodat,
    openat, symlinkat, utimensat, AtFlags, FileType, Mode, OFlags, Timestamps, XattrFlags,
};
use rustix::fs::{Gid, Uid};

use super::walk::{io_err, open_dir_at};
use crate::error::Result;

/// What the tar header (and its pax records) says about an entry's metadata.
pub struct Meta {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub xattrs: Vec<(String, Vec<u8>)>,
    /// Whether to chown (only root can give files away).
    pub chown: bool,
}

/// Write a regular file from `data`.
pub fn file(
    parent: &OwnedFd,
    name: &OsStr,
    data: &mut dyn Read,
    meta: &Meta,
    entry: &str,
) -> Result<()> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd =
        openat(parent, name, flags, Mode::from_raw_mode(0o600)).map_err(|e| io_err(entry, e))?;
    let mut f = File::from(fd);
    std::io::copy(data, &mut f).map_err(|e| crate::Error::Entry {
        entry: entry.into(),
        source: e,
    })?;
    apply_fd(&f, meta, entry)
}

/// Make a directory (or keep an existing one) and set its metadata except the mtime (set at
/// the end, after its children are written).
pub fn dir(parent: &OwnedFd, name: &OsStr, meta: &Meta, entry: &str) -> Result<()> {
    match mkdirat(parent, name, Mode::from_raw_mode(0o700)) {
        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
        Err(e) => return Err(io_err(entry, e)),
    }
    let fd = open_dir_at(parent, name).map_err(|e| io_err(entry, e))?;
    apply_fd_no_time(&fd, meta, entry)
}

pub fn symlink(
    parent: &OwnedFd,
    name: &OsStr,
    target: &OsStr,
    meta: &Meta,
    entry: &str,
) -> Result<()> {
    symlinkat(target, parent, name).map_err(|e| io_err(entry, e))?;
    if meta.chown {
        chownat(
            parent,
            name,
            Some(uid(meta.uid)),
            Some(gid(meta.gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| io_err(entry, e))?;
    }
    utimensat(parent, name, &times(meta.mtime), AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| io_err(entry, e))
}

/// A hardlink to `src_name` in `src_parent` (linkat never follows a symlink source).
pub fn hardlink(
    src_parent: &OwnedFd,
    src_name: &OsStr,
    parent: &OwnedFd,
    name: &OsStr,
    entry: &str,
) -> Result<()> {
    linkat(src_parent, src_name, parent, name, AtFlags::empty()).map_err(|e| io_err(entry, e))
}

/// A device node or fifo.
pub fn node(
    parent: &OwnedFd,
    name: &OsStr,
    kind: FileType,
    dev: (u32, u32),
    meta: &Meta,
    entry: &str,
) -> Result<()> {
    let mode = Mode::from_raw_mode(meta.mode & 0o7777);
    mknodat(parent, name, kind, mode, makedev(dev.0, dev.1)).map_err(|e| io_err(entry, e))?;
    if meta.chown {
        chownat(
            parent,
            name,
            Some(uid(meta.uid)),
            Some(gid(meta.gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| io_err(entry, e))?;
    }
    // mknod honours the umask: set the mode again.
    chmodat(parent, name, mode, AtFlags::empty()).map_err(|e| io_err(entry, e))?;
    utimensat(parent, name, &times(meta.mtime), AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| io_err(entry, e))
}

/// An overlayfs whiteout: a 0:0 character device.
pub fn overlay_whiteout(parent: &OwnedFd, name: &OsStr, entry: &str) -> Result<()> {
    mknodat(
        parent,
        name,
        FileType::CharacterDevice,
        Mode::empty(),
        makedev(0, 0),
    )
    .map_err(|e| io_err(entry, e))
}

pub fn apply_fd(fd: impl AsFd, meta: &Meta, entry: &str) -> Result<()> {
    apply_fd_no_time(&fd, meta, entry)?;
    futimens(&fd, &times(meta.mtime)).map_err(|e| io_err(entry, e))
}

fn apply_fd_no_time(fd: impl AsFd, meta: &Meta, entry: &str) -> Result<()> {
    if meta.chown {
        fchown(&fd, Some(uid(meta.uid)), Some(gid(meta.gid))).map_err(|e| io_err(entry, e))?;
    }
    // After chown, which clears set-id bits.
    fchmod(&fd, Mode::from_raw_mode(meta.mode & 0o7777)).map_err(|e| io_err(entry, e))?;
    for (k, v) in &meta.xattrs {
        fsetxattr(&fd, k.as_str(), v, XattrFlags::empty())
            .map_err(|e| io_err(&format!("{entry} (xattr {k})"), e))?;
    }
    Ok(())
}

pub fn times(mtime: i64) -> Timestamps {
    let t = Timespec {
        tv_sec: mtime,
        tv_nsec: 0,
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

fn uid(n: u32) -> Uid {
    Uid::from_raw(n)
}
fn gid(n: u32) -> Gid {
    Gid::from_raw(n)
}
