//! The container's root filesystem: propagation, the spec's mounts, devices, pivot_root, masked and
//! read-only paths. Runs in the container's init, inside its new mount namespace.
//!
//! STUB until the rootfs branch lands: only the interface.

use crate::Result;
use std::path::Path;

pub struct RootfsOptions<'a> {
    pub spec: &'a oci_spec::runtime::Spec,
    pub rootfs: &'a Path,
    pub no_pivot: bool,
    pub userns: bool,
    pub console: bool,
    pub cgroupns: bool,
    pub cgroup_mounts: &'a [cgroups::Hierarchy],
}

pub fn prepare(_opts: &RootfsOptions) -> Result<()> {
    Ok(())
}

pub fn enter(opts: &RootfsOptions) -> Result<()> {
    std::os::unix::fs::chroot(opts.rootfs).map_err(|e| crate::Error::msg(format!("chroot: {e}")))?;
    std::env::set_current_dir("/").map_err(|e| crate::Error::msg(format!("chdir: {e}")))
}

pub fn finish(_opts: &RootfsOptions) -> Result<()> {
    let _ = crate::sys::mount::mount(Some(Path::new("proc")), Path::new("/proc"), Some("proc"), 0, None);
    Ok(())
}

pub fn bind_console(_pty_slave: &Path) -> Result<()> {
    Ok(())
}
