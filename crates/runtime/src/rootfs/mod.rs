//! The container's root filesystem: propagation, the spec's mounts, devices, pivot_root, masked and
//! read-only paths. Runs in the container's init, inside its new mount namespace.
//!
//! Every path inside the container is resolved inside the rootfs ([`resolve`]): a symlink in the
//! image can never send a mount, a device or a masked path onto the host.
//!
//! Files: [`options`] (option strings → flags), [`resolve`] (in-root path resolution), [`mounts`] (the
//! spec's mounts), [`cgroup`] (/sys/fs/cgroup), [`devices`], [`pivot`], [`masked`] (masked and
//! read-only paths), [`sysctl`].

pub mod cgroup;
pub mod devices;
pub mod masked;
pub mod mounts;
pub mod options;
pub mod pivot;
pub mod resolve;
pub mod sysctl;

use crate::sys::mount as sys;
use crate::{Context, Error, Result};
use std::path::Path;

pub struct RootfsOptions<'a> {
    pub spec: &'a oci_spec::runtime::Spec,
    /// Absolute host path of the bundle's rootfs.
    pub rootfs: &'a Path,
    /// runc --no-pivot: MS_MOVE the rootfs onto / and chroot instead of pivot_root.
    pub no_pivot: bool,
    /// The container has a new user namespace: devices are bind-mounted from the host, not mknod'ed.
    pub userns: bool,
    /// process.terminal is set: leave an empty regular file at /dev/console for [`bind_console`].
    pub console: bool,
    /// The container has a new cgroup namespace.
    pub cgroupns: bool,
    pub cgroup_mounts: &'a [cgroups::Hierarchy],
    /// linux.mountLabel, only when SELinux is on (else skipped, as crun does): added as
    /// `context=` to the mounts that take it.
    pub mount_label: Option<&'a str>,
}

impl RootfsOptions<'_> {
    fn linux(&self) -> Option<&oci_spec::runtime::Linux> {
        self.spec.linux().as_ref()
    }

    /// `linux.rootfsPropagation` as flags, if the spec sets it.
    fn propagation(&self) -> Result<Option<libc::c_ulong>> {
        match self.linux().and_then(|l| l.rootfs_propagation().as_deref()) {
            None | Some("") => Ok(None),
            Some(v) => options::root_propagation(Some(v))
                .map(Some)
                .map_err(|e| Error::msg(format!("linux.rootfsPropagation: {e}"))),
        }
    }

    /// runc sets up /dev unless the spec bind-mounts a whole /dev from the host.
    fn sets_up_dev(&self) -> bool {
        !self.spec.mounts().iter().flatten().any(|m| {
            mounts::is_dev(m.destination())
                && (m.typ().as_deref() == Some("bind")
                    || m.options()
                        .iter()
                        .flatten()
                        .any(|o| o == "bind" || o == "rbind"))
        })
    }

    /// Is the spec's /dev mount read-only (applied in [`finish`], once the devices exist)?
    fn dev_readonly(&self) -> bool {
        let Some(m) = self
            .spec
            .mounts()
            .iter()
            .flatten()
            .rev()
            .find(|m| mounts::is_dev(m.destination()))
        else {
            return false;
        };
        options::parse(m.options().as_deref().unwrap_or_default())
            .map(|o| o.is_readonly() && !o.is_bind())
            .unwrap_or(false)
    }
}

/// Restores the umask when prepare() returns, however it returns.
struct UmaskGuard(u32);

impl Drop for UmaskGuard {
    fn drop(&mut self) {
        sys::set_umask(self.0);
    }
}

/// In the container's init, in its new mount namespace, before the createContainer hooks and before
/// pivot. Sets mount propagation of / (rootfsPropagation; default: rslave like runc), bind-mounts the
/// rootfs onto itself (MS_BIND|MS_REC), performs the spec's mounts in order, creates the default
/// devices (/dev/null zero full random urandom tty) and linux.devices, the /dev symlinks
/// (fd -> /proc/self/fd, stdin/stdout/stderr -> /proc/self/fd/0..2, ptmx -> pts/ptmx), and the
/// /dev/console placeholder.
pub fn prepare(opts: &RootfsOptions) -> Result<()> {
    // Modes of created nodes and directories are exactly the ones asked for.
    let _umask = UmaskGuard(sys::set_umask(0));
    let rootfs = opts.rootfs;
    let propagation = opts.propagation()?;
    let flags = propagation.unwrap_or(libc::MS_SLAVE | libc::MS_REC);
    sys::mount(None, Path::new("/"), None, flags, None)
        .context(|| "setting the mount propagation of /")?;
    if flags & libc::MS_SHARED != 0 {
        // pivot_root refuses a new root whose parent mount is shared.
        make_parent_private(rootfs)?;
    }
    sys::mount(
        Some(rootfs),
        rootfs,
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .context(|| format!("bind-mounting the rootfs {} onto itself", rootfs.display()))?;
    let root = resolve::Root::open(rootfs)
        .context(|| format!("opening the rootfs {}", rootfs.display()))?;

    mounts::mount_all(&root, opts)?;

    let mut dirs = devices::Dirs::default();
    if opts.sets_up_dev() {
        let nodes = devices::devices(opts.spec)?;
        devices::create(&root, &mut dirs, &nodes, opts.userns)?;
        devices::symlinks(&root, &mut dirs)?;
    }
    if opts.console {
        devices::console_placeholder(&root, &mut dirs)?;
    }
    Ok(())
}

/// Make the mount holding `rootfs` private (it is shared when rootfsPropagation asks for shared).
fn make_parent_private(rootfs: &Path) -> Result<()> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .context(|| "reading /proc/self/mountinfo")?;
    let parent = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| std::path::PathBuf::from(pivot::unescape(p)))
        .filter(|p| rootfs.starts_with(p))
        .max_by_key(|p| p.components().count())
        .unwrap_or_else(|| "/".into());
    sys::mount(None, &parent, None, libc::MS_PRIVATE, None).context(|| {
        format!(
            "making {} (the rootfs' parent mount) private",
            parent.display()
        )
    })
}

/// pivot_root into the rootfs (or, with no_pivot, MS_MOVE + chroot), detach the old root, chdir("/").
pub fn enter(opts: &RootfsOptions) -> Result<()> {
    if opts.no_pivot {
        pivot::move_root(opts.rootfs)
    } else {
        pivot::pivot(opts.rootfs)
    }
}

/// After enter (and after bind_console): linux.sysctl writes (/proc/sys), maskedPaths (bind /dev/null
/// over files, read-only tmpfs over directories; missing paths are skipped), readonlyPaths (bind onto
/// itself then remount ro, missing skipped), root.readonly (remount / read-only), final
/// rootfsPropagation of /.
pub fn finish(opts: &RootfsOptions) -> Result<()> {
    if let Some(linux) = opts.linux() {
        if let Some(sysctl) = linux.sysctl() {
            sysctl::apply(sysctl)?;
        }
    }
    if opts.dev_readonly() {
        mounts::make_readonly(Path::new("/dev"), false)
            .context(|| "mounts (/dev): making /dev read-only")?;
    }
    if let Some(linux) = opts.linux() {
        if let Some(paths) = linux.readonly_paths() {
            masked::readonly_paths(paths)?;
        }
        if let Some(paths) = linux.masked_paths() {
            masked::masked_paths(paths, opts.mount_label)?;
        }
    }
    if opts.spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        mounts::make_readonly(Path::new("/"), false)
            .context(|| "root.readonly: remounting / read-only")?;
    }
    if let Some(flags) = opts.propagation()? {
        sys::mount(None, Path::new("/"), None, flags, None)
            .context(|| "linux.rootfsPropagation: setting the propagation of /")?;
    }
    Ok(())
}

/// After enter: bind the pty slave (e.g. /dev/pts/3) onto /dev/console.
pub fn bind_console(pty_slave: &Path) -> Result<()> {
    let console = Path::new("/dev/console");
    if let Err(e) = std::fs::symlink_metadata(console) {
        if e.kind() == std::io::ErrorKind::NotFound {
            std::fs::File::create(console).context(|| "creating /dev/console")?;
        }
    }
    sys::mount(Some(pty_slave), console, None, libc::MS_BIND, None)
        .context(|| format!("binding {} onto /dev/console", pty_slave.display()))
}
