//! Paths inside the container's root, resolved so that nothing can lead outside it.
//!
//! Every target is opened relative to an O_PATH descriptor of the rootfs: first with one
//! openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) (the common case: the path exists), and when a
//! component is missing with a walk that opens one component at a time with O_NOFOLLOW, expands
//! symlinks itself (absolute targets restart at the rootfs, `..` stops at it) and creates what is
//! missing with mkdirat / mknodat in the directory it holds open. Mounts then go onto
//! `/proc/self/fd/N` of the resolved descriptor, so no host path is ever built from a string.

use crate::sys::mount as sys;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

/// What to create for a missing last component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

/// The path the kernel resolves to exactly the object behind `fd` (the caller's /proc must be mounted).
pub fn fd_path(fd: &impl AsRawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// The components of `path` as names to walk: the root and `.` are dropped, `..` is kept.
fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

/// `path` as openat2 takes it below the root: relative, never empty.
fn relative(path: &Path) -> PathBuf {
    let rel: PathBuf = components(path).into_iter().collect();
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}

const MAX_SYMLINKS: u32 = 40;
const S_IFMT: u32 = libc::S_IFMT;

/// The container's root, held open.
pub struct Root {
    fd: OwnedFd,
}

impl Root {
    /// Open `path` (a host path chosen by the caller, not by the container) as the root.
    pub fn open(path: &Path) -> io::Result<Root> {
        let fd = sys::openat(None, path, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        Ok(Root { fd })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Open an existing `path` inside the root as O_PATH, following symlinks inside the root only.
    pub fn open_existing(&self, path: &Path) -> io::Result<OwnedFd> {
        sys::openat2(
            self.fd(),
            &relative(path),
            libc::O_PATH,
            0,
            libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
        )
    }

    /// Open `path` inside the root, creating missing directories and, if `last` is [`Kind::File`], an
    /// empty file for a missing last component.
    pub fn create(&self, path: &Path, last: Kind) -> io::Result<OwnedFd> {
        match self.open_existing(path) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            r => return r,
        }
        // The common case: only the last component is missing.
        let mut comps = components(path);
        if let Some(name) = comps.pop_back().filter(|n| n != "..") {
            let parent: PathBuf = comps.into_iter().collect();
            if let Ok(dir) = self.open_existing(&parent) {
                if let Some(fd) = create_in(dir.as_fd(), Path::new(&name), last)? {
                    return Ok(fd);
                }
            }
        }
        self.walk(path, last)
    }

    /// Open (creating as needed) the directory that holds `path`'s last component, and return it with
    /// that component's name, for calls that create the last component themselves (mknodat, symlinkat).
    pub fn create_parent(&self, path: &Path) -> io::Result<(OwnedFd, OsString)> {
        let mut comps = components(path);
        let name = match comps.pop_back() {
            Some(n) if n != ".." => n,
            _ => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
        };
        let parent: PathBuf = comps.into_iter().collect();
        Ok((self.create(&parent, Kind::Dir)?, name))
    }

    /// The slow path: one component at a time, creating what is missing.
    fn walk(&self, path: &Path, last_kind: Kind) -> io::Result<OwnedFd> {
        let mut todo = components(path);
        // Directories walked into below the root; `..` pops, an absolute symlink clears.
        let mut stack: Vec<OwnedFd> = Vec::new();
        let mut links = 0;
        while let Some(name) = todo.pop_front() {
            if name == ".." {
                stack.pop();
                continue;
            }
            let is_last = todo.is_empty();
            let dir = stack.last().map_or(self.fd(), |f| f.as_fd());
            let kind = if is_last { last_kind } else { Kind::Dir };
            let name = Path::new(&name);
            let (fd, mode) = match sys::openat(Some(dir), name, libc::O_PATH | libc::O_NOFOLLOW, 0)
            {
                Ok(fd) => {
                    let mode = sys::fstat_mode(fd.as_fd())? & S_IFMT;
                    (fd, mode)
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    match create_in(dir, name, kind)? {
                        Some(fd) => (
                            fd,
                            if kind == Kind::Dir {
                                libc::S_IFDIR
                            } else {
                                libc::S_IFREG
                            },
                        ),
                        // Someone created it meanwhile: look at it again (bounded like symlinks).
                        None => {
                            links += 1;
                            if links > MAX_SYMLINKS {
                                return Err(io::Error::from_raw_os_error(libc::ELOOP));
                            }
                            todo.push_front(name.as_os_str().to_os_string());
                            continue;
                        }
                    }
                }
                Err(e) => return Err(e),
            };
            if mode == libc::S_IFLNK {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = sys::readlinkat(fd.as_fd(), Path::new(""))?;
                if target.is_absolute() {
                    stack.clear();
                }
                for c in components(&target).into_iter().rev() {
                    todo.push_front(c);
                }
                continue;
            }
            if is_last {
                return Ok(fd);
            }
            if mode != libc::S_IFDIR {
                return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
            }
            stack.push(fd);
        }
        // The path ended on a directory reached through `..` or a symlink (or was the root itself).
        let dir = stack.last().map_or(self.fd(), |f| f.as_fd());
        sys::openat(Some(dir), Path::new("."), libc::O_PATH, 0)
    }
}

/// Create `name` in `dir` as `kind` and open it O_PATH; `None` if something already has that name
/// (a dangling symlink, or a concurrent creation), for the caller to look at.
fn create_in(dir: BorrowedFd<'_>, name: &Path, kind: Kind) -> io::Result<Option<OwnedFd>> {
    let made = match kind {
        Kind::Dir => sys::mkdirat(dir, name, 0o755),
        Kind::File => sys::mknodat(dir, name, libc::S_IFREG | 0o644, 0),
    };
    match made {
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => return Ok(None),
        r => r?,
    }
    let flags = match kind {
        // O_DIRECTORY: what we open is the directory we made, no fstat needed.
        Kind::Dir => libc::O_PATH | libc::O_NOFOLLOW | libc::O_DIRECTORY,
        Kind::File => libc::O_PATH | libc::O_NOFOLLOW,
    };
    sys::openat(Some(dir), name, flags, 0).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(relative(Path::new("/")), PathBuf::from("."));
        assert_eq!(
            relative(Path::new("/proc/./sys/")),
            PathBuf::from("proc/sys")
        );
        assert_eq!(relative(Path::new("a/../b")), PathBuf::from("a/../b"));
        assert_eq!(
            components(Path::new("/x/../../y")),
            ["x", "..", "..", "y"].map(OsString::from).to_vec()
        );
    }
}
