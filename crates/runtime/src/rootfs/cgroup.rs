//! Mounts of type `cgroup`: the container's /sys/fs/cgroup.
//!
//! - Pure cgroup v2 (one hierarchy with an empty `mount_dir`): a fresh cgroup2 mount in a cgroup
//!   namespace, else a bind of the container's cgroup directory onto the target.
//! - v1 or hybrid: a tmpfs at the target, a directory per hierarchy holding a fresh cgroup mount (with a
//!   cgroup namespace) or a bind of the container's cgroup directory (without one, like runc), and the
//!   `cpu -> cpu,cpuacct` symlinks for co-mounted controllers. Then one recursive mount_setattr gives the
//!   whole tree nosuid,nodev,noexec (and ro when asked) instead of a remount per hierarchy.

use super::mounts::{after_mount, bind_remount, resolve_target, SpecMount};
use super::resolve::{fd_path, Kind, Root};
use super::RootfsOptions;
use crate::sys::mount as sys;
use crate::Result;
use std::io;
use std::os::fd::AsFd;
use std::path::Path;

const BASE_FLAGS: libc::c_ulong = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;

pub fn mount(root: &Root, m: &SpecMount, opts: &RootfsOptions) -> Result<()> {
    let ro = if m.options.is_readonly() {
        libc::MS_RDONLY
    } else {
        0
    };
    let hierarchies = opts.cgroup_mounts;
    let target = resolve_target(root, m, Kind::Dir)?;

    if let [h] = hierarchies {
        if h.mount_dir.is_empty() {
            // Pure v2: the hierarchy is the target itself.
            if opts.cgroupns {
                sys::mount(
                    Some(Path::new("cgroup2")),
                    &fd_path(&target),
                    Some("cgroup2"),
                    BASE_FLAGS | ro,
                    None,
                )
                .map_err(|e| m.err("mounting cgroup2", e))?;
            } else {
                let doing = || format!("mounting bind {}", h.host_path.display());
                sys::mount(
                    Some(&h.host_path),
                    &fd_path(&target),
                    None,
                    libc::MS_BIND | libc::MS_REC,
                    None,
                )
                .map_err(|e| m.err(doing(), e))?;
                let top = root
                    .open_existing(m.destination)
                    .map_err(|e| m.err("reopening the mounted destination", e))?;
                bind_remount(&fd_path(&top), BASE_FLAGS | ro)
                    .map_err(|e| m.err("remounting the cgroup bind with its flags", e))?;
            }
            return after_mount(root, m, true);
        }
    }

    // Nothing to put in it: the tmpfs gets its final flags at once.
    let empty = hierarchies.iter().all(|h| h.mount_dir.is_empty());
    sys::mount(
        Some(Path::new("tmpfs")),
        &fd_path(&target),
        Some("tmpfs"),
        BASE_FLAGS | if empty { ro } else { 0 },
        Some("mode=755"),
    )
    .map_err(|e| m.err("mounting tmpfs for the cgroup hierarchies", e))?;
    if empty {
        return after_mount(root, m, true);
    }
    let top = root
        .open_existing(m.destination)
        .map_err(|e| m.err("reopening the cgroup tmpfs", e))?;

    for h in hierarchies.iter().filter(|h| !h.mount_dir.is_empty()) {
        let name = Path::new(&h.mount_dir);
        let in_dir = |e: io::Error| m.err(format_args!("creating {}", h.mount_dir), e);
        sys::mkdirat(top.as_fd(), name, 0o755).map_err(in_dir)?;
        let dir = sys::openat(
            Some(top.as_fd()),
            name,
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_DIRECTORY,
            0,
        )
        .map_err(in_dir)?;
        if opts.cgroupns {
            let data = (!h.options.is_empty()).then_some(h.options.as_str());
            sys::mount(
                Some(Path::new(h.fs_type)),
                &fd_path(&dir),
                Some(h.fs_type),
                BASE_FLAGS | ro,
                data,
            )
            .map_err(|e| m.err(format_args!("mounting {} {}", h.fs_type, h.mount_dir), e))?;
        } else {
            sys::mount(
                Some(&h.host_path),
                &fd_path(&dir),
                None,
                libc::MS_BIND | libc::MS_REC,
                None,
            )
            .map_err(|e| {
                m.err(
                    format_args!("mounting bind {} on {}", h.host_path.display(), h.mount_dir),
                    e,
                )
            })?;
        }
        if h.mount_dir.contains(',') {
            for part in h.mount_dir.split(',').filter(|p| !p.is_empty()) {
                match sys::symlinkat(name, top.as_fd(), Path::new(part)) {
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                    r => r.map_err(|e| m.err(format_args!("linking {part}"), e))?,
                }
            }
        }
    }

    // One call for the tmpfs and everything mounted in it.
    let attr = sys::MountAttr {
        attr_set: sys::MOUNT_ATTR_NOSUID
            | sys::MOUNT_ATTR_NODEV
            | sys::MOUNT_ATTR_NOEXEC
            | if ro != 0 { sys::MOUNT_ATTR_RDONLY } else { 0 },
        ..Default::default()
    };
    let flags = libc::AT_RECURSIVE as libc::c_uint;
    match sys::mount_setattr(Some(top.as_fd()), Path::new(""), flags, &attr) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            // Old kernel: a bind remount per hierarchy, then the tmpfs.
            for h in hierarchies.iter().filter(|h| !h.mount_dir.is_empty()) {
                let dir = sys::openat(Some(top.as_fd()), Path::new(&h.mount_dir), libc::O_PATH, 0)
                    .and_then(|d| bind_remount(&fd_path(&d), BASE_FLAGS | ro))
                    .map_err(|e| m.err(format_args!("remounting {}", h.mount_dir), e));
                dir?;
            }
            bind_remount(&fd_path(&top), BASE_FLAGS | ro)
                .map_err(|e| m.err("remounting the cgroup tmpfs", e))?;
        }
        r => r.map_err(|e| m.err("setting the cgroup mounts' flags", e))?,
    }
    after_mount(root, m, true)
}
