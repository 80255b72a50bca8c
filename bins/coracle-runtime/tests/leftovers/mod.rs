//! What a client test's daemons and containers may leave on the host, found by the test's own
//! directory (mounts, processes mentioning it) or cgroup parent, and removed by those names only.
#![allow(dead_code)] // each client test uses part of it

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Mount points under `dir`, shortest first.
pub fn mounts_under(dir: &str) -> Vec<String> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found: Vec<String> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(dir))
        .map(String::from)
        .collect();
    found.sort_by_key(|m| m.len());
    found
}

/// Live processes whose command line mentions `text`, as "PID CMDLINE" (not this process).
pub fn processes_mentioning(text: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let cmdline = fs::read(e.path().join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        if cmdline.contains(text) {
            found.push(format!("{pid} {}", cmdline.trim_end()));
        }
    }
    found
}

/// `/sys/fs/cgroup/<hierarchy>/<rel>` for every hierarchy that has it.
pub fn cgroup_trees(rel: &str) -> Vec<PathBuf> {
    fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .map(|h| h.path().join(rel))
        .filter(|p| p.is_dir())
        .collect()
}

/// rmdir every `rel` tree, children first. Whether all are gone.
pub fn remove_cgroup_trees(rel: &str) -> bool {
    fn rm(dir: &Path) {
        for e in fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                rm(&e.path());
            }
        }
        let _ = fs::remove_dir(dir);
    }
    for tree in cgroup_trees(rel) {
        rm(&tree);
    }
    cgroup_trees(rel).is_empty()
}

/// Lazily unmount everything under `dir`, deepest first.
pub fn unmount_under(dir: &str) {
    for m in mounts_under(dir).iter().rev() {
        let _ = Command::new("umount").args(["-l", m]).status();
    }
}

/// Machine-wide directories a client makes whatever its own roots (listed leaves before their
/// parents). Those that did not exist when this test process's first client started are removed
/// when its last client finishes (parents only if empty).
pub struct MachineDirs {
    paths: &'static [&'static str],
    /// Live clients, and the paths that were absent before the first.
    live: Mutex<(usize, Vec<&'static str>)>,
}

impl MachineDirs {
    pub const fn new(paths: &'static [&'static str]) -> MachineDirs {
        MachineDirs {
            paths,
            live: Mutex::new((0, Vec::new())),
        }
    }

    pub fn enter(&self) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        if live.0 == 0 {
            live.1 = self
                .paths
                .iter()
                .copied()
                .filter(|p| !Path::new(p).exists())
                .collect();
        }
        live.0 += 1;
    }

    pub fn leave(&self) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.0 -= 1;
        if live.0 > 0 {
            return;
        }
        for (i, p) in live.1.iter().enumerate() {
            // A parent (listed after its leaves) goes only if nothing else is in it.
            let is_parent = live.1[..i].iter().any(|c| c.starts_with(&format!("{p}/")));
            let _ = if is_parent {
                fs::remove_dir(p)
            } else {
                fs::remove_dir_all(p)
            };
        }
    }
}
