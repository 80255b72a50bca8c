//! The checks on a parsed config that the types alone do not make. Each rule returns the first
//! problem it finds as (JSON path, problem); the runtime relies on every field checked here, and
//! a field it cannot honour yet is refused by name rather than silently ignored.

use super::io_text;
use oci_spec::runtime::{Hook, Linux, LinuxNamespace, LinuxNamespaceType, Process, Spec};
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// One problem in config.json: where, and what.
#[derive(Debug)]
pub(super) struct Problem {
    pub field: String,
    pub problem: String,
}

type Check = std::result::Result<(), Problem>;

fn fail(field: impl Into<String>, problem: impl Into<String>) -> Check {
    Err(Problem {
        field: field.into(),
        problem: problem.into(),
    })
}

const NOT_SUPPORTED: &str = "not supported yet";

pub(super) fn validate(spec: &Spec) -> Check {
    version(spec.version())?;
    if spec.root().is_none() {
        return fail("root", "is required");
    }
    if let Some(process) = spec.process() {
        self::process(process)?;
    }
    mounts(spec)?;
    let linux = spec.linux().as_ref();
    let list = linux.and_then(|l| l.namespaces().as_deref());
    let list = list.unwrap_or_default();
    namespaces(list)?;
    let ns = Namespaces::new(list);
    uts_names(spec, &ns)?;
    if let Some(linux) = linux {
        id_mappings(linux, &ns)?;
        time_offsets(linux, &ns)?;
        sysctls(linux, &ns)?;
        linux_paths(linux)?;
        unsupported_linux(linux)?;
    }
    hooks(spec)
}

fn version(v: &str) -> Check {
    if ["1.0.", "1.1.", "1.2."].iter().any(|p| v.starts_with(p)) {
        return Ok(());
    }
    fail(
        "ociVersion",
        format!("{v:?} is not supported (1.0.x to 1.2.x are)"),
    )
}

// ---- process ----

fn process(p: &Process) -> Check {
    match p.args().as_deref() {
        None | Some([]) => return fail("process.args", "must not be empty"),
        Some([first, ..]) if first.is_empty() => return fail("process.args[0]", "must not be empty"),
        _ => {}
    }
    if !p.cwd().is_absolute() {
        return fail("process.cwd", "must be an absolute path");
    }
    env("process.env", p.env().as_deref().unwrap_or_default())?;
    rlimits(p)?;
    if let Some(umask) = p.user().umask() {
        if umask > 0o777 {
            return fail("process.user.umask", format!("{umask:#o} is not a umask"));
        }
    }
    if let Some(adj) = p.oom_score_adj() {
        if !(-1000..=1000).contains(&adj) {
            return fail("process.oomScoreAdj", format!("{adj} is outside -1000..1000"));
        }
    }
    lsm_labels(p)?;
    if p.io_priority().is_some() {
        return fail("process.ioPriority", NOT_SUPPORTED);
    }
    if p.scheduler().is_some() {
        return fail("process.scheduler", NOT_SUPPORTED);
    }
    if p.exec_cpu_affinity().is_some() {
        return fail("process.execCPUAffinity", NOT_SUPPORTED);
    }
    Ok(())
}

/// Environment entries become execve's envp: each must be NAME=VALUE with a name.
fn env(field: &str, entries: &[String]) -> Check {
    for (i, e) in entries.iter().enumerate() {
        match e.split_once('=') {
            Some((name, _)) if !name.is_empty() && !e.contains('\0') => {}
            _ => return fail(format!("{field}[{i}]"), format!("{e:?} is not NAME=VALUE")),
        }
    }
    Ok(())
}

fn rlimits(p: &Process) -> Check {
    let mut seen = Vec::new();
    for (i, r) in p.rlimits().as_deref().unwrap_or_default().iter().enumerate() {
        if seen.contains(&r.typ()) {
            return fail(
                format!("process.rlimits[{i}]"),
                format!("{} listed twice", r.typ()),
            );
        }
        seen.push(r.typ());
        if r.soft() > r.hard() {
            let problem = format!("soft limit {} is above hard limit {}", r.soft(), r.hard());
            return fail(format!("process.rlimits[{i}]"), problem);
        }
    }
    Ok(())
}

/// We apply no LSM labels yet; on a host without the LSM a label could never be applied at all.
fn lsm_labels(p: &Process) -> Check {
    if p.apparmor_profile().as_deref().is_some_and(|s| !s.is_empty()) {
        let problem = if apparmor_enabled() {
            NOT_SUPPORTED
        } else {
            "AppArmor is not enabled on this host"
        };
        return fail("process.apparmorProfile", problem);
    }
    if p.selinux_label().as_deref().is_some_and(|s| !s.is_empty()) {
        let problem = if selinux_enabled() {
            NOT_SUPPORTED
        } else {
            "SELinux is not enabled on this host"
        };
        return fail("process.selinuxLabel", problem);
    }
    Ok(())
}

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

// ---- mounts and paths ----

fn mounts(spec: &Spec) -> Check {
    for (i, m) in spec.mounts().as_deref().unwrap_or_default().iter().enumerate() {
        if !m.destination().is_absolute() {
            return fail(format!("mounts[{i}].destination"), "must be absolute");
        }
    }
    Ok(())
}

/// Paths inside the container that the rootfs code resolves from `/`.
fn linux_paths(linux: &Linux) -> Check {
    let lists = [
        ("linux.maskedPaths", linux.masked_paths()),
        ("linux.readonlyPaths", linux.readonly_paths()),
    ];
    for (field, list) in lists {
        for (i, p) in list.as_deref().unwrap_or_default().iter().enumerate() {
            if !p.starts_with('/') {
                return fail(format!("{field}[{i}]"), "must be absolute");
            }
        }
    }
    for (i, d) in linux.devices().as_deref().unwrap_or_default().iter().enumerate() {
        if !d.path().is_absolute() {
            return fail(format!("linux.devices[{i}].path"), "must be absolute");
        }
    }
    if let Some(p) = linux.rootfs_propagation().as_deref() {
        const KNOWN: [&str; 9] = [
            "", "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable",
            "runbindable",
        ];
        if !KNOWN.contains(&p) {
            return fail("linux.rootfsPropagation", format!("unknown propagation {p:?}"));
        }
    }
    Ok(())
}

// ---- namespaces ----

/// The JSON name of a namespace type.
fn ns_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mount",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "network",
        LinuxNamespaceType::Time => "time",
    }
}

/// Each type at most once; a given path must be a namespace file.
fn namespaces(list: &[LinuxNamespace]) -> Check {
    let mut seen = HashSet::new();
    for (i, ns) in list.iter().enumerate() {
        if !seen.insert(ns.typ()) {
            let problem = format!("{} namespace listed twice", ns_name(ns.typ()));
            return fail(format!("linux.namespaces[{i}]"), problem);
        }
        if let Some(path) = ns.path() {
            namespace_file(path).or_else(|p| fail(format!("linux.namespaces[{i}].path"), p))?;
        }
    }
    Ok(())
}

/// Every namespace file lives on the one nsfs superblock, so its device is that of our own
/// /proc/self/ns files; a plain file (or a missing one) is refused here, not at setns time.
fn namespace_file(path: &Path) -> std::result::Result<(), String> {
    let shown = path.display();
    if !path.is_absolute() {
        return Err(format!("{shown}: must be absolute"));
    }
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {}", io_text(&e)))?;
    let nsfs = std::fs::metadata("/proc/self/ns/mnt").map_err(|e| io_text(&e))?;
    if meta.dev() != nsfs.dev() {
        return Err(format!("{shown} is not a namespace file"));
    }
    Ok(())
}

/// Which namespace types the config lists (new or joined).
struct Namespaces(Vec<(LinuxNamespaceType, bool)>);

impl Namespaces {
    fn new(list: &[LinuxNamespace]) -> Self {
        Namespaces(list.iter().map(|n| (n.typ(), n.path().is_none())).collect())
    }

    fn has(&self, t: LinuxNamespaceType) -> bool {
        self.0.iter().any(|(typ, _)| *typ == t)
    }

    fn is_new(&self, t: LinuxNamespaceType) -> bool {
        self.0.iter().any(|(typ, new)| *typ == t && *new)
    }
}

/// hostname/domainname change the UTS namespace the container is in: never the host's. Joining an
/// existing one is allowed (containerd does that for a pod's containers).
fn uts_names(spec: &Spec, ns: &Namespaces) -> Check {
    let names = [("hostname", spec.hostname()), ("domainname", spec.domainname())];
    for (field, value) in names {
        let set = value.as_deref().is_some_and(|v| !v.is_empty());
        if set && !ns.has(LinuxNamespaceType::Uts) {
            return fail(field, "needs a uts namespace (linux.namespaces has none)");
        }
    }
    Ok(())
}

fn id_mappings(linux: &Linux, ns: &Namespaces) -> Check {
    let maps = [
        ("linux.uidMappings", linux.uid_mappings()),
        ("linux.gidMappings", linux.gid_mappings()),
    ];
    for (field, map) in maps {
        let map = map.as_deref().unwrap_or_default();
        if !map.is_empty() && !ns.has(LinuxNamespaceType::User) {
            return fail(field, "given without a user namespace");
        }
        if map.is_empty() && ns.is_new(LinuxNamespaceType::User) {
            return fail(field, "required with a new user namespace");
        }
        for (i, m) in map.iter().enumerate() {
            if m.size() == 0 {
                return fail(format!("{field}[{i}].size"), "must be at least 1");
            }
        }
    }
    Ok(())
}

/// Offsets are written before the first process enters a new time namespace; a joined one already
/// has its own.
fn time_offsets(linux: &Linux, ns: &Namespaces) -> Check {
    let Some(offsets) = linux.time_offsets() else {
        return Ok(());
    };
    if offsets.is_empty() {
        return Ok(());
    }
    if !ns.is_new(LinuxNamespaceType::Time) {
        return fail("linux.timeOffsets", "needs a new time namespace");
    }
    let mut clocks: Vec<&String> = offsets.keys().collect();
    clocks.sort();
    for clock in clocks {
        if clock != "boottime" && clock != "monotonic" {
            return fail(
                format!("linux.timeOffsets[{clock:?}]"),
                "unknown clock (boottime and monotonic are)",
            );
        }
    }
    Ok(())
}

/// runc's rule: only sysctls that belong to a namespace the container has may be set, or the
/// container would change the host.
fn sysctls(linux: &Linux, ns: &Namespaces) -> Check {
    let Some(map) = linux.sysctl() else {
        return Ok(());
    };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for key in keys {
        let needed = sysctl_namespace(&key.replace('/', "."));
        let field = format!("linux.sysctl[{key:?}]");
        match needed {
            None => return fail(field, "not in a namespace of its own: it would change the host"),
            Some(t) if !ns.has(t) => {
                return fail(field, format!("needs a {} namespace", ns_name(t)));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The namespace a sysctl belongs to, if any.
fn sysctl_namespace(key: &str) -> Option<LinuxNamespaceType> {
    let ipc = key.starts_with("kernel.msg")
        || key.starts_with("kernel.shm")
        || key == "kernel.sem"
        || key.starts_with("fs.mqueue.");
    if ipc {
        Some(LinuxNamespaceType::Ipc)
    } else if key.starts_with("net.") {
        Some(LinuxNamespaceType::Network)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(LinuxNamespaceType::Uts)
    } else {
        None
    }
}

fn unsupported_linux(linux: &Linux) -> Check {
    let fields = [
        ("linux.seccomp", linux.seccomp().is_some()),
        ("linux.intelRdt", linux.intel_rdt().is_some()),
        ("linux.personality", linux.personality().is_some()),
        ("linux.memoryPolicy", linux.memory_policy().is_some()),
        (
            "linux.netDevices",
            linux.net_devices().as_ref().is_some_and(|d| !d.is_empty()),
        ),
    ];
    match fields.iter().find(|(_, set)| *set) {
        Some((field, _)) => fail(*field, NOT_SUPPORTED),
        None => Ok(()),
    }
}

// ---- hooks ----

fn hooks(spec: &Spec) -> Check {
    let Some(hooks) = spec.hooks() else {
        return Ok(());
    };
    #[allow(deprecated)] // prestart is deprecated in the spec, but runc and clients still use it
    let prestart = hooks.prestart();
    let kinds = [
        ("prestart", prestart),
        ("createRuntime", hooks.create_runtime()),
        ("createContainer", hooks.create_container()),
        ("startContainer", hooks.start_container()),
        ("poststart", hooks.poststart()),
        ("poststop", hooks.poststop()),
    ];
    for (kind, list) in kinds {
        for (i, h) in list.as_deref().unwrap_or_default().iter().enumerate() {
            hook(&format!("hooks.{kind}[{i}]"), h)?;
        }
    }
    Ok(())
}

fn hook(field: &str, h: &Hook) -> Check {
    if !h.path().is_absolute() {
        return fail(format!("{field}.path"), "must be an absolute path");
    }
    if let Some(t) = h.timeout() {
        if t <= 0 {
            return fail(format!("{field}.timeout"), format!("must be positive, not {t}"));
        }
    }
    env(&format!("{field}.env"), h.env().as_deref().unwrap_or_default())
}
