//! Parsing of `/proc/self/mountinfo` (which cgroup hierarchies are mounted where) and of
//! `/proc/<pid>/cgroup` (where a process sits on each of them). Pure text functions: unit-tested
//! on sample text from v1, v2 and hybrid hosts.

use std::path::PathBuf;

/// What a cgroup mount is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MountKind {
    /// A v1 hierarchy: its controllers ("cpu", "cpuacct") and its name (`name=systemd`), if any.
    V1 {
        controllers: Vec<String>,
        name: Option<String>,
    },
    /// The cgroup2 (unified) hierarchy.
    V2,
}

/// One cgroup filesystem mount, as mountinfo lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupMount {
    /// `major:minor` of the filesystem: two mounts of one hierarchy share it.
    pub dev: String,
    /// The directory of the hierarchy that is mounted ("/" unless a subtree was bind-mounted).
    pub root: String,
    pub mountpoint: PathBuf,
    pub kind: MountKind,
}

/// Mount options of a v1 cgroup mount that are not controllers.
const NON_CONTROLLER_OPTIONS: &[&str] = &[
    "rw",
    "ro",
    "xattr",
    "noprefix",
    "clone_children",
    "cpuset_v2_mode",
    "none",
    "all",
];

/// Every cgroup and cgroup2 mount in `text` (mountinfo format), in order, one per hierarchy (the first
/// mount of a hierarchy wins).
pub(crate) fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    let mut out: Vec<CgroupMount> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut right_fields = right.split(' ');
        let fstype = right_fields.next().unwrap_or("");
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        let _source = right_fields.next();
        let super_options = right_fields.next().unwrap_or("");
        let mut left_fields = left.split(' ');
        let (Some(_id), Some(_parent), Some(dev), Some(root), Some(mountpoint)) = (
            left_fields.next(),
            left_fields.next(),
            left_fields.next(),
            left_fields.next(),
            left_fields.next(),
        ) else {
            continue;
        };
        let kind = if fstype == "cgroup2" {
            MountKind::V2
        } else {
            let mut controllers = Vec::new();
            let mut name = None;
            for opt in super_options.split(',') {
                if let Some(n) = opt.strip_prefix("name=") {
                    name = Some(n.to_string());
                } else if !opt.is_empty()
                    && !opt.contains('=')
                    && !NON_CONTROLLER_OPTIONS.contains(&opt)
                {
                    controllers.push(opt.to_string());
                }
            }
            MountKind::V1 { controllers, name }
        };
        if out.iter().any(|m| m.dev == dev) || shadowed(mountpoint, &lines[i + 1..]) {
            continue;
        }
        out.push(CgroupMount {
            dev: dev.to_string(),
            root: unescape(root),
            mountpoint: PathBuf::from(unescape(mountpoint)),
            kind,
        });
    }
    out
}

/// Is `mountpoint` covered by a later mount on it or on one of its parents (e.g. a tmpfs over
/// /sys/fs/cgroup/unified, which is how crun is made to run on a hybrid host)?
fn shadowed(mountpoint: &str, later: &[&str]) -> bool {
    later.iter().any(|l| {
        let Some(other) = l.split(' ').nth(4) else {
            return false;
        };
        mountpoint == other
            || mountpoint
                .strip_prefix(other)
                .is_some_and(|r| r.starts_with('/') || other == "/")
    })
}

/// Undo mountinfo's octal escapes (`\040` for a space, `\011`, `\012`, `\134`).
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let oct = &bytes[i + 1..i + 4];
            let value = oct.iter().try_fold(0u16, |acc, b| match b {
                b'0'..=b'7' => Some(acc * 8 + u16::from(b - b'0')),
                _ => None,
            });
            if let Some(v) = value.and_then(|v| u8::try_from(v).ok()) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One line of `/proc/<pid>/cgroup`: `hierarchy-id:controllers:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcCgroup<'a> {
    pub id: u32,
    /// Comma-separated controllers and `name=…`; empty for the unified hierarchy.
    pub controllers: &'a str,
    pub path: &'a str,
}

pub(crate) fn parse_proc_cgroup(text: &str) -> Vec<ProcCgroup<'_>> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let id = parts.next()?.parse().ok()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            Some(ProcCgroup {
                id,
                controllers,
                path,
            })
        })
        .collect()
}

/// The process's own cgroup as the reference for relative cgroupsPaths: the unified (`0::`) line
/// where there is one, else the `name=systemd` line, else the first line.
pub(crate) fn own_cgroup(text: &str) -> Option<String> {
    let lines = parse_proc_cgroup(text);
    lines
        .iter()
        .find(|l| l.id == 0 && l.controllers.is_empty())
        .or_else(|| lines.iter().find(|l| l.controllers == "name=systemd"))
        .or_else(|| lines.first())
        .map(|l| l.path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const HYBRID: &str = "\
22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    const V1_SYSTEMD: &str = "\
25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct
30 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,net_cls,net_prio
31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory
90 60 0:28 /docker/abc /mnt/my\\040memory rw - cgroup cgroup rw,memory
";

    const V2: &str = "\
24 18 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
60 24 0:50 / /tmp/other rw - tmpfs tmpfs rw
";

    #[test]
    fn hybrid_layout() {
        let m = parse_mountinfo(HYBRID);
        assert_eq!(m.len(), 10);
        assert_eq!(m[0].mountpoint, PathBuf::from("/sys/fs/cgroup/cpu"));
        assert_eq!(
            m[0].kind,
            MountKind::V1 {
                controllers: vec!["cpu".into()],
                name: None
            }
        );
        assert_eq!(
            m[8].kind,
            MountKind::V1 {
                controllers: vec![],
                name: Some("systemd".into())
            }
        );
        assert_eq!(m[9].kind, MountKind::V2);
        assert_eq!(m[9].mountpoint, PathBuf::from("/sys/fs/cgroup/unified"));
    }

    #[test]
    fn a_mount_over_a_hierarchy_hides_it() {
        let hidden = format!(
            "{HYBRID}\n999 30 0:99 / /sys/fs/cgroup/unified rw,relatime - tmpfs hide rw,size=16384k\n"
        );
        let m = parse_mountinfo(&hidden);
        assert_eq!(m.len(), 9);
        assert!(m.iter().all(|m| m.kind != MountKind::V2));
        let all_hidden = format!("{HYBRID}\n999 1 0:99 / /sys rw - tmpfs t rw\n");
        assert!(parse_mountinfo(&all_hidden).is_empty());
    }

    #[test]
    fn v1_layout_with_comounts_options_and_duplicates() {
        let m = parse_mountinfo(V1_SYSTEMD);
        assert_eq!(m.len(), 4, "{m:?}");
        assert_eq!(
            m[0].kind,
            MountKind::V1 {
                controllers: vec![],
                name: Some("systemd".into())
            }
        );
        assert_eq!(
            m[1].kind,
            MountKind::V1 {
                controllers: vec!["cpu".into(), "cpuacct".into()],
                name: None
            }
        );
        assert_eq!(m[1].mountpoint, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        // The second mount of the memory hierarchy (same dev) is not listed again.
        assert_eq!(m[3].mountpoint, PathBuf::from("/sys/fs/cgroup/memory"));
    }

    #[test]
    fn v2_layout() {
        let m = parse_mountinfo(V2);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].kind, MountKind::V2);
        assert_eq!(m[0].root, "/");
        assert_eq!(m[0].mountpoint, PathBuf::from("/sys/fs/cgroup"));
    }

    #[test]
    fn escapes_are_undone() {
        assert_eq!(unescape("/mnt/my\\040memory"), "/mnt/my memory");
        assert_eq!(unescape("/a\\134b"), "/a\\b");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/bad\\04"), "/bad\\04");
    }

    #[test]
    fn own_cgroup_prefers_unified_then_systemd() {
        let hybrid = "9:name=systemd:/sys\n4:memory:/process_api/x\n0::/uni\n";
        assert_eq!(own_cgroup(hybrid).as_deref(), Some("/uni"));
        let v1 = "4:memory:/m\n1:name=systemd:/user.slice/a\n";
        assert_eq!(own_cgroup(v1).as_deref(), Some("/user.slice/a"));
        assert_eq!(own_cgroup("3:cpu:/c\n").as_deref(), Some("/c"));
        assert_eq!(own_cgroup(""), None);
        let lines = parse_proc_cgroup("2:cpu,cpuacct:/a:b\n");
        assert_eq!(lines[0].controllers, "cpu,cpuacct");
        assert_eq!(lines[0].path, "/a:b");
    }
}
