//! Per-container network namespaces as files under `<run>/netns/<id>`, held alive by a bind mount
//! of the namespace (what `ip netns add` does), so the runtime config can name the file in
//! `linux.namespaces[].path` and CNI plugins can enter it; removed by unmount + unlink.
//!
//! Unlike `ip netns`, the directory is not made a shared mount point: every attach/detach happens
//! in the host mount namespace, and a container's copy of the mount goes away with its own mount
//! namespace.

use super::{io_err, Result};
use std::path::{Path, PathBuf};

/// Create a new network namespace with `lo` up (Docker's `none`: 127.0.0.1 and ::1 answer) and
/// pin it at `path` (which must not exist). Done here rather than by CNI's loopback plugin: one
/// ioctl instead of a plugin exec on every start, and `none` needs no plugins installed.
pub fn create(path: &Path) -> Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_err(path))?;
    // unshare(CLONE_NEWNET) moves only the calling thread: do it on a short-lived thread so the
    // engine's own threads stay in the host namespace, and pin the thread's namespace before it exits.
    let target = path.to_path_buf();
    let res = std::thread::spawn(move || -> std::io::Result<()> {
        sys::process::unshare(libc::CLONE_NEWNET)?;
        sys::net::link_up("lo")?;
        let ns = Path::new("/proc/thread-self/ns/net");
        sys::mount::mount(Some(ns), &target, None, libc::MS_BIND, None)
    })
    .join()
    .unwrap_or_else(|_| Err(std::io::Error::other("netns thread panicked")));
    if let Err(e) = res {
        let _ = std::fs::remove_file(path);
        return Err(io_err(path)(e));
    }
    Ok(path.to_path_buf())
}

/// Unpin and delete a namespace file; a missing file is not an error (idempotent teardown).
pub fn remove(path: &Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    // EINVAL: not a mount point (a half-created file); the unlink below still applies.
    match sys::mount::umount2(path, libc::MNT_DETACH) {
        Err(e) if e.raw_os_error() != Some(libc::EINVAL) => return Err(io_err(path)(e)),
        _ => {}
    }
    std::fs::remove_file(path).map_err(io_err(path))
}
