//! Real cgroups (root): create, join, list, signal, freeze, remove — on whatever layout the host has.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use cgroups::Cgroup;
use common::{unique, wait_for, Guard};

fn proc_cgroup_paths(pid: u32) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap()
        .lines()
        .map(|l| l.splitn(3, ':').nth(2).unwrap().to_string())
        .collect()
}

#[test]
fn join_list_kill_remove() {
    require_root!();
    let name = unique();
    let path = format!("/{name}");
    let mut g = Guard::new(Cgroup::create(&path, "ignored", None).unwrap());
    assert_eq!(g.cg.path(), path);
    let hier = g.cg.hierarchies();
    assert!(!hier.is_empty());
    for h in &hier {
        assert!(h.host_path.is_dir(), "{} missing", h.host_path.display());
        assert!(h.host_path.ends_with(&name));
    }

    let pid = g.spawn_in("exec sleep 100");
    // Every hierarchy the cgroup is on shows the process in it.
    let lines = proc_cgroup_paths(pid);
    assert_eq!(
        lines.iter().filter(|l| **l == path).count(),
        hier.len(),
        "/proc/{pid}/cgroup: {lines:?}"
    );
    if cgroups::mode().unwrap() == cgroups::Mode::Hybrid {
        // No resources: the unified hierarchy only (no v1 migration to pay for).
        let dirs: Vec<_> = hier.iter().map(|h| h.mount_dir.as_str()).collect();
        assert_eq!(dirs, ["unified"]);
    } else {
        assert_eq!(lines.len(), hier.len(), "{lines:?}");
    }
    assert_eq!(g.cg.pids().unwrap(), vec![pid as i32]);
    assert!(!g.cg.is_frozen());

    g.cg.kill_all(libc::SIGKILL).unwrap();
    let status = g.wait(0);
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    g.cg.remove().unwrap();
    for h in &hier {
        assert!(!h.host_path.exists(), "{} left", h.host_path.display());
    }
}

#[test]
fn default_path_is_slash_id_and_open_finds_it() {
    require_root!();
    let id = unique();
    let g = Guard::new(Cgroup::create("", &id, None).unwrap());
    assert_eq!(g.cg.path(), format!("/{id}"));
    // Another process (here: another handle) opens it from the recorded path.
    let opened = Cgroup::open(g.cg.path());
    let a: Vec<_> =
        g.cg.hierarchies()
            .into_iter()
            .map(|h| h.host_path)
            .collect();
    let b: Vec<_> = opened
        .hierarchies()
        .into_iter()
        .map(|h| h.host_path)
        .collect();
    assert_eq!(a, b);
    assert!(opened.pids().unwrap().is_empty());
    opened.remove().unwrap();
    for p in a {
        assert!(!p.exists(), "{} left", p.display());
    }
}

#[test]
fn nested_path_is_fully_removed() {
    require_root!();
    let top = unique();
    let g = Guard::new(Cgroup::create(&format!("/{top}/a/b"), "x", None).unwrap());
    let hier = g.cg.hierarchies();
    let tops: Vec<_> = hier
        .iter()
        .map(|h| {
            h.host_path
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .to_path_buf()
        })
        .collect();
    for t in &tops {
        assert!(t.ends_with(&top) && t.is_dir());
    }
    g.cg.remove().unwrap();
    for t in &tops {
        assert!(!t.exists(), "{} left", t.display());
    }
}

#[test]
fn parents_that_existed_are_kept() {
    require_root!();
    let top = unique();
    let parent = Guard::new(Cgroup::create(&format!("/{top}"), "x", None).unwrap());
    let parent_dirs: Vec<_> = parent
        .cg
        .hierarchies()
        .into_iter()
        .map(|h| h.host_path)
        .collect();
    let child = Cgroup::create(&format!("/{top}/c/d"), "x", None).unwrap();
    child.remove().unwrap();
    for p in &parent_dirs {
        assert!(p.is_dir(), "{} removed", p.display());
        assert!(!p.join("c").exists(), "{}/c left", p.display());
    }
    parent.cg.remove().unwrap();
    for p in &parent_dirs {
        assert!(!p.exists());
    }
}

#[test]
fn relative_path_is_below_own_cgroup() {
    require_root!();
    let name = unique();
    let g = Guard::new(Cgroup::create(&name, "x", None).unwrap());
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let base = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .or_else(|| own.lines().find_map(|l| l.strip_prefix("1:name=systemd:")))
        .unwrap_or("/")
        .trim_end_matches('/')
        .to_string();
    assert_eq!(g.cg.path(), format!("{base}/{name}"));
}

#[test]
fn signal_reaches_every_process_including_forked_ones() {
    require_root!();
    let mut g = Guard::new(Cgroup::create(&format!("/{}", unique()), "x", None).unwrap());
    // The shell forks two children after it has joined.
    let pid = g.spawn_in("read go; sleep 100 & sleep 100 & wait");
    g.go(0);
    assert!(
        wait_for(Duration::from_secs(5), || g.cg.pids().unwrap().len() == 3),
        "pids: {:?}",
        g.cg.pids()
    );
    assert!(g.cg.pids().unwrap().contains(&(pid as i32)));
    g.cg.kill_all(libc::SIGTERM).unwrap();
    let status = g.wait(0);
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert!(
        wait_for(Duration::from_secs(5), || g.cg.pids().unwrap().is_empty()),
        "left: {:?}",
        g.cg.pids()
    );
    assert!(!g.cg.is_frozen(), "kill_all left the cgroup frozen");
    g.cg.remove().unwrap();
}

fn proc_state(pid: u32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after[..1].to_string()
}

#[test]
fn freeze_and_thaw() {
    require_root!();
    let mut g = Guard::new(Cgroup::create(&format!("/{}", unique()), "x", None).unwrap());
    // A busy loop: running until frozen.
    let pid = g.spawn_in("while :; do :; done");
    g.cg.freeze().unwrap();
    assert!(g.cg.is_frozen());
    assert!(Cgroup::open(g.cg.path()).is_frozen());
    // A frozen task does not run: its CPU time stands still.
    let ticks = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    let before = ticks();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        ticks(),
        before,
        "frozen task ran (state {})",
        proc_state(pid)
    );
    g.cg.thaw().unwrap();
    assert!(!g.cg.is_frozen());
    assert!(
        wait_for(Duration::from_secs(5), || ticks() > before),
        "thawed task does not run"
    );
    // kill_all on a frozen cgroup still ends it.
    g.cg.freeze().unwrap();
    g.cg.kill_all(libc::SIGKILL).unwrap();
    let _ = g.cg.thaw();
    assert_eq!(g.wait(0).signal(), Some(libc::SIGKILL));
    g.cg.remove().unwrap();
}

#[test]
fn remove_refuses_a_cgroup_with_live_processes() {
    require_root!();
    let mut g = Guard::new(Cgroup::create(&format!("/{}", unique()), "x", None).unwrap());
    let pid = g.spawn_in("exec sleep 100");
    let e = g.cg.remove().unwrap_err();
    assert!(e.to_string().contains(&pid.to_string()), "{e}");
    assert!(g.cg.hierarchies().iter().any(|h| h.host_path.exists()));
}

#[test]
fn remove_waits_for_exiting_processes() {
    require_root!();
    let mut g = Guard::new(Cgroup::create(&format!("/{}", unique()), "x", None).unwrap());
    for _ in 0..5 {
        g.spawn_in("exec sleep 100");
    }
    // Kill and remove at once: the processes may still be exiting.
    g.cg.kill_all(libc::SIGKILL).unwrap();
    g.cg.remove().unwrap();
    for h in g.cg.hierarchies() {
        assert!(!h.host_path.exists());
    }
}

#[test]
fn hierarchies_describe_the_mounts() {
    require_root!();
    let g = Guard::new(Cgroup::create(&format!("/{}", unique()), "x", None).unwrap());
    let mode = cgroups::mode().unwrap();
    let hier = g.cg.hierarchies();
    for h in &hier {
        let mountpoint = h.host_path.ancestors().nth(1).unwrap().to_path_buf();
        match h.fs_type {
            "cgroup2" => {
                assert!(h.options.is_empty());
                assert!(mountpoint.join("cgroup.controllers").exists());
            }
            "cgroup" => {
                assert!(!h.options.is_empty());
                assert!(mode != cgroups::Mode::V2);
            }
            t => panic!("fs_type {t}"),
        }
        if mountpoint.starts_with("/sys/fs/cgroup") && mode != cgroups::Mode::V2 {
            assert_eq!(Path::new("/sys/fs/cgroup").join(&h.mount_dir), mountpoint);
        }
    }
    if mode == cgroups::Mode::Hybrid {
        assert!(hier
            .iter()
            .any(|h| h.fs_type == "cgroup2" && h.mount_dir == "unified"));
        // Without resources no v1 hierarchy is joined.
        assert_eq!(hier.len(), 1, "{hier:?}");
    }
}

#[test]
fn bad_paths_are_clear_errors() {
    let e = Cgroup::create("/a/../b", "x", None).unwrap_err();
    assert!(e.to_string().contains("linux.cgroupsPath"), "{e}");
    let e = Cgroup::create("/", "x", None).unwrap_err();
    assert!(e.to_string().contains("root cgroup"), "{e}");
}

#[test]
fn open_of_a_bad_path_touches_nothing() {
    require_root!();
    let g = Guard::new(Cgroup::create(&format!("/{}", unique()), "x", None).unwrap());
    for bad in ["", "/", "//", "/a/../.."] {
        let cg = Cgroup::open(bad);
        assert!(cg.hierarchies().is_empty(), "{bad:?}");
        let e = cg.remove().unwrap_err();
        assert!(
            e.to_string().contains("does not name a container cgroup"),
            "{e}"
        );
        assert!(cg.pids().is_err() && cg.kill_all(libc::SIGKILL).is_err());
        assert!(!cg.is_frozen());
    }
    // The sibling test cgroup is untouched.
    for h in g.cg.hierarchies() {
        assert!(h.host_path.is_dir());
    }
}
