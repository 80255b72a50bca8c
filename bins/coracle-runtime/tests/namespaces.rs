//! Namespaces: each kind made new (and the unlisted ones shared with the host), joined by path
//! (a network namespace made with `ip netns`, another container's namespaces), user namespaces with
//! several id ranges, time offsets, the cgroup namespace's root, and bad paths.

mod common;

use common::{assert_nothing_left, stdout, unique_id, wait_until, Bundle, Runtime};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// The /proc/<pid>/ns names and the spec's names for them.
const KINDS: [(&str, &str); 8] = [
    ("pid", "pid"),
    ("net", "network"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("mnt", "mount"),
    ("cgroup", "cgroup"),
    ("time", "time"),
    ("user", "user"),
];

/// A shell script printing "<name> <link>" for every namespace of the shell itself.
const PRINT_NS: &str =
    "for n in pid net ipc uts mnt cgroup time user; do echo $n $(readlink /proc/self/ns/$n); done";

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

fn parse_ns(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, link)| (n.to_string(), link.trim().to_string()))
        .collect()
}

/// The host's (this test process's) namespace links.
fn host_ns() -> BTreeMap<String, String> {
    KINDS
        .iter()
        .map(|(n, _)| {
            let link = fs::read_link(format!("/proc/self/ns/{n}")).unwrap();
            (n.to_string(), link.display().to_string())
        })
        .collect()
}

/// A process's namespace links, read from the host.
fn ns_of(pid: i64) -> BTreeMap<String, String> {
    KINDS
        .iter()
        .map(|(n, _)| {
            let link = fs::read_link(format!("/proc/{pid}/ns/{n}")).unwrap();
            (n.to_string(), link.display().to_string())
        })
        .collect()
}

fn set_namespaces(c: &mut Value, list: Value) {
    c["linux"]["namespaces"] = list;
}

/// Every kind but user listed without a path: each is new, user is the host's.
#[test]
fn listed_namespaces_are_new() {
    let rt = Runtime::new();
    let kinds = ["pid", "network", "ipc", "uts", "mount", "cgroup", "time"];
    let bundle = Bundle::busybox()
        .args(&["sh", "-c", PRINT_NS])
        .config(|c| set_namespaces(c, kinds.iter().map(|k| json!({ "type": k })).collect()));
    let (id, out) = rt.run(&bundle);
    let inside = parse_ns(&ok_stdout(&out));
    let host = host_ns();
    for (n, _) in KINDS {
        let (i, h) = (&inside[n], &host[n]);
        assert!(i.starts_with(&format!("{n}:[")), "{n}: {i}");
        if n == "user" {
            assert_eq!(i, h, "user namespace is not the host's");
        } else {
            assert_ne!(i, h, "{n} namespace is the host's");
        }
    }
    assert_nothing_left(&rt, &bundle, &id);
}

/// With only a mount namespace listed, every other namespace is the host's.
#[test]
fn unlisted_namespaces_are_the_hosts() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sh", "-c", PRINT_NS]).config(|c| {
        set_namespaces(c, json!([{ "type": "mount" }]));
        c.as_object_mut().unwrap().remove("hostname");
    });
    let (id, out) = rt.run(&bundle);
    let inside = parse_ns(&ok_stdout(&out));
    let host = host_ns();
    for (n, _) in KINDS {
        if n == "mnt" {
            assert_ne!(inside[n], host[n], "mount namespace is the host's");
        } else {
            assert_eq!(inside[n], host[n], "{n} namespace is not the host's");
        }
    }
    assert_nothing_left(&rt, &bundle, &id);
}

/// A network namespace made by the test with `ip netns add`, deleted on Drop.
struct NetNs {
    name: String,
}

impl NetNs {
    fn new() -> NetNs {
        let name = unique_id();
        sh(&["ip", "netns", "add", &name]);
        NetNs { name }
    }

    fn path(&self) -> PathBuf {
        PathBuf::from(format!("/var/run/netns/{}", self.name))
    }

    fn ip(&self, args: &[&str]) {
        let mut all = vec!["ip", "-n", &self.name];
        all.extend_from_slice(args);
        sh(&all);
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

/// A network namespace joined by path: the container sees the addresses and links set up there.
#[test]
fn joins_a_network_namespace_by_path() {
    let netns = NetNs::new();
    netns.ip(&["link", "set", "lo", "up"]);
    netns.ip(&["addr", "add", "10.213.7.1/32", "dev", "lo"]);
    netns.ip(&[
        "link", "add", "coracle0", "type", "veth", "peer", "name", "coracle1",
    ]);
    let ino = fs::metadata(netns.path()).unwrap().ino();

    let rt = Runtime::new();
    let path = netns.path().display().to_string();
    let bundle = Bundle::busybox()
        .args(&["sh", "-c", "readlink /proc/self/ns/net; ip addr"])
        .config(|c| {
            set_namespaces(
                c,
                json!([{ "type": "pid" }, { "type": "network", "path": path },
                       { "type": "ipc" }, { "type": "uts" }, { "type": "mount" }]),
            )
        });
    let (id, out) = rt.run(&bundle);
    let text = ok_stdout(&out);
    assert_eq!(text.lines().next(), Some(format!("net:[{ino}]").as_str()));
    assert!(
        text.contains("inet 10.213.7.1/32"),
        "address missing: {text}"
    );
    assert!(
        text.contains("coracle0@coracle1") && text.contains("coracle1@coracle0"),
        "veth pair missing: {text}"
    );
    assert_nothing_left(&rt, &bundle, &id);
    // The namespace outlives the container, untouched.
    let left = sh(&["ip", "-n", &netns.name, "addr", "show", "dev", "lo"]);
    assert!(left.contains("10.213.7.1"), "{left}");
}

/// A second container joins the first one's network, ipc, uts and pid namespaces through
/// /proc/<pid>/ns: same hostname, same POSIX message queues, each other's processes.
#[test]
fn joins_another_containers_namespaces() {
    let rt = Runtime::new();
    let hostname = format!("shared-{}", std::process::id());
    let first = Bundle::busybox()
        .args(&[
            "sh",
            "-c",
            "touch /dev/mqueue/coracle-marker && exec sleep 1000",
        ])
        .config(|c| c["hostname"] = hostname.clone().into());
    let first_id = rt.create(&first);
    rt.run_ok(&["start", &first_id]);
    let pid = rt.state(&first_id)["pid"].as_i64().unwrap();
    let marker = format!("/proc/{pid}/root/dev/mqueue/coracle-marker");
    assert!(
        wait_until(Duration::from_secs(10), || Path::new(&marker).exists()),
        "the first container made no message queue"
    );

    let p = |n: &str| format!("/proc/{pid}/ns/{n}");
    let second = Bundle::busybox()
        .args(&[
            "sh",
            "-c",
            &format!("{PRINT_NS}; hostname; ls /dev/mqueue; ps -o pid,args"),
        ])
        .config(|c| {
            c.as_object_mut().unwrap().remove("hostname");
            set_namespaces(
                c,
                json!([{ "type": "pid", "path": p("pid") },
                       { "type": "network", "path": p("net") },
                       { "type": "ipc", "path": p("ipc") },
                       { "type": "uts", "path": p("uts") },
                       { "type": "mount" }]),
            )
        });
    let (second_id, out) = rt.run(&second);
    let text = ok_stdout(&out);
    let inside = parse_ns(&text);
    let first_ns = ns_of(pid);
    for n in ["pid", "net", "ipc", "uts"] {
        assert_eq!(inside[n], first_ns[n], "{n} namespace not joined");
    }
    assert_ne!(
        inside["mnt"], first_ns["mnt"],
        "mount namespace was not new"
    );
    assert!(
        text.lines().any(|l| l == hostname),
        "hostname not shared: {text}"
    );
    assert!(
        text.lines().any(|l| l == "coracle-marker"),
        "message queue not shared: {text}"
    );
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("1 ") && l.contains("sleep 1000")),
        "the first container's init is not pid 1 here: {text}"
    );
    assert_nothing_left(&rt, &second, &second_id);
    assert_eq!(rt.status(&first_id), "running");
    rt.run_ok(&["delete", "--force", &first_id]);
    assert_nothing_left(&rt, &first, &first_id);
}

/// Make every file of the rootfs belong to `uid`:`gid` (the container's mapped root).
fn chown_tree(dir: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(dir, Some(uid), Some(gid)).unwrap();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            chown_tree(&e.path(), uid, gid);
        } else {
            std::os::unix::fs::lchown(e.path(), Some(uid), Some(gid)).unwrap();
        }
    }
}

/// A new user namespace with two uid and two gid ranges: the maps show both, `id` is root, and
/// files made inside belong to the mapped ids on the host.
#[test]
fn user_namespace_with_several_ranges() {
    let rt = Runtime::new();
    let maps = json!([
        { "containerID": 0, "hostID": 100000, "size": 1000 },
        { "containerID": 1000, "hostID": 200000, "size": 1000 }
    ]);
    let script = "set -e; cat /proc/self/uid_map > /dev/shm/uid_map; \
        cat /proc/self/gid_map > /dev/shm/gid_map; \
        id > /dev/shm/id; \
        touch /dev/shm/root-file /dev/shm/user-file; \
        chown 1000:1000 /dev/shm/user-file; \
        echo ok > /dev/null; touch /dev/shm/done; \
        exec sleep 1000";
    let bundle = Bundle::busybox().args(&["sh", "-c", script]).config(|c| {
        let list = c["linux"]["namespaces"].as_array_mut().unwrap();
        list.push(json!({ "type": "user" }));
        list.push(json!({ "type": "cgroup" }));
        c["linux"]["uidMappings"] = maps.clone();
        c["linux"]["gidMappings"] = maps.clone();
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push("CAP_CHOWN".into());
        }
    });
    chown_tree(&bundle.rootfs(), 100000, 100000);
    let id = rt.create(&bundle);
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    assert_ne!(
        ns_of(pid)["user"],
        host_ns()["user"],
        "user namespace is the host's"
    );
    rt.run_ok(&["start", &id]);
    let shm = PathBuf::from(format!("/proc/{pid}/root/dev/shm"));
    assert!(
        wait_until(Duration::from_secs(10), || shm.join("done").exists()),
        "the container did not finish its script"
    );
    let read = |n: &str| fs::read_to_string(shm.join(n)).unwrap();
    let rows = |text: String| -> Vec<Vec<u64>> {
        text.lines()
            .map(|l| l.split_whitespace().map(|x| x.parse().unwrap()).collect())
            .collect()
    };
    let want = vec![vec![0, 100000, 1000], vec![1000, 200000, 1000]];
    assert_eq!(rows(read("uid_map")), want, "uid_map");
    assert_eq!(rows(read("gid_map")), want, "gid_map");
    let id_text = read("id");
    assert!(
        id_text.starts_with("uid=0(root) gid=0(root)"),
        "id: {id_text}"
    );
    let owner = |n: &str| {
        let m = fs::metadata(shm.join(n)).unwrap();
        (m.uid(), m.gid())
    };
    assert_eq!(owner("root-file"), (100000, 100000));
    assert_eq!(owner("user-file"), (200000, 200000));
    rt.run_ok(&["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

fn uptime() -> f64 {
    fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A new time namespace with offsets: /proc/uptime (boottime) inside is shifted by the boottime
/// offset, and the namespace holds both offsets.
#[test]
fn time_namespace_offsets_shift_the_clocks() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&["sh", "-c", "cat /proc/uptime /proc/self/timens_offsets"])
        .config(|c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "type": "time" }));
            c["linux"]["timeOffsets"] = json!({
                "boottime": { "secs": 86400, "nanosecs": 0 },
                "monotonic": { "secs": 172800, "nanosecs": 0 }
            });
        });
    let before = uptime();
    let (id, out) = rt.run(&bundle);
    let after = uptime();
    let text = ok_stdout(&out);
    let mut lines = text.lines();
    let inside: f64 = lines
        .next()
        .and_then(|l| l.split_whitespace().next())
        .and_then(|u| u.parse().ok())
        .unwrap_or_else(|| panic!("no uptime: {text}"));
    assert!(
        inside >= before + 86400.0 && inside <= after + 86400.0 + 1.0,
        "uptime inside {inside}, host {before}..{after}"
    );
    let offsets: BTreeMap<String, Vec<&str>> = lines
        .filter_map(|l| l.split_once(' '))
        .map(|(clock, rest)| (clock.to_string(), rest.split_whitespace().collect()))
        .collect();
    assert_eq!(offsets["monotonic"], ["172800", "0"], "{text}");
    assert_eq!(offsets["boottime"], ["86400", "0"], "{text}");
    assert_nothing_left(&rt, &bundle, &id);
}

/// With a new cgroup namespace, the container's cgroup is its root: every line of /proc/self/cgroup
/// ends in ":/". Without one, the same container sees its real (non-root) cgroup paths.
#[test]
fn cgroup_namespace_makes_the_containers_cgroup_its_root() {
    let rt = Runtime::new();
    let paths = |cgroupns: bool| -> Vec<String> {
        let bundle = Bundle::busybox()
            .args(&["cat", "/proc/self/cgroup"])
            .config(|c| {
                if cgroupns {
                    c["linux"]["namespaces"]
                        .as_array_mut()
                        .unwrap()
                        .push(json!({ "type": "cgroup" }));
                }
            });
        let (id, out) = rt.run(&bundle);
        let text = ok_stdout(&out);
        assert_nothing_left(&rt, &bundle, &id);
        text.lines()
            .map(|l| l.splitn(3, ':').nth(2).unwrap_or("").to_string())
            .collect()
    };
    let with = paths(true);
    assert!(!with.is_empty());
    assert!(
        with.iter().all(|p| p == "/"),
        "with a cgroup namespace: {with:?}"
    );
    let without = paths(false);
    assert!(
        without.iter().any(|p| p != "/"),
        "without a cgroup namespace the container's cgroup should show: {without:?}"
    );
}

/// `run` with the network namespace at `path` must fail naming linux.namespaces[1].path and leave
/// nothing behind; returns stderr.
fn bad_path(path: &str) -> String {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["true"]).config(|c| {
        c["linux"]["namespaces"][1] = json!({ "type": "network", "path": path });
    });
    let id = rt.new_id();
    let out = rt.output(&["run", "--bundle", bundle.path_str(), &id]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "run with network path {path} succeeded"
    );
    assert!(
        err.contains("linux.namespaces[1].path"),
        "error does not name the field: {err}"
    );
    assert!(
        err.lines().count() <= 2,
        "expected a short error, got: {err}"
    );
    assert!(
        !rt.output(&["state", &id]).status.success(),
        "state exists after a failed run"
    );
    assert_nothing_left(&rt, &bundle, &id);
    err
}

#[test]
fn nonexistent_namespace_path_is_a_clear_error() {
    let path = format!("/var/run/netns/{}-missing", unique_id());
    let err = bad_path(&path);
    assert!(err.contains(&path), "{err}");
}

#[test]
fn non_namespace_file_is_a_clear_error() {
    let err = bad_path("/proc/version");
    assert!(err.contains("/proc/version"), "{err}");
}

#[test]
fn namespace_file_of_another_kind_is_a_clear_error() {
    // A real namespace file, but an ipc namespace given as the network namespace.
    let err = bad_path("/proc/self/ns/ipc");
    assert!(err.contains("/proc/self/ns/ipc"), "{err}");
}

/// A second container joins the first one's user (and network) namespace by path and makes its
/// other namespaces inside it: it has the first one's id maps, is root there, and owns its new
/// namespaces through that user namespace.
#[test]
fn joins_another_containers_user_namespace() {
    let rt = Runtime::new();
    let maps = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    let first = Bundle::busybox().args(&["sleep", "1000"]).config(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "type": "user" }));
        c["linux"]["uidMappings"] = maps.clone();
        c["linux"]["gidMappings"] = maps.clone();
    });
    chown_tree(&first.rootfs(), 100000, 100000);
    let first_id = rt.create(&first);
    rt.run_ok(&["start", &first_id]);
    let pid = rt.state(&first_id)["pid"].as_i64().unwrap();

    let p = |n: &str| format!("/proc/{pid}/ns/{n}");
    let second = Bundle::busybox()
        .args(&[
            "sh",
            "-c",
            &format!("{PRINT_NS}; cat /proc/self/uid_map; id -u; hostname"),
        ])
        .config(|c| {
            c["hostname"] = "joined-userns".into();
            set_namespaces(
                c,
                json!([{ "type": "pid" }, { "type": "ipc" }, { "type": "uts" },
                       { "type": "mount" },
                       { "type": "user", "path": p("user") },
                       { "type": "network", "path": p("net") }]),
            )
        });
    chown_tree(&second.rootfs(), 100000, 100000);
    let (second_id, out) = rt.run(&second);
    let text = ok_stdout(&out);
    let inside = parse_ns(&text);
    let first_ns = ns_of(pid);
    assert_eq!(
        inside["user"], first_ns["user"],
        "user namespace not joined"
    );
    assert_eq!(
        inside["net"], first_ns["net"],
        "network namespace not joined"
    );
    for n in ["pid", "ipc", "uts", "mnt"] {
        assert_ne!(inside[n], first_ns[n], "{n} namespace not new");
        assert_ne!(inside[n], host_ns()[n], "{n} namespace is the host's");
    }
    let rest: Vec<&str> = text.lines().skip(KINDS.len()).collect();
    let map: Vec<&str> = rest[0].split_whitespace().collect();
    assert_eq!(map, ["0", "100000", "65536"], "{text}");
    assert_eq!(rest[1..], ["0", "joined-userns"], "{text}");
    assert_nothing_left(&rt, &second, &second_id);
    rt.run_ok(&["delete", "--force", &first_id]);
    assert_nothing_left(&rt, &first, &first_id);
}
