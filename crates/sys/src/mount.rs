//! Mount-related syscalls (mount, umount, pivot_root, mount_setattr) and the *at file calls the
//! root-filesystem code uses to work relative to directory descriptors (openat2, mkdirat, mknodat, …).

use super::{check, check_long, cstr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// `mount(2)`; `None` arguments are passed as NULL.
pub fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let source = source.map(cstr).transpose()?;
    let target = cstr(target)?;
    let fstype = fstype.map(cstr).transpose()?;
    let data = data.map(cstr).transpose()?;
    let ptr = |c: &Option<std::ffi::CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is either NULL or a valid C string that outlives the call.
    check(unsafe {
        libc::mount(
            ptr(&source),
            target.as_ptr(),
            ptr(&fstype),
            flags,
            ptr(&data).cast(),
        )
    })
    .map(drop)
}

pub fn umount2(target: &Path, flags: libc::c_int) -> io::Result<()> {
    let target = cstr(target)?;
    // SAFETY: `target` is a valid C string for the call.
    check(unsafe { libc::umount2(target.as_ptr(), flags) }).map(drop)
}

pub fn pivot_root(new_root: &Path, put_old: &Path) -> io::Result<()> {
    let new_root = cstr(new_root)?;
    let put_old = cstr(put_old)?;
    // SAFETY: both are valid C strings for the call.
    super::check_long(unsafe {
        libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr())
    })
    .map(drop)
}

/// Flags for [`mount_setattr`] (linux/mount.h; not in the libc crate).
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
/// The atime setting is an enum inside this mask, not a bitmap: changing it needs the whole mask in `clr`.
pub const MOUNT_ATTR__ATIME: u64 = 0x70;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;

/// `struct mount_attr` of `mount_setattr(2)`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MountAttr {
    pub attr_set: u64,
    pub attr_clr: u64,
    pub propagation: u64,
    pub userns_fd: u64,
}

/// `mount_setattr(2)` on the mount at `dir`/`path` (`path` empty: the mount `dir` refers to, with
/// AT_EMPTY_PATH added). `flags` may carry AT_RECURSIVE to change the whole subtree in one call.
pub fn mount_setattr(
    dir: Option<BorrowedFd<'_>>,
    path: &Path,
    mut flags: libc::c_uint,
    attr: &MountAttr,
) -> io::Result<()> {
    if path.as_os_str().is_empty() {
        flags |= libc::AT_EMPTY_PATH as libc::c_uint;
    }
    let p = cstr(path)?;
    // SAFETY: `p` is a valid C string and `attr` a valid mount_attr whose size we pass, both outliving the call.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            raw_dir(dir),
            p.as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// `struct open_how` of `openat2(2)` (libc's is non-exhaustive, so it cannot be built outside libc).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

fn raw_dir(dir: Option<BorrowedFd<'_>>) -> libc::c_int {
    dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd())
}

/// `openat2(2)`: open `path` relative to `dir` with `resolve` restrictions (RESOLVE_IN_ROOT, …).
/// O_CLOEXEC is always added. EAGAIN (a concurrent rename during a scoped lookup) is retried.
pub fn openat2(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: libc::c_int,
    mode: u32,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let p = cstr(path)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: u64::from(mode),
        resolve,
    };
    for _ in 0..32 {
        // SAFETY: `p` is a valid C string and `how` a valid open_how whose size we pass.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                p.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        match check_long(ret) {
            // SAFETY: the kernel just returned a new descriptor that nobody else owns.
            Ok(fd) => return Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }),
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::from_raw_os_error(libc::EAGAIN))
}

/// `openat(2)` relative to `dir` (None: the working directory); O_CLOEXEC is always added.
pub fn openat(
    dir: Option<BorrowedFd<'_>>,
    path: &Path,
    flags: libc::c_int,
    mode: u32,
) -> io::Result<OwnedFd> {
    let p = cstr(path)?;
    // SAFETY: `p` is a valid C string for the call.
    let fd =
        check(unsafe { libc::openat(raw_dir(dir), p.as_ptr(), flags | libc::O_CLOEXEC, mode) })?;
    // SAFETY: the kernel just returned a new descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn mkdirat(dir: BorrowedFd<'_>, name: &Path, mode: u32) -> io::Result<()> {
    let p = cstr(name)?;
    // SAFETY: `p` is a valid C string for the call.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), p.as_ptr(), mode) }).map(drop)
}

/// `mknodat(2)`; `mode` carries the file type bits (S_IFCHR, …) and the permissions.
pub fn mknodat(dir: BorrowedFd<'_>, name: &Path, mode: u32, dev: u64) -> io::Result<()> {
    let p = cstr(name)?;
    // SAFETY: `p` is a valid C string for the call.
    check(unsafe { libc::mknodat(dir.as_raw_fd(), p.as_ptr(), mode, dev) }).map(drop)
}

/// `fchownat(2)` without following a final symlink.
pub fn lchownat(dir: BorrowedFd<'_>, name: &Path, uid: u32, gid: u32) -> io::Result<()> {
    let p = cstr(name)?;
    // SAFETY: `p` is a valid C string for the call.
    check(unsafe {
        libc::fchownat(
            dir.as_raw_fd(),
            p.as_ptr(),
            uid,
            gid,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

pub fn symlinkat(target: &Path, dir: BorrowedFd<'_>, name: &Path) -> io::Result<()> {
    let t = cstr(target)?;
    let p = cstr(name)?;
    // SAFETY: both are valid C strings for the call.
    check(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), p.as_ptr()) }).map(drop)
}

pub fn unlinkat(dir: BorrowedFd<'_>, name: &Path, flags: libc::c_int) -> io::Result<()> {
    let p = cstr(name)?;
    // SAFETY: `p` is a valid C string for the call.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), p.as_ptr(), flags) }).map(drop)
}

/// `readlinkat(2)` of `dir`/`name` (`name` empty: the symlink `dir` itself refers to, opened O_PATH|O_NOFOLLOW).
pub fn readlinkat(dir: BorrowedFd<'_>, name: &Path) -> io::Result<PathBuf> {
    let p = cstr(name)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: `p` is a valid C string and `buf` a writable buffer of the length we pass.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            p.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(PathBuf::from(std::ffi::OsString::from_vec(buf)))
}

/// The file type bits (`st_mode & S_IFMT`) of an open descriptor (O_PATH works).
pub fn fstat_mode(fd: BorrowedFd<'_>) -> io::Result<u32> {
    // SAFETY: `stat` is plain data; zeroed is valid and the kernel fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer for the call.
    check(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(st.st_mode)
}

/// The per-mount flags (`f_flag`, ST_* values, which equal the MS_* ones) of the mount holding `path`.
pub fn statfs_flags(path: &Path) -> io::Result<libc::c_ulong> {
    let p = cstr(path)?;
    // SAFETY: `statvfs` is plain data; zeroed is valid and the kernel fills it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `p` is a valid C string and `st` a valid out-pointer for the call.
    check(unsafe { libc::statvfs(p.as_ptr(), &mut st) })?;
    Ok(st.f_flag)
}

pub fn chdir(path: &Path) -> io::Result<()> {
    let p = cstr(path)?;
    // SAFETY: `p` is a valid C string for the call.
    check(unsafe { libc::chdir(p.as_ptr()) }).map(drop)
}

pub fn fchdir(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: plain syscall on a borrowed, valid fd.
    check(unsafe { libc::fchdir(fd.as_raw_fd()) }).map(drop)
}

pub fn chroot(path: &Path) -> io::Result<()> {
    let p = cstr(path)?;
    // SAFETY: `p` is a valid C string for the call.
    check(unsafe { libc::chroot(p.as_ptr()) }).map(drop)
}

/// `umask(2)`, returning the previous mask.
pub fn set_umask(mask: u32) -> u32 {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask) }
}
