//! The spec's `mounts`, performed in order onto targets resolved inside the rootfs.
//!
//! Per mount: resolve (or create) the destination in the root, mount onto `/proc/self/fd/N`, then —
//! only when the options ask for it — the second steps on a fresh descriptor of the new mount: a bind
//! remount for a plain bind's flags (like runc: MS_REMOUNT|MS_BIND|flags, retried with the flags the
//! kernel locked when that is refused), mount_setattr(AT_RECURSIVE) for an rbind's flags and for the
//! `r*` recursive options, then the propagation changes.

use super::cgroup;
use super::options::{self, MountOptions, PER_MOUNT_FLAGS};
use super::resolve::{fd_path, Kind, Root};
use super::RootfsOptions;
use crate::sys::mount as sys;
use crate::{Error, Result};
use oci_spec::runtime::Mount;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

/// One spec mount, parsed: what [`mount_all`] and the cgroup code work from.
pub struct SpecMount<'a> {
    /// "mounts[3] (/data)": how errors name this mount.
    pub what: String,
    pub destination: &'a Path,
    pub fs_type: &'a str,
    pub source: Option<&'a Path>,
    pub options: MountOptions,
}

impl SpecMount<'_> {
    pub fn err(&self, doing: impl std::fmt::Display, e: io::Error) -> Error {
        Error::Io {
            context: format!("{}: {doing}", self.what),
            source: e,
        }
    }
}

/// Parse `mounts[index]`.
pub fn parse(index: usize, m: &Mount) -> Result<SpecMount<'_>> {
    let what = format!("mounts[{index}] ({})", m.destination().display());
    let opts = m.options().as_deref().unwrap_or_default();
    let mut options = options::parse(opts).map_err(|e| Error::msg(format!("{what}: {e}")))?;
    let fs_type = m.typ().as_deref().unwrap_or("");
    if fs_type == "bind" {
        // runc: the type alone makes it a bind mount.
        options.flags |= libc::MS_BIND;
    }
    let fs_type = if fs_type.is_empty() && options.is_bind() {
        "bind"
    } else {
        fs_type
    };
    Ok(SpecMount {
        what,
        destination: m.destination(),
        fs_type,
        source: m.source().as_deref(),
        options,
    })
}

/// Is `dest` the container's /dev (whose `ro` is applied only after the devices are created)?
pub fn is_dev(dest: &Path) -> bool {
    dest.components()
        .filter(|c| {
            !matches!(
                c,
                std::path::Component::RootDir | std::path::Component::CurDir
            )
        })
        .map(|c| c.as_os_str())
        .eq([std::ffi::OsStr::new("dev")])
}

/// Perform every spec mount in order.
pub fn mount_all(root: &Root, opts: &RootfsOptions) -> Result<()> {
    for (i, m) in opts.spec.mounts().iter().flatten().enumerate() {
        let mut m = parse(i, m)?;
        if let Some(label) = opts.mount_label {
            label_mount(&mut m, label);
        }
        if m.fs_type == "cgroup" {
            cgroup::mount(root, &m, opts)?;
            continue;
        }
        match mount_one(root, &m) {
            Err(e) if opts.userns && m.fs_type == "sysfs" && is_eperm(&e) => {
                mount_one(root, &host_sys_rbind(&m))?
            }
            r => r?,
        }
    }
    Ok(())
}

/// linux.mountLabel as `context=` on a mount that takes it (not on a remount: the label is fixed
/// when the filesystem is made).
fn label_mount(m: &mut SpecMount, label: &str) {
    use crate::security::lsm::selinux;
    let o = &mut m.options;
    if o.flags & libc::MS_REMOUNT == 0 && selinux::takes_mount_label(m.fs_type, o.is_bind()) {
        o.data = selinux::format_mount_label(&o.data, label);
    }
}

fn is_eperm(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.raw_os_error() == Some(libc::EPERM))
}

/// The kernel mounts a new sysfs in a user namespace only when the container also has its own
/// network namespace. Otherwise (rootless without netns), like runc and crun: the host's /sys,
/// bound recursively with the mount's own flags (typically nosuid,noexec,nodev,ro).
fn host_sys_rbind<'a>(m: &SpecMount<'a>) -> SpecMount<'a> {
    let mut options = m.options.clone();
    options.flags |= libc::MS_BIND | libc::MS_REC;
    options.data.clear();
    SpecMount {
        what: m.what.clone(),
        destination: m.destination,
        fs_type: "bind",
        source: Some(Path::new("/sys")),
        options,
    }
}

fn mount_one(root: &Root, m: &SpecMount) -> Result<()> {
    let o = &m.options;
    // A "remount" changes an existing mount in place: no source to open, one mount(2) call.
    if o.is_bind() && o.flags & libc::MS_REMOUNT == 0 {
        let source = m
            .source
            .ok_or_else(|| Error::msg(format!("{}: a bind mount needs a source", m.what)))?;
        // Open the source once: its type decides the target's, and the mount uses this very object.
        let src = sys::openat(None, source, libc::O_PATH, 0)
            .map_err(|e| m.err(format_args!("mounting bind {}", source.display()), e))?;
        let mode = sys::fstat_mode(src.as_fd())
            .map_err(|e| m.err(format_args!("mounting bind {}", source.display()), e))?;
        let kind = if mode & libc::S_IFMT == libc::S_IFDIR {
            Kind::Dir
        } else {
            Kind::File
        };
        let target = resolve_target(root, m, kind)?;
        sys::mount(
            Some(&fd_path(&src)),
            &fd_path(&target),
            None,
            o.flags & (libc::MS_BIND | libc::MS_REC),
            None,
        )
        .map_err(|e| m.err(format_args!("mounting bind {}", source.display()), e))?;
    } else {
        let target = resolve_target(root, m, Kind::Dir)?;
        let mut flags = o.flags;
        if is_dev(m.destination) {
            // /dev stays writable until the devices exist; finish() applies its ro.
            flags &= !libc::MS_RDONLY;
        }
        let source = m.source.unwrap_or(Path::new(m.fs_type));
        let fs_type = (!m.fs_type.is_empty()).then_some(m.fs_type);
        let data = (!o.data.is_empty()).then_some(o.data.as_str());
        sys::mount(Some(source), &fd_path(&target), fs_type, flags, data).map_err(|e| {
            m.err(
                format_args!("mounting {} {}", m.fs_type, source.display()),
                e,
            )
        })?;
    }
    after_mount(root, m, false)
}

/// Resolve the destination inside the root, creating it as `kind` if missing.
pub fn resolve_target(root: &Root, m: &SpecMount, kind: Kind) -> Result<OwnedFd> {
    root.create(m.destination, kind)
        .map_err(|e| m.err("resolving the destination in the rootfs", e))
}

/// The second steps after the mount itself, only those the options need. With `skip_flags`, the
/// bind flags were already applied by the caller.
pub fn after_mount(root: &Root, m: &SpecMount, skip_flags: bool) -> Result<()> {
    let o = &m.options;
    let bind_flags =
        o.is_bind() && o.flags & libc::MS_REMOUNT == 0 && o.bind_needs_flags() && !skip_flags;
    if !bind_flags && !o.has_recursive_attrs() && o.propagation.is_empty() {
        return Ok(());
    }
    // The descriptor used for the mount names the covered directory: open the new mount on top.
    let top = root
        .open_existing(m.destination)
        .map_err(|e| m.err("reopening the mounted destination", e))?;
    let top_path = fd_path(&top);
    if bind_flags {
        if o.is_recursive_bind() {
            // An rbind's flags apply to every mount it brought along, in one call.
            setattr_recursive(&top, &o.bind_attrs())
                .or_else(|e| match e.raw_os_error() {
                    Some(libc::ENOSYS) => bind_remount(&top_path, o.flags),
                    _ => Err(e),
                })
                .map_err(|e| m.err("applying the bind mount's flags", e))?;
        } else {
            bind_remount(&top_path, o.flags)
                .map_err(|e| m.err("remounting the bind mount with its flags", e))?;
        }
    }
    if o.has_recursive_attrs() {
        setattr_recursive(&top, &o.recursive)
            .map_err(|e| m.err("applying recursive mount attributes", e))?;
    }
    for &p in &o.propagation {
        sys::mount(None, &top_path, None, p, None)
            .map_err(|e| m.err("changing mount propagation", e))?;
    }
    Ok(())
}

fn setattr_recursive(fd: &OwnedFd, attr: &sys::MountAttr) -> io::Result<()> {
    sys::mount_setattr(
        Some(fd.as_fd()),
        Path::new(""),
        libc::AT_RECURSIVE as libc::c_uint,
        attr,
    )
}

/// runc's remount of a bind mount: MS_REMOUNT|MS_BIND with the per-mount flags asked for. The kernel
/// refuses to drop flags it locked (a user namespace over a nosuid/nodev host mount): on EPERM, retry
/// keeping the flags the mount has now.
pub fn bind_remount(target: &Path, flags: libc::c_ulong) -> io::Result<()> {
    let flags = libc::MS_REMOUNT | libc::MS_BIND | (flags & PER_MOUNT_FLAGS);
    match sys::mount(None, target, None, flags, None) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            const ATIME: libc::c_ulong =
                libc::MS_NOATIME | libc::MS_RELATIME | libc::MS_STRICTATIME;
            let now = sys::statfs_flags(target)? & PER_MOUNT_FLAGS;
            // The atime modes are exclusive: keep the mount's own only if we asked for none.
            let mut retry = flags | (now & !ATIME);
            if flags & ATIME == 0 {
                retry |= now & ATIME;
            }
            if retry == flags {
                return Err(e);
            }
            sys::mount(None, target, None, retry, None)
        }
        r => r,
    }
}

/// Make the mount at `path` (a plain path, used after pivot) read-only without touching its other
/// flags: one mount_setattr, or runc's statfs + bind remount on kernels without it.
pub fn make_readonly(path: &Path, recursive: bool) -> io::Result<()> {
    let attr = sys::MountAttr {
        attr_set: sys::MOUNT_ATTR_RDONLY,
        ..Default::default()
    };
    let flags = if recursive {
        libc::AT_RECURSIVE as libc::c_uint
    } else {
        0
    };
    match sys::mount_setattr(None, path, flags, &attr) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            let now = sys::statfs_flags(path)? & PER_MOUNT_FLAGS;
            let rec = if recursive { libc::MS_REC } else { 0 };
            sys::mount(
                None,
                path,
                None,
                libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | rec | now,
                None,
            )
        }
        r => r,
    }
}
