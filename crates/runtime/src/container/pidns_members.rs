//! The processes of a container that runs without a cgroup (rootless, not delegated): every host
//! process in its init's pid namespace. When the container shares the runtime's pid namespace,
//! only the init is known to be its.

use crate::sys::process::process_state;
use std::os::unix::fs::MetadataExt;

/// The host pids of the container whose init is `init`, sorted (empty once the init is gone).
/// Zombies are left out, as a cgroup's process list leaves them out.
pub fn members(init: libc::pid_t) -> Vec<libc::pid_t> {
    let ns_of = |pid: &str| {
        std::fs::metadata(format!("/proc/{pid}/ns/pid"))
            .ok()
            .map(|m| (m.dev(), m.ino()))
    };
    let Some(theirs) = ns_of(&init.to_string()) else {
        return Vec::new();
    };
    if ns_of("self") == Some(theirs) {
        return vec![init];
    }
    let mut pids: Vec<libc::pid_t> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|pid: &libc::pid_t| ns_of(&pid.to_string()) == Some(theirs))
        .filter(|pid| !matches!(process_state(*pid), Some('Z' | 'X')))
        .collect();
    pids.sort_unstable();
    pids
}
