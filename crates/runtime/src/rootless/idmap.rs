//! The uid/gid maps of a new user namespace when the runtime is not root. The kernel lets an
//! unprivileged process write one line mapping its own id (and, for gid_map, only once setgroups
//! is denied); every other mapping needs the setuid helpers newuidmap/newgidmap, which check it
//! against /etc/subuid and /etc/subgid. The choice follows from the config and the caller's ids;
//! the init waits (for `Mapped`) while the parent writes or runs the helpers.

use crate::{Context, Error, Result};
use oci_spec::runtime::{LinuxIdMapping, Spec};
use std::process::{Command, Stdio};

/// Which ids a map is for: names the field, the proc file and the helper.
#[derive(Clone, Copy)]
struct Kind {
    field: &'static str,
    file: &'static str,
    helper: &'static str,
}

const UID: Kind = Kind {
    field: "linux.uidMappings",
    file: "uid_map",
    helper: "newuidmap",
};
const GID: Kind = Kind {
    field: "linux.gidMappings",
    file: "gid_map",
    helper: "newgidmap",
};

/// Write both maps of `pid`'s new user namespace as an unprivileged caller.
pub fn write(pid: libc::pid_t, spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref();
    let uids = linux
        .and_then(|l| l.uid_mappings().as_deref())
        .unwrap_or_default();
    let gids = linux
        .and_then(|l| l.gid_mappings().as_deref())
        .unwrap_or_default();
    use crate::sys::process::{getegid, geteuid};
    write_one(pid, UID, uids, geteuid())?;
    write_one(pid, GID, gids, getegid())
}

fn write_one(pid: libc::pid_t, kind: Kind, maps: &[LinuxIdMapping], own: u32) -> Result<()> {
    if maps.is_empty() {
        return Err(Error::msg(format!(
            "{}: a new user namespace needs a mapping when the runtime is not run as root \
             (e.g. your own id as 0, as `spec --rootless` writes)",
            kind.field
        )));
    }
    if is_own_id_only(maps, own) {
        let proc_file = |name: &str| format!("/proc/{pid}/{name}");
        if kind.file == "gid_map" {
            std::fs::write(proc_file("setgroups"), "deny")
                .context(|| format!("{}: denying setgroups", kind.field))?;
        }
        return std::fs::write(proc_file(kind.file), lines(maps))
            .context(|| format!("{}: writing {}", kind.field, kind.file));
    }
    run_helper(pid, kind, maps)
}

/// Before the clone: a gid map we write ourselves denies setgroups, so `additionalGids` could
/// never be set (the init would fail only at `start`).
pub fn check(spec: &Spec) -> Result<()> {
    let gids = spec
        .linux()
        .as_ref()
        .and_then(|l| l.gid_mappings().as_deref())
        .unwrap_or_default();
    let additional = spec
        .process()
        .as_ref()
        .and_then(|p| p.user().additional_gids().as_ref())
        .is_some_and(|g| !g.is_empty());
    if additional && is_own_id_only(gids, crate::sys::process::getegid()) {
        return Err(Error::msg(
            "process.user.additionalGids: a single gid mapping of your own gid is written \
             without newgidmap, which denies setgroups: map gid ranges in linux.gidMappings or \
             drop additionalGids",
        ));
    }
    Ok(())
}

/// One range of size 1 naming the caller's own id: what the kernel lets it write itself.
fn is_own_id_only(maps: &[LinuxIdMapping], own: u32) -> bool {
    matches!(maps, [m] if m.size() == 1 && m.host_id() == own)
}

fn lines(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// `newuidmap PID INSIDE OUTSIDE COUNT…`: the helper's own complaint becomes our one error line.
fn run_helper(pid: libc::pid_t, kind: Kind, maps: &[LinuxIdMapping]) -> Result<()> {
    let args = helper_args(pid, maps);
    let out = Command::new(kind.helper)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::msg(format!(
                "{}: several ranges, or ids other than your own, need {} (package uidmap): {e}",
                kind.field, kind.helper
            ))
        })?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let said = said.split_whitespace().collect::<Vec<_>>().join(" ");
    Err(Error::msg(format!(
        "{}: {} refused the mapping {}: {}",
        kind.field,
        kind.helper,
        args[1..].join(" "),
        if said.is_empty() {
            out.status.to_string()
        } else {
            said
        }
    )))
}

fn helper_args(pid: libc::pid_t, maps: &[LinuxIdMapping]) -> Vec<String> {
    let mut args = vec![pid.to_string()];
    for m in maps {
        args.extend([m.container_id(), m.host_id(), m.size()].map(|n| n.to_string()));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxIdMappingBuilder;

    fn map(inside: u32, outside: u32, size: u32) -> LinuxIdMapping {
        LinuxIdMappingBuilder::default()
            .container_id(inside)
            .host_id(outside)
            .size(size)
            .build()
            .unwrap()
    }

    #[test]
    fn only_a_single_own_id_is_written_directly() {
        assert!(is_own_id_only(&[map(0, 1000, 1)], 1000));
        assert!(is_own_id_only(&[map(5, 1000, 1)], 1000));
        assert!(!is_own_id_only(&[map(0, 1001, 1)], 1000));
        assert!(!is_own_id_only(&[map(0, 1000, 2)], 1000));
        assert!(!is_own_id_only(
            &[map(0, 1000, 1), map(1, 100000, 65536)],
            1000
        ));
        assert!(!is_own_id_only(&[], 1000));
    }

    #[test]
    fn helper_arguments_are_the_ranges_in_order() {
        let args = helper_args(42, &[map(0, 1000, 1), map(1, 100000, 65536)]);
        assert_eq!(args, ["42", "0", "1000", "1", "1", "100000", "65536"]);
    }

    #[test]
    fn lines_are_the_proc_format() {
        assert_eq!(lines(&[map(0, 1000, 1)]), "0 1000 1\n");
    }
}
