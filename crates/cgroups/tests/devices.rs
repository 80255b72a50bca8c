//! Device rules enforced for real (root): on v2 and hybrid hosts by the eBPF program attached to
//! the container's cgroup2 directory, on v1 hosts by the devices lists. Checked from what a shell
//! in the cgroup experiences when it opens and makes device nodes.
//!
//! The nodes are made in a scratch directory with mknod (as root), so no host device has to exist;
//! a node whose driver is missing opens with ENXIO/ENODEV when the cgroup allows it, and with EPERM
//! when the cgroup does not (the device check comes before the driver's open).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use cgroups::Cgroup;
use common::{unique, Guard};
use oci_spec::runtime::LinuxResources;

const EPERM: &str = "Operation not permitted";

fn create(json: &str) -> Guard {
    let r: LinuxResources = serde_json::from_str(json).unwrap();
    Guard::new(Cgroup::create(&format!("/{}", unique()), "x", Some(&r)).unwrap())
}

/// A scratch directory holding device nodes, removed on drop.
struct Nodes(PathBuf);

impl Nodes {
    fn new() -> Nodes {
        let dir = std::env::temp_dir().join(unique());
        std::fs::create_dir(&dir).unwrap();
        Nodes(dir)
    }

    /// mknod `name` (outside any test cgroup): `typ` 'c' or 'b'.
    fn make(&self, name: &str, typ: char, major: u32, minor: u32) -> PathBuf {
        let path = self.0.join(name);
        let out = Command::new("mknod")
            .arg(&path)
            .arg(typ.to_string())
            .arg(major.to_string())
            .arg(minor.to_string())
            .output()
            .unwrap();
        assert!(out.status.success(), "mknod {}: {out:?}", path.display());
        path
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A script printing one line per check: `name: ok` or `name: <error message>`.
fn script(checks: &[(&str, String)]) -> String {
    let mut s = String::from("read go\n");
    for (name, cmd) in checks {
        s.push_str(&format!(
            "if e=$({cmd} 2>&1 >/dev/null); then echo \"{name}: ok\"; else echo \"{name}: $e\"; fi\n"
        ));
    }
    s
}

fn read_check<'a>(name: &'a str, node: &Path) -> (&'a str, String) {
    (name, format!("head -c1 {}", node.display()))
}

/// Run `checks` in a shell inside `g`'s cgroup; the output lines by check name.
fn run_in(g: &mut Guard, checks: &[(&str, String)]) -> Vec<(String, String)> {
    let i = g.children.len();
    g.spawn_in(&script(checks));
    g.go(i);
    let (status, out) = g.finish(i);
    assert!(status.success(), "{status:?}: {out}");
    parse(&out)
}

/// The same checks outside any test cgroup (the control: what the device itself does).
fn run_outside(checks: &[(&str, String)]) -> Vec<(String, String)> {
    let s = script(checks).replacen("read go\n", "", 1);
    let out = Command::new("sh").arg("-c").arg(s).output().unwrap();
    parse(&String::from_utf8_lossy(&out.stdout))
}

fn parse(out: &str) -> Vec<(String, String)> {
    out.lines()
        .map(|l| {
            let (k, v) = l.split_once(": ").unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn result<'a>(results: &'a [(String, String)], name: &str) -> &'a str {
    &results
        .iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no result for {name}: {results:?}"))
        .1
}

fn uses_v1_devices(cg: &Cgroup) -> bool {
    cg.hierarchies()
        .iter()
        .any(|h| h.fs_type == "cgroup" && h.options.split(',').any(|o| o == "devices"))
}

/// On v2 and hybrid hosts the rules are an eBPF program on the cgroup2 directory: the v1 devices
/// hierarchy is not joined.
fn expect_no_v1_devices(cg: &Cgroup) {
    if cgroups::mode().unwrap() != cgroups::Mode::V1 {
        assert!(!uses_v1_devices(cg), "{:?}", cg.hierarchies());
    }
}

#[test]
fn deny_all_allows_only_what_is_listed() {
    require_root!();
    let nodes = Nodes::new();
    let kmsg = nodes.make("kmsg", 'c', 1, 11);
    let mem = nodes.make("mem", 'c', 1, 1);
    let mut g = create(
        r#"{"devices":[{"allow":false,"access":"rwm"},
            {"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"}]}"#,
    );
    expect_no_v1_devices(&g.cg);
    let checks = [
        ("null", "head -c1 /dev/null".to_string()),
        read_check("kmsg", &kmsg),
        read_check("mem", &mem),
        ("write-null", "printf x >/dev/null".to_string()),
    ];
    let inside = run_in(&mut g, &checks);
    assert_eq!(result(&inside, "null"), "ok", "{inside:?}");
    assert_eq!(result(&inside, "write-null"), "ok", "{inside:?}");
    assert!(result(&inside, "kmsg").ends_with(EPERM), "{inside:?}");
    assert!(result(&inside, "mem").ends_with(EPERM), "{inside:?}");
    // The control: outside the cgroup the same opens are not refused with EPERM.
    let outside = run_outside(&checks);
    assert!(!result(&outside, "kmsg").ends_with(EPERM), "{outside:?}");
    assert!(!result(&outside, "mem").ends_with(EPERM), "{outside:?}");
    // Removed cleanly: the program goes with the cgroup.
    let dirs: Vec<PathBuf> =
        g.cg.hierarchies()
            .into_iter()
            .map(|h| h.host_path)
            .collect();
    g.cg.remove().unwrap();
    for d in dirs {
        assert!(!d.exists(), "{}", d.display());
    }
}

#[test]
fn runc_default_rules() {
    require_root!();
    let nodes = Nodes::new();
    let allowed = [
        ("null", 'c', 1, 3),
        ("zero", 'c', 1, 5),
        ("full", 'c', 1, 7),
        ("random", 'c', 1, 8),
        ("urandom", 'c', 1, 9),
        ("tty", 'c', 5, 0),
        ("ptmx", 'c', 5, 2),
    ];
    let denied = [
        ("sda", 'b', 8, 0),
        ("mem", 'c', 1, 1),
        ("kmsg", 'c', 1, 11),
        ("tun", 'c', 10, 200),
    ];
    let mut checks = Vec::new();
    for (name, typ, major, minor) in allowed.iter().chain(&denied) {
        let node = nodes.make(name, *typ, *major, *minor);
        checks.push(read_check(name, &node));
    }
    // mknod of any node stays allowed (runc's "c *:* m" and "b *:* m").
    let made = nodes.0.join("made-inside");
    checks.push(("mknod", format!("mknod {} b 8 1", made.display())));
    let mut g = create(r#"{"devices":[{"allow":false,"access":"rwm"}]}"#);
    expect_no_v1_devices(&g.cg);
    let inside = run_in(&mut g, &checks);
    for (name, ..) in allowed {
        // Allowed: the device's own answer (tty without a controlling terminal: ENXIO; a ptmx
        // node outside devpts: ENOENT, as it finds no pts next to it).
        assert!(
            !result(&inside, name).ends_with(EPERM),
            "{name}: {inside:?}"
        );
    }
    for name in ["null", "zero", "full", "urandom"] {
        assert_eq!(result(&inside, name), "ok", "{name}: {inside:?}");
    }
    for (name, ..) in denied {
        assert!(result(&inside, name).ends_with(EPERM), "{name}: {inside:?}");
    }
    assert_eq!(result(&inside, "mknod"), "ok", "{inside:?}");
    let outside = run_outside(&checks[..allowed.len() + denied.len()]);
    for (name, ..) in denied {
        assert!(
            !result(&outside, name).ends_with(EPERM),
            "{name}: {outside:?}"
        );
    }
    g.cg.remove().unwrap();
}

#[test]
fn allow_all_then_deny_one_refuses_it_even_mknod() {
    require_root!();
    let nodes = Nodes::new();
    let mem = nodes.make("mem", 'c', 1, 1);
    let kmsg = nodes.make("kmsg", 'c', 1, 11);
    // Allow everything, then deny /dev/mem entirely and writes to kmsg: the defaults that runc
    // appends (allows) leave these exceptions in place.
    let mut g = create(
        r#"{"devices":[{"allow":true,"access":"rwm"},
            {"allow":false,"type":"c","major":1,"minor":1,"access":"rwm"},
            {"allow":false,"type":"c","major":1,"minor":11,"access":"w"}]}"#,
    );
    expect_no_v1_devices(&g.cg);
    let mem2 = nodes.0.join("mem2");
    let null2 = nodes.0.join("null2");
    let checks = [
        read_check("mem", &mem),
        read_check("kmsg-read", &kmsg),
        ("kmsg-rw", format!("sh -c 'exec 3<>{}'", kmsg.display())),
        ("mknod-mem", format!("mknod {} c 1 1", mem2.display())),
        ("mknod-null", format!("mknod {} c 1 3", null2.display())),
        ("null", "head -c1 /dev/null".to_string()),
    ];
    let inside = run_in(&mut g, &checks);
    assert!(result(&inside, "mem").ends_with(EPERM), "{inside:?}");
    assert!(result(&inside, "mknod-mem").ends_with(EPERM), "{inside:?}");
    // An open for reading and writing is one check: the write part refuses it (as v1 does).
    assert!(result(&inside, "kmsg-rw").ends_with(EPERM), "{inside:?}");
    assert!(!result(&inside, "kmsg-read").ends_with(EPERM), "{inside:?}");
    assert_eq!(result(&inside, "mknod-null"), "ok", "{inside:?}");
    assert_eq!(result(&inside, "null"), "ok", "{inside:?}");
    assert!(!mem2.exists());
    g.cg.remove().unwrap();
}

#[test]
fn no_device_rules_no_program_and_no_v1_devices() {
    require_root!();
    let nodes = Nodes::new();
    let kmsg = nodes.make("kmsg", 'c', 1, 11);
    let mut g = create(r#"{"pids":{"limit":100}}"#);
    assert!(!uses_v1_devices(&g.cg) || cgroups::mode().unwrap() == cgroups::Mode::V1);
    let inside = run_in(&mut g, &[read_check("kmsg", &kmsg)]);
    assert!(!result(&inside, "kmsg").ends_with(EPERM), "{inside:?}");
    g.cg.remove().unwrap();
}

/// Make bpf(2) fail with EPERM in the calling thread only (a seccomp filter is per thread unless
/// synchronized): as for a process without CAP_BPF, but keeping the rest of root's powers.
fn refuse_bpf_in_this_thread() {
    let filter = [
        // A = syscall number (offset 0 of struct seccomp_data).
        libc::sock_filter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 0,
        },
        // if A == SYS_bpf: return ERRNO(EPERM); else: return ALLOW.
        libc::sock_filter {
            code: 0x15,
            jt: 0,
            jf: 1,
            k: libc::SYS_bpf as u32,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ALLOW,
        },
    ];
    // Root has CAP_SYS_ADMIN, so no-new-privs is not needed.
    sys::seccomp::set_thread_filter(&filter).unwrap();
}

#[test]
fn without_bpf_hybrid_falls_back_to_the_v1_devices_lists() {
    require_root!();
    if cgroups::mode().unwrap() != cgroups::Mode::Hybrid {
        eprintln!("skipped: the fallback is for hybrid hosts");
        return;
    }
    let nodes = Nodes::new();
    let kmsg = nodes.make("kmsg", 'c', 1, 11);
    let checks = [
        ("null", "head -c1 /dev/null".to_string()),
        read_check("kmsg", &kmsg),
    ];
    // Create the cgroup, and start the shell, from a thread where bpf(2) is refused.
    let inside = std::thread::spawn(move || {
        refuse_bpf_in_this_thread();
        let mut g = create(r#"{"devices":[{"allow":false,"access":"rwm"}]}"#);
        assert!(uses_v1_devices(&g.cg), "{:?}", g.cg.hierarchies());
        let inside = run_in(&mut g, &checks);
        g.cg.remove().unwrap();
        inside
    })
    .join()
    .unwrap();
    assert_eq!(result(&inside, "null"), "ok", "{inside:?}");
    assert!(result(&inside, "kmsg").ends_with(EPERM), "{inside:?}");
}
