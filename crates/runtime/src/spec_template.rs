//! The config.json that `spec` writes: runc's default, or its rootless variant, in content. Built
//! from oci-spec's defaults, adjusted where they differ from runc.

use oci_spec::runtime::{
    get_default_mounts, get_rootless_mounts, Linux, LinuxCapabilities, LinuxDeviceCgroupBuilder,
    LinuxIdMapping, LinuxIdMappingBuilder, LinuxNamespace, LinuxNamespaceBuilder,
    LinuxNamespaceType, LinuxResources, Mount, Process, Spec,
};

/// runc's default spec, or with `rootless` the variant for an unprivileged caller: a user
/// namespace mapping the caller's uid and gid to root, no network namespace, no device cgroup
/// rules, and /sys bound from the host instead of a new sysfs.
pub fn default_spec(rootless: bool) -> Spec {
    let mut spec = Spec::default();
    spec.set_version(crate::OCI_VERSION.into())
        .set_hostname(Some("coracle".into()))
        .set_annotations(None)
        .set_process(Some(process()))
        .set_mounts(Some(mounts(rootless)))
        .set_linux(Some(linux(rootless)));
    spec
}

/// Render a spec as pretty JSON with its capability lists sorted: oci-spec keeps capabilities in
/// hash sets, whose order would otherwise change from run to run.
pub fn to_json_pretty(spec: &Spec) -> String {
    let mut value = serde_json::to_value(spec).expect("a Spec always serializes");
    if let Some(caps) = value.pointer_mut("/process/capabilities") {
        sort_string_arrays(caps);
    }
    serde_json::to_string_pretty(&value).expect("a JSON value always serializes") + "\n"
}

fn sort_string_arrays(v: &mut serde_json::Value) {
    let Some(sets) = v.as_object_mut() else {
        return;
    };
    for set in sets.values_mut() {
        if let Some(list) = set.as_array_mut() {
            list.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        }
    }
}

fn process() -> Process {
    // oci-spec's default capabilities are runc's, plus an inheritable set that runc leaves out.
    let mut capabilities = LinuxCapabilities::default();
    capabilities.set_inheritable(None);
    let mut process = Process::default();
    process
        .set_terminal(Some(true))
        .set_capabilities(Some(capabilities));
    process
}

fn mounts(rootless: bool) -> Vec<Mount> {
    if !rootless {
        return get_default_mounts();
    }
    let mut mounts = get_rootless_mounts();
    // runc puts rbind first in the /sys options; the order carries no meaning, but a diff is easier.
    for m in mounts
        .iter_mut()
        .filter(|m| m.destination().as_os_str() == "/sys")
    {
        if let Some(opts) = m.options_mut() {
            opts.retain(|o| o != "rbind");
            opts.insert(0, "rbind".into());
        }
    }
    mounts
}

fn linux(rootless: bool) -> Linux {
    use LinuxNamespaceType::*;
    // oci-spec's default adds a cgroup namespace that runc's does not have.
    let mut types = vec![Pid, Network, Ipc, Uts, Mount];
    let mut linux = Linux::default();
    if rootless {
        // Without privileges there is no device cgroup to write and no network to configure.
        types.retain(|t| *t != Network);
        types.push(User);
        linux
            .set_resources(None)
            .set_uid_mappings(Some(vec![id_map(crate::sys::process::getuid())]))
            .set_gid_mappings(Some(vec![id_map(crate::sys::process::getgid())]));
    } else {
        linux.set_resources(Some(deny_all_devices()));
    }
    linux.set_namespaces(Some(types.into_iter().map(namespace).collect()));
    linux
}

fn namespace(typ: LinuxNamespaceType) -> LinuxNamespace {
    LinuxNamespaceBuilder::default()
        .typ(typ)
        .build()
        .expect("namespace builder has no required fields")
}

/// The caller's id as root in the container, and nothing else.
fn id_map(host_id: u32) -> LinuxIdMapping {
    LinuxIdMappingBuilder::default()
        .container_id(0u32)
        .host_id(host_id)
        .size(1u32)
        .build()
        .expect("id mapping builder has no required fields")
}

fn deny_all_devices() -> LinuxResources {
    let rule = LinuxDeviceCgroupBuilder::default()
        .allow(false)
        .access("rwm")
        .build()
        .expect("device rule builder has no required fields");
    // Start from empty resources: oci-spec's Default for LinuxResources is empty, unlike Linux's.
    let mut resources = LinuxResources::default();
    resources.set_devices(Some(vec![rule]));
    resources
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn ours(rootless: bool) -> Value {
        serde_json::from_str(&to_json_pretty(&default_spec(rootless))).unwrap()
    }

    /// `runc spec` in a fresh directory, or None where runc is not installed.
    fn runc_spec(rootless: bool) -> Option<Value> {
        let dir = std::env::temp_dir().join(format!(
            "coracle-spec-test-{}-{rootless}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut cmd = std::process::Command::new("runc");
        cmd.arg("spec").current_dir(&dir);
        if rootless {
            cmd.arg("--rootless");
        }
        let ok = cmd.status().ok()?.success();
        let text = std::fs::read_to_string(dir.join("config.json"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(ok, "runc spec failed");
        Some(serde_json::from_str(&text.unwrap()).unwrap())
    }

    /// Everything but the fields that name the runtime must match runc's output on this host.
    fn same_as_runc(rootless: bool) {
        let Some(mut runc) = runc_spec(rootless) else {
            eprintln!("runc not installed: comparison skipped");
            return;
        };
        let mut ours = ours(rootless);
        for v in [&mut runc, &mut ours] {
            let o = v.as_object_mut().unwrap();
            o.remove("ociVersion");
            o.remove("hostname");
        }
        assert_eq!(ours, runc);
    }

    #[test]
    fn default_matches_runc() {
        same_as_runc(false);
    }

    #[test]
    fn rootless_matches_runc() {
        same_as_runc(true);
    }

    #[test]
    fn default_fields() {
        let v = ours(false);
        assert_eq!(v["ociVersion"], crate::OCI_VERSION);
        assert_eq!(v["process"]["args"], json!(["sh"]));
        assert_eq!(v["process"]["terminal"], true);
        let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
        for set in ["bounding", "effective", "permitted", "ambient"] {
            assert_eq!(v["process"]["capabilities"][set], caps, "{set}");
        }
        assert!(v["process"]["capabilities"].get("inheritable").is_none());
        assert_eq!(v["root"], json!({"path": "rootfs", "readonly": true}));
        let ns: Vec<&str> = v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert_eq!(ns, ["pid", "network", "ipc", "uts", "mount"]);
        assert_eq!(
            v["linux"]["resources"]["devices"],
            json!([{"allow": false, "access": "rwm"}])
        );
        assert_eq!(v["linux"]["maskedPaths"].as_array().unwrap().len(), 10);
        assert_eq!(v["linux"]["readonlyPaths"][3], "/proc/sys");
        assert_eq!(v["mounts"][5]["type"], "sysfs");
        assert!(v.get("annotations").is_none());
    }

    #[test]
    fn rootless_fields() {
        let v = ours(true);
        let uid = crate::sys::process::getuid();
        let gid = crate::sys::process::getgid();
        let map = |id| json!([{"containerID": 0, "hostID": id, "size": 1}]);
        assert_eq!(v["linux"]["uidMappings"], map(uid));
        assert_eq!(v["linux"]["gidMappings"], map(gid));
        let ns: Vec<&str> = v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert_eq!(ns, ["pid", "ipc", "uts", "mount", "user"]);
        assert!(v["linux"].get("resources").is_none());
        let sys = &v["mounts"][5];
        assert_eq!(sys["destination"], "/sys");
        assert_eq!(sys["type"], "none");
        assert_eq!(sys["source"], "/sys");
        assert_eq!(
            sys["options"],
            json!(["rbind", "nosuid", "noexec", "nodev", "ro"])
        );
        assert!(!v["mounts"][2]["options"]
            .as_array()
            .unwrap()
            .contains(&json!("gid=5")));
    }

    #[test]
    fn the_template_passes_validation() {
        for rootless in [false, true] {
            let text = to_json_pretty(&default_spec(rootless));
            crate::spec::parse(text.as_bytes(), "config.json").unwrap();
        }
    }
}
