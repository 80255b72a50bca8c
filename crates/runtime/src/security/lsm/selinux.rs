//! SELinux: `process.selinuxLabel` is the context the process runs in from its execve on (and the
//! context of the session keyring the init makes); `linux.mountLabel` is added as `context=` to
//! the container's mounts that take it. Mount labels are skipped when SELinux is off (as crun);
//! a process label then is an error (validate.rs).

use super::attr::{self, AttrFile};
use crate::{Error, Result};

const FIELD: &str = "process.selinuxLabel";

/// SELinux is enabled: selinuxfs is mounted (where the kernel exposes it).
pub fn enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// Open attr/exec (SELinux owns the unprefixed attr files).
pub fn open_exec() -> Result<AttrFile> {
    open("exec")
}

/// Open attr/keycreate: the context given to keys (the session keyring) this thread creates.
pub fn open_keycreate() -> Result<AttrFile> {
    open("keycreate")
}

fn open(name: &str) -> Result<AttrFile> {
    attr::open(name).map_err(|e| {
        Error::msg(format!(
            "{FIELD}: opening /proc/thread-self/attr/{name}: {e}"
        ))
    })
}

/// Ask for `label` at the next execve.
pub fn apply_exec(mut file: AttrFile, label: &str) -> Result<()> {
    write(&mut file, label)
}

/// Label the keys this thread creates with `label`, then (with "") back to the default.
pub fn set_keycreate(file: &mut AttrFile, label: &str) -> Result<()> {
    write(file, label)
}

fn write(file: &mut AttrFile, label: &str) -> Result<()> {
    file.write(label).map_err(|e| {
        let why = match e.raw_os_error() {
            Some(libc::EINVAL) => "not a valid context in the loaded policy".to_string(),
            _ => e.to_string(),
        };
        Error::msg(format!(
            "{FIELD}: setting {} to {label:?}: {why}",
            file.name
        ))
    })
}

/// Mount data with the label, as `context="LABEL"` appended (quoted: a context has commas).
pub fn format_mount_label(data: &str, label: &str) -> String {
    if data.is_empty() {
        format!("context=\"{label}\"")
    } else {
        format!("{data},context=\"{label}\"")
    }
}

/// Which mounts take the label: like runc, every filesystem mount except bind mounts, proc,
/// sysfs and cgroup, whose files carry their own labels, and mqueue, which refuses the option
/// (EINVAL: seen in the tests/v2/run.sh --selinux guest).
pub fn takes_mount_label(fs_type: &str, is_bind: bool) -> bool {
    !is_bind
        && !matches!(
            fs_type,
            "bind" | "proc" | "sysfs" | "cgroup" | "cgroup2" | "mqueue"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_label_appended_quoted() {
        let l = "system_u:object_r:container_file_t:s0:c1,c2";
        assert_eq!(
            format_mount_label("", l),
            "context=\"system_u:object_r:container_file_t:s0:c1,c2\""
        );
        assert_eq!(
            format_mount_label("mode=755,size=65536k", l),
            "mode=755,size=65536k,context=\"system_u:object_r:container_file_t:s0:c1,c2\""
        );
    }

    #[test]
    fn which_mounts_take_it() {
        assert!(takes_mount_label("tmpfs", false));
        assert!(takes_mount_label("devpts", false));
        assert!(!takes_mount_label("mqueue", false));
        assert!(!takes_mount_label("proc", false));
        assert!(!takes_mount_label("sysfs", false));
        assert!(!takes_mount_label("cgroup", false));
        assert!(!takes_mount_label("tmpfs", true));
    }
}
