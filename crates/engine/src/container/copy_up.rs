//! Docker's volume copy-up: an empty volume mounted where the image has a directory is first
//! filled with that directory's content — files, dirs, symlinks, devices and fifos with their
//! owners, modes (set-id bits too), xattrs and times, hard links kept as links — and its root
//! takes that directory's owner and mode. So `-v vol:/etc` still shows the image's /etc/passwd.
//!
//! Everything goes through directory fds: the image path is resolved inside the container's
//! root (openat2 RESOLVE_IN_ROOT, as the runtime will resolve the mount point), and below it no
//! symlink is ever followed (each entry is stat'ed and opened with O_NOFOLLOW, and created
//! with O_EXCL inside the volume's own fds), so an image cannot make us read or write outside
//! its root or the volume.

use super::{Error, Result};
use rustix::fs::{
    chmodat, chownat, fchmod, fchown, fgetxattr, flistxattr, fsetxattr, fstat, futimens, linkat,
    mkdirat, mknodat, openat, openat2, readlinkat, statat, symlinkat, utimensat, AtFlags, Dir,
    FileType, Gid, Mode, OFlags, ResolveFlags, Stat, Timespec, Timestamps, Uid, XattrFlags, CWD,
};
use rustix::io::Errno;
use std::collections::HashMap;
use std::ffi::{CStr, OsStr};
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// A failure at a path of the image (shown as the container sees it).
type Step<T> = std::result::Result<T, (PathBuf, std::io::Error)>;

fn at(path: &Path) -> impl Fn(Errno) -> (PathBuf, std::io::Error) + '_ {
    move |e| (path.to_path_buf(), e.into())
}

/// Fill the volume `name` (its data dir `data`) with what the container's root `rootfs` has
/// at `dst`, if the volume is empty and that is a directory; otherwise leave it alone.
pub fn fill(rootfs: &Path, dst: &str, name: &str, data: &Path) -> Result<()> {
    let fail = |(path, err): (PathBuf, std::io::Error)| {
        Error::Invalid(format!(
            "volume {name}: copying the image's {dst} into it: {}: {err}",
            path.display()
        ))
    };
    let image_dir = Path::new(dst);
    let root = openat(CWD, rootfs, DIR_FLAGS, Mode::empty())
        .map_err(at(rootfs))
        .map_err(fail)?;
    let in_root = dst.trim_start_matches('/');
    let resolve = ResolveFlags::IN_ROOT;
    let src = match openat2(
        &root,
        in_root,
        DIR_FLAGS.difference(OFlags::NOFOLLOW),
        Mode::empty(),
        resolve,
    ) {
        Ok(fd) => fd,
        // Nothing there, or not a directory: nothing to copy (the runtime makes the mount point).
        Err(Errno::NOENT | Errno::NOTDIR) => return Ok(()),
        Err(e) => return Err(fail(at(image_dir)(e))),
    };
    let vol = openat(CWD, data, DIR_FLAGS, Mode::empty())
        .map_err(at(data))
        .map_err(fail)?;
    if !is_empty(&vol).map_err(at(data)).map_err(fail)? {
        return Ok(());
    }
    let mut copier = Copier::default();
    copier.dir(&src, &vol, image_dir).map_err(fail)?;
    let st = fstat(&src).map_err(at(image_dir)).map_err(fail)?;
    set_meta(&vol, &st, &src)
        .map_err(at(image_dir))
        .map_err(fail)
}

fn is_empty(dir: &OwnedFd) -> rustix::io::Result<bool> {
    let mut d = Dir::read_from(dir)?;
    while let Some(e) = d.read() {
        let name = e?.file_name().to_bytes().to_vec();
        if name != b"." && name != b".." {
            return Ok(false);
        }
    }
    Ok(true)
}

#[derive(Default)]
struct Copier {
    /// Files with more links than the one copied so far, by the source's (dev, ino): the copy
    /// (an open fd, linked with AT_EMPTY_PATH) and how many links are still to come.
    links: HashMap<(u64, u64), (OwnedFd, u64)>,
}

impl Copier {
    fn dir(&mut self, src: &OwnedFd, dst: &OwnedFd, path: &Path) -> Step<()> {
        let mut entries = Dir::read_from(src).map_err(at(path))?;
        while let Some(e) = entries.read() {
            let e = e.map_err(at(path))?;
            let name = e.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            let child = path.join(OsStr::from_bytes(name.to_bytes()));
            self.entry(src, dst, name, &child)?;
        }
        Ok(())
    }

    fn entry(&mut self, src: &OwnedFd, dst: &OwnedFd, name: &CStr, path: &Path) -> Step<()> {
        let st = statat(src, name, AtFlags::SYMLINK_NOFOLLOW).map_err(at(path))?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {
                mkdirat(dst, name, Mode::from_raw_mode(0o700)).map_err(at(path))?;
                let s = openat(src, name, DIR_FLAGS, Mode::empty()).map_err(at(path))?;
                let d = openat(dst, name, DIR_FLAGS, Mode::empty()).map_err(at(path))?;
                self.dir(&s, &d, path)?;
                // After the children: their creation changed the dir's mtime.
                set_meta(&d, &st, &s).map_err(at(path))
            }
            FileType::RegularFile => self.file(src, dst, name, path, &st),
            FileType::Symlink => {
                let target = readlinkat(src, name, Vec::new()).map_err(at(path))?;
                symlinkat(target.as_c_str(), dst, name).map_err(at(path))?;
                set_meta_at(dst, name, &st, false).map_err(at(path))
            }
            kind => {
                let mode = Mode::from_raw_mode(st.st_mode & 0o7777);
                mknodat(dst, name, kind, mode, st.st_rdev).map_err(at(path))?;
                set_meta_at(dst, name, &st, true).map_err(at(path))
            }
        }
    }

    fn file(
        &mut self,
        src: &OwnedFd,
        dst: &OwnedFd,
        name: &CStr,
        path: &Path,
        st: &Stat,
    ) -> Step<()> {
        let key = (st.st_dev, st.st_ino);
        if let Some((first, left)) = self.links.get_mut(&key) {
            linkat(&*first, c"", dst, name, AtFlags::EMPTY_PATH).map_err(at(path))?;
            *left -= 1;
            if *left == 0 {
                self.links.remove(&key);
            }
            return Ok(());
        }
        let s = openat(
            src,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(at(path))?;
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let d = openat(dst, name, flags, Mode::from_raw_mode(0o600)).map_err(at(path))?;
        let (mut from, mut to) = (File::from(s), File::from(d));
        std::io::copy(&mut from, &mut to).map_err(|e| (path.to_path_buf(), e))?;
        let (s, d) = (OwnedFd::from(from), OwnedFd::from(to));
        set_meta(&d, st, &s).map_err(at(path))?;
        if st.st_nlink > 1 {
            self.links.insert(key, (d, st.st_nlink - 1));
        }
        Ok(())
    }
}

/// Owner, then mode (a chown clears set-id bits), xattrs and times, from the source.
fn set_meta(fd: &OwnedFd, st: &Stat, src: &OwnedFd) -> rustix::io::Result<()> {
    fchown(
        fd,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )?;
    fchmod(fd, Mode::from_raw_mode(st.st_mode & 0o7777))?;
    copy_xattrs(src, fd)?;
    futimens(fd, &times(st))
}

/// The same for what cannot be opened (symlinks, devices, fifos); `chmod`: not a symlink
/// (whose mode Linux ignores). The name was just made by us in our own directory.
fn set_meta_at(dir: &OwnedFd, name: &CStr, st: &Stat, chmod: bool) -> rustix::io::Result<()> {
    let (uid, gid) = (Uid::from_raw(st.st_uid), Gid::from_raw(st.st_gid));
    chownat(dir, name, Some(uid), Some(gid), AtFlags::SYMLINK_NOFOLLOW)?;
    if chmod {
        chmodat(
            dir,
            name,
            Mode::from_raw_mode(st.st_mode & 0o7777),
            AtFlags::empty(),
        )?;
    }
    utimensat(dir, name, &times(st), AtFlags::SYMLINK_NOFOLLOW)
}

fn times(st: &Stat) -> Timestamps {
    Timestamps {
        last_access: Timespec {
            tv_sec: st.st_atime as _,
            tv_nsec: st.st_atime_nsec as _,
        },
        last_modification: Timespec {
            tv_sec: st.st_mtime as _,
            tv_nsec: st.st_mtime_nsec as _,
        },
    }
}

/// Extended attributes (file capabilities, user.*), except overlayfs' own; a file system
/// without xattrs on either side is no error.
fn copy_xattrs(src: &OwnedFd, dst: &OwnedFd) -> rustix::io::Result<()> {
    let mut names = vec![0u8; 4096];
    let n = match flistxattr(src, &mut names[..]) {
        Ok(n) => n,
        Err(Errno::RANGE) => {
            names = vec![0u8; 65536];
            flistxattr(src, &mut names[..])?
        }
        Err(Errno::OPNOTSUPP) => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut value = vec![0u8; 65536];
    for name in names[..n].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        if name.starts_with(b"trusted.overlay.") {
            continue;
        }
        let name = OsStr::from_bytes(name);
        let len = fgetxattr(src, name, &mut value[..])?;
        match fsetxattr(dst, name, &value[..len], XattrFlags::empty()) {
            Ok(()) | Err(Errno::OPNOTSUPP) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! As root (ownership is copied): a source tree in a temp dir standing for the rootfs.
    use super::fill;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
    use std::path::Path;

    fn tree(root: &Path) {
        let src = root.join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("f"), "data\n").unwrap();
        std::os::unix::fs::chown(src.join("f"), Some(1234), Some(4321)).unwrap();
        // Set after the chown, which clears set-id bits.
        std::fs::set_permissions(src.join("f"), PermissionsExt::from_mode(0o4750)).unwrap();
        std::fs::hard_link(src.join("f"), src.join("sub/hard")).unwrap();
        let xattr = rustix::fs::XattrFlags::empty();
        rustix::fs::setxattr(src.join("f"), "user.coracle", b"kept", xattr).unwrap();
        symlink("/etc/passwd", src.join("abs")).unwrap();
        std::os::unix::fs::lchown(src.join("abs"), Some(7), Some(8)).unwrap();
        sys_mkfifo(&src.join("fifo"));
        std::fs::set_permissions(&src, PermissionsExt::from_mode(0o751)).unwrap();
        std::os::unix::fs::chown(&src, Some(55), Some(66)).unwrap();
        symlink("/src", root.join("to-src")).unwrap();
        symlink("/etc", root.join("escape")).unwrap();
        std::fs::write(root.join("file"), "").unwrap();
    }

    fn sys_mkfifo(p: &Path) {
        let st = std::process::Command::new("mkfifo")
            .arg("-m")
            .arg("640")
            .arg(p)
            .status()
            .unwrap();
        assert!(st.success());
    }

    #[test]
    fn copies_owners_modes_links_and_special_files() {
        let t = tempfile::tempdir().unwrap();
        let (root, vol) = (t.path().join("root"), t.path().join("vol"));
        tree(&root);
        std::fs::create_dir(&vol).unwrap();
        // Through a symlink of the image, resolved inside the root.
        fill(&root, "/to-src/", "v", &vol).unwrap();
        let f = vol.join("f").metadata().unwrap();
        assert_eq!((f.uid(), f.gid(), f.mode() & 0o7777), (1234, 4321, 0o4750));
        assert_eq!(std::fs::read_to_string(vol.join("f")).unwrap(), "data\n");
        let mut v = [0u8; 16];
        let n = rustix::fs::getxattr(vol.join("f"), "user.coracle", &mut v[..]).unwrap();
        assert_eq!(&v[..n], b"kept");
        let hard = vol.join("sub/hard").metadata().unwrap();
        assert_eq!((hard.ino(), hard.nlink()), (f.ino(), 2), "hard link kept");
        let abs = vol.join("abs").symlink_metadata().unwrap();
        assert!(abs.file_type().is_symlink());
        assert_eq!((abs.uid(), abs.gid()), (7, 8));
        assert_eq!(
            std::fs::read_link(vol.join("abs")).unwrap(),
            Path::new("/etc/passwd")
        );
        let fifo = vol.join("fifo").symlink_metadata().unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&fifo.file_type()));
        assert_eq!(fifo.mode() & 0o7777, 0o640);
        let d = vol.metadata().unwrap();
        assert_eq!((d.uid(), d.gid(), d.mode() & 0o7777), (55, 66, 0o751));
        let src_mtime = root.join("src/sub").metadata().unwrap().mtime();
        assert_eq!(vol.join("sub").metadata().unwrap().mtime(), src_mtime);
    }

    #[test]
    fn leaves_a_non_empty_volume_and_non_directories_alone_and_never_leaves_the_root() {
        let t = tempfile::tempdir().unwrap();
        let (root, vol) = (t.path().join("root"), t.path().join("vol"));
        tree(&root);
        std::fs::create_dir(&vol).unwrap();
        std::fs::write(vol.join("mine"), "x").unwrap();
        fill(&root, "/src", "v", &vol).unwrap();
        let names: Vec<_> = std::fs::read_dir(&vol).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "a volume with content is not filled");
        std::fs::remove_file(vol.join("mine")).unwrap();
        for path in ["/file", "/missing", "/escape", "/../../etc"] {
            fill(&root, path, "v", &vol).unwrap();
            let n = std::fs::read_dir(&vol).unwrap().count();
            assert_eq!(n, 0, "{path}: copied something");
        }
    }
}
