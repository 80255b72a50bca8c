//! The `features` document (runc's JSON shape): what this runtime supports. It must stay truthful:
//! clients such as containerd and Podman decide what to put in config.json from it.

use serde_json::{json, Value};

/// The mount options the rootfs code understands, as runc's `features` lists them.
pub const MOUNT_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "iversion",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "private",
    "rbind",
    "relatime",
    "remount",
    "ro",
    "rprivate",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "runbindable",
    "rw",
    "shared",
    "slave",
    "strictatime",
    "suid",
    "sync",
    "unbindable",
];

/// The hook kinds we run, in lifecycle order.
pub const HOOKS: &[&str] = &[
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// The namespace types config.json may list (spec validation accepts exactly these).
pub const NAMESPACES: &[&str] = &[
    "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
];

pub fn features() -> Value {
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::OCI_VERSION,
        "hooks": HOOKS,
        "mountOptions": MOUNT_OPTIONS,
        "linux": {
            "namespaces": NAMESPACES,
            "capabilities": capabilities(),
            "cgroup": { "v1": true, "v2": true, "systemd": false, "systemdUser": false },
            "seccomp": { "enabled": false },
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false },
            "intelRdt": { "enabled": false },
            "mountExtensions": { "idmap": { "enabled": false } },
        },
        "annotations": {
            "dev.coracle.runtime.version": env!("CARGO_PKG_VERSION"),
        },
    })
}

/// Every capability this kernel knows, in number order; every one we know if /proc cannot say.
fn capabilities() -> Vec<String> {
    let mut caps: Vec<caps::Capability> = caps::runtime::procfs_all_supported(None)
        .unwrap_or_else(|_| caps::all())
        .into_iter()
        .collect();
    caps.sort_by_key(|c| c.index());
    caps.iter().map(|c| c.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_truthful_flags() {
        let f = features();
        assert_eq!(f["ociVersionMin"], "1.0.0");
        assert_eq!(f["ociVersionMax"], crate::OCI_VERSION);
        assert_eq!(f["hooks"][1], "createRuntime");
        assert_eq!(f["linux"]["seccomp"]["enabled"], false);
        assert_eq!(f["linux"]["apparmor"]["enabled"], false);
        assert_eq!(f["linux"]["selinux"]["enabled"], false);
        assert_eq!(f["linux"]["cgroup"]["systemd"], false);
        assert_eq!(f["linux"]["cgroup"]["v1"], true);
        let opts = f["mountOptions"].as_array().unwrap();
        for o in ["ro", "rbind", "rro", "nosuid", "rslave"] {
            assert!(opts.contains(&json!(o)), "{o}");
        }
    }

    #[test]
    fn capabilities_are_the_kernels() {
        let last: usize = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let f = features();
        let caps = f["linux"]["capabilities"].as_array().unwrap();
        let known = caps::all().len();
        assert_eq!(caps.len(), (last + 1).min(known));
        assert_eq!(caps[0], "CAP_CHOWN");
        assert!(caps.contains(&json!("CAP_SYS_ADMIN")));
    }

    /// Every namespace we advertise is one that config.json may use.
    #[test]
    fn advertised_namespaces_pass_validation() {
        for ns in NAMESPACES {
            let typ: oci_spec::runtime::LinuxNamespaceType =
                serde_json::from_value(json!(ns)).unwrap();
            assert_eq!(serde_json::to_value(typ).unwrap(), json!(ns));
        }
    }
}
