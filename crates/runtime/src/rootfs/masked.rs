//! `linux.readonlyPaths` and `linux.maskedPaths`, after the pivot (plain paths now resolve inside the
//! container's root). Missing paths are skipped, as in runc.

use super::mounts::make_readonly;
use crate::sys::mount as sys;
use crate::{Error, Result};
use std::io;
use std::path::Path;

fn enoent(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOENT)
}

/// Bind each path onto itself and make the bind (and what is mounted below it) read-only.
pub fn readonly_paths(paths: &[String]) -> Result<()> {
    for (i, p) in paths.iter().enumerate() {
        let path = Path::new(p);
        let fail = |e| Error::Io {
            context: format!("linux.readonlyPaths[{i}] ({p}): making it read-only"),
            source: e,
        };
        match sys::mount(Some(path), path, None, libc::MS_BIND | libc::MS_REC, None) {
            Err(e) if enoent(&e) => continue,
            r => r.map_err(fail)?,
        }
        make_readonly(path, true).map_err(fail)?;
    }
    Ok(())
}

/// Hide each path: /dev/null bound over a file, an empty read-only tmpfs over a directory
/// (labelled with linux.mountLabel when SELinux is on, as runc does).
pub fn masked_paths(paths: &[String], mount_label: Option<&str>) -> Result<()> {
    let data = mount_label.map(|l| crate::security::lsm::selinux::format_mount_label("", l));
    for (i, p) in paths.iter().enumerate() {
        let path = Path::new(p);
        let fail = |e| Error::Io {
            context: format!("linux.maskedPaths[{i}] ({p}): masking it"),
            source: e,
        };
        match sys::mount(
            Some(Path::new("/dev/null")),
            path,
            None,
            libc::MS_BIND,
            None,
        ) {
            Err(e) if enoent(&e) => {}
            // A directory: binding a file onto it fails with ENOTDIR.
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => sys::mount(
                Some(Path::new("tmpfs")),
                path,
                Some("tmpfs"),
                libc::MS_RDONLY,
                data.as_deref(),
            )
            .map_err(fail)?,
            r => r.map_err(fail)?,
        }
    }
    Ok(())
}
