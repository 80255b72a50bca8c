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
        personality(linux)?;
        crate::process::memory_policy::check(linux)
            .or_else(|(field, problem)| fail(field, problem))?;
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

pub(super) fn process(p: &Process) -> Check {
    match p.args().as_deref() {
        None | Some([]) => return fail("process.args", "must not be empty"),
        Some([first, ..]) if first.is_empty() => {
            return fail("process.args[0]", "must not be empty")
        }
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
            return fail(
                "process.oomScoreAdj",
                format!("{adj} is outside -1000..1000"),
            );
        }
    }
    lsm_labels(p)?;
    use crate::process::{cpu_affinity, scheduling};
    scheduling::check(p).or_else(|(field, problem)| fail(field, problem))?;
    cpu_affinity::check(p).or_else(|(field, problem)| fail(field, problem))
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
    for (i, r) in p
        .rlimits()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
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

/// A label can only be applied by its LSM: asked for on a host without it, it is an error (a
/// mount label is not: it is skipped, as crun does). The probe runs only for a label asked for.
fn lsm_labels(p: &Process) -> Check {
    use crate::security::lsm::{apparmor, non_empty, selinux};
    if non_empty(p.apparmor_profile()).is_some() && !apparmor::enabled() {
        return fail(
            "process.apparmorProfile",
            "AppArmor is not enabled on this host",
        );
    }
    if non_empty(p.selinux_label()).is_some() && !selinux::enabled() {
        return fail(
            "process.selinuxLabel",
            "SELinux is not enabled on this host",
        );
    }
    Ok(())
}

// ---- mounts and paths ----

fn mounts(spec: &Spec) -> Check {
    for (i, m) in spec
        .mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
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
    for (i, d) in linux
        .devices()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if !d.path().is_absolute() {
            return fail(format!("linux.devices[{i}].path"), "must be absolute");
        }
    }
    if let Some(p) = linux.rootfs_propagation().as_deref() {
        const KNOWN: [&str; 9] = [
            "",
            "private",
            "rprivate",
            "shared",
            "rshared",
            "slave",
            "rslave",
            "unbindable",
            "runbindable",
        ];
        if !KNOWN.contains(&p) {
            return fail(
                "linux.rootfsPropagation",
                format!("unknown propagation {p:?}"),
            );
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
    let names = [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ];
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
            None => {
                return fail(
                    field,
                    "not in a namespace of its own: it would change the host",
                )
            }
            Some(t) if !ns.has(t) => {
                let problem = format!("needs a {:?} entry in linux.namespaces", ns_name(t));
                return fail(field, problem);
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
        ("linux.intelRdt", linux.intel_rdt().is_some()),
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

/// The domain is checked by the parser; the spec defines no flags (runc ignores them).
fn personality(linux: &Linux) -> Check {
    let flags = linux
        .personality()
        .as_ref()
        .and_then(|p| p.flags().as_ref());
    match flags {
        Some(f) if !f.is_empty() => {
            fail("linux.personality.flags", "the runtime spec defines none")
        }
        _ => Ok(()),
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
            return fail(
                format!("{field}.timeout"),
                format!("must be positive, not {t}"),
            );
        }
    }
    env(
        &format!("{field}.env"),
        h.env().as_deref().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use crate::spec::parse;
    use crate::spec_template::{default_spec, to_json_pretty};
    use serde_json::{json, Value};

    /// runc's default spec with one change, parsed: the error line, or "ok".
    fn check(patch: impl FnOnce(&mut Value)) -> String {
        let mut v: Value = serde_json::from_str(&to_json_pretty(&default_spec(false))).unwrap();
        patch(&mut v);
        match parse(v.to_string().as_bytes(), "config.json") {
            Ok(_) => "ok".into(),
            Err(e) => e
                .to_string()
                .trim_start_matches("config.json: ")
                .to_string(),
        }
    }

    fn namespaces(v: &mut Value) -> &mut Vec<Value> {
        v["linux"]["namespaces"].as_array_mut().unwrap()
    }

    fn drop_namespace(v: &mut Value, typ: &str) {
        namespaces(v).retain(|n| n["type"] != typ);
    }

    #[test]
    fn the_default_is_valid() {
        assert_eq!(check(|_| {}), "ok");
    }

    #[test]
    fn syntax_errors_keep_line_and_column() {
        let err = parse(b"{\"ociVersion\": ", "c.json")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.json: (document): EOF"), "{err}");
    }

    #[test]
    fn oci_versions() {
        assert_eq!(check(|v| v["ociVersion"] = json!("1.0.0")), "ok");
        assert_eq!(check(|v| v["ociVersion"] = json!("1.2.1")), "ok");
        assert_eq!(
            check(|v| v["ociVersion"] = json!("2.0.0")),
            r#"ociVersion: "2.0.0" is not supported (1.0.x to 1.2.x are)"#
        );
    }

    #[test]
    fn root_is_required() {
        let got = check(|v| {
            v.as_object_mut().unwrap().remove("root");
        });
        assert_eq!(got, "root: is required");
    }

    #[test]
    fn unknown_namespace() {
        let got = check(|v| v["linux"]["namespaces"][2]["type"] = json!("foo"));
        assert_eq!(got, r#"linux.namespaces[2].type: unknown namespace "foo""#);
    }

    #[test]
    fn duplicate_namespace() {
        let got = check(|v| namespaces(v).insert(1, json!({"type": "pid"})));
        assert_eq!(got, "linux.namespaces[1]: pid namespace listed twice");
    }

    #[test]
    fn namespace_paths() {
        let got = check(|v| v["linux"]["namespaces"][0]["path"] = json!("/nope"));
        assert_eq!(
            got,
            "linux.namespaces[0].path: /nope: No such file or directory"
        );
        let got = check(|v| v["linux"]["namespaces"][0]["path"] = json!("/etc/hostname"));
        assert_eq!(
            got,
            "linux.namespaces[0].path: /etc/hostname is not a namespace file"
        );
        let got = check(|v| v["linux"]["namespaces"][0]["path"] = json!("/proc/self/ns/pid"));
        assert_eq!(got, "ok");
    }

    #[test]
    fn unknown_capability() {
        let got = check(|v| {
            let bounding = v["process"]["capabilities"]["bounding"]
                .as_array_mut()
                .unwrap();
            bounding.push(json!("CAP_TEST"));
        });
        assert_eq!(
            got,
            r#"process.capabilities.bounding[3]: unknown capability "CAP_TEST""#
        );
    }

    #[test]
    fn process_args_and_cwd() {
        assert_eq!(
            check(|v| v["process"]["args"] = json!([])),
            "process.args: must not be empty"
        );
        assert_eq!(
            check(|v| {
                v["process"].as_object_mut().unwrap().remove("args");
            }),
            "process.args: must not be empty"
        );
        assert_eq!(
            check(|v| v["process"]["args"] = json!([""])),
            "process.args[0]: must not be empty"
        );
        assert_eq!(
            check(|v| v["process"]["cwd"] = json!("tmp")),
            "process.cwd: must be an absolute path"
        );
    }

    #[test]
    fn process_env() {
        assert_eq!(
            check(|v| v["process"]["env"][1] = json!("NOEQUALS")),
            r#"process.env[1]: "NOEQUALS" is not NAME=VALUE"#
        );
        assert_eq!(
            check(|v| v["process"]["env"][0] = json!("=x")),
            r#"process.env[0]: "=x" is not NAME=VALUE"#
        );
    }

    #[test]
    fn rlimits() {
        let got = check(|v| v["process"]["rlimits"][0]["type"] = json!("RLIMIT_FOO"));
        assert_eq!(
            got,
            r#"process.rlimits[0].type: unknown rlimit "RLIMIT_FOO""#
        );
        let got = check(|v| {
            let r = v["process"]["rlimits"].as_array_mut().unwrap();
            r.push(json!({"type": "RLIMIT_NPROC", "hard": 10, "soft": 10}));
            r.push(json!({"type": "RLIMIT_NOFILE", "hard": 10, "soft": 10}));
        });
        assert_eq!(got, "process.rlimits[2]: RLIMIT_NOFILE listed twice");
        let got = check(|v| v["process"]["rlimits"][0]["soft"] = json!(2048));
        assert_eq!(
            got,
            "process.rlimits[0]: soft limit 2048 is above hard limit 1024"
        );
    }

    #[test]
    fn umask_and_oom_score_adj() {
        assert_eq!(check(|v| v["process"]["user"]["umask"] = json!(0o22)), "ok");
        assert_eq!(
            check(|v| v["process"]["user"]["umask"] = json!(0o1777)),
            "process.user.umask: 0o1777 is not a umask"
        );
        assert_eq!(
            check(|v| v["process"]["oomScoreAdj"] = json!(-1001)),
            "process.oomScoreAdj: -1001 is outside -1000..1000"
        );
    }

    #[test]
    fn lsm_labels_on_a_host_without_lsm() {
        // This host has neither AppArmor nor SELinux (see MACHINE-NOTES).
        if crate::security::lsm::apparmor::enabled() || crate::security::lsm::selinux::enabled() {
            return;
        }
        assert_eq!(
            check(|v| v["process"]["apparmorProfile"] = json!("docker-default")),
            "process.apparmorProfile: AppArmor is not enabled on this host"
        );
        assert_eq!(
            check(|v| v["process"]["selinuxLabel"] = json!("system_u:system_r:container_t")),
            "process.selinuxLabel: SELinux is not enabled on this host"
        );
        assert_eq!(check(|v| v["process"]["apparmorProfile"] = json!("")), "ok");
        // A mount label is skipped where SELinux is off (as crun), not refused.
        assert_eq!(
            check(|v| v["linux"]["mountLabel"] = json!("system_u:object_r:container_file_t:s0")),
            "ok"
        );
    }

    #[test]
    fn personality_domains_pass_and_flags_are_refused() {
        for domain in ["LINUX", "LINUX32"] {
            let got = check(|v| v["linux"]["personality"] = json!({"domain": domain}));
            assert_eq!(got, "ok");
        }
        let got = check(|v| {
            v["linux"]["personality"] = json!({"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]})
        });
        assert_eq!(
            got,
            "linux.personality.flags: the runtime spec defines none"
        );
    }

    #[test]
    fn scheduler_checks_name_the_field() {
        let sched = |s: Value| check(|v| v["process"]["scheduler"] = s);
        assert_eq!(sched(json!({"policy": "SCHED_BATCH", "nice": 5})), "ok");
        assert_eq!(sched(json!({"policy": "SCHED_FIFO", "priority": 10})), "ok");
        let dl = json!({"policy": "SCHED_DEADLINE", "runtime": 1, "deadline": 2, "period": 3});
        assert_eq!(sched(dl), "ok");
        let flags = [
            "SCHED_FLAG_RESET_ON_FORK",
            "SCHED_FLAG_DL_OVERRUN",
            "SCHED_FLAG_RECLAIM",
        ];
        assert_eq!(
            sched(json!({"policy": "SCHED_OTHER", "flags": flags})),
            "ok"
        );
        assert_eq!(
            sched(json!({"policy": "SCHED_OTHER", "nice": 20})),
            "process.scheduler.nice: 20 is outside -20..19"
        );
        assert_eq!(
            sched(json!({"policy": "SCHED_OTHER", "priority": 1})),
            "process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority, not SCHED_OTHER"
        );
        assert_eq!(
            sched(json!({"policy": "SCHED_RR"})),
            "process.scheduler.priority: SCHED_RR needs a priority in 1..99, not 0"
        );
        assert_eq!(
            sched(json!({"policy": "SCHED_BATCH", "period": 100})),
            "process.scheduler.period: only SCHED_DEADLINE takes it, not SCHED_BATCH"
        );
        assert_eq!(
            sched(json!({"policy": "SCHED_FAST"})),
            r#"process.scheduler.policy: unknown scheduler policy "SCHED_FAST""#
        );
        assert_eq!(
            sched(json!({"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_X"]})),
            r#"process.scheduler.flags[0]: unknown scheduler flag "SCHED_FLAG_X""#
        );
    }

    #[test]
    fn io_priority_and_cpu_affinity_checks_name_the_field() {
        let io = |x: Value| check(|v| v["process"]["ioPriority"] = x);
        assert_eq!(
            io(json!({"class": "IOPRIO_CLASS_IDLE", "priority": 7})),
            "ok"
        );
        assert_eq!(
            io(json!({"class": "IOPRIO_CLASS_BE", "priority": 8})),
            "process.ioPriority.priority: 8 is outside 0..7"
        );
        assert_eq!(
            io(json!({"class": "IOPRIO_CLASS_NONE", "priority": 0})),
            r#"process.ioPriority.class: unknown I/O priority class "IOPRIO_CLASS_NONE""#
        );
        let aff = |x: Value| check(|v| v["process"]["execCPUAffinity"] = x);
        assert_eq!(aff(json!({"initial": "0", "final": "0-1,3"})), "ok");
        // Empty is omitted, as the spec says (oci-spec alone would refuse it).
        assert_eq!(aff(json!({"initial": "0", "final": ""})), "ok");
        assert_eq!(
            aff(json!({"final": "2-1"})),
            r#"process.execCPUAffinity.final: "2-1": range "2-1" runs backwards"#
        );
        assert_eq!(
            aff(json!({"initial": "0-5000"})),
            r#"process.execCPUAffinity.initial: "0-5000": 5000 is above the largest, 1023"#
        );
    }

    #[test]
    fn memory_policy_checks_name_the_field() {
        let mp = |x: Value| check(|v| v["linux"]["memoryPolicy"] = x);
        assert_eq!(mp(json!({"mode": "MPOL_BIND", "nodes": "0"})), "ok");
        assert_eq!(mp(json!({"mode": "MPOL_PREFERRED"})), "ok");
        let flags = ["MPOL_F_STATIC_NODES"];
        assert_eq!(
            mp(json!({"mode": "MPOL_INTERLEAVE", "nodes": "0-1", "flags": flags})),
            "ok"
        );
        assert_eq!(
            mp(json!({"mode": "MPOL_BIND"})),
            "linux.memoryPolicy.nodes: MPOL_BIND needs at least one node"
        );
        assert_eq!(
            mp(json!({"mode": "MPOL_LOCAL", "nodes": "0"})),
            "linux.memoryPolicy.nodes: MPOL_LOCAL takes no nodes"
        );
        assert_eq!(
            mp(json!({"mode": "MPOL_DEFAULT", "flags": flags})),
            "linux.memoryPolicy.flags: MPOL_DEFAULT takes no flags"
        );
        let both = ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"];
        assert_eq!(
            mp(json!({"mode": "MPOL_BIND", "nodes": "0", "flags": both})),
            "linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other"
        );
        assert_eq!(
            mp(json!({"mode": "MPOL_BIND", "nodes": "zero"})),
            r#"linux.memoryPolicy.nodes: "zero" is not a list such as "0-3,7""#
        );
        assert_eq!(
            mp(json!({"mode": "MPOL_FIRST_TOUCH"})),
            r#"linux.memoryPolicy.mode: unknown memory policy mode "MPOL_FIRST_TOUCH""#
        );
    }

    #[test]
    fn unsupported_fields_are_refused_by_name() {
        let cases = [
            ("/linux/intelRdt", json!({"closID": "x"}), "linux.intelRdt"),
            ("/linux/netDevices", json!({"eth0": {}}), "linux.netDevices"),
        ];
        for (pointer, value, field) in cases {
            let got = check(|v| {
                let (parent, key) = pointer.rsplit_once('/').unwrap();
                v.pointer_mut(parent).unwrap()[key] = value;
            });
            assert_eq!(got, format!("{field}: not supported yet"));
        }
    }

    #[test]
    fn mount_destination() {
        let got = check(|v| v["mounts"][2]["destination"] = json!("dev/pts"));
        assert_eq!(got, "mounts[2].destination: must be absolute");
    }

    #[test]
    fn masked_and_device_paths() {
        let got = check(|v| v["linux"]["maskedPaths"][1] = json!("proc/x"));
        assert_eq!(got, "linux.maskedPaths[1]: must be absolute");
        let got = check(|v| {
            v["linux"]["devices"] =
                json!([{"path": "dev/fuse", "type": "c", "major": 10, "minor": 229}]);
        });
        assert_eq!(got, "linux.devices[0].path: must be absolute");
        let got = check(|v| v["linux"]["rootfsPropagation"] = json!("weird"));
        assert_eq!(
            got,
            r#"linux.rootfsPropagation: unknown propagation "weird""#
        );
    }

    #[test]
    fn id_mappings_need_a_user_namespace() {
        let map = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
        let got = check(|v| v["linux"]["uidMappings"] = map.clone());
        assert_eq!(got, "linux.uidMappings: given without a user namespace");
        let got = check(|v| namespaces(v).push(json!({"type": "user"})));
        assert_eq!(got, "linux.uidMappings: required with a new user namespace");
        let got = check(|v| {
            namespaces(v).push(json!({"type": "user"}));
            v["linux"]["uidMappings"] = map.clone();
            v["linux"]["gidMappings"] = map.clone();
        });
        assert_eq!(got, "ok");
        let got = check(|v| {
            namespaces(v).push(json!({"type": "user"}));
            v["linux"]["uidMappings"] = map.clone();
            v["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 0}]);
        });
        assert_eq!(got, "linux.gidMappings[0].size: must be at least 1");
    }

    #[test]
    fn joining_a_user_namespace_needs_no_mappings() {
        let got =
            check(|v| namespaces(v).push(json!({"type": "user", "path": "/proc/self/ns/user"})));
        assert_eq!(got, "ok");
    }

    #[test]
    fn time_offsets_need_a_new_time_namespace() {
        let offsets = json!({"monotonic": {"secs": 10, "nanosecs": 0}});
        let got = check(|v| v["linux"]["timeOffsets"] = offsets.clone());
        assert_eq!(got, "linux.timeOffsets: needs a new time namespace");
        let got = check(|v| {
            namespaces(v).push(json!({"type": "time"}));
            v["linux"]["timeOffsets"] = offsets.clone();
        });
        assert_eq!(got, "ok");
        let got = check(|v| {
            namespaces(v).push(json!({"type": "time"}));
            v["linux"]["timeOffsets"] = json!({"realtime": {"secs": 1}});
        });
        assert_eq!(
            got,
            r#"linux.timeOffsets["realtime"]: unknown clock (boottime and monotonic are)"#
        );
    }

    #[test]
    fn hostname_needs_a_uts_namespace() {
        let got = check(|v| drop_namespace(v, "uts"));
        assert_eq!(
            got,
            "hostname: needs a uts namespace (linux.namespaces has none)"
        );
        let got = check(|v| {
            drop_namespace(v, "uts");
            v["hostname"] = json!("");
        });
        assert_eq!(got, "ok");
        let got = check(|v| {
            v["domainname"] = json!("example.org");
            drop_namespace(v, "uts");
            v.as_object_mut().unwrap().remove("hostname");
        });
        assert_eq!(
            got,
            "domainname: needs a uts namespace (linux.namespaces has none)"
        );
    }

    #[test]
    fn sysctls_follow_namespaces() {
        let sysctl = |v: &mut Value, key: &str| v["linux"]["sysctl"] = json!({ key: "1" });
        assert_eq!(check(|v| sysctl(v, "net.ipv4.ip_forward")), "ok");
        assert_eq!(check(|v| sysctl(v, "kernel.shmmax")), "ok");
        assert_eq!(check(|v| sysctl(v, "fs.mqueue.msg_max")), "ok");
        assert_eq!(check(|v| sysctl(v, "kernel/sem")), "ok");
        assert_eq!(
            check(|v| {
                sysctl(v, "net.ipv4.ip_forward");
                drop_namespace(v, "network");
            }),
            r#"linux.sysctl["net.ipv4.ip_forward"]: needs a "network" entry in linux.namespaces"#
        );
        assert_eq!(
            check(|v| {
                sysctl(v, "kernel.msgmax");
                drop_namespace(v, "ipc");
            }),
            r#"linux.sysctl["kernel.msgmax"]: needs a "ipc" entry in linux.namespaces"#
        );
        assert_eq!(
            check(|v| {
                sysctl(v, "kernel.domainname");
                drop_namespace(v, "uts");
                v["hostname"] = json!("");
            }),
            r#"linux.sysctl["kernel.domainname"]: needs a "uts" entry in linux.namespaces"#
        );
        assert_eq!(
            check(|v| sysctl(v, "vm.swappiness")),
            r#"linux.sysctl["vm.swappiness"]: not in a namespace of its own: it would change the host"#
        );
    }

    #[test]
    fn hooks() {
        let hook = |v: &mut Value, h: Value| {
            v["hooks"] = json!({ "createRuntime": [ {"path": "/bin/true"}, h ] })
        };
        assert_eq!(
            check(|v| hook(v, json!({"path": "/bin/true", "timeout": 5}))),
            "ok"
        );
        assert_eq!(
            check(|v| hook(v, json!({"path": "/bin/true", "timeout": 0}))),
            "hooks.createRuntime[1].timeout: must be positive, not 0"
        );
        assert_eq!(
            check(|v| hook(v, json!({"path": "true"}))),
            "hooks.createRuntime[1].path: must be an absolute path"
        );
        assert_eq!(
            check(|v| hook(v, json!({"path": "/bin/true", "env": ["X"]}))),
            r#"hooks.createRuntime[1].env[0]: "X" is not NAME=VALUE"#
        );
        assert_eq!(
            check(|v| v["hooks"] = json!({"prestart": [{"path": "/bin/true", "timeout": -1}]})),
            "hooks.prestart[0].timeout: must be positive, not -1"
        );
    }
}
