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

/// What the seccomp compiler accepts (SCMP_ACT_NOTIFY with a listenerPath, not as the default).
pub const SECCOMP_ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];
pub const SECCOMP_OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];
pub const SECCOMP_ARCHS: &[&str] = &[
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
];
pub const SECCOMP_KNOWN_FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];
/// Supported by the compiler and every kernel we run on.
pub const SECCOMP_SUPPORTED_FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_LOG",
];
/// Supported when the running kernel has it (5.19), and only with SCMP_ACT_NOTIFY.
pub const SECCOMP_WAIT_KILLABLE_RECV: &str = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV";

/// The flags this kernel takes: WAIT_KILLABLE_RECV came with Linux 5.19.
fn seccomp_supported_flags() -> Vec<&'static str> {
    let mut flags = SECCOMP_SUPPORTED_FLAGS.to_vec();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    if kernel_at_least(&release, (5, 19)) {
        flags.push(SECCOMP_WAIT_KILLABLE_RECV);
    }
    flags
}

/// "6.18.0-foo" ≥ (major, minor)?
fn kernel_at_least(release: &str, want: (u32, u32)) -> bool {
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= want
}

pub fn features() -> Value {
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::OCI_VERSION,
        "hooks": HOOKS,
        "mountOptions": MOUNT_OPTIONS,
        "linux": {
            "namespaces": NAMESPACES,
            "capabilities": capabilities(),
            "cgroup": { "v1": true, "v2": true, "systemd": true, "systemdUser": false },
            "seccomp": {
                "enabled": true,
                "actions": SECCOMP_ACTIONS,
                "operators": SECCOMP_OPERATORS,
                "archs": SECCOMP_ARCHS,
                "knownFlags": SECCOMP_KNOWN_FLAGS,
                "supportedFlags": seccomp_supported_flags(),
            },
            "apparmor": { "enabled": crate::security::lsm::apparmor::enabled() },
            "selinux": { "enabled": crate::security::lsm::selinux::enabled() },
            "intelRdt": { "enabled": false },
            "mountExtensions": { "idmap": { "enabled": false } },
            "memoryPolicy": {
                "modes": crate::process::memory_policy::MODES,
                "flags": crate::process::memory_policy::FLAGS,
            },
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

/// The capabilities this process can give a container: the kernel's, less any missing from our
/// bounding set (a sandbox or a parent runtime may have dropped some; asking for those would
/// fail the start). An engine's `--cap-add ALL`.
pub fn grantable_capabilities() -> Vec<String> {
    let bounding = caps::read(None, caps::CapSet::Bounding).unwrap_or_default();
    capabilities()
        .into_iter()
        .filter(|name| {
            name.parse::<caps::Capability>()
                .is_ok_and(|c| bounding.contains(&c))
        })
        .collect()
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
        assert_eq!(f["linux"]["seccomp"]["enabled"], true);
        assert!(f["linux"]["seccomp"]["actions"]
            .as_array()
            .unwrap()
            .contains(&json!("SCMP_ACT_NOTIFY")));
        assert!(kernel_at_least("6.18.0-1-amd64", (5, 19)));
        assert!(kernel_at_least("5.19", (5, 19)));
        assert!(!kernel_at_least("5.15.0", (5, 19)));
        assert!(!kernel_at_least("4.20.1", (5, 19)));
        // What the host has (this one has neither LSM).
        assert_eq!(
            f["linux"]["apparmor"]["enabled"],
            crate::security::lsm::apparmor::enabled()
        );
        assert_eq!(
            f["linux"]["selinux"]["enabled"],
            crate::security::lsm::selinux::enabled()
        );
        assert_eq!(f["linux"]["cgroup"]["systemd"], true);
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

    /// Every seccomp action, operator, arch and supported flag we advertise compiles.
    #[test]
    fn advertised_seccomp_values_compile() {
        use crate::security::seccomp::compile;
        let mut rules = Vec::new();
        for (i, a) in SECCOMP_ACTIONS.iter().enumerate() {
            let op = SECCOMP_OPERATORS[i % SECCOMP_OPERATORS.len()];
            rules.push(json!({"names": ["getpid"], "action": a,
                              "args": [{"index": 0, "value": 1, "op": op}]}));
        }
        let mut flags = SECCOMP_SUPPORTED_FLAGS.to_vec();
        flags.push(SECCOMP_WAIT_KILLABLE_RECV);
        let profile = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": SECCOMP_ARCHS,
            "flags": flags,
            "listenerPath": "/run/agent.sock",
            "syscalls": rules,
        });
        compile(&serde_json::from_value(profile).unwrap()).unwrap();
        for op in SECCOMP_OPERATORS {
            let p = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
                "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 2, "op": op}]}]});
            compile(&serde_json::from_value(p).unwrap()).unwrap();
        }
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
