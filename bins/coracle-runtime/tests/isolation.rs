//! What a container promises, checked from inside the way a user would check it: its own process
//! tree, its own mounts, its own root filesystem and names, and a `reboot` that ends only itself.

mod common;

use common::{assert_nothing_left, exit_code, stdout, wait_until, Bundle, HostSnapshot, Runtime};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::process::Output;
use std::time::Duration;

/// Exit 0 or panic showing everything the runtime said; return stdout.
fn ok_stdout(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "container failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(out)
}

/// `ps` inside lists only the container's processes, and the container's init is pid 1.
#[test]
fn ps_shows_only_the_containers_processes_with_init_as_pid_1() {
    let rt = Runtime::new();
    // The init (sh) keeps running a child and then runs ps: three processes in all. The shell
    // waits until its background child has become `sleep` (until then it is a copy of the shell).
    let bundle = Bundle::busybox().args(&[
        "sh",
        "-c",
        "sleep 300 & until grep -q sleep /proc/$!/cmdline; do :; done; ps -o pid,args; kill $!; wait",
    ]);
    let (id, out) = rt.run(&bundle);
    let text = ok_stdout(&out);
    let rows: Vec<(u32, String)> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let l = l.trim();
            let (pid, args) = l.split_once(char::is_whitespace)?;
            Some((pid.parse().ok()?, args.trim().to_string()))
        })
        .collect();
    assert_eq!(rows.len(), 3, "expected sh, sleep and ps only:\n{text}");
    assert_eq!(rows[0].0, 1, "the init is not pid 1:\n{text}");
    assert!(
        rows[0].1.starts_with("sh -c"),
        "pid 1 is not the init:\n{text}"
    );
    assert!(
        rows.iter().any(|(_, a)| a == "sleep 300"),
        "the init's child is missing:\n{text}"
    );
    assert!(
        // busybox may run the ps applet in a forked shell: "{ps} sh -c …"
        rows.iter()
            .any(|(_, a)| a.starts_with("ps ") || a.starts_with("{ps}")),
        "ps itself is missing:\n{text}"
    );
    assert_nothing_left(&rt, &bundle, &id);
}

/// Mount points of a mountinfo text (field 5), octal escapes left as they are.
fn mount_points(mountinfo: &str) -> Vec<String> {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(String::from))
        .collect()
}

/// The container's mount table holds its root, the spec's mounts, masked and read-only paths —
/// and none of the host's other mount points.
#[test]
fn mountinfo_shows_only_the_containers_mounts() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["cat", "/proc/self/mountinfo"]);
    let spec = bundle.spec().clone();
    let (id, out) = rt.run(&bundle);
    let inside = mount_points(&ok_stdout(&out));

    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(String::from))
            .collect()
    };
    let destinations: Vec<String> = spec["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["destination"].as_str().unwrap().to_string())
        .collect();
    let mut allowed: BTreeSet<String> = destinations.iter().cloned().collect();
    allowed.insert("/".into());
    allowed.extend(strings(&spec["linux"]["maskedPaths"]));
    allowed.extend(strings(&spec["linux"]["readonlyPaths"]));
    for m in &inside {
        assert!(
            allowed.contains(m) || m.starts_with("/sys/fs/cgroup/"),
            "mount point {m} is not one of the container's: {inside:?}"
        );
    }
    for d in &destinations {
        assert!(
            inside.contains(d),
            "spec mount {d} missing inside: {inside:?}"
        );
    }
    assert_eq!(
        inside.iter().filter(|m| *m == "/").count(),
        1,
        "one root mount expected: {inside:?}"
    );
    // The host's own mount points (other than the usual /proc, /sys, /dev…) are not there.
    let host = mount_points(&fs::read_to_string("/proc/self/mountinfo").unwrap());
    let host_only: Vec<&String> = host.iter().filter(|m| !allowed.contains(*m)).collect();
    for m in &host_only {
        if m.starts_with("/sys/fs/cgroup/") {
            continue; // the container has its own cgroup mounts under the same names
        }
        assert!(
            !inside.contains(m),
            "host mount point {m} visible inside: {inside:?}"
        );
    }
    assert_nothing_left(&rt, &bundle, &id);
}

/// `ls -a /` inside lists exactly the bundle's rootfs entries, including a marker only that rootfs
/// has, and nothing of the host (the bundle directory around the rootfs, /work).
#[test]
fn ls_root_shows_exactly_the_bundle_rootfs() {
    let rt = Runtime::new();
    let marker = format!("marker-{}", rt.new_id());
    let bundle = Bundle::busybox().args(&[
        "sh",
        "-c",
        "ls -a1 /; echo ---; test -e /work && echo has-work; test -e /config.json && echo has-config; true",
    ]);
    fs::write(bundle.rootfs().join(&marker), "x").unwrap();
    let host_only = format!("host-only-{}", rt.new_id());
    fs::write(bundle.path().join(&host_only), "x").unwrap();
    let mut expected: BTreeSet<String> = fs::read_dir(bundle.rootfs())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    expected.insert(".".into());
    expected.insert("..".into());

    let (id, out) = rt.run(&bundle);
    let text = ok_stdout(&out);
    let (listing, probes) = text.split_once("---\n").expect("separator");
    let seen: BTreeSet<String> = listing.lines().map(String::from).collect();
    assert!(
        seen.contains(&marker),
        "marker {marker} not listed: {seen:?}"
    );
    assert!(!seen.contains(&host_only), "host file listed: {seen:?}");
    assert_eq!(seen, expected, "ls / differs from the bundle's rootfs");
    assert_eq!(probes.trim(), "", "host paths reachable inside");
    assert_nothing_left(&rt, &bundle, &id);
}

fn host_names() -> (String, String) {
    (
        fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        fs::read_to_string("/proc/sys/kernel/domainname").unwrap(),
    )
}

/// `hostname` and the domain name inside are the spec's; the host's stay as they were.
#[test]
fn hostname_and_domainname_are_the_containers() {
    let rt = Runtime::new();
    let n = std::process::id();
    let host = format!("ctr-{n}");
    let domain = format!("dom-{n}.example");
    let before = host_names();
    let bundle = Bundle::busybox()
        .args(&["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"])
        .config(|c| {
            c["hostname"] = host.clone().into();
            c["domainname"] = domain.clone().into();
        });
    let (id, out) = rt.run(&bundle);
    let text = ok_stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines, [host.as_str(), domain.as_str()], "inside: {text}");
    assert_eq!(host_names(), before, "the host's names changed");
    assert_nothing_left(&rt, &bundle, &id);
}

fn with_sys_boot(c: &mut Value) {
    for set in ["bounding", "effective", "permitted", "ambient"] {
        c["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push("CAP_SYS_BOOT".into());
    }
}

fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap()
}

fn alive(pid: i64) -> bool {
    // A zombie waiting to be reaped counts as gone.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
                .unwrap_or(false)
        })
        .unwrap_or(false)
}

/// `reboot` in a container with CAP_SYS_BOOT ends that container (its pid namespace), not the host
/// and not a second container running beside it.
#[test]
fn reboot_inside_ends_only_that_container() {
    let rt = Runtime::new();
    let boot = boot_id();
    let other = Bundle::busybox().args(&["sleep", "1000"]);
    let other_id = rt.create(&other);
    rt.run_ok(&["start", &other_id]);
    rt.wait_status(&other_id, "running", Duration::from_secs(10));
    let other_pid = rt.state(&other_id)["pid"].as_i64().unwrap();

    // Reboot from a child of the init (as a system container's reboot would): the whole
    // container ends, and `reboot-failed` would keep it running long enough to notice.
    let bundle = Bundle::busybox()
        .args(&["sh", "-c", "reboot -f; echo reboot-failed; sleep 1000"])
        .config(with_sys_boot);
    let id = rt.create(&bundle);
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    rt.run_ok(&["start", &id]);
    rt.wait_status(&id, "stopped", Duration::from_secs(10));
    assert!(!alive(pid), "the rebooted container's init {pid} lives on");

    assert_eq!(
        rt.status(&other_id),
        "running",
        "the other container stopped"
    );
    assert!(alive(other_pid), "the other container's init died");
    assert_eq!(boot_id(), boot, "the host rebooted?");
    rt.run_ok(&["delete", &id]);
    assert_nothing_left(&rt, &bundle, &id);
    rt.run_ok(&["delete", "--force", &other_id]);
    assert_nothing_left(&rt, &other, &other_id);
}

/// In the foreground, `run` reports a rebooted container as ended by SIGHUP (the kernel's
/// restart signal for a pid namespace): exit code 128 + 1, as runc does.
#[test]
fn reboot_inside_foreground_run_reports_sighup() {
    let rt = Runtime::new();
    let boot = boot_id();
    let bundle = Bundle::busybox()
        .args(&["sh", "-c", "reboot -f; echo reboot-failed; exit 7"])
        .config(with_sys_boot);
    let id = rt.new_id();
    let before = HostSnapshot::take(&rt, &bundle, &[&id]);
    let out = rt.output(&["run", "--bundle", bundle.path_str(), &id]);
    assert_eq!(
        exit_code(&out),
        129,
        "stdout: {}\nstderr: {}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout(&out).contains("reboot-failed"));
    assert_eq!(boot_id(), boot);
    HostSnapshot::take(&rt, &bundle, &[&id]).assert_same_as(&before);
}

/// Without CAP_SYS_BOOT, `reboot` is refused and the container carries on.
#[test]
fn reboot_without_cap_sys_boot_is_refused() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sh", "-c", "reboot -f; echo still-here"]);
    let (id, out) = rt.run(&bundle);
    assert_eq!(ok_stdout(&out).trim(), "still-here");
    assert_nothing_left(&rt, &bundle, &id);
}

/// The NSpid line of the container's init, seen from the host: its host pid, then 1.
#[test]
fn nspid_from_the_host_shows_two_levels() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "1000"]);
    let id = rt.create(&bundle);
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let nspid = |status: &str| -> Vec<i64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix("NSpid:"))
            .expect("NSpid line")
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect()
    };
    let own_levels = nspid(&fs::read_to_string("/proc/self/status").unwrap()).len();
    let levels = nspid(&fs::read_to_string(format!("/proc/{pid}/status")).unwrap());
    assert_eq!(levels.len(), own_levels + 1, "NSpid of {pid}: {levels:?}");
    assert_eq!(levels.first(), Some(&pid));
    assert_eq!(levels.last(), Some(&1));
    rt.run_ok(&["delete", "--force", &id]);
    assert!(wait_until(Duration::from_secs(5), || !alive(pid)));
    assert_nothing_left(&rt, &bundle, &id);

    // Inside, the container's /proc knows only the inner level.
    let inner = Bundle::busybox().args(&["grep", "NSpid", "/proc/self/status"]);
    let (inner_id, out) = rt.run(&inner);
    assert_eq!(nspid(&ok_stdout(&out)), [1], "inside");
    assert_nothing_left(&rt, &inner, &inner_id);
}
