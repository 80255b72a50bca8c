//! A rootless container whose cgroup cannot be created. Unless the cgroup tree was delegated to
//! the caller (`linux.cgroupsPath` naming a directory it owns), an unprivileged user cannot create
//! cgroups. What we chose (runc differs by version and sometimes ignores limits silently):
//! - no `linux.resources` limits asked for: run without a cgroup, with one warning line on stderr
//!   (the container stays in the caller's cgroup; pause, update and events are then refused, and
//!   `kill --all` reaches the processes through the container's pid namespace);
//! - limits asked for: refuse with one error naming `linux.resources` (never run unlimited while
//!   the config asks for limits). Device rules alone do not count: the user namespace already
//!   keeps the container from devices it was not given, and runc skips them rootless too.
//!
//! Only the error path of cgroup creation comes here: root's start path is unchanged.

use crate::{Error, Result};
use oci_spec::runtime::LinuxResources;
use std::io;

/// Decide what a failed cgroup creation means. `Ok(warning)`: go on without a cgroup, and print
/// the warning once the container exists (a `create` that fails says one thing: its error).
/// `rootless` is runc's `--rootless` (None: auto, i.e. when not root).
pub fn on_create_error(
    id: &str,
    e: io::Error,
    resources: Option<&LinuxResources>,
    rootless: Option<bool>,
) -> Result<String> {
    let denied = matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
    );
    if !denied || !rootless.unwrap_or_else(super::is_rootless) {
        return Err(Error::msg(format!(
            "linux.cgroupsPath: creating the container's cgroup: {e}"
        )));
    }
    if asks_for_limits(resources) {
        return Err(Error::msg(format!(
            "linux.resources: resource limits need a cgroup, and uid {} may not create one ({e}); \
             remove linux.resources or delegate a cgroup and name it in linux.cgroupsPath",
            crate::sys::process::geteuid()
        )));
    }
    Ok(warning(id, &e))
}

/// The one warning line.
fn warning(id: &str, e: &io::Error) -> String {
    format!(
        "coracle-runtime: warning: rootless: container {id} runs without a cgroup (cgroups not \
         delegated: {e}); no resource limits, pause, update or events"
    )
}

/// Whether `resources` sets anything besides device rules.
fn asks_for_limits(resources: Option<&LinuxResources>) -> bool {
    resources.is_some_and(|r| {
        let mut rest = r.clone();
        rest.set_devices(None);
        rest != LinuxResources::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn device_rules_alone_are_not_limits() {
        assert!(!asks_for_limits(None));
        assert!(!asks_for_limits(Some(&resources("{}"))));
        let devices = r#"{"devices":[{"allow":false,"access":"rwm"}]}"#;
        assert!(!asks_for_limits(Some(&resources(devices))));
    }

    #[test]
    fn any_other_setting_is_a_limit() {
        for json in [
            r#"{"memory":{"limit":33554432}}"#,
            r#"{"pids":{"limit":10}}"#,
            r#"{"cpu":{"shares":512}}"#,
        ] {
            assert!(asks_for_limits(Some(&resources(json))), "{json}");
        }
    }

    #[test]
    fn the_warning_is_one_line_naming_the_container() {
        let e = io::Error::from(io::ErrorKind::PermissionDenied);
        let w = warning("c1", &e);
        assert!(!w.contains('\n'));
        assert!(
            w.contains("container c1") && w.contains("without a cgroup"),
            "{w}"
        );
    }
}
