//! Running as an unprivileged user ("rootless"), as runc and crun do. The caller's effective uid
//! decides (one `geteuid`, the only rootless work on root's start path). What changes:
//! - [`idmap`]: a single mapping of the caller's own uid/gid is written directly (setgroups
//!   "deny" first, as the kernel requires for an unprivileged gid_map); anything else goes
//!   through the setuid helpers newuidmap/newgidmap (package uidmap, ranges from /etc/subuid and
//!   /etc/subgid), while the init waits.
//! - [`state_root`]: without `--root`, state lives in `$XDG_RUNTIME_DIR/coracle-runtime`.
//! - [`cgroup`]: a cgroup the caller cannot create (not delegated) is skipped with one warning,
//!   unless the config asks for resource limits (then a clear error naming `linux.resources`).
//! - Mounts: in a user namespace devices are bind-mounted from the host instead of mknod'ed
//!   (`rootfs/devices.rs`), and a `sysfs` mount the kernel refuses (a user namespace without its
//!   own network namespace) becomes a read-only rbind of the host's /sys (`rootfs/mounts.rs`).

pub mod cgroup;
pub mod idmap;
pub mod state_root;

/// Is the runtime running without root privileges?
pub fn is_rootless() -> bool {
    crate::sys::process::geteuid() != 0
}

/// What an unprivileged caller cannot do, refused before anything exists: every privilege the
/// init uses (namespaces, mounts) comes from a new or joined user namespace, so a config without
/// one cannot work; and see [`idmap::check`].
pub fn check(
    spec: &oci_spec::runtime::Spec,
    ns: &crate::namespaces::Namespaces,
) -> crate::Result<()> {
    use oci_spec::runtime::LinuxNamespaceType::User;
    if !is_rootless() {
        return Ok(());
    }
    if ns.has_new(User) {
        return idmap::check(spec);
    }
    if ns.joins_user() {
        return Ok(());
    }
    Err(crate::Error::msg(format!(
        "linux.namespaces: uid {} is not root, so the container needs a user namespace (add \
         {{\"type\": \"user\"}} with linux.uidMappings and linux.gidMappings, as `spec --rootless` \
         writes)",
        crate::sys::process::geteuid()
    )))
}
