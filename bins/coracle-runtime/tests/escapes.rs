//! The known container escapes, attacked: CVE-2019-5736 (the runtime binary reached through
//! /proc/self/exe), CVE-2024-21626 (a leaked host descriptor), CVE-2021-30465 (symlinks swapped
//! while the root filesystem is set up), unmasking masked paths, and the session keyring.
//! Capabilities kept across a second exec by a non-root user (ambient) are checked here too.
//! `reboot` inside is tests/isolation.rs (`reboot_inside_ends_only_that_container`); cwd
//! /proc/self/fd/3..9 and --preserve-fds are tests/process.rs.

mod common;

use common::*;
use serde_json::json;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A disposable copy of the runtime under test in its own directory: an attack that succeeded
/// would damage only the copy. Keeps the original bytes to compare with.
struct RuntimeCopy {
    dir: PathBuf,
    bin: PathBuf,
    bytes: Vec<u8>,
}

impl RuntimeCopy {
    fn new() -> RuntimeCopy {
        let dir = PathBuf::from(format!("/tmp/{}-runtime-copy", unique_id()));
        fs::create_dir_all(&dir).unwrap();
        // The file name is the process name (comm) the tests look for.
        let bin = dir.join("coracle-runtime");
        fs::copy(Runtime::new().bin(), &bin).expect("copy the runtime");
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
        let bytes = fs::read(&bin).unwrap();
        RuntimeCopy { dir, bin, bytes }
    }

    fn runtime(&self) -> Runtime {
        Runtime::with_bin(&self.bin)
    }

    fn assert_unchanged(&self, after: &str) {
        let now = fs::read(&self.bin).expect("the runtime copy is still there");
        assert!(
            now == self.bytes,
            "the runtime binary changed after {after}"
        );
    }
}

impl Drop for RuntimeCopy {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `run` that must exit 0; returns stdout.
fn run_ok(rt: &Runtime, bundle: &Bundle) -> String {
    let (id, out) = rt.run(bundle);
    assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
    assert_nothing_left(rt, bundle, &id);
    stdout(&out)
}

// --- CVE-2019-5736 -------------------------------------------------------------------------

#[test]
fn entrypoint_that_is_the_runtime_itself_is_refused() {
    // Each way a container image can name the init's own binary: the magic link, a symlink to it,
    // a `#!` line naming it (the kernel would follow it in the init), pid 1's link, and a chain
    // of scripts ending in it. None may run the runtime in the container, nor change it.
    let copy = RuntimeCopy::new();
    let rt = copy.runtime();
    let cases: [(&str, &[&str]); 6] = [
        ("magic link", &["/proc/self/exe", "--version"]),
        ("pid 1's link", &["/proc/1/exe", "--version"]),
        ("symlink", &["/evil-link", "--version"]),
        ("#! line", &["/evil.sh", "--version"]),
        ("#! to a symlink", &["/evil-link.sh", "--version"]),
        ("#! chain", &["/chain.sh", "--version"]),
    ];
    for (what, args) in cases {
        let bundle = Bundle::busybox().args(args);
        let root = bundle.rootfs();
        symlink("/proc/self/exe", root.join("evil-link")).unwrap();
        let script = |name: &str, text: &str| {
            fs::write(root.join(name), text).unwrap();
            fs::set_permissions(root.join(name), fs::Permissions::from_mode(0o755)).unwrap();
        };
        script("evil.sh", "#!/proc/self/exe\n");
        script("evil-link.sh", "#! /evil-link --version\n");
        script("chain.sh", "#!/evil.sh\n");
        let (id, out) = rt.run(&bundle);
        let (code, out_text, err) = (exit_code(&out), stdout(&out), stderr(&out));
        assert_ne!(
            code, 0,
            "{what}: the runtime ran in the container: {out_text}"
        );
        assert!(
            err.contains("refusing to run the runtime's own binary"),
            "{what}: stderr: {err}"
        );
        assert!(
            !out_text.contains("version"),
            "{what}: the runtime ran in the container: {out_text}"
        );
        assert_nothing_left(&rt, &bundle, &id);
        copy.assert_unchanged(what);
    }
}

#[test]
fn scripts_still_run_with_the_kernels_argv() {
    // #! lines are followed by the runtime now (to check each interpreter): the process must see
    // what the kernel would have given it: interpreter, its one argument, the script, the args.
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["/s.sh", "a b", "c"]);
    let root = bundle.rootfs();
    fs::write(root.join("s.sh"), "#!/bin/sh -e\necho \"$0|$1|$2|$#\"\n").unwrap();
    fs::set_permissions(root.join("s.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(run_ok(&rt, &bundle), "/s.sh|a b|c|2\n");
    // The process's own argv is the kernel's: interpreter, its argument, script, args.
    let bundle = Bundle::busybox().args(&["/s.sh", "x"]);
    fs::write(
        bundle.rootfs().join("s.sh"),
        "#!/bin/sh -e\ntr '\\0' ' ' < /proc/$$/cmdline; echo; cat /proc/$$/comm\n",
    )
    .unwrap();
    fs::set_permissions(
        bundle.rootfs().join("s.sh"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    // ...and its name (comm) is the script's, as after an exec by path.
    assert_eq!(run_ok(&rt, &bundle), "/bin/sh -e /s.sh x \ns.sh\n");
}

#[test]
fn a_parked_init_cannot_be_opened_from_another_container() {
    // Container A is created: its init is the runtime binary, parked. Container B joins A's pid
    // namespace (A's init is B's /proc/1) with more capabilities than the default (but not
    // CAP_SYS_PTRACE) and tries to read and write the binary through /proc/1/exe and its fds.
    let copy = RuntimeCopy::new();
    let rt = copy.runtime();
    let a_bundle = Bundle::busybox().args(&["true"]);
    let a = rt.create(&a_bundle);
    let a_pid = rt.state(&a)["pid"].as_i64().unwrap();
    let b_bundle = Bundle::busybox()
        .args(&[
            "sh",
            "-c",
            "grep -q '^Name:.coracle-runtime' /proc/1/status && echo sees-init; \
             cat /proc/1/exe >/dev/null 2>&1 && echo read-ok || echo read-denied; \
             (echo x >> /proc/1/exe) 2>/dev/null && echo write-ok || echo write-denied; \
             for f in /proc/1/fd/*; do readlink $f; done 2>/dev/null | grep -q . && echo fds-ok || echo fds-denied; \
             readlink /proc/1/exe >/dev/null 2>&1 && echo link-ok || echo link-denied",
        ])
        .config(|c| {
            c["linux"]["namespaces"] = json!([
                {"type": "pid", "path": format!("/proc/{a_pid}/ns/pid")},
                {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
            ]);
            let caps = json!([
                "CAP_AUDIT_WRITE",
                "CAP_KILL",
                "CAP_NET_BIND_SERVICE",
                "CAP_DAC_OVERRIDE",
                "CAP_DAC_READ_SEARCH",
                "CAP_FOWNER",
                "CAP_CHOWN",
                "CAP_SETUID",
                "CAP_SETGID"
            ]);
            c["process"]["capabilities"] =
                json!({"bounding": caps, "effective": caps, "permitted": caps});
        });
    let out = run_ok(&copy.runtime(), &b_bundle);
    assert_eq!(
        out, "sees-init\nread-denied\nwrite-denied\nfds-denied\nlink-denied\n",
        "B reached A's parked init"
    );
    copy.assert_unchanged("the attack on a parked init");
    rt.run_ok(&["delete", "--force", &a]);
    assert_nothing_left(&rt, &a_bundle, &a);
}

#[test]
fn exec_of_the_runtime_itself_into_a_running_container_is_refused() {
    // `exec` forks the runtime into the container's namespaces: naming /proc/self/exe, or a
    // #! script naming it, must not run the runtime there.
    let copy = RuntimeCopy::new();
    let rt = copy.runtime();
    let bundle = Bundle::busybox().args(&["sleep", "100000"]);
    fs::write(bundle.rootfs().join("evil.sh"), "#!/proc/self/exe\n").unwrap();
    fs::set_permissions(
        bundle.rootfs().join("evil.sh"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let id = start(&rt, &bundle);
    for prog in ["/proc/self/exe", "/evil.sh"] {
        let out = rt.output(&["exec", &id, prog, "--version"]);
        assert_ne!(exit_code(&out), 0, "{prog}: {}", stdout(&out));
        assert!(
            stderr(&out).contains("refusing to run the runtime's own binary"),
            "{prog}: {}",
            stderr(&out)
        );
        copy.assert_unchanged(prog);
    }
    rt.run_ok(&["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn exec_of_a_program_swapped_for_the_runtime_during_the_exec_never_runs_it() {
    // Inside the container a loop keeps swapping /t between busybox and /proc/self/exe (atomic
    // renames) while `exec /t --version` runs again and again: whichever file the check sees is
    // the file exec'd, so the runtime never runs there (it would print its version).
    let copy = RuntimeCopy::new();
    let rt = copy.runtime();
    let swap = "while :; do ln -sfn /proc/self/exe /t.new; mv -f /t.new /t; \
                ln -sfn /bin/busybox /t.new; mv -f /t.new /t; done";
    let bundle = Bundle::busybox()
        .args(&["sh", "-c", swap])
        .config(|c| c["root"]["readonly"] = false.into());
    let id = start(&rt, &bundle);
    let (mut refused, mut busybox) = (0, 0);
    for _ in 0..150 {
        let out = rt.output(&["exec", &id, "/t", "--version"]);
        let (o, e) = (stdout(&out), stderr(&out));
        assert!(
            !o.contains("version") && !o.contains("spec:"),
            "the runtime ran in the container: {o} {e}"
        );
        if e.contains("refusing to run the runtime's own binary") {
            refused += 1;
        } else if e.contains("applet not found") {
            busybox += 1;
        }
    }
    copy.assert_unchanged("the swap race");
    // Both sides of the race were met (else the loop was not racing).
    assert!(
        refused > 0 && busybox > 0,
        "refused {refused}, busybox ran {busybox}"
    );
    rt.run_ok(&["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

// --- CVE-2024-21626 ------------------------------------------------------------------------

/// `run` with the runtime holding host descriptors 5 (a directory) and 7 (a file) that it was not
/// asked to preserve (opened by a shell wrapper).
fn run_with_host_fds(rt: &Runtime, bundle: &Bundle) -> Output {
    let id = rt.new_id();
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"exec 5<"$0" 7<"$0/config.json"; exec "$@""#)
        .arg(bundle.path())
        .arg(rt.bin())
        .arg("--root")
        .arg(rt.root())
        .args(["run", "--bundle", bundle.path_str(), &id])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_nothing_left(rt, bundle, &id);
    out
}

#[test]
fn no_host_descriptor_reaches_the_container() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sh", "-c", "ls /proc/self/fd | tr '\\n' ' '"]);
    let out = run_with_host_fds(&rt, &bundle);
    assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
    // 0 1 2, and 3: ls's own directory descriptor.
    assert_eq!(stdout(&out), "0 1 2 3 ");
}

#[test]
fn cwd_through_any_descriptor_number_is_refused_while_host_fds_are_open() {
    // CVE-2024-21626: cwd /proc/self/fd/N for every N from 3 to 20, while the runtime holds host
    // descriptors (a directory on fd 5): each must be refused, never a cwd outside the root.
    let rt = Runtime::new();
    for n in 3..=20 {
        let cwd = format!("/proc/self/fd/{n}");
        let bundle = Bundle::busybox()
            .args(&["sh", "-c", "ls -a . | head -n 50"])
            .config(|c| c["process"]["cwd"] = cwd.clone().into());
        let out = run_with_host_fds(&rt, &bundle);
        assert_ne!(
            exit_code(&out),
            0,
            "cwd {cwd} was accepted; the process saw: {}",
            stdout(&out)
        );
        assert!(
            stderr(&out).contains("process.cwd"),
            "{cwd}: {}",
            stderr(&out)
        );
    }
}

// --- CVE-2021-30465 ------------------------------------------------------------------------

/// An empty host directory outside every bundle; removed on Drop.
struct Outside(PathBuf);

impl Outside {
    fn new() -> Outside {
        let p = PathBuf::from(format!("/tmp/{}-outside", unique_id()));
        fs::create_dir_all(&p).unwrap();
        Outside(p)
    }

    fn entries(&self) -> Vec<String> {
        fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    fn host_mounts_mention(&self) -> bool {
        fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .contains(self.0.to_str().unwrap())
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn rootfs_directory_swapped_for_a_symlink_during_setup_stays_inside() {
    // A host thread flips rootfs/flip between a directory and a symlink to a host directory while
    // containers are created that mount a tmpfs at /flip/a/b (made by the runtime), create a
    // device at /flip/null, and mask /flip/m. Whatever the timing, nothing may land in the host
    // directory and nothing may be mounted over it.
    let outside = Outside::new();
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["true"]).config(|c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "/flip/a/b", "type": "tmpfs", "source": "tmpfs"}));
        c["linux"]["devices"] = json!([
            {"path": "/flip/null", "type": "c", "major": 1, "minor": 3, "fileMode": 438}
        ]);
        c["linux"]["maskedPaths"] = json!(["/flip/m"]);
    });
    let root = bundle.rootfs();
    let (dir, link) = (root.join("flip"), root.join("flip.link"));
    fs::create_dir_all(dir.join("m")).unwrap();
    symlink(&outside.0, &link).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let (stop, dir, link, side) = (
            stop.clone(),
            dir.clone(),
            link.clone(),
            root.join("flip.dir"),
        );
        std::thread::spawn(move || {
            let mut flips = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // dir -> aside, link -> in place, back again: every state is tried.
                let _ = fs::rename(&dir, &side);
                let _ = fs::rename(&link, &dir);
                std::thread::yield_now();
                let _ = fs::rename(&dir, &link);
                let _ = fs::rename(&side, &dir);
                flips += 1;
            }
            flips
        })
    };
    let mut outcomes = (0, 0);
    for _ in 0..40 {
        let (id, out) = rt.run(&bundle);
        if exit_code(&out) == 0 {
            outcomes.0 += 1;
        } else {
            outcomes.1 += 1;
        }
        assert!(
            outside.entries().is_empty(),
            "the runtime wrote outside the rootfs: {:?} (stderr: {})",
            outside.entries(),
            stderr(&out)
        );
        assert!(
            !outside.host_mounts_mention(),
            "a mount landed on the host dir"
        );
        assert_nothing_left(&rt, &bundle, &id);
    }
    stop.store(true, Ordering::Relaxed);
    let flips = flipper.join().unwrap();
    assert!(flips > 0, "the flipper never ran");
    assert!(outside.entries().is_empty());
    eprintln!(
        "40 runs while flipping {flips} times: {} ok, {} refused",
        outcomes.0, outcomes.1
    );
}

#[test]
fn masked_path_that_is_a_symlink_out_of_the_root_masks_inside_it() {
    // rootfs/masklink -> <host dir>/secret (absolute). Resolved inside the root, it names
    // rootfs/<host dir>/secret, which is masked; the host's file is neither masked nor changed.
    let outside = Outside::new();
    let secret = outside.0.join("secret");
    fs::write(&secret, "host secret\n").unwrap();
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&["sh", "-c", "cat /masklink; echo end"])
        .config(|c| c["linux"]["maskedPaths"] = json!(["/masklink"]));
    let root = bundle.rootfs();
    let inside = root.join(secret.strip_prefix("/").unwrap());
    fs::create_dir_all(inside.parent().unwrap()).unwrap();
    fs::write(&inside, "inside copy\n").unwrap();
    symlink(&secret, root.join("masklink")).unwrap();
    assert_eq!(
        run_ok(&rt, &bundle),
        "end\n",
        "the masked file was readable"
    );
    assert_eq!(fs::read_to_string(&secret).unwrap(), "host secret\n");
    assert_eq!(fs::read_to_string(&inside).unwrap(), "inside copy\n");
    assert!(!outside.host_mounts_mention());
}

// --- /proc and /sys hardening --------------------------------------------------------------

#[test]
fn masked_path_cannot_be_unmasked_without_cap_sys_admin() {
    // The default capabilities (no CAP_SYS_ADMIN): umount of a mask (a file under /proc, a
    // directory under /sys) and a mount over it fail, and both stay empty.
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&[
        "sh",
        "-c",
        "for p in /proc/timer_list /sys/firmware; do \
           umount $p 2>/dev/null && echo umounted || echo umount-refused; \
           umount -l $p 2>/dev/null && echo lazy-umounted || echo lazy-refused; \
           mount --bind /etc $p 2>/dev/null && echo mounted || echo mount-refused; \
         done; \
         wc -c < /proc/timer_list; ls -A /sys/firmware | wc -l",
    ]);
    let refused = "umount-refused\nlazy-refused\nmount-refused\n";
    assert_eq!(
        run_ok(&rt, &bundle).replace(' ', ""),
        format!("{refused}{refused}0\n0\n")
    );
}

/// `grep` of the keyring names this container's process possesses or may view, with /proc/keys
/// unmasked.
fn keyrings_seen(rt: &Runtime, extra: &[&str]) -> (String, String) {
    let bundle = Bundle::busybox()
        .args(&["sh", "-c", "grep -o ' _ses[^ :]*' /proc/keys | sort"])
        .config(|c| {
            let masked: Vec<_> = c["linux"]["maskedPaths"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p.as_str() != Some("/proc/keys"))
                .cloned()
                .collect();
            c["linux"]["maskedPaths"] = json!(masked);
        });
    let id = rt.new_id();
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--bundle", bundle.path_str(), &id]);
    let out = rt.output(&args);
    assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
    assert_nothing_left(rt, &bundle, &id);
    (id, stdout(&out))
}

#[test]
fn each_container_has_its_own_session_keyring() {
    // A parked container holds its keyring while two others run: each sees its own keyring and
    // not the parked one's (the keyrings are possessor-only), nor does the host. (Keyrings of
    // other runtimes' containers on this host may be listed: only ours are checked.)
    let rt = Runtime::new();
    let parked_rt = Runtime::new();
    let parked_bundle = Bundle::busybox().args(&["true"]);
    let parked = parked_rt.create(&parked_bundle);
    let parked_ring = format!("_ses.{parked}");
    let (id1, seen1) = keyrings_seen(&rt, &[]);
    let (id2, seen2) = keyrings_seen(&rt, &[]);
    let host = fs::read_to_string("/proc/keys").unwrap();
    for (id, seen, other) in [(&id1, &seen1, &id2), (&id2, &seen2, &id1)] {
        let names: Vec<&str> = seen.split_whitespace().collect();
        assert!(
            names.contains(&format!("_ses.{id}").as_str()),
            "{id}: {seen}"
        );
        assert!(
            !names.contains(&parked_ring.as_str()),
            "{id} sees {parked_ring}"
        );
        assert!(
            !names.contains(&format!("_ses.{other}").as_str()),
            "{id}: {seen}"
        );
    }
    assert!(!host.contains(&parked_ring), "the host sees {parked_ring}");
    parked_rt.run_ok(&["delete", "--force", &parked]);
    assert_nothing_left(&parked_rt, &parked_bundle, &parked);
}

#[test]
fn no_new_keyring_keeps_the_callers_session_keyring() {
    // With the flag no keyring is made for the container (it keeps the caller's); without it, one
    // named after the container is.
    let rt = Runtime::new();
    let (id, seen) = keyrings_seen(&rt, &["--no-new-keyring"]);
    assert!(
        !seen.contains(&format!("_ses.{id}")),
        "a keyring was made: {seen}"
    );
    let (id, seen) = keyrings_seen(&rt, &[]);
    assert!(
        seen.contains(&format!("_ses.{id}")),
        "no keyring was made: {seen}"
    );
}

// --- Capabilities --------------------------------------------------------------------------

#[test]
fn ambient_capabilities_survive_a_second_exec_for_a_non_root_user() {
    // tests/process.rs checks the five sets of the container's own process; here that process
    // execs again (sh -> sh -> grep, chown): a non-root user keeps ambient capabilities across
    // exec, and they still act.
    let rt = Runtime::new();
    let caps = json!(["CAP_CHOWN", "CAP_KILL"]);
    let bundle = Bundle::busybox()
        .args(&[
            "sh",
            "-c",
            "touch /dev/shm/f; sh -c 'grep ^CapAmb /proc/self/status; \
             chown 1234 /dev/shm/f && echo chowned; id -u'",
        ])
        .config(|c| {
            c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
            c["process"]["capabilities"] = json!({
                "bounding": caps, "effective": caps, "permitted": caps,
                "inheritable": caps, "ambient": caps
            });
        });
    // CAP_CHOWN is bit 0, CAP_KILL bit 5.
    assert_eq!(
        run_ok(&rt, &bundle),
        "CapAmb:\t0000000000000021\nchowned\n1000\n"
    );
}
