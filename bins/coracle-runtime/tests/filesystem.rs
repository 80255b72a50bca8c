//! The container's root filesystem, end to end through `coracle-runtime run`/`create`: the spec's
//! mounts and their options (seen in /proc/self/mountinfo and by behaviour), recursive read-only
//! binds, pivot_root and --no-pivot, a read-only root, devices and /dev symlinks, /dev/console,
//! masked and read-only paths, sysctl, rootfsPropagation, and mount targets that try to leave the
//! rootfs through symlinks. Every run checks that nothing is left on the host.

mod common;

use common::{assert_nothing_left, exit_code, run_in_pty, stdout, unique_id, Bundle, Runtime};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Run `script` with `sh -c` in the bundle; returns (exit code, stdout, stderr) after checking that
/// the container left nothing on the host.
fn run_sh(rt: &Runtime, bundle: Bundle, script: &str) -> (i32, String, String) {
    let bundle = bundle.args(&["sh", "-c", script]);
    let (id, out) = rt.run(&bundle);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_nothing_left(rt, &bundle, &id);
    (exit_code(&out), stdout(&out), err)
}

/// Like [`run_sh`], but the script must exit 0; returns stdout.
fn run_ok(rt: &Runtime, bundle: Bundle, script: &str) -> String {
    let (code, out, err) = run_sh(rt, bundle, script);
    assert_eq!(code, 0, "script {script:?}\nstdout: {out}\nstderr: {err}");
    out
}

/// Append a mount to the spec.
fn add_mount(c: &mut Value, m: Value) {
    c["mounts"].as_array_mut().expect("mounts").push(m);
}

/// One line of /proc/self/mountinfo, split into what the tests look at.
#[derive(Debug)]
struct MountLine {
    mount_point: String,
    /// Per-mount options (field 6), e.g. ["rw", "nosuid"].
    options: Vec<String>,
    /// Optional fields, e.g. ["shared:3"].
    optional: Vec<String>,
    fs_type: String,
    /// Superblock options, e.g. ["rw", "size=1024k"].
    super_options: Vec<String>,
}

fn parse_mountinfo(text: &str) -> Vec<MountLine> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-").expect("separator");
            MountLine {
                mount_point: f[4].to_string(),
                options: f[5].split(',').map(String::from).collect(),
                optional: f[6..sep].iter().map(|s| s.to_string()).collect(),
                fs_type: f[sep + 1].to_string(),
                super_options: f[sep + 3].split(',').map(String::from).collect(),
            }
        })
        .collect()
}

/// The last (topmost) mount at `point`.
fn mount_at<'a>(mounts: &'a [MountLine], point: &str) -> &'a MountLine {
    mounts
        .iter()
        .rev()
        .find(|m| m.mount_point == point)
        .unwrap_or_else(|| panic!("no mount at {point} in {mounts:#?}"))
}

fn has_all(have: &[String], want: &[&str], what: &str) {
    for w in want {
        assert!(
            have.iter().any(|h| h == w),
            "{what}: {w} missing from {have:?}"
        );
    }
}

/// Output of a script that prints a marker line, then mountinfo: (text before, mount lines).
fn split_mountinfo(out: &str) -> (String, Vec<MountLine>) {
    let (before, info) = out.split_once("--mountinfo--\n").expect("marker");
    (before.to_string(), parse_mountinfo(info))
}

/// A host directory made by a test (`/tmp/coracle-test-<tag>-<unique>`), with optional mounts the
/// test put below it; unmounted and removed on Drop.
struct HostDir {
    path: PathBuf,
    mounts: Vec<PathBuf>,
}

impl HostDir {
    fn new(tag: &str) -> HostDir {
        let path = PathBuf::from(format!("/tmp/{}-{tag}", unique_id()));
        fs::create_dir_all(&path).expect("create host dir");
        HostDir {
            path,
            mounts: Vec::new(),
        }
    }

    fn str(&self) -> &str {
        self.path.to_str().expect("UTF-8")
    }

    /// Mount a small tmpfs on `<dir>/<sub>` in the host's mount namespace.
    fn mount_tmpfs(&mut self, sub: &str) -> PathBuf {
        let at = self.path.join(sub);
        fs::create_dir_all(&at).expect("create submount dir");
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(&at)
            .status()
            .expect("mount");
        assert!(st.success(), "mount tmpfs on {}", at.display());
        self.mounts.push(at.clone());
        at
    }

    /// Whether the host sees a mount at `path` (or below it).
    fn host_mount_points(&self) -> Vec<String> {
        let info = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        parse_mountinfo(&info)
            .into_iter()
            .map(|m| m.mount_point)
            .filter(|p| Path::new(p).starts_with(&self.path))
            .collect()
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        for m in self.mounts.iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[test]
fn default_mounts_have_their_types_and_options() {
    let rt = Runtime::new();
    let out = run_ok(
        &rt,
        Bundle::busybox(),
        "stat -c '%a' /dev/shm; echo --mountinfo--; cat /proc/self/mountinfo",
    );
    let (before, mounts) = split_mountinfo(&out);
    assert_eq!(before, "1777\n", "mode of /dev/shm");
    let root = mount_at(&mounts, "/");
    has_all(&root.options, &["ro"], "/ (root.readonly)");

    let proc_ = mount_at(&mounts, "/proc");
    assert_eq!(proc_.fs_type, "proc");

    let dev = mount_at(&mounts, "/dev");
    assert_eq!(dev.fs_type, "tmpfs");
    has_all(&dev.options, &["rw", "nosuid"], "/dev");
    has_all(&dev.super_options, &["size=65536k", "mode=755"], "/dev");

    let pts = mount_at(&mounts, "/dev/pts");
    assert_eq!(pts.fs_type, "devpts");
    has_all(&pts.options, &["rw", "nosuid", "noexec"], "/dev/pts");
    has_all(
        &pts.super_options,
        &["gid=5", "mode=620", "ptmxmode=666"],
        "/dev/pts",
    );

    let shm = mount_at(&mounts, "/dev/shm");
    assert_eq!(shm.fs_type, "tmpfs");
    has_all(
        &shm.options,
        &["rw", "nosuid", "nodev", "noexec"],
        "/dev/shm",
    );
    // tmpfs shows its mode only when it is not the default 1777 (checked by stat below).
    has_all(&shm.super_options, &["size=65536k"], "/dev/shm");

    let mq = mount_at(&mounts, "/dev/mqueue");
    assert_eq!(mq.fs_type, "mqueue");
    has_all(&mq.options, &["nosuid", "nodev", "noexec"], "/dev/mqueue");

    let sys = mount_at(&mounts, "/sys");
    assert_eq!(sys.fs_type, "sysfs");
    has_all(&sys.options, &["ro", "nosuid", "nodev", "noexec"], "/sys");

    // Nothing of the host's mount table is visible: every mount point is one the spec asked for
    // (or one below them: cgroup hierarchies, masked and read-only paths).
    for m in &mounts {
        let p = m.mount_point.as_str();
        assert!(
            p == "/"
                || ["/proc", "/dev", "/sys"]
                    .iter()
                    .any(|d| Path::new(p).starts_with(d)),
            "unexpected mount point {p} in the container"
        );
    }
}

#[test]
fn mount_options_hold_by_behaviour() {
    let rt = Runtime::new();
    // /sys is ro, /dev/shm is noexec and nodev, / is read-only (root.readonly). The same script and
    // device node run and open fine where the flags are not set (/dev, a plain tmpfs).
    let script = r#"
        if echo x > /sys/kernel/coracle 2>/dev/null; then echo sys-writable; fi
        if touch /coracle 2>/dev/null; then echo root-writable; fi
        for d in /dev/shm /dev; do
            printf '#!/bin/sh\necho ran\n' > $d/script && chmod 755 $d/script
            if $d/script 2>/dev/null; then echo "$d exec"; else echo "$d noexec"; fi
            mknod $d/mynull c 1 3 || echo mknod-failed
            if echo x > $d/mynull 2>/dev/null; then echo "$d dev"; else echo "$d nodev"; fi
        done
    "#;
    let bundle = Bundle::busybox().config(|c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push("CAP_MKNOD".into());
        }
    });
    let out = run_ok(&rt, bundle, script);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "/dev/shm noexec",
            "/dev/shm nodev",
            "ran",
            "/dev exec",
            "/dev dev"
        ],
        "{out}"
    );
}

#[test]
fn tmpfs_mount_gets_size_mode_and_flags() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().config(|c| {
        c["root"]["readonly"] = false.into();
        add_mount(
            c,
            json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs",
                   "options": ["nosuid", "nodev", "noexec", "relatime", "size=1m", "mode=0710"]}),
        );
    });
    let script = r#"
        stat -c 'mode %a' /data
        df -k /data | tail -n 1 | awk '{print "size " $2}'
        printf '#!/bin/sh\necho ran\n' > /data/script && chmod 755 /data/script && echo written
        /data/script 2>/dev/null && echo exec-allowed
        echo --mountinfo--; cat /proc/self/mountinfo
    "#;
    let out = run_ok(&rt, bundle, script);
    let (before, mounts) = split_mountinfo(&out);
    assert_eq!(
        before.lines().collect::<Vec<_>>(),
        ["mode 710", "size 1024", "written"],
        "{out}"
    );
    let data = mount_at(&mounts, "/data");
    assert_eq!(data.fs_type, "tmpfs");
    has_all(
        &data.options,
        &["rw", "nosuid", "nodev", "noexec", "relatime"],
        "/data",
    );
    has_all(&data.super_options, &["size=1024k", "mode=710"], "/data");
}

#[test]
fn bind_mounts_of_a_host_dir_and_file() {
    let rt = Runtime::new();
    let host = HostDir::new("bind");
    fs::create_dir(host.path.join("dir")).unwrap();
    fs::write(host.path.join("dir/from-host"), "hello from the host\n").unwrap();
    fs::write(host.path.join("file"), "a single file\n").unwrap();
    let bundle = Bundle::busybox().config(|c| {
        add_mount(
            c,
            json!({"destination": "/mnt/rw", "type": "bind",
                   "source": format!("{}/dir", host.str()), "options": ["rbind", "rw"]}),
        );
        add_mount(
            c,
            json!({"destination": "/mnt/ro", "type": "none",
                   "source": format!("{}/dir", host.str()), "options": ["bind", "ro", "nosuid", "nodev"]}),
        );
        add_mount(
            c,
            json!({"destination": "/etc/single", "type": "bind",
                   "source": format!("{}/file", host.str()), "options": ["bind", "ro"]}),
        );
    });
    let script = r#"
        cat /mnt/rw/from-host
        cat /etc/single
        test -f /etc/single && echo is-file
        echo written > /mnt/rw/from-container && echo rw-ok
        if touch /mnt/ro/x 2>/dev/null; then echo ro-writable; fi
        if echo y >> /etc/single 2>/dev/null; then echo file-writable; fi
        echo --mountinfo--; cat /proc/self/mountinfo
    "#;
    let out = run_ok(&rt, bundle, script);
    let (before, mounts) = split_mountinfo(&out);
    assert_eq!(
        before.lines().collect::<Vec<_>>(),
        ["hello from the host", "a single file", "is-file", "rw-ok"],
        "{out}"
    );
    has_all(&mount_at(&mounts, "/mnt/rw").options, &["rw"], "/mnt/rw");
    has_all(
        &mount_at(&mounts, "/mnt/ro").options,
        &["ro", "nosuid", "nodev"],
        "/mnt/ro",
    );
    has_all(
        &mount_at(&mounts, "/etc/single").options,
        &["ro"],
        "/etc/single",
    );
    assert_eq!(
        fs::read_to_string(host.path.join("dir/from-container")).unwrap(),
        "written\n",
        "the write through the rw bind reaches the host"
    );
    assert_eq!(
        fs::read_to_string(host.path.join("file")).unwrap(),
        "a single file\n"
    );
    assert!(!host.path.join("dir/x").exists());
    assert!(host.host_mount_points().is_empty());
}

/// An rbind of a tree with a submount, made read-only with `opt` (`rro`, or `ro` which an rbind
/// applies to every mount it brings along): the submount is read-only inside too. (runc 1.1 makes
/// only the top mount of an `rbind,ro` read-only; this runtime chose the safer reading.)
fn recursive_readonly(opt: &str) {
    let rt = Runtime::new();
    let mut host = HostDir::new("rro");
    let sub = host.mount_tmpfs("sub");
    fs::write(sub.join("in-sub"), "sub\n").unwrap();
    let bundle = Bundle::busybox().config(|c| {
        add_mount(
            c,
            json!({"destination": "/tree", "type": "bind", "source": host.str(),
                   "options": ["rbind", opt]}),
        );
    });
    let script = r#"
        cat /tree/sub/in-sub
        if touch /tree/top 2>/dev/null; then echo top-writable; fi
        if touch /tree/sub/x 2>/dev/null; then echo sub-writable; fi
        echo --mountinfo--; cat /proc/self/mountinfo
    "#;
    let out = run_ok(&rt, bundle, script);
    let (before, mounts) = split_mountinfo(&out);
    assert_eq!(before.lines().collect::<Vec<_>>(), ["sub"], "{out}");
    has_all(&mount_at(&mounts, "/tree").options, &["ro"], "/tree");
    has_all(
        &mount_at(&mounts, "/tree/sub").options,
        &["ro"],
        "/tree/sub",
    );
    assert!(!sub.join("x").exists() && !host.path.join("top").exists());
    // The host's own submount stays writable.
    fs::write(sub.join("host-write"), "ok").expect("host submount still writable");
}

#[test]
fn rbind_rro_makes_submounts_read_only() {
    recursive_readonly("rro");
}

#[test]
fn rbind_ro_makes_submounts_read_only() {
    recursive_readonly("ro");
}

#[test]
fn cgroup_mount_shows_the_containers_own_cgroup_read_only() {
    for cgroupns in [false, true] {
        let rt = Runtime::new();
        let bundle = Bundle::busybox().config(|c| {
            c["linux"]["resources"]["pids"] = json!({"limit": 77});
            if cgroupns {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "cgroup"}));
            }
        });
        let script = r#"
            cat /sys/fs/cgroup/pids/pids.max
            grep -qx 1 /sys/fs/cgroup/pids/cgroup.procs && echo init-in-procs
            if mkdir /sys/fs/cgroup/pids/child 2>/dev/null; then echo cgroup-writable; fi
            echo --mountinfo--; cat /proc/self/mountinfo
        "#;
        let out = run_ok(&rt, bundle, script);
        let (before, mounts) = split_mountinfo(&out);
        assert_eq!(
            before.lines().collect::<Vec<_>>(),
            ["77", "init-in-procs"],
            "cgroupns {cgroupns}: {out}"
        );
        let pids = mount_at(&mounts, "/sys/fs/cgroup/pids");
        has_all(
            &pids.options,
            &["ro", "nosuid", "nodev", "noexec"],
            "/sys/fs/cgroup/pids",
        );
    }
}

/// Both ways into the root run and see the bundle's rootfs as `/`, and nothing of the host's mounts.
#[test]
fn pivot_root_and_no_pivot_both_see_the_rootfs() {
    for no_pivot in [false, true] {
        let rt = Runtime::new();
        let bundle = Bundle::busybox().args(&[
            "sh",
            "-c",
            "cat /marker; ls /; echo --mountinfo--; cat /proc/self/mountinfo",
        ]);
        fs::write(bundle.rootfs().join("marker"), "inside\n").unwrap();
        let id = rt.new_id();
        let mut args = vec!["run", "--bundle", bundle.path_str()];
        if no_pivot {
            args.push("--no-pivot");
        }
        args.push(&id);
        let out = rt.output(&args);
        let text = stdout(&out);
        assert_eq!(
            exit_code(&out),
            0,
            "no_pivot {no_pivot}: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (before, mounts) = split_mountinfo(&text);
        let mut listed: Vec<&str> = before.lines().skip(1).collect();
        listed.sort();
        let mut want: Vec<String> = fs::read_dir(bundle.rootfs())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        want.sort();
        assert_eq!(before.lines().next(), Some("inside"));
        assert_eq!(listed, want, "no_pivot {no_pivot}");
        assert!(
            mounts.iter().all(|m| m.mount_point == "/"
                || ["/proc", "/dev", "/sys"]
                    .iter()
                    .any(|d| Path::new(&m.mount_point).starts_with(d))),
            "no_pivot {no_pivot}: host mounts visible: {mounts:#?}"
        );
        assert_nothing_left(&rt, &bundle, &id);
    }
}

#[test]
fn readonly_root_leaves_dev_and_tmpfs_writable() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().config(|c| {
        c["root"]["readonly"] = true.into();
        add_mount(
            c,
            json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}),
        );
    });
    let script = r#"
        if touch /root-file 2>/dev/null; then echo root-writable; fi
        if mkdir /etc/x 2>/dev/null; then echo etc-writable; fi
        touch /dev/dev-file && echo dev-ok
        touch /tmp/tmp-file && echo tmp-ok
        touch /dev/shm/shm-file && echo shm-ok
    "#;
    let out = run_ok(&rt, bundle, script);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["dev-ok", "tmp-ok", "shm-ok"],
        "{out}"
    );
}

#[test]
fn writable_root_when_not_readonly() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().config(|c| c["root"]["readonly"] = false.into());
    let out = run_ok(
        &rt,
        bundle,
        "touch /root-file && echo ok; awk '$5 == \"/\" {print $6}' /proc/self/mountinfo | tail -n 1 | cut -d, -f1",
    );
    assert_eq!(out, "ok\nrw\n");
}

#[test]
fn default_devices_and_dev_symlinks() {
    let rt = Runtime::new();
    let script = r#"
        for d in null zero full random urandom tty; do
            stat -c "%n %F %t:%T %a %u:%g" /dev/$d
        done
        for l in fd stdin stdout stderr ptmx; do echo "/dev/$l -> $(readlink /dev/$l)"; done
        head -c 3 /dev/zero | od -An -tx1 | tr -d ' '
        echo x > /dev/null && echo null-ok
        if echo x > /dev/full 2>/dev/null; then echo full-accepted; fi
        test "$(head -c 16 /dev/urandom | wc -c)" = 16 && echo urandom-ok
        ls /dev/fd/ > /dev/null && echo fd-ok
    "#;
    let out = run_ok(&rt, Bundle::busybox(), script);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "/dev/null character special file 1:3 666 0:0",
            "/dev/zero character special file 1:5 666 0:0",
            "/dev/full character special file 1:7 666 0:0",
            "/dev/random character special file 1:8 666 0:0",
            "/dev/urandom character special file 1:9 666 0:0",
            "/dev/tty character special file 5:0 666 0:0",
            "/dev/fd -> /proc/self/fd",
            "/dev/stdin -> /proc/self/fd/0",
            "/dev/stdout -> /proc/self/fd/1",
            "/dev/stderr -> /proc/self/fd/2",
            "/dev/ptmx -> pts/ptmx",
            "000000",
            "null-ok",
            "urandom-ok",
            "fd-ok",
        ],
        "{out}"
    );
}

#[test]
fn devices_from_the_spec_are_created_with_mode_and_owner() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().config(|c| {
        c["linux"]["devices"] = json!([
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
             "fileMode": 0o640, "uid": 1234, "gid": 5678},
            {"path": "/dev/custom/loopy", "type": "b", "major": 7, "minor": 200,
             "fileMode": 0o600, "uid": 0, "gid": 0}
        ]);
    });
    let out = run_ok(
        &rt,
        bundle,
        r#"stat -c "%n %F %t:%T %a %u:%g" /dev/fuse /dev/custom/loopy"#,
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "/dev/fuse character special file a:e5 640 1234:5678",
            "/dev/custom/loopy block special file 7:c8 600 0:0",
        ],
        "{out}"
    );
}

/// `run` under `script` (a real pty): /dev/console is the container's pty, bound over the
/// placeholder, and the same device as its stdin.
#[test]
fn dev_console_is_the_pty_when_terminal() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&[
            "sh",
            "-c",
            "stat -c 'console %F %t:%T' /dev/console; stat -Lc 'stdin %F %t:%T' /proc/self/fd/0; \
             grep -c ' /dev/console ' /proc/self/mountinfo",
        ])
        .config(|c| c["process"]["terminal"] = true.into());
    let id = rt.new_id();
    let (status, text) = run_in_pty(&rt, &bundle, &id);
    assert!(status.success(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    // A pty slave: major 136 (0x88), in the container's own devpts.
    let console = lines[0]
        .strip_prefix("console character special file 88:")
        .unwrap_or_else(|| panic!("/dev/console is not a pty: {text}"));
    let stdin = lines[1]
        .strip_prefix("stdin character special file 88:")
        .unwrap_or_else(|| panic!("stdin is not a pty: {text}"));
    assert_eq!(console, stdin, "/dev/console is not the container's pty");
    assert_eq!(lines[2], "1", "/dev/console is not a mount: {text}");
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn masked_and_readonly_paths() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().config(|c| {
        let masked = c["linux"]["maskedPaths"].as_array_mut().unwrap();
        masked.push("/etc/secret".into());
        masked.push("/etc/secretdir".into());
        masked.push("/does/not/exist".into());
        c["linux"]["readonlyPaths"]
            .as_array_mut()
            .unwrap()
            .push("/etc/frozen".into());
        c["root"]["readonly"] = false.into();
    });
    fs::write(bundle.rootfs().join("etc/secret"), "password\n").unwrap();
    fs::create_dir(bundle.rootfs().join("etc/secretdir")).unwrap();
    fs::write(bundle.rootfs().join("etc/secretdir/key"), "key\n").unwrap();
    fs::create_dir(bundle.rootfs().join("etc/frozen")).unwrap();
    let script = r#"
        echo "kcore $(cat /proc/kcore | wc -c)"
        echo "secret $(cat /etc/secret | wc -c)"
        echo "secretdir [$(ls -A /etc/secretdir)]"
        if touch /etc/secretdir/x 2>/dev/null; then echo secretdir-writable; fi
        if echo 1 > /proc/sys/vm/drop_caches 2>/dev/null; then echo proc-sys-writable; fi
        if echo 1 > /proc/sysrq-trigger 2>/dev/null; then echo sysrq-writable; fi
        if touch /etc/frozen/x 2>/dev/null; then echo frozen-writable; fi
        touch /etc/not-frozen && echo rest-writable
        echo --mountinfo--; cat /proc/self/mountinfo
    "#;
    let out = run_ok(&rt, bundle, script);
    let (before, mounts) = split_mountinfo(&out);
    assert_eq!(
        before.lines().collect::<Vec<_>>(),
        ["kcore 0", "secret 0", "secretdir []", "rest-writable"],
        "{out}"
    );
    has_all(
        &mount_at(&mounts, "/proc/sys").options,
        &["ro"],
        "/proc/sys",
    );
    has_all(
        &mount_at(&mounts, "/etc/frozen").options,
        &["ro"],
        "/etc/frozen",
    );
}

#[test]
fn sysctl_applies_in_the_containers_net_namespace_only() {
    let rt = Runtime::new();
    let host_before = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let want = if host_before.trim() == "1" { "0" } else { "1" };
    let bundle = Bundle::busybox().config(|c| {
        c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": want});
    });
    let out = run_ok(&rt, bundle, "cat /proc/sys/net/ipv4/ip_forward");
    assert_eq!(out.trim(), want);
    assert_eq!(
        fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host_before,
        "the host's value changed"
    );
}

#[test]
fn rootfs_propagation_is_applied_to_root() {
    for (prop, want_shared) in [("shared", true), ("private", false), ("rslave", false)] {
        let rt = Runtime::new();
        let bundle = Bundle::busybox().config(|c| c["linux"]["rootfsPropagation"] = prop.into());
        let out = run_ok(&rt, bundle, "echo --mountinfo--; cat /proc/self/mountinfo");
        let (_, mounts) = split_mountinfo(&out);
        let root = mount_at(&mounts, "/");
        let shared = root.optional.iter().any(|o| o.starts_with("shared:"));
        assert_eq!(shared, want_shared, "{prop}: / has {:?}", root.optional);
        if prop == "private" {
            assert!(
                root.optional.is_empty(),
                "private: / has {:?}",
                root.optional
            );
        }
    }
}

#[test]
fn bad_rootfs_propagation_is_an_error_naming_the_field() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&["true"])
        .config(|c| c["linux"]["rootfsPropagation"] = "sideways".into());
    let (id, out) = rt.run(&bundle);
    assert_ne!(exit_code(&out), 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rootfsPropagation"), "stderr: {err}");
    assert_nothing_left(&rt, &bundle, &id);
}

/// Mount destinations that go through rootfs symlinks pointing at a host directory (absolute, and
/// relative with more `..` than the rootfs is deep) land inside the rootfs; the host dir stays
/// empty and is never a mount point.
#[test]
fn mount_targets_through_symlinks_stay_in_the_rootfs() {
    let rt = Runtime::new();
    let outside = PathBuf::from(format!("/tmp/coracle-test-outside-{}", unique_id()));
    fs::create_dir(&outside).unwrap();
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(outside.clone());
    let outside_str = outside.to_str().unwrap().to_string();
    let host_src = HostDir::new("src");
    fs::write(host_src.path.join("payload"), "payload\n").unwrap();
    let host_file = host_src.path.join("payload");

    let bundle = Bundle::busybox().config(|c| {
        c["root"]["readonly"] = false.into();
        add_mount(
            c,
            json!({"destination": "/evil/made/here", "type": "tmpfs", "source": "tmpfs"}),
        );
        add_mount(
            c,
            json!({"destination": "/a/b/evil2/sub", "type": "bind", "source": host_src.str(),
                   "options": ["rbind", "rw"]}),
        );
        // A file bind whose destination is a dangling symlink to a file in the host dir.
        add_mount(
            c,
            json!({"destination": "/etc/evil-file", "type": "bind", "source": host_file,
                   "options": ["bind", "ro"]}),
        );
    });
    let rootfs = bundle.rootfs();
    symlink(&outside, rootfs.join("evil")).unwrap();
    fs::create_dir_all(rootfs.join("a/b")).unwrap();
    let relative = format!("../../../../../../../..{outside_str}");
    symlink(&relative, rootfs.join("a/b/evil2")).unwrap();
    symlink(outside.join("file"), rootfs.join("etc/evil-file")).unwrap();

    let id = rt.create(&bundle);
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    // While the container exists, its mount namespace has the mounts inside its root.
    let info = fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    let points: Vec<String> = parse_mountinfo(&info)
        .into_iter()
        .map(|m| m.mount_point)
        .collect();
    for want in [
        format!("{outside_str}/made/here"),
        format!("{outside_str}/sub"),
        format!("{outside_str}/file"),
    ] {
        assert!(points.contains(&want), "{want} not mounted in {points:#?}");
    }
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "the host dir was written to"
    );
    assert!(host_src.host_mount_points().is_empty());
    let host_info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !host_info.contains(&outside_str),
        "host sees a mount under {outside_str}"
    );
    rt.run_ok(&["delete", "--force", &id]);
    // The directories were made inside the rootfs.
    assert!(rootfs.join(&outside_str[1..]).join("made/here").is_dir());
    assert!(rootfs.join(&outside_str[1..]).join("sub").is_dir());
    assert!(rootfs.join(&outside_str[1..]).join("file").is_file());
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    assert!(!fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(&outside_str));
    assert_nothing_left(&rt, &bundle, &id);
}

/// A sysctl that would change the host (not namespaced, or of a namespace the container shares
/// with the host) is refused by name, and the host's value stays.
#[test]
fn sysctl_that_would_change_the_host_is_refused() {
    let cases = [
        ("vm.swappiness", "/proc/sys/vm/swappiness", false),
        ("net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward", true),
    ];
    for (key, file, drop_netns) in cases {
        let rt = Runtime::new();
        let host_before = fs::read_to_string(file).unwrap();
        let other = if host_before.trim() == "1" { "0" } else { "1" };
        let bundle = Bundle::busybox().args(&["true"]).config(|c| {
            c["linux"]["sysctl"] = json!({ key: other });
            if drop_netns {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|n| n["type"] != "network");
            }
        });
        let (id, out) = rt.run(&bundle);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(exit_code(&out), 0, "{key} accepted");
        assert!(
            err.contains(&format!("linux.sysctl[\"{key}\"]")),
            "stderr: {err}"
        );
        assert_eq!(fs::read_to_string(file).unwrap(), host_before, "{key}");
        assert_nothing_left(&rt, &bundle, &id);
    }
}
