//! Device nodes: runc's default set (null, zero, full, random, urandom, tty) merged with
//! `linux.devices`, created with mknodat (or, in a user namespace, as an empty file with the host's node
//! bind-mounted onto it); the /dev symlinks; the /dev/console placeholder.

use super::resolve::{fd_path, Root};
use crate::sys::mount as sys;
use crate::{Error, Result};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType, Spec};
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// One device node to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// How errors name it: "linux.devices[2] (/dev/fuse)" or "default device /dev/null".
    pub what: String,
    pub path: PathBuf,
    /// S_IFCHR, S_IFBLK or S_IFIFO.
    pub kind: u32,
    pub major: u64,
    pub minor: u64,
    /// Permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// runc's default devices: (name, major, minor), all character devices, 0666, root-owned.
const DEFAULTS: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

fn same_path(a: &Path, b: &Path) -> bool {
    a.components().eq(b.components())
}

/// The devices to create: the defaults the spec does not list itself, then the spec's own.
pub fn devices(spec: &Spec) -> Result<Vec<Device>> {
    let listed: &[LinuxDevice] = spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().as_deref())
        .unwrap_or_default();
    let mut out: Vec<Device> = DEFAULTS
        .iter()
        .filter(|(p, _, _)| !listed.iter().any(|d| same_path(d.path(), Path::new(p))))
        .map(|&(p, major, minor)| Device {
            what: format!("default device {p}"),
            path: PathBuf::from(p),
            kind: libc::S_IFCHR,
            major,
            minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
        })
        .collect();
    for (i, d) in listed.iter().enumerate() {
        let what = format!("linux.devices[{i}] ({})", d.path().display());
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
            LinuxDeviceType::B => libc::S_IFBLK,
            LinuxDeviceType::P => libc::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(Error::msg(format!(
                    "{what}: type \"a\" is not a device node type (c, b, u or p)"
                )))
            }
        };
        if !d.path().is_absolute() {
            return Err(Error::msg(format!("{what}: the path must be absolute")));
        }
        let number = |n: i64, field: &str| {
            u64::try_from(n).map_err(|_| Error::msg(format!("{what}: {field} {n} is negative")))
        };
        out.push(Device {
            major: number(d.major(), "major")?,
            minor: number(d.minor(), "minor")?,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
            path: d.path().clone(),
            kind,
            what,
        });
    }
    Ok(out)
}

/// The directory of the node being created (usually /dev), kept open while consecutive nodes, the
/// symlinks and the console share it.
#[derive(Default)]
pub struct Dirs {
    path: PathBuf,
    fd: Option<OwnedFd>,
}

impl Dirs {
    fn get(&mut self, root: &Root, path: &Path) -> io::Result<(&OwnedFd, OsString)> {
        let parent = path.parent().unwrap_or(Path::new("/"));
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?
            .to_os_string();
        if self.fd.is_none() || self.path != parent {
            let (fd, _) = root.create_parent(path)?;
            self.fd = Some(fd);
            self.path = parent.to_path_buf();
        }
        Ok((self.fd.as_ref().expect("set above"), name))
    }
}

/// Create every device inside the root. With `bind` (a user namespace), bind the host's node instead.
pub fn create(root: &Root, dirs: &mut Dirs, devices: &[Device], bind: bool) -> Result<()> {
    for d in devices {
        let fail = |e: io::Error| Error::Io {
            context: format!("{}: creating the device node", d.what),
            source: e,
        };
        let (dir, name) = dirs.get(root, &d.path).map_err(fail)?;
        let name = Path::new(&name);
        if bind {
            bind_node(dir, name, d).map_err(fail)?;
            continue;
        }
        let dev = libc::makedev(d.major as u32, d.minor as u32);
        match sys::mknodat(dir.as_fd(), name, d.kind | d.mode, dev) {
            Ok(()) => {
                if d.uid != 0 || d.gid != 0 {
                    sys::lchownat(dir.as_fd(), name, d.uid, d.gid).map_err(fail)?;
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            // Not allowed to mknod (e.g. a nested runtime): bind the host's node like runc.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                bind_node(dir, name, d).map_err(fail)?
            }
            Err(e) => return Err(fail(e)),
        }
    }
    Ok(())
}

/// An empty regular file in `dir` with the host's node at `d.path` bind-mounted onto it.
fn bind_node(dir: &OwnedFd, name: &Path, d: &Device) -> io::Result<()> {
    let target = empty_file(dir, name, 0)?;
    sys::mount(Some(&d.path), &fd_path(&target), None, libc::MS_BIND, None)
}

/// Make `dir`/`name` an empty regular file (replacing a symlink or node that is there) and open it O_PATH.
fn empty_file(dir: &OwnedFd, name: &Path, mode: u32) -> io::Result<OwnedFd> {
    match sys::mknodat(dir.as_fd(), name, libc::S_IFREG | mode, 0) {
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
            let flags = libc::O_PATH | libc::O_NOFOLLOW;
            let fd = sys::openat(Some(dir.as_fd()), name, flags, 0)?;
            if sys::fstat_mode(fd.as_fd())? & libc::S_IFMT == libc::S_IFREG {
                return Ok(fd);
            }
            sys::unlinkat(dir.as_fd(), name, 0)?;
            sys::mknodat(dir.as_fd(), name, libc::S_IFREG | mode, 0)?;
        }
        r => r?,
    }
    sys::openat(Some(dir.as_fd()), name, libc::O_PATH | libc::O_NOFOLLOW, 0)
}

/// /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr and /dev/ptmx -> pts/ptmx.
pub fn symlinks(root: &Root, dirs: &mut Dirs) -> Result<()> {
    let fail = |what: &str, e: io::Error| Error::Io {
        context: format!("creating the /dev/{what} symlink"),
        source: e,
    };
    let (dev, _) = dirs
        .get(root, Path::new("/dev/fd"))
        .map_err(|e| fail("fd", e))?;
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        match sys::symlinkat(Path::new(target), dev.as_fd(), Path::new(name)) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            r => r.map_err(|e| fail(name, e))?,
        }
    }
    // Whatever /dev/ptmx was, it becomes the link into the container's own devpts.
    match sys::unlinkat(dev.as_fd(), Path::new("ptmx"), 0) {
        Err(e) if e.raw_os_error() != Some(libc::ENOENT) => return Err(fail("ptmx", e)),
        _ => {}
    }
    sys::symlinkat(Path::new("pts/ptmx"), dev.as_fd(), Path::new("ptmx"))
        .map_err(|e| fail("ptmx", e))
}

/// An empty regular file at /dev/console for [`super::bind_console`] to mount the pty onto.
pub fn console_placeholder(root: &Root, dirs: &mut Dirs) -> Result<()> {
    dirs.get(root, Path::new("/dev/console"))
        .and_then(|(dev, name)| empty_file(dev, Path::new(&name), 0o600))
        .map(drop)
        .map_err(|e| Error::Io {
            context: "creating /dev/console".into(),
            source: e,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(devices: &str) -> Spec {
        let json = format!(
            r#"{{"ociVersion":"1.0.2","root":{{"path":"rootfs"}},"linux":{{"devices":{devices}}}}}"#
        );
        // Plain serde: these tests reach devices()'s own checks, past spec validation.
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn defaults_without_spec_devices() {
        let d = devices(&spec("[]")).unwrap();
        let paths: Vec<_> = d.iter().map(|d| d.path.to_str().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "/dev/null",
                "/dev/zero",
                "/dev/full",
                "/dev/random",
                "/dev/urandom",
                "/dev/tty"
            ]
        );
        assert!(d.iter().all(|d| d.kind == libc::S_IFCHR && d.mode == 0o666));
        assert_eq!((d[5].major, d[5].minor), (5, 0));
        let none = serde_json::from_str::<Spec>(r#"{"ociVersion":"1.0.2"}"#).unwrap();
        assert_eq!(devices(&none).unwrap().len(), 6);
    }

    #[test]
    fn spec_devices_override_defaults_and_are_added() {
        let d = devices(&spec(
            r#"[{"path":"/dev/null","type":"c","major":1,"minor":3,"fileMode":384,"uid":5,"gid":6},
                {"path":"/dev/fuse","type":"c","major":10,"minor":229},
                {"path":"/dev/loop9","type":"b","major":7,"minor":9,"fileMode":8624},
                {"path":"/dev/fifo","type":"p"}]"#,
        ))
        .unwrap();
        assert_eq!(d.len(), 5 + 4);
        assert_eq!(
            d.iter()
                .filter(|d| d.path == Path::new("/dev/null"))
                .count(),
            1
        );
        let null = d.iter().find(|d| d.path == Path::new("/dev/null")).unwrap();
        assert_eq!((null.mode, null.uid, null.gid), (0o600, 5, 6));
        assert_eq!(null.what, "linux.devices[0] (/dev/null)");
        let fuse = &d[6];
        assert_eq!((fuse.major, fuse.minor, fuse.mode), (10, 229, 0o666));
        // fileMode may carry type bits (0o20660 here): only the permissions are kept.
        assert_eq!((d[7].kind, d[7].mode), (libc::S_IFBLK, 0o660));
        assert_eq!(d[8].kind, libc::S_IFIFO);
    }

    #[test]
    fn bad_devices_are_refused_by_name() {
        let e = devices(&spec(r#"[{"path":"/dev/x","type":"a"}]"#)).unwrap_err();
        assert!(
            e.to_string().starts_with("linux.devices[0] (/dev/x): "),
            "{e}"
        );
        let e = devices(&spec(r#"[{"path":"dev/x","type":"c"}]"#)).unwrap_err();
        assert!(e.to_string().contains("absolute"), "{e}");
        let e = devices(&spec(r#"[{"path":"/dev/x","type":"c","major":-1}]"#)).unwrap_err();
        assert!(e.to_string().contains("major -1"), "{e}");
    }
}
