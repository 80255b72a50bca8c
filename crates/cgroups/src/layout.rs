//! The host's cgroup layout, detected once per process from `/proc/self/mountinfo`.
//!
//! - **v2**: one cgroup2 mount and no v1 hierarchy.
//! - **v1**: v1 hierarchies only (one per controller or co-mounted, plus named ones like `name=systemd`).
//! - **hybrid**: v1 hierarchies plus a cgroup2 mount (usually `/sys/fs/cgroup/unified`), which here
//!   is one more hierarchy the container joins; its core files (`cgroup.kill`, `cgroup.freeze`,
//!   `cgroup.events`) work even when it has no controllers.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::mountinfo::{parse_mountinfo, CgroupMount, MountKind};

/// Which of the three layouts the host has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only v1 hierarchies.
    V1,
    /// Only the unified (cgroup2) hierarchy.
    V2,
    /// v1 hierarchies plus a cgroup2 mount.
    Hybrid,
}

/// One hierarchy of the host's layout.
#[derive(Debug, Clone)]
pub(crate) struct HostHierarchy {
    pub mount: CgroupMount,
    /// Name under /sys/fs/cgroup ("memory", "cpu,cpuacct", "unified"; empty on a v2 host).
    pub mount_dir: String,
    /// Mount data for a fresh mount of this hierarchy ("memory", "none,name=systemd"; empty for v2).
    pub options: String,
}

impl HostHierarchy {
    pub fn is_v2(&self) -> bool {
        self.mount.kind == MountKind::V2
    }

    /// Does this v1 hierarchy carry `controller`?
    pub fn has(&self, controller: &str) -> bool {
        match &self.mount.kind {
            MountKind::V1 { controllers, .. } => controllers.iter().any(|c| c == controller),
            MountKind::V2 => false,
        }
    }

    /// The host directory of cgroup `path` (absolute, relative to the hierarchy's root) on this
    /// hierarchy. When the mount shows a subtree (`root` is not "/"), paths inside it are mapped
    /// below the mount point; others are taken as relative to the mount point.
    pub fn dir(&self, path: &str) -> PathBuf {
        let root = self.mount.root.trim_end_matches('/');
        let rel = match path.strip_prefix(root) {
            Some(rest) if !root.is_empty() && (rest.is_empty() || rest.starts_with('/')) => rest,
            _ => path,
        };
        let rel = rel.trim_start_matches('/');
        if rel.is_empty() {
            self.mount.mountpoint.clone()
        } else {
            self.mount.mountpoint.join(rel)
        }
    }
}

/// The host's cgroup layout.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub mode: Mode,
    pub hierarchies: Vec<HostHierarchy>,
}

#[allow(dead_code)] // v1() and unified() serve the resource writers
impl Layout {
    pub fn from_mountinfo(text: &str) -> Layout {
        let mounts = parse_mountinfo(text);
        let has_v1 = mounts.iter().any(|m| m.kind != MountKind::V2);
        let has_v2 = mounts.iter().any(|m| m.kind == MountKind::V2);
        let mode = match (has_v1, has_v2) {
            (true, true) => Mode::Hybrid,
            (false, true) => Mode::V2,
            _ => Mode::V1,
        };
        let base = Path::new("/sys/fs/cgroup");
        let hierarchies = mounts
            .into_iter()
            .map(|mount| {
                let mount_dir = match mount.mountpoint.strip_prefix(base) {
                    Ok(rest) => rest.to_string_lossy().into_owned(),
                    Err(_) => mount
                        .mountpoint
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                };
                let options = match &mount.kind {
                    MountKind::V2 => String::new(),
                    MountKind::V1 { controllers, name } => {
                        let mut opts = controllers.join(",");
                        if let Some(name) = name {
                            if opts.is_empty() {
                                opts.push_str("none");
                            }
                            opts.push_str(",name=");
                            opts.push_str(name);
                        }
                        opts
                    }
                };
                HostHierarchy {
                    mount,
                    mount_dir,
                    options,
                }
            })
            .collect();
        Layout { mode, hierarchies }
    }

    /// The v1 hierarchy carrying `controller`, if mounted.
    pub fn v1(&self, controller: &str) -> Option<&HostHierarchy> {
        self.hierarchies.iter().find(|h| h.has(controller))
    }

    /// The cgroup2 hierarchy (the only one on v2, the extra one on hybrid), if mounted.
    pub fn unified(&self) -> Option<&HostHierarchy> {
        self.hierarchies.iter().find(|h| h.is_v2())
    }
}

static LAYOUT: OnceLock<Layout> = OnceLock::new();

/// The layout of this host, read from `/proc/self/mountinfo` on first use.
pub(crate) fn host() -> io::Result<&'static Layout> {
    if let Some(layout) = LAYOUT.get() {
        return Ok(layout);
    }
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| io::Error::new(e.kind(), format!("read /proc/self/mountinfo: {e}")))?;
    let layout = Layout::from_mountinfo(&text);
    if layout.hierarchies.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no cgroup or cgroup2 filesystem is mounted (per /proc/self/mountinfo)",
        ));
    }
    Ok(LAYOUT.get_or_init(|| layout))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn modes() {
        assert_eq!(Layout::from_mountinfo(HYBRID).mode, Mode::Hybrid);
        let v2 = "24 18 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let l = Layout::from_mountinfo(v2);
        assert_eq!(l.mode, Mode::V2);
        assert_eq!(l.hierarchies[0].mount_dir, "");
        assert_eq!(l.hierarchies[0].options, "");
        let v1 = "29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
        let l = Layout::from_mountinfo(v1);
        assert_eq!(l.mode, Mode::V1);
        assert_eq!(l.hierarchies[0].mount_dir, "cpu,cpuacct");
        assert_eq!(l.hierarchies[0].options, "cpu,cpuacct");
        assert!(l.v1("cpuacct").is_some());
        assert!(l.unified().is_none());
    }

    #[test]
    fn mount_dirs_and_options() {
        let l = Layout::from_mountinfo(HYBRID);
        let names: Vec<_> = l.hierarchies.iter().map(|h| h.mount_dir.as_str()).collect();
        assert_eq!(
            names,
            ["cpu", "memory", "freezer", "systemd", "unified"].as_slice()
        );
        assert_eq!(l.hierarchies[3].options, "none,name=systemd");
        assert_eq!(l.v1("memory").unwrap().options, "memory");
        assert!(l.unified().unwrap().is_v2());
    }

    #[test]
    fn dirs_map_paths_below_the_mount() {
        let l = Layout::from_mountinfo(HYBRID);
        let mem = l.v1("memory").unwrap();
        assert_eq!(mem.dir("/a/b"), PathBuf::from("/sys/fs/cgroup/memory/a/b"));
        assert_eq!(mem.dir("/"), PathBuf::from("/sys/fs/cgroup/memory"));
        let sub = "90 60 0:28 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        let l = Layout::from_mountinfo(sub);
        let h = &l.hierarchies[0];
        assert_eq!(
            h.dir("/docker/abc/x"),
            PathBuf::from("/sys/fs/cgroup/memory/x")
        );
        assert_eq!(
            h.dir("/docker/abcd"),
            PathBuf::from("/sys/fs/cgroup/memory/docker/abcd")
        );
        assert_eq!(h.dir("/y"), PathBuf::from("/sys/fs/cgroup/memory/y"));
    }
}
