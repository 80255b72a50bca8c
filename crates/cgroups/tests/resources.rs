//! Real enforcement of `linux.resources` (root), checked from what the processes experience.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use cgroups::Cgroup;
use common::{unique, Guard};
use oci_spec::runtime::LinuxResources;

fn res(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

fn create(json: &str) -> Guard {
    let r = res(json);
    Guard::new(Cgroup::create(&format!("/{}", unique()), "x", Some(&r)).unwrap())
}

/// The container's directory on the v1 hierarchy of `controller`.
fn dir(cg: &Cgroup, controller: &str) -> Option<PathBuf> {
    cg.hierarchies()
        .into_iter()
        .find(|h| h.fs_type == "cgroup" && h.options.split(',').any(|o| o == controller))
        .map(|h| h.host_path)
}

fn v1_only() -> bool {
    cgroups::mode().unwrap() != cgroups::Mode::V2
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

#[test]
fn memory_limit_oom_kills_a_hog() {
    require_root!();
    // memory+swap = memory: the hog cannot escape to swap.
    let mut g = create(r#"{"memory":{"limit":33554432,"swap":33554432}}"#);
    g.spawn_in("read go; exec dd if=/dev/zero of=/dev/null bs=100M count=1");
    g.go(0);
    let (status, _) = g.finish(0);
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    let stats = g.cg.stats().unwrap();
    assert!(stats.memory.oom_kills >= 1, "{stats:?}");
    assert_eq!(stats.memory.usage.limit, 33554432);
    g.cg.remove().unwrap();
}

#[test]
fn memory_limit_lets_a_small_process_run() {
    require_root!();
    let mut g = create(r#"{"memory":{"limit":33554432,"swap":33554432}}"#);
    g.spawn_in("read go; exec dd if=/dev/zero of=/dev/null bs=4M count=4");
    g.go(0);
    let (status, _) = g.finish(0);
    assert!(status.success(), "{status:?}");
    g.cg.remove().unwrap();
}

#[test]
fn pids_limit_stops_a_fork_loop() {
    require_root!();
    let mut g = create(r#"{"pids":{"limit":10}}"#);
    g.spawn_in(
        "read go; i=0; while [ $i -lt 20 ]; do sleep 100 >/dev/null 2>&1 & i=$((i+1)); done; \
         echo done; wait",
    );
    g.go(0);
    // The loop is over when the shell says so (or died of a failed fork).
    let mut line = String::new();
    {
        use std::io::BufRead;
        let out = g.children[0].stdout.as_mut().unwrap();
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    let n = g.cg.pids().unwrap().len();
    assert!((1..=10).contains(&n), "{n} processes under a limit of 10");
    let stats = g.cg.stats().unwrap();
    assert_eq!(stats.pids.limit, 10);
    assert!(stats.pids.current <= 10, "{stats:?}");
    if v1_only() {
        // The kernel counted refused forks.
        let events = read(dir(&g.cg, "pids").unwrap().join("pids.events"));
        let refused: u64 = events.strip_prefix("max ").unwrap().parse().unwrap();
        assert!(refused >= 1, "pids.events: {events}");
    }
    g.cg.kill_all(libc::SIGKILL).unwrap();
    g.finish(0);
    g.cg.remove().unwrap();
}

#[test]
fn cpu_quota_throttles_a_busy_loop() {
    require_root!();
    let mut g = create(r#"{"cpu":{"quota":20000,"period":100000}}"#);
    g.spawn_in("read go; while :; do :; done");
    g.go(0);
    let before = g.cg.stats().unwrap().cpu;
    let start = Instant::now();
    // A measurement window, not synchronisation.
    std::thread::sleep(Duration::from_millis(600));
    let after = g.cg.stats().unwrap().cpu;
    let wall = start.elapsed().as_nanos() as f64;
    let used = (after.usage_total - before.usage_total) as f64;
    let share = used / wall;
    assert!(
        share < 0.3,
        "busy loop got {share:.2} CPU under a 0.2 quota"
    );
    assert!(share > 0.05, "busy loop got {share:.2} CPU: did it run?");
    assert!(
        after.throttled_periods > before.throttled_periods,
        "{after:?}"
    );
    g.cg.kill_all(libc::SIGKILL).unwrap();
    g.finish(0);
    g.cg.remove().unwrap();
}

#[test]
fn cpuset_pins_to_one_cpu() {
    require_root!();
    let mut g = create(r#"{"cpu":{"cpus":"0","mems":"0"}}"#);
    g.spawn_in("read go; grep Cpus_allowed_list /proc/self/status");
    g.go(0);
    let (status, out) = g.finish(0);
    assert!(status.success());
    assert_eq!(out.split_whitespace().nth(1), Some("0"), "{out}");
    g.cg.remove().unwrap();
}

#[test]
fn device_rules_allow_and_deny() {
    require_root!();
    if !v1_only() {
        eprintln!("skipped: v2 device rules need an eBPF program (not yet)");
        return;
    }
    let probe = "read go; \
        (exec 3</dev/kmsg) 2>/dev/null && echo kmsg-yes || echo kmsg-no; \
        (exec 3</dev/null) 2>/dev/null && echo null-yes || echo null-no";
    // Deny everything: the defaults (null, zero, …) stay usable, kmsg does not.
    let mut g = create(r#"{"devices":[{"allow":false,"access":"rwm"}]}"#);
    g.spawn_in(probe);
    g.go(0);
    let (_, out) = g.finish(0);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["kmsg-no", "null-yes"]
    );
    g.cg.remove().unwrap();
    // Allow kmsg (c 1:11) for reading.
    let mut g = create(
        r#"{"devices":[{"allow":false,"access":"rwm"},
            {"allow":true,"type":"c","major":1,"minor":11,"access":"r"}]}"#,
    );
    g.spawn_in(probe);
    g.go(0);
    let (_, out) = g.finish(0);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["kmsg-yes", "null-yes"]
    );
    g.cg.remove().unwrap();
}

/// The major:minor of the block device holding `path`, from /proc/self/mountinfo.
fn block_device_of(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, String)> = None;
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let (dev, mnt) = (f[2], f[4]);
        let fstype = line.split(" - ").nth(1)?.split(' ').next()?;
        if path.starts_with(mnt) && best.as_ref().is_none_or(|(l, _)| mnt.len() >= *l) {
            best = Some((
                mnt.len(),
                if fstype == "ext4" || fstype == "xfs" {
                    dev.to_string()
                } else {
                    String::new()
                },
            ));
        }
    }
    best.map(|(_, d)| d)
        .filter(|d| !d.is_empty() && !d.starts_with("0:"))
}

#[test]
fn blkio_throttle_slows_direct_reads() {
    require_root!();
    let file = std::env::current_dir()
        .unwrap()
        .join(format!("target-{}.blkio", unique()));
    let Some(dev) = block_device_of(&file) else {
        eprintln!("skipped: {} is not on a plain block device", file.display());
        return;
    };
    struct Rm(PathBuf);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _rm = Rm(file.clone());
    std::fs::write(&file, vec![7u8; 1 << 20]).unwrap();
    let (major, minor) = dev.split_once(':').unwrap();
    let mut g = create(&format!(
        r#"{{"blockIO":{{"throttleReadBpsDevice":[{{"major":{major},"minor":{minor},"rate":1048576}}]}}}}"#
    ));
    if v1_only() {
        assert_eq!(
            read(
                dir(&g.cg, "blkio")
                    .unwrap()
                    .join("blkio.throttle.read_bps_device")
            ),
            format!("{dev} 1048576")
        );
    }
    g.spawn_in(&format!(
        "read go; exec dd if={} of=/dev/null bs=64k iflag=direct status=none",
        file.display()
    ));
    let start = Instant::now();
    g.go(0);
    let (status, _) = g.finish(0);
    let took = start.elapsed();
    assert!(status.success());
    // 1 MiB at 1 MiB/s; unthrottled this takes a few milliseconds.
    assert!(
        took > Duration::from_millis(500),
        "1 MiB direct read took {took:?}"
    );
    g.cg.remove().unwrap();
}

/// A setting the host cannot honour: one clear error naming the field, and nothing left behind.
fn refused(json: &str, field: &str) {
    let name = unique();
    let r = res(json);
    let e = match Cgroup::create(&format!("/{name}"), "x", Some(&r)) {
        Ok(cg) => {
            cg.remove().unwrap();
            panic!("{json} was accepted");
        }
        Err(e) => e,
    };
    assert!(e.to_string().starts_with(field), "{e}");
    assert!(!e.to_string().contains('\n'));
    for entry in std::fs::read_dir("/sys/fs/cgroup").unwrap() {
        let p = entry.unwrap().path().join(&name);
        assert!(!p.exists(), "{} left behind", p.display());
    }
    assert!(!PathBuf::from("/sys/fs/cgroup").join(&name).exists());
}

#[test]
fn missing_controllers_and_files_are_clear_errors() {
    require_root!();
    let has = |f: &str| {
        std::fs::read_dir("/sys/fs/cgroup")
            .unwrap()
            .any(|e| e.unwrap().path().join(f).exists())
    };
    // blkio weight: the root cgroup never shows the weight files; a child shows them when the
    // CFQ/BFQ scheduler is loaded. Either the weight is written or the error names it.
    let r = res(r#"{"blockIO":{"weight":500}}"#);
    match Cgroup::create(&format!("/{}", unique()), "x", Some(&r)) {
        Ok(cg) => {
            let g = Guard::new(cg);
            let d = if v1_only() {
                dir(&g.cg, "blkio").unwrap()
            } else {
                PathBuf::new()
            };
            let v: Vec<String> = [
                "blkio.weight",
                "blkio.bfq.weight",
                "io.bfq.weight",
                "io.weight",
            ]
            .iter()
            .filter_map(|f| std::fs::read_to_string(d.join(f)).ok())
            .collect();
            assert!(v.iter().any(|s| s.contains("500")), "{v:?}");
            g.cg.remove().unwrap();
        }
        Err(e) => assert!(
            e.to_string().starts_with("linux.resources.blockIO.weight"),
            "{e}"
        ),
    }
    if !has("hugetlb.2MB.limit_in_bytes") && v1_only() {
        refused(
            r#"{"hugepageLimits":[{"pageSize":"2MB","limit":2097152}]}"#,
            "linux.resources.hugepageLimits[0]",
        );
    }
    if v1_only() && !has("net_cls.classid") {
        refused(
            r#"{"network":{"classID":1}}"#,
            "linux.resources.network.classID",
        );
    }
    // Invalid values are refused before anything is created.
    refused(
        r#"{"memory":{"limit":100,"swap":50}}"#,
        "linux.resources.memory.swap",
    );
    refused(
        r#"{"devices":[{"allow":true,"access":"x"}]}"#,
        "linux.resources.devices[0].access",
    );
    // Asking for nothing unavailable works.
    let g = create(r#"{"pids":{"limit":5}}"#);
    g.cg.remove().unwrap();
}

#[test]
fn update_changes_live_limits_in_either_order() {
    require_root!();
    let mut g = create(r#"{"memory":{"limit":33554432,"swap":33554432},"pids":{"limit":5}}"#);
    g.spawn_in("exec sleep 100");
    // Raising memory above the current memory+swap limit needs memsw written first.
    g.cg.update(&res(
        r#"{"memory":{"limit":67108864,"swap":134217728},"pids":{"limit":7}}"#,
    ))
    .unwrap();
    let s = g.cg.stats().unwrap();
    assert_eq!(s.memory.usage.limit, 67108864);
    assert_eq!(s.pids.limit, 7);
    if v1_only() {
        assert_eq!(s.memory.swap.limit, 134217728);
    }
    // And lowering needs memory first.
    g.cg.update(&res(r#"{"memory":{"limit":16777216,"swap":16777216}}"#))
        .unwrap();
    assert_eq!(g.cg.stats().unwrap().memory.usage.limit, 16777216);
    // An update that cannot be applied names its field: on v1, memory above memory+swap.
    if v1_only() {
        let e =
            g.cg.update(&res(r#"{"memory":{"limit":67108864}}"#))
                .unwrap_err();
        assert!(
            e.to_string().starts_with("linux.resources.memory.limit"),
            "{e}"
        );
    }
    g.cg.kill_all(libc::SIGKILL).unwrap();
    g.finish(0);
    g.cg.remove().unwrap();
}

#[test]
fn stats_report_usage() {
    require_root!();
    // Memory usage is counted only where the memory controller is joined: ask for a limit.
    let mut g = create(r#"{"pids":{"limit":50},"memory":{"limit":1073741824}}"#);
    g.spawn_in("read go; x=$(head -c 3000000 /dev/zero | tr '\\0' a); echo ${#x}; read stop");
    g.go(0);
    let mut line = String::new();
    {
        use std::io::BufRead;
        let out = g.children[0].stdout.as_mut().unwrap();
        std::io::BufReader::new(out).read_line(&mut line).unwrap();
    }
    assert_eq!(line.trim(), "3000000");
    let s = g.cg.stats().unwrap();
    assert!(s.memory.usage.usage > 1_000_000, "{:?}", s.memory.usage);
    assert!(s.cpu.usage_total > 0);
    assert_eq!(s.pids.current, 1);
    assert!(!s.memory.raw.is_empty());
    g.cg.kill_all(libc::SIGKILL).unwrap();
    g.finish(0);
    g.cg.remove().unwrap();
}

#[test]
fn unified_keys_go_to_the_cgroup2_hierarchy() {
    require_root!();
    if cgroups::mode().unwrap() == cgroups::Mode::V1 {
        refused(
            r#"{"unified":{"pids.max":"5"}}"#,
            "linux.resources.unified.pids.max",
        );
        return;
    }
    let g = create(r#"{"unified":{"cgroup.max.descendants":"3"}}"#);
    let uni =
        g.cg.hierarchies()
            .into_iter()
            .find(|h| h.fs_type == "cgroup2")
            .unwrap()
            .host_path;
    assert_eq!(read(uni.join("cgroup.max.descendants")), "3");
    g.cg.remove().unwrap();
}

#[test]
fn update_joins_a_controller_the_container_was_created_without() {
    require_root!();
    let mut g = create(r#"{"pids":{"limit":50}}"#);
    let before: Vec<_> =
        g.cg.hierarchies()
            .into_iter()
            .map(|h| h.mount_dir)
            .collect();
    let pid = g.spawn_in("read go; sleep 100 & sleep 100 & wait");
    g.go(0);
    assert!(common::wait_for(Duration::from_secs(5), || g
        .cg
        .pids()
        .unwrap()
        .len()
        == 3));
    g.cg.update(&res(r#"{"cpu":{"quota":50000,"period":100000}}"#))
        .unwrap();
    let opened = Cgroup::open(g.cg.path());
    let cpu = dir(&opened, "cpu").expect("cpu cgroup made by update");
    assert_eq!(read(cpu.join("cpu.cfs_quota_us")), "50000");
    // Every process moved in.
    let mut inside: Vec<i32> = read(cpu.join("cgroup.procs"))
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    inside.sort();
    let mut all = g.cg.pids().unwrap();
    all.sort();
    assert_eq!(inside, all, "cpu cgroup vs container (was on {before:?})");
    assert!(all.contains(&(pid as i32)));
    assert!(!g.cg.is_frozen());
    g.cg.kill_all(libc::SIGKILL).unwrap();
    g.finish(0);
    // remove() of the original handle also removes the cgroup update made.
    g.cg.remove().unwrap();
    assert!(!cpu.exists());
}
