//! What an admin checks on the host about a container that a client (Podman, Docker) started,
//! given its init's pid: the cgroup files that enforce its limits, whether it is frozen, its
//! network namespace.
#![allow(dead_code)] // each client test uses part of it

use std::fs;
use std::path::PathBuf;

/// The directory of `pid`'s cgroup in the v1 hierarchy carrying `controller` (e.g. "cpu" in
/// "cpu,cpuacct"), or in the unified hierarchy for `controller` "".
pub fn cgroup_dir(pid: u32, controller: &str) -> PathBuf {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/cgroup: {e}"));
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or("/"));
        let hit = if controller.is_empty() {
            ctrls.is_empty()
        } else {
            ctrls.split(',').any(|c| c == controller)
        };
        if hit {
            let mount = if ctrls.is_empty() { "unified" } else { ctrls };
            return PathBuf::from("/sys/fs/cgroup")
                .join(mount)
                .join(path.trim_start_matches('/'));
        }
    }
    panic!("pid {pid} has no {controller:?} cgroup: {text}");
}

/// A control file of `pid`'s cgroup, trimmed.
pub fn cgroup_file(pid: u32, controller: &str, file: &str) -> String {
    let path = cgroup_dir(pid, controller).join(file);
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

/// Whether `pid`'s cgroup is frozen: the v1 freezer says FROZEN, or the unified cgroup's
/// `cgroup.events` says `frozen 1` (whichever the runtime used).
pub fn frozen(pid: u32) -> bool {
    let v1 = fs::read_to_string(cgroup_dir(pid, "freezer").join("freezer.state"))
        .map(|s| s.trim() == "FROZEN")
        .unwrap_or(false);
    let v2 = fs::read_to_string(cgroup_dir(pid, "").join("cgroup.events"))
        .map(|s| s.lines().any(|l| l == "frozen 1"))
        .unwrap_or(false);
    v1 || v2
}

/// `/proc/PID/ns/net`'s link text (`net:[inode]`).
pub fn net_ns(pid: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/net"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| panic!("/proc/{pid}/ns/net: {e}"))
}
