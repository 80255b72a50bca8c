//! Root-only integration tests of the rootfs code: each case forks a child into new mount and pid
//! namespaces, builds a busybox rootfs, runs prepare / enter / finish with a hand-written spec, looks
//! around from inside and reports `key<TAB>value` lines over a socket; the test asserts on them.

use runtime::rootfs::{self, RootfsOptions};
use runtime::sys::mount as sysmount;
use runtime::sys::process::{clone_fork, exit_now, waitpid, Forked};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// One case at a time: the child is forked from a multi-threaded test process, so no other test
/// thread may be busy (holding allocator locks) while it forks and runs.
static SERIAL: Mutex<()> = Mutex::new(());
static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn is_root() -> bool {
    runtime::sys::process::getuid() == 0
}

/// A busybox rootfs under /tmp and an "outside" directory a symlink in it points at.
struct Fixture {
    dir: PathBuf,
    rootfs: PathBuf,
    outside: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let dir = PathBuf::from(format!("/tmp/coracle-test-rootfs-{pid}-{n}"));
        let outside = PathBuf::from(format!("/tmp/coracle-test-outside-{pid}-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&outside);
        let rootfs = dir.join("rootfs");
        for d in ["bin", "proc", "sys", "dev", "etc"] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        std::fs::copy("/usr/bin/busybox", rootfs.join("bin/busybox")).unwrap();
        for tool in ["sh", "cat", "ls", "mount", "stat"] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(tool)).unwrap();
        }
        std::fs::create_dir(&outside).unwrap();
        Fixture {
            dir,
            rootfs,
            outside,
        }
    }

    fn host(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(&self.outside);
    }
}

type Report = BTreeMap<String, String>;

struct Case {
    spec: serde_json::Value,
    clone_flags: libc::c_int,
    no_pivot: bool,
    userns: bool,
    console: bool,
    cgroupns: bool,
    cgroup_mounts: Vec<cgroups::Hierarchy>,
}

impl Case {
    fn new(spec: serde_json::Value) -> Case {
        Case {
            spec,
            clone_flags: 0,
            no_pivot: false,
            userns: false,
            console: false,
            cgroupns: false,
            cgroup_mounts: Vec::new(),
        }
    }
}

/// Run `case` in a forked child: `setup` before prepare (still on the host's view), `before_enter`
/// between prepare and enter, `inside` after finish. Returns what the child reported; an error from a
/// phase comes back under the key "error".
fn run(
    f: &Fixture,
    case: &Case,
    setup: &dyn Fn(&Fixture),
    before_enter: &dyn Fn(&Fixture, &mut Report),
    inside: &dyn Fn(&mut Report),
) -> Report {
    let json = serde_json::to_vec(&case.spec).unwrap();
    let spec = runtime::spec::parse(&json, "config.json").unwrap();
    let (mut parent_end, child_end) = UnixStream::pair().unwrap();
    let flags = libc::CLONE_NEWNS | libc::CLONE_NEWPID | case.clone_flags;
    match clone_fork(flags).unwrap() {
        Forked::Child => {
            drop(parent_end);
            let mut sock = child_end;
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut report = Report::new();
                let opts = RootfsOptions {
                    spec: &spec,
                    rootfs: &f.rootfs,
                    no_pivot: case.no_pivot,
                    userns: case.userns,
                    console: case.console,
                    cgroupns: case.cgroupns,
                    cgroup_mounts: &case.cgroup_mounts,
                    mount_label: None,
                };
                setup(f);
                let steps = rootfs::prepare(&opts)
                    .map(|()| before_enter(f, &mut report))
                    .and_then(|()| rootfs::enter(&opts))
                    .and_then(|()| rootfs::finish(&opts));
                match steps {
                    Ok(()) => inside(&mut report),
                    Err(e) => {
                        report.insert("error".into(), e.to_string());
                    }
                }
                report
            }));
            let report = result.unwrap_or_else(|p| {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Report::from([("panic".to_string(), msg)])
            });
            let text: String = report
                .iter()
                .map(|(k, v)| format!("{k}\t{}\n", v.trim_end().replace('\n', "\\n")))
                .collect();
            let code = i32::from(sock.write_all(text.as_bytes()).is_err());
            exit_now(code)
        }
        Forked::Parent(pid) => {
            drop(child_end);
            // A hung child fails the test instead of hanging it. Generous: once in CI four of
            // these children (mounts in fresh namespaces) all took over 60 s together, the
            // kernel being slow, not the child hung.
            parent_end
                .set_read_timeout(Some(Duration::from_secs(300)))
                .unwrap();
            let mut text = String::new();
            let read = parent_end.read_to_string(&mut text);
            if read.is_err() {
                let _ = runtime::sys::process::kill(pid, libc::SIGKILL);
            }
            let (_, exit) = waitpid(pid, false).unwrap().unwrap();
            read.expect("reading the child's report");
            assert_eq!(exit.status(), 0, "child exit; report: {text}");
            let report: Report = text
                .lines()
                .filter_map(|l| l.split_once('\t'))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert!(!report.contains_key("panic"), "child panicked: {report:?}");
            report
        }
    }
}

fn no_setup(_: &Fixture) {}
fn nothing_before_enter(_: &Fixture, _: &mut Report) {}

/// One /proc/self/mountinfo entry: (per-mount options, optional fields, fs type, super options).
fn mountinfo() -> BTreeMap<String, (String, String, String, String)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines()
        .map(|l| {
            let (left, right) = l.split_once(" - ").unwrap();
            let f: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            (
                f[4].to_string(),
                (
                    f[5].to_string(),
                    f[6..].join(" "),
                    r[0].to_string(),
                    r.get(2).unwrap_or(&"").to_string(),
                ),
            )
        })
        .collect()
}

/// Report each mount point as "mount:<point>" => "<fstype> <per-mount opts> <optional fields>".
fn report_mounts(r: &mut Report) {
    for (point, (opts, optional, fs, _)) in mountinfo() {
        r.insert(
            format!("mount:{point}"),
            format!("{fs} {opts} {optional}").trim_end().to_string(),
        );
    }
}

/// "ok" or the errno name a write attempt ended with.
fn try_write(path: &str) -> String {
    match std::fs::write(path, b"x") {
        Ok(()) => "ok".into(),
        Err(e) => match e.raw_os_error() {
            Some(libc::EROFS) => "EROFS".into(),
            Some(libc::ENOENT) => "ENOENT".into(),
            Some(libc::EACCES) => "EACCES".into(),
            _ => e.to_string(),
        },
    }
}

fn node(path: &str) -> String {
    match std::fs::symlink_metadata(path) {
        Err(e) => format!("error {e}"),
        Ok(m) => {
            let t = m.file_type();
            let kind = if t.is_char_device() {
                "c"
            } else if t.is_block_device() {
                "b"
            } else if t.is_fifo() {
                "p"
            } else if t.is_symlink() {
                return format!("link {}", std::fs::read_link(path).unwrap().display());
            } else if t.is_dir() {
                "d"
            } else {
                "f"
            };
            format!(
                "{kind} {}:{} {:o} {}:{}",
                libc::major(m.rdev()),
                libc::minor(m.rdev()),
                m.mode() & 0o7777,
                m.uid(),
                m.gid()
            )
        }
    }
}

fn get<'a>(r: &'a Report, key: &str) -> &'a str {
    r.get(key)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no {key:?} in the report: {r:#?}"))
}

fn has_opt(mount: &str, opt: &str) -> bool {
    mount
        .split(' ')
        .nth(1)
        .is_some_and(|o| o.split(',').any(|x| x == opt))
}

macro_rules! root_only {
    () => {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
    };
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn standard_mounts_devices_and_pivot() {
    root_only!();
    let _serial = lock();
    let f = Fixture::new();
    let case = Case::new(serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
            {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
             "options": ["noatime", "dirsync", "mode=700"]}
        ],
        "linux": {"devices": [
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o640,
             "uid": 7, "gid": 8},
            {"path": "/dev/sub/loop9", "type": "b", "major": 7, "minor": 9},
            {"path": "/dev/fifo", "type": "p", "fileMode": 0o600}
        ]}
    }));
    let r = run(&f, &case, &no_setup, &nothing_before_enter, &|r| {
        report_mounts(r);
        for p in [
            "/dev/null",
            "/dev/zero",
            "/dev/full",
            "/dev/random",
            "/dev/urandom",
            "/dev/tty",
            "/dev/fuse",
            "/dev/sub/loop9",
            "/dev/fifo",
            "/dev/fd",
            "/dev/stdin",
            "/dev/stdout",
            "/dev/stderr",
            "/dev/ptmx",
            "/dev/console",
        ] {
            r.insert(format!("node:{p}"), node(p));
        }
        r.insert(
            "busybox".into(),
            Path::new("/bin/busybox").exists().to_string(),
        );
        r.insert(
            "self".into(),
            std::fs::read_link("/proc/self")
                .unwrap()
                .display()
                .to_string(),
        );
        r.insert(
            "cwd".into(),
            std::env::current_dir().unwrap().display().to_string(),
        );
        r.insert("write:/sys/x".into(), try_write("/sys/kernel/x"));
        r.insert(
            "write:/sys/fs/cgroup/x".into(),
            try_write("/sys/fs/cgroup/x"),
        );
        r.insert("write:/dev/null".into(), try_write("/dev/null"));
        r.insert("write:/run/x".into(), try_write("/run/x"));
        r.insert(
            "mode:/dev/shm".into(),
            format!(
                "{:o}",
                std::fs::metadata("/dev/shm").unwrap().mode() & 0o7777
            ),
        );
        r.insert("pts-ptmx".into(), node("/dev/pts/ptmx"));
    });
    assert_eq!(r.get("error"), None, "{r:#?}");
    // Only the container's mounts are left, the old root is gone.
    let points: Vec<&str> = r.keys().filter_map(|k| k.strip_prefix("mount:")).collect();
    assert_eq!(
        points,
        [
            "/",
            "/dev",
            "/dev/mqueue",
            "/dev/pts",
            "/dev/shm",
            "/proc",
            "/run",
            "/sys",
            "/sys/fs/cgroup"
        ],
        "{r:#?}"
    );
    assert!(get(&r, "mount:/proc").starts_with("proc "));
    let dev = get(&r, "mount:/dev");
    assert!(
        dev.starts_with("tmpfs ") && has_opt(dev, "nosuid") && has_opt(dev, "rw"),
        "{dev}"
    );
    let pts = get(&r, "mount:/dev/pts");
    assert!(
        pts.starts_with("devpts ") && has_opt(pts, "noexec"),
        "{pts}"
    );
    let sys = get(&r, "mount:/sys");
    assert!(
        sys.starts_with("sysfs ") && has_opt(sys, "ro") && has_opt(sys, "nodev"),
        "{sys}"
    );
    let cg = get(&r, "mount:/sys/fs/cgroup");
    assert!(
        cg.starts_with("tmpfs ") && has_opt(cg, "ro") && has_opt(cg, "noexec"),
        "{cg}"
    );
    let run_ = get(&r, "mount:/run");
    assert!(has_opt(run_, "noatime"), "{run_}");
    assert!(get(&r, "mount:/dev/mqueue").starts_with("mqueue "));
    // Default and spec devices.
    assert_eq!(get(&r, "node:/dev/null"), "c 1:3 666 0:0");
    assert_eq!(get(&r, "node:/dev/zero"), "c 1:5 666 0:0");
    assert_eq!(get(&r, "node:/dev/full"), "c 1:7 666 0:0");
    assert_eq!(get(&r, "node:/dev/random"), "c 1:8 666 0:0");
    assert_eq!(get(&r, "node:/dev/urandom"), "c 1:9 666 0:0");
    assert_eq!(get(&r, "node:/dev/tty"), "c 5:0 666 0:0");
    assert_eq!(get(&r, "node:/dev/fuse"), "c 10:229 640 7:8");
    assert_eq!(get(&r, "node:/dev/sub/loop9"), "b 7:9 666 0:0");
    assert_eq!(get(&r, "node:/dev/fifo"), "p 0:0 600 0:0");
    assert_eq!(get(&r, "node:/dev/fd"), "link /proc/self/fd");
    assert_eq!(get(&r, "node:/dev/stdin"), "link /proc/self/fd/0");
    assert_eq!(get(&r, "node:/dev/stdout"), "link /proc/self/fd/1");
    assert_eq!(get(&r, "node:/dev/stderr"), "link /proc/self/fd/2");
    assert_eq!(get(&r, "node:/dev/ptmx"), "link pts/ptmx");
    assert!(get(&r, "pts-ptmx").starts_with("c 5:2 666"), "{r:#?}");
    assert!(
        get(&r, "node:/dev/console").starts_with("error"),
        "no console asked"
    );
    assert_eq!(get(&r, "busybox"), "true");
    assert_eq!(get(&r, "self"), "1", "the container's own /proc");
    assert_eq!(get(&r, "cwd"), "/");
    assert_eq!(get(&r, "write:/sys/x"), "EROFS");
    assert_eq!(get(&r, "write:/sys/fs/cgroup/x"), "EROFS");
    assert_eq!(get(&r, "write:/dev/null"), "ok");
    assert_eq!(get(&r, "write:/run/x"), "ok");
    assert_eq!(get(&r, "mode:/dev/shm"), "1777");
    // Nothing was created in the image's /dev on disk: it all went into the tmpfs.
    assert_eq!(std::fs::read_dir(f.rootfs.join("dev")).unwrap().count(), 0);
}

#[test]
fn bind_mounts_flags_recursion_and_propagation() {
    root_only!();
    let _serial = lock();
    let f = Fixture::new();
    std::fs::create_dir_all(f.host("data/sub")).unwrap();
    std::fs::write(f.host("data/hello"), "hello").unwrap();
    std::fs::write(f.host("hostfile"), "file content").unwrap();
    let data = f.host("data");
    let case = Case::new(serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/ro", "type": "bind", "source": data, "options": ["bind", "ro", "nosuid"]},
            {"destination": "/rw", "source": data, "options": ["rbind", "rw", "rshared"]},
            {"destination": "/rbind-ro", "type": "bind", "source": data, "options": ["rbind", "ro"]},
            {"destination": "/bind-ro", "type": "bind", "source": data, "options": ["bind", "ro"]},
            {"destination": "/rro", "type": "bind", "source": data,
             "options": ["rbind", "rro", "rnoexec", "unbindable"]},
            {"destination": "/etc/deep/hostfile", "type": "bind", "source": f.host("hostfile"),
             "options": ["bind", "ro"]},
            {"destination": "/later-ro", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/later-ro", "type": "bind", "options": ["remount", "bind", "ro"]}
        ]
    }));
    // A submount in the source, to see what rbind and the recursive options do to it.
    let setup = |f: &Fixture| {
        sysmount::mount(
            None,
            Path::new("/"),
            None,
            libc::MS_SLAVE | libc::MS_REC,
            None,
        )
        .unwrap();
        sysmount::mount(
            Some(Path::new("tmpfs")),
            &f.host("data/sub"),
            Some("tmpfs"),
            0,
            None,
        )
        .unwrap();
    };
    let r = run(&f, &case, &setup, &nothing_before_enter, &|r| {
        report_mounts(r);
        for d in ["/ro", "/rw", "/rbind-ro", "/bind-ro", "/rro"] {
            r.insert(format!("write:{d}"), try_write(&format!("{d}/new")));
            r.insert(format!("write:{d}/sub"), try_write(&format!("{d}/sub/new")));
        }
        r.insert(
            "read:/ro/hello".into(),
            std::fs::read_to_string("/ro/hello").unwrap_or_default(),
        );
        r.insert(
            "read:/etc/deep/hostfile".into(),
            std::fs::read_to_string("/etc/deep/hostfile").unwrap_or_default(),
        );
        r.insert(
            "write:/etc/deep/hostfile".into(),
            try_write("/etc/deep/hostfile"),
        );
        r.insert("node:/etc/deep/hostfile".into(), node("/etc/deep/hostfile"));
        r.insert("write:/later-ro".into(), try_write("/later-ro/x"));
    });
    assert_eq!(r.get("error"), None, "{r:#?}");
    let ro = get(&r, "mount:/ro");
    assert!(has_opt(ro, "ro") && has_opt(ro, "nosuid"), "{ro}");
    assert_eq!(get(&r, "read:/ro/hello"), "hello");
    assert_eq!(get(&r, "write:/ro"), "EROFS");
    assert_eq!(get(&r, "write:/rw"), "ok");
    assert_eq!(
        get(&r, "write:/rw/sub"),
        "ok",
        "rbind brings the submount along"
    );
    assert!(get(&r, "mount:/rw").contains("shared:"), "{r:#?}");
    assert!(r.contains_key("mount:/rw/sub"));
    // rbind + ro: read-only all the way down; a plain bind does not bring the submount.
    assert_eq!(get(&r, "write:/rbind-ro"), "EROFS");
    assert_eq!(get(&r, "write:/rbind-ro/sub"), "EROFS");
    assert!(has_opt(get(&r, "mount:/rbind-ro/sub"), "ro"));
    assert_eq!(get(&r, "write:/bind-ro"), "EROFS");
    assert!(!r.contains_key("mount:/bind-ro/sub"));
    assert_eq!(get(&r, "write:/rro"), "EROFS");
    assert_eq!(get(&r, "write:/rro/sub"), "EROFS");
    let rro_sub = get(&r, "mount:/rro/sub");
    assert!(
        has_opt(rro_sub, "ro") && has_opt(rro_sub, "noexec"),
        "{rro_sub}"
    );
    assert!(get(&r, "mount:/rro").contains("unbindable"), "{r:#?}");
    // A file source gets a file target (parents created), read-only.
    assert_eq!(get(&r, "read:/etc/deep/hostfile"), "file content");
    assert!(get(&r, "node:/etc/deep/hostfile").starts_with("f "));
    assert_eq!(get(&r, "write:/etc/deep/hostfile"), "EROFS");
    // "remount": the existing tmpfs changed in place.
    assert_eq!(get(&r, "write:/later-ro"), "EROFS");
    assert!(get(&r, "mount:/later-ro").starts_with("tmpfs ro"), "{r:#?}");
    // Writes through the rw bind reach the host directory; the read-only ones never did.
    assert!(f.host("data/new").is_file());
    assert_eq!(
        std::fs::read_to_string(f.host("hostfile")).unwrap(),
        "file content"
    );
}

#[test]
fn symlinks_cannot_lead_outside_the_rootfs() {
    root_only!();
    let _serial = lock();
    let f = Fixture::new();
    let outside = f.outside.clone();
    // Absolute, relative-with-dotdot, and a chain ending outside.
    std::os::unix::fs::symlink(&outside, f.rootfs.join("evil")).unwrap();
    std::os::unix::fs::symlink(
        format!("../../../../../../../..{}/inner", outside.display()),
        f.rootfs.join("etc/evil2"),
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc/evil2", f.rootfs.join("evil3")).unwrap();
    std::fs::write(f.host("hostfile"), "x").unwrap();
    let case = Case::new(serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/evil", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/etc/evil2/dir", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/evil3/file", "type": "bind", "source": f.host("hostfile"),
             "options": ["bind"]}
        ],
        "linux": {
            "devices": [{"path": "/evil3/devnull", "type": "c", "major": 1, "minor": 3}],
            // Shared: the rootfs' parent mount must be made private for pivot_root to work.
            "rootfsPropagation": "rshared"
        }
    }));
    let before_enter = |f: &Fixture, r: &mut Report| {
        // Still on the host's view: the outside directory must not be covered or filled.
        let outside = std::fs::metadata(&f.outside).unwrap();
        let tmp = std::fs::metadata("/tmp").unwrap();
        r.insert(
            "outside-covered".into(),
            (outside.dev() != tmp.dev()).to_string(),
        );
        r.insert(
            "outside-entries".into(),
            std::fs::read_dir(&f.outside).unwrap().count().to_string(),
        );
    };
    let out = outside.display().to_string();
    let r = run(&f, &case, &no_setup, &before_enter, &|r| {
        report_mounts(r);
        r.insert("node:devnull".into(), node(&format!("{out}/inner/devnull")));
        r.insert("node:file".into(), node(&format!("{out}/inner/file")));
    });
    assert_eq!(r.get("error"), None, "{r:#?}");
    assert!(get(&r, "mount:/").contains("shared:"), "{r:#?}");
    assert_eq!(get(&r, "outside-covered"), "false");
    assert_eq!(get(&r, "outside-entries"), "0");
    // Inside the container each landed under the rootfs' own /tmp/coracle-test-outside-….
    assert!(
        get(&r, &format!("mount:{out}")).starts_with("tmpfs "),
        "{r:#?}"
    );
    assert!(
        get(&r, &format!("mount:{out}/inner/dir")).starts_with("tmpfs "),
        "{r:#?}"
    );
    assert!(r.contains_key(&format!("mount:{out}/inner/file")), "{r:#?}");
    assert_eq!(get(&r, "node:devnull"), "c 1:3 666 0:0");
    assert!(get(&r, "node:file").starts_with("f "));
    // And on the host: the directories were made inside the rootfs, the outside is untouched.
    let inside = f.rootfs.join(outside.strip_prefix("/").unwrap());
    assert!(inside.is_dir(), "{}", inside.display());
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
}

#[test]
fn readonly_root_masked_and_readonly_paths_sysctl() {
    root_only!();
    let _serial = lock();
    let f = Fixture::new();
    std::fs::create_dir(f.rootfs.join("secret-dir")).unwrap();
    std::fs::write(f.rootfs.join("secret-dir/key"), "k").unwrap();
    std::fs::write(f.rootfs.join("etc/secret"), "s3cret").unwrap();
    let mut case = Case::new(serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs", "readonly": true},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["ro", "nosuid"]},
            {"destination": "/rodir", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/rwdir", "type": "tmpfs", "source": "tmpfs"}
        ],
        "linux": {
            "rootfsPropagation": "private",
            "namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "uts"}, {"type": "ipc"}],
            "sysctl": {"kernel.domainname": "coracle.test", "kernel/msgmax": "4242"},
            "maskedPaths": ["/proc/kcore", "/proc/version", "/etc/secret", "/secret-dir", "/does/not/exist"],
            "readonlyPaths": ["/proc/sys", "/rodir", "/missing"]
        }
    }));
    case.clone_flags = libc::CLONE_NEWUTS | libc::CLONE_NEWIPC;
    let r = run(&f, &case, &no_setup, &nothing_before_enter, &|r| {
        report_mounts(r);
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_else(|e| format!("error {e}"));
        r.insert("domainname".into(), read("/proc/sys/kernel/domainname"));
        r.insert("msgmax".into(), read("/proc/sys/kernel/msgmax"));
        r.insert(
            "write:/proc/sys".into(),
            try_write("/proc/sys/kernel/domainname"),
        );
        r.insert("write:/".into(), try_write("/newfile"));
        r.insert("write:/rodir".into(), try_write("/rodir/x"));
        r.insert("write:/rwdir".into(), try_write("/rwdir/x"));
        r.insert("write:/dev".into(), try_write("/dev/newnode"));
        r.insert("write:/dev/null".into(), try_write("/dev/null"));
        r.insert("read:/etc/secret".into(), read("/etc/secret"));
        r.insert("node:/etc/secret".into(), node("/etc/secret"));
        r.insert(
            "ls:/secret-dir".into(),
            std::fs::read_dir("/secret-dir")
                .unwrap()
                .count()
                .to_string(),
        );
        r.insert("write:/secret-dir".into(), try_write("/secret-dir/x"));
        r.insert("read:/proc/version".into(), read("/proc/version"));
        r.insert("node:/proc/version".into(), node("/proc/version"));
    });
    assert_eq!(r.get("error"), None, "{r:#?}");
    assert_eq!(get(&r, "domainname").trim(), "coracle.test");
    assert_eq!(get(&r, "msgmax").trim(), "4242");
    assert_eq!(get(&r, "write:/proc/sys"), "EROFS");
    assert_eq!(get(&r, "write:/"), "EROFS");
    assert!(has_opt(get(&r, "mount:/"), "ro"));
    assert!(!get(&r, "mount:/").contains("shared:"));
    assert_eq!(get(&r, "write:/rodir"), "EROFS");
    assert_eq!(get(&r, "write:/rwdir"), "ok");
    assert_eq!(
        get(&r, "write:/dev"),
        "EROFS",
        "/dev ro applied after the devices"
    );
    assert_eq!(get(&r, "write:/dev/null"), "ok");
    let dev = get(&r, "mount:/dev");
    assert!(has_opt(dev, "ro") && has_opt(dev, "nosuid"), "{dev}");
    assert_eq!(get(&r, "read:/etc/secret"), "");
    assert_eq!(get(&r, "node:/etc/secret"), "c 1:3 666 0:0");
    assert_eq!(get(&r, "ls:/secret-dir"), "0");
    assert_eq!(get(&r, "write:/secret-dir"), "EROFS");
    assert_eq!(get(&r, "read:/proc/version"), "");
    assert_eq!(get(&r, "node:/proc/version"), "c 1:3 666 0:0");
    assert!(get(&r, "mount:/proc/sys").starts_with("proc "));
    // The host's own domain name is untouched (the UTS namespace was the child's).
    assert_ne!(
        std::fs::read_to_string("/proc/sys/kernel/domainname")
            .unwrap()
            .trim(),
        "coracle.test"
    );
}

fn host_hierarchy(dir: &str, fs: &'static str, options: &str) -> cgroups::Hierarchy {
    cgroups::Hierarchy {
        mount_dir: dir.to_string(),
        host_path: PathBuf::from("/sys/fs/cgroup").join(if dir.starts_with("cpu,") {
            "cpu"
        } else {
            dir
        }),
        fs_type: fs,
        options: options.to_string(),
    }
}

fn cgroup_spec() -> serde_json::Value {
    serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ]
    })
}

fn report_cgroup(r: &mut Report) {
    report_mounts(r);
    for p in ["memory", "cpu,cpuacct", "cpu", "systemd", "unified"] {
        r.insert(
            format!("procs:{p}"),
            Path::new("/sys/fs/cgroup")
                .join(p)
                .join("cgroup.procs")
                .exists()
                .to_string(),
        );
    }
    r.insert("node:cpu".into(), node("/sys/fs/cgroup/cpu"));
    r.insert("node:cpuacct".into(), node("/sys/fs/cgroup/cpuacct"));
    r.insert("write:memory".into(), try_write("/sys/fs/cgroup/memory/x"));
    r.insert("write:tmpfs".into(), try_write("/sys/fs/cgroup/x"));
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for l in info.lines() {
        let f: Vec<&str> = l.split(' ').collect();
        r.insert(format!("root:{}", f[4]), f[3].to_string());
    }
}

#[test]
fn cgroup_v1_hierarchies_without_and_with_cgroupns() {
    root_only!();
    if !Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists() {
        eprintln!("skipped: no cgroup v1 memory hierarchy");
        return;
    }
    let _serial = lock();
    let cg = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let own = cg
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|(_, p)| p.to_string()))
        .unwrap();
    for cgroupns in [false, true] {
        let f = Fixture::new();
        let mut case = Case::new(cgroup_spec());
        case.cgroupns = cgroupns;
        if cgroupns {
            case.clone_flags = libc::CLONE_NEWCGROUP;
        }
        // Without a namespace, "cpu,cpuacct" stands for a co-mounted pair (bound from the host's cpu
        // hierarchy) to check the symlinks; a fresh mount must name a hierarchy the host really has.
        let (cpu, names) = if cgroupns {
            (
                host_hierarchy("cpu", "cgroup", "cpu"),
                ["memory", "cpu", "systemd", "unified"],
            )
        } else {
            (
                host_hierarchy("cpu,cpuacct", "cgroup", "cpu,cpuacct"),
                ["memory", "cpu,cpuacct", "systemd", "unified"],
            )
        };
        // The memory hierarchy is bound from this process' own cgroup, as the runtime would.
        let mut memory = host_hierarchy("memory", "cgroup", "memory");
        memory.host_path = memory.host_path.join(own.trim_start_matches('/'));
        case.cgroup_mounts = vec![
            memory,
            cpu,
            host_hierarchy("systemd", "cgroup", "none,name=systemd"),
            host_hierarchy("unified", "cgroup2", ""),
        ];
        let r = run(&f, &case, &no_setup, &nothing_before_enter, &report_cgroup);
        assert_eq!(r.get("error"), None, "cgroupns={cgroupns} {r:#?}");
        let top = get(&r, "mount:/sys/fs/cgroup");
        assert!(top.starts_with("tmpfs ") && has_opt(top, "ro"), "{top}");
        for p in names {
            assert_eq!(
                get(&r, &format!("procs:{p}")),
                "true",
                "{p} cgroupns={cgroupns}"
            );
            let m = get(&r, &format!("mount:/sys/fs/cgroup/{p}"));
            let want = if p == "unified" {
                "cgroup2 "
            } else {
                "cgroup "
            };
            assert!(m.starts_with(want), "{m}");
            for o in ["ro", "nosuid", "nodev", "noexec"] {
                assert!(has_opt(m, o), "{p}: {o} missing in {m}");
            }
        }
        assert_eq!(get(&r, "write:memory"), "EROFS");
        assert_eq!(get(&r, "write:tmpfs"), "EROFS");
        // A bind shows the container's own cgroup directory; a fresh mount in the namespace shows its root.
        let want_root = if cgroupns { "/" } else { own.as_str() };
        assert_eq!(get(&r, "root:/sys/fs/cgroup/memory"), want_root, "{r:#?}");
        if cgroupns {
            continue;
        }
        assert_eq!(get(&r, "node:cpu"), "link cpu,cpuacct");
        assert_eq!(get(&r, "node:cpuacct"), "link cpu,cpuacct");
        assert_eq!(get(&r, "write:memory"), "EROFS");
        assert_eq!(get(&r, "write:tmpfs"), "EROFS");
    }
}

#[test]
fn cgroup_pure_v2_layout_and_empty_list() {
    root_only!();
    let _serial = lock();
    // Pure v2 without a cgroup namespace: the hierarchy is bound onto the target itself.
    let f = Fixture::new();
    let mut case = Case::new(cgroup_spec());
    case.cgroup_mounts = vec![cgroups::Hierarchy {
        mount_dir: String::new(),
        host_path: PathBuf::from("/sys/fs/cgroup/unified"),
        fs_type: "cgroup2",
        options: String::new(),
    }];
    let r = run(&f, &case, &no_setup, &nothing_before_enter, &|r| {
        report_mounts(r);
        r.insert(
            "controllers".into(),
            Path::new("/sys/fs/cgroup/cgroup.controllers")
                .exists()
                .to_string(),
        );
    });
    assert_eq!(r.get("error"), None, "{r:#?}");
    let m = get(&r, "mount:/sys/fs/cgroup");
    assert!(
        m.starts_with("cgroup2 ") && has_opt(m, "ro") && has_opt(m, "nosuid"),
        "{m}"
    );
    assert_eq!(get(&r, "controllers"), "true");
    drop(f);

    // No hierarchies at all: just the tmpfs.
    let f = Fixture::new();
    let case = Case::new(cgroup_spec());
    let r = run(&f, &case, &no_setup, &nothing_before_enter, &report_mounts);
    assert_eq!(r.get("error"), None, "{r:#?}");
    let m = get(&r, "mount:/sys/fs/cgroup");
    assert!(m.starts_with("tmpfs ") && has_opt(m, "ro"), "{m}");
}

#[test]
fn no_pivot_console_and_userns_devices() {
    root_only!();
    let _serial = lock();
    let f = Fixture::new();
    std::fs::write(f.rootfs.join("etc/fake-pty"), "pty").unwrap();
    let mut case = Case::new(serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]}
        ]
    }));
    case.no_pivot = true;
    case.console = true;
    case.userns = true;
    let before_enter = |f: &Fixture, r: &mut Report| {
        let console = f.rootfs.join("dev/console");
        let placeholder = std::fs::symlink_metadata(&console)
            .map(|m| format!("{} {}", m.file_type().is_file(), m.len()))
            .unwrap_or_else(|e| e.to_string());
        r.insert("placeholder".into(), placeholder);
    };
    let r = run(&f, &case, &no_setup, &before_enter, &|r| {
        // The init binds the pty slave after enter; a regular file stands in for it here.
        let bound = rootfs::bind_console(Path::new("/etc/fake-pty"));
        r.insert("bind_console".into(), format!("{bound:?}"));
        r.insert(
            "read:/dev/console".into(),
            std::fs::read_to_string("/dev/console").unwrap_or_default(),
        );
        report_mounts(r);
        r.insert("node:/dev/null".into(), node("/dev/null"));
        r.insert("write:/dev/null".into(), try_write("/dev/null"));
        r.insert(
            "busybox".into(),
            Path::new("/bin/busybox").exists().to_string(),
        );
        r.insert(
            "root".into(),
            std::fs::read_link("/proc/self/root")
                .unwrap()
                .display()
                .to_string(),
        );
    });
    assert_eq!(r.get("error"), None, "{r:#?}");
    assert_eq!(get(&r, "placeholder"), "true 0");
    assert_eq!(get(&r, "bind_console"), "Ok(())");
    assert_eq!(get(&r, "read:/dev/console"), "pty");
    assert!(r.contains_key("mount:/dev/console"));
    // userns: the host's node is bind-mounted onto an empty file.
    assert_eq!(get(&r, "node:/dev/null"), "c 1:3 666 0:0");
    assert!(r.contains_key("mount:/dev/null"), "{r:#?}");
    assert_eq!(get(&r, "write:/dev/null"), "ok");
    assert_eq!(get(&r, "busybox"), "true");
    assert_eq!(get(&r, "root"), "/");
}

#[test]
fn errors_name_the_mount() {
    root_only!();
    let _serial = lock();
    let f = Fixture::new();
    let case = Case::new(serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/data", "type": "bind", "source": "/nonexistent", "options": ["rbind"]}
        ]
    }));
    let r = run(&f, &case, &no_setup, &nothing_before_enter, &|_| {});
    let e = get(&r, "error");
    assert!(
        e.starts_with("mounts[1] (/data): mounting bind /nonexistent: No such file or directory"),
        "{e}"
    );

    let f = Fixture::new();
    let case = Case::new(serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "mounts": [{"destination": "/x", "type": "nosuchfs", "source": "none"}]
    }));
    let r = run(&f, &case, &no_setup, &nothing_before_enter, &|_| {});
    let e = get(&r, "error");
    assert!(
        e.starts_with("mounts[0] (/x): mounting nosuchfs none: "),
        "{e}"
    );

    let f = Fixture::new();
    let case = Case::new(serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "linux": {"devices": [{"path": "/dev/bad", "type": "a"}]}
    }));
    let r = run(&f, &case, &no_setup, &nothing_before_enter, &|_| {});
    assert!(
        get(&r, "error").starts_with("linux.devices[0] (/dev/bad): "),
        "{r:?}"
    );
}
