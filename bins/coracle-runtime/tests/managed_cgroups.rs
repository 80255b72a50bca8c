//! Which cgroup hierarchies a container without resource limits is put in on a hybrid host:
//! with a `linux.cgroupsPath` (a manager such as Docker, Podman or containerd placed it and
//! reads its stats there) every v1 hierarchy too, as runc does; without one only
//! the unified hierarchy (the lean default path). On other layouts every hierarchy is used
//! either way, so these checks apply to hybrid hosts only.

mod common;

use common::{assert_nothing_left, start, Bundle, Runtime};

fn hybrid() -> bool {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    own.lines().any(|l| l.starts_with("0::")) && own.lines().count() > 1
}

/// The hierarchies (mount directory names) holding `pid`, by the cgroup path they show.
fn hierarchies_of(pid: i64, path: &str) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap()
        .lines()
        .filter(|l| l.ends_with(path))
        .map(|l| {
            let ctrls = l.split(':').nth(1).unwrap_or("");
            if ctrls.is_empty() {
                "unified".to_string()
            } else {
                ctrls.to_string()
            }
        })
        .collect()
}

fn joins(h: &[String], controller: &str) -> bool {
    h.iter().any(|x| x.split(',').any(|c| c == controller))
}

#[test]
fn a_placed_container_is_accounted_in_v1_like_runc() {
    if !hybrid() {
        eprintln!("SKIPPED: not a hybrid cgroup host");
        return;
    }
    let rt = Runtime::new();
    let id = rt.new_id();
    let cg = format!("/{id}-placed");
    let bundle = Bundle::busybox()
        .args(&["sleep", "1000"])
        .config(|c| c["linux"]["cgroupsPath"] = cg.clone().into());
    let id = start(&rt, &bundle);
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let on = hierarchies_of(pid, &cg);
    for c in ["memory", "cpuacct", "blkio", "pids"] {
        assert!(joins(&on, c), "not in its own {c} cgroup: {on:?}");
    }
    assert!(on.iter().any(|h| h == "unified"), "{on:?}");
    rt.run_ok(&["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn an_unplaced_container_stays_on_the_unified_hierarchy() {
    if !hybrid() {
        eprintln!("SKIPPED: not a hybrid cgroup host");
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "1000"]);
    let id = start(&rt, &bundle);
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let on = hierarchies_of(pid, &format!("/{id}"));
    assert_eq!(on, ["unified"]);
    rt.run_ok(&["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}
