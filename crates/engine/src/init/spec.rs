//! `--init` in config.json: the process runs `[/dev/coracle-init, --, args…]` and the store's
//! copy is bind-mounted there read-only, nosuid, nodev (a plain OCI bind mount: any runtime
//! does it). Done after every other flag, so the args it wraps are the final ones.

use super::CONTAINER_PATH;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Wrap the process args in the init and mount `copy` (the store's copy) for it.
pub fn apply(spec: &mut Value, copy: &Path) {
    let args = spec["process"]["args"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut wrapped = vec![json!(CONTAINER_PATH), json!("--")];
    wrapped.extend(args);
    spec["process"]["args"] = Value::Array(wrapped);
    if !spec["mounts"].is_array() {
        spec["mounts"] = json!([]);
    }
    let mounts = spec["mounts"].as_array_mut().expect("array");
    mounts.retain(|m| m["destination"] != CONTAINER_PATH);
    mounts.push(json!({
        "destination": CONTAINER_PATH,
        "type": "bind",
        "source": copy,
        "options": ["bind", "ro", "nosuid", "nodev"],
    }));
}

/// The store copy a container's config.json mounts as its init, if any.
pub fn copy_of(spec: &Value) -> Option<PathBuf> {
    spec["mounts"]
        .as_array()?
        .iter()
        .find(|m| m["destination"] == CONTAINER_PATH)?["source"]
        .as_str()
        .map(PathBuf::from)
}

/// A `-v`/`--tmpfs` destination that would hide the init or hold its mount point: /dev itself
/// (the mount point would be made in that mount, e.g. a host directory) or the init's path.
pub fn hides_init(destination: &str) -> bool {
    let d = destination.trim_end_matches('/');
    d == "/dev" || d == CONTAINER_PATH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_are_wrapped_and_the_copy_mounted_read_only() {
        let mut s = json!({
            "process": { "args": ["sh", "-c", "exit 7"] },
            "mounts": [{ "destination": "/dev", "type": "tmpfs" }],
        });
        apply(&mut s, Path::new("/store/init/coracle-init-1-2"));
        assert_eq!(
            s["process"]["args"],
            json!(["/dev/coracle-init", "--", "sh", "-c", "exit 7"])
        );
        let m = &s["mounts"][1];
        assert_eq!(m["source"], "/store/init/coracle-init-1-2");
        assert_eq!(m["options"], json!(["bind", "ro", "nosuid", "nodev"]));
        assert_eq!(
            copy_of(&s),
            Some(PathBuf::from("/store/init/coracle-init-1-2"))
        );
        assert_eq!(copy_of(&json!({ "mounts": [] })), None);
    }

    #[test]
    fn only_dev_and_the_init_path_hide_it() {
        assert!(hides_init("/dev"));
        assert!(hides_init("/dev/"));
        assert!(hides_init("/dev/coracle-init"));
        assert!(!hides_init("/dev/shm"));
        assert!(!hides_init("/devices"));
        assert!(!hides_init("/data"));
    }
}
