//! LSM labels. On this host (neither AppArmor nor SELinux) a profile or process label asked for
//! fails with one line naming the field or flag and nothing left, and a mount label is skipped.
//!
//! The `#[ignore]`d tests need the LSM: `tests/v2/run.sh --lsm` boots Debian's kernel (AppArmor
//! on by default) under QEMU, loads the profile in tests/v2/lsm/coracle-test.profile with
//! apparmor_parser and runs the `apparmor_*` tests there; the profile allows everything but
//! reading /etc/secret and writing under /tmp. `tests/v2/run.sh --selinux` boots the same kernel
//! with SELinux (permissive), loads the minimal policy of tests/v2/selinux/policy.conf and runs
//! the `selinux_*` tests. `scripts/test.sh` runs both after `cargo test`.

mod common;

use common::{assert_nothing_left, exit_code, start, stdout, Bundle, Runtime};
use serde_json::json;
use std::fs;
use std::process::Output;

/// The profile the guest loads (tests/v2/lsm/coracle-test.profile).
const PROFILE: &str = "coracle-test";
const IN_GUEST: &str = "needs AppArmor: tests/v2/run.sh --lsm runs it under QEMU";

fn apparmor_on() -> bool {
    fs::read_to_string("/sys/module/apparmor/parameters/enabled").is_ok_and(|s| s.trim() == "Y")
}

fn selinux_on() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The line the guest's RESULT line carries.
fn detail(text: impl AsRef<str>) {
    println!("DETAIL {}", text.as_ref());
}

fn exec(rt: &Runtime, args: &[&str]) -> Output {
    let mut all = vec!["exec"];
    all.extend_from_slice(args);
    rt.output(&all)
}

/// A failed command said exactly one line, which contains `want`.
fn assert_one_line_error(out: &Output, want: &str) {
    let err = stderr(out);
    assert_ne!(
        exit_code(out),
        0,
        "expected a failure; stdout: {}",
        stdout(out)
    );
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(want), "stderr does not name {want:?}: {err}");
}

// ---- this host: no LSM ----

#[test]
fn apparmor_profile_without_apparmor_is_refused() {
    if apparmor_on() {
        return; // a host with AppArmor: the guest tests cover it
    }
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&["true"])
        .config(|c| c["process"]["apparmorProfile"] = json!("docker-default"));
    let (id, out) = rt.run(&bundle);
    assert_one_line_error(
        &out,
        "process.apparmorProfile: AppArmor is not enabled on this host",
    );
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn selinux_label_without_selinux_is_refused() {
    if selinux_on() {
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&["true"])
        .config(|c| c["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0:c1,c2"));
    let (id, out) = rt.run(&bundle);
    assert_one_line_error(
        &out,
        "process.selinuxLabel: SELinux is not enabled on this host",
    );
    assert_nothing_left(&rt, &bundle, &id);
}

/// crun's behaviour: without SELinux the mount label is dropped, the mounts made as usual.
#[test]
fn mount_label_without_selinux_is_skipped() {
    if selinux_on() {
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&[
            "sh",
            "-c",
            "grep -c context= /proc/self/mounts; echo ok > /dev/shm/f && cat /dev/shm/f",
        ])
        .config(|c| {
            // The bundle's /dev and /dev/shm are tmpfs mounts, which would take it.
            c["linux"]["mountLabel"] = json!("system_u:object_r:container_file_t:s0:c1,c2");
        });
    let (id, out) = rt.run(&bundle);
    assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "0\nok\n");
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn exec_lsm_flags_without_the_lsm_are_refused() {
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100000"]);
    let id = start(&rt, &bundle);
    if !apparmor_on() {
        let out = exec(&rt, &["--apparmor", PROFILE, &id, "true"]);
        assert_one_line_error(&out, "--apparmor: AppArmor is not enabled on this host");
    }
    if !selinux_on() {
        let out = exec(
            &rt,
            &[
                "--process-label",
                "system_u:system_r:container_t:s0",
                &id,
                "true",
            ],
        );
        assert_one_line_error(&out, "--process-label: SELinux is not enabled on this host");
        // The same field in --process JSON.
        let file = bundle.path().join("process.json");
        let mut p = bundle.spec()["process"].clone();
        p["args"] = json!(["true"]);
        p["selinuxLabel"] = json!("system_u:system_r:container_t:s0");
        fs::write(&file, p.to_string()).expect("write process.json");
        let out = exec(&rt, &["--process", file.to_str().expect("utf-8"), &id]);
        assert_one_line_error(&out, "selinuxLabel: SELinux is not enabled on this host");
    }
    rt.run_ok(&["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
}

#[test]
fn features_report_the_hosts_lsms() {
    let rt = Runtime::new();
    let f: serde_json::Value = serde_json::from_str(&rt.run_ok(&["features"])).expect("JSON");
    assert_eq!(f["linux"]["apparmor"]["enabled"], apparmor_on());
    assert_eq!(f["linux"]["selinux"]["enabled"], selinux_on());
}

// ---- in the guest: AppArmor on, the test profile loaded ----

fn require_apparmor() {
    assert!(apparmor_on(), "AppArmor is not enabled: {IN_GUEST}");
    let loaded = fs::read_to_string("/sys/kernel/security/apparmor/profiles").unwrap_or_default();
    assert!(
        loaded
            .lines()
            .any(|l| l.starts_with(&format!("{PROFILE} "))),
        "profile {PROFILE} is not loaded ({loaded:?}): {IN_GUEST}"
    );
}

/// What a confined container reports: its label, then whether each access worked.
const PROBE: &str = "cat /proc/self/attr/current; echo; \
    cat /etc/secret >/dev/null 2>&1 && echo secret=read || echo secret=denied; \
    echo x 2>/dev/null >/tmp/f && echo tmp=written || echo tmp=denied; \
    echo x >/run/f && cat /run/f >/dev/null && echo run=written; \
    cat /etc/passwd >/dev/null && echo passwd=read";

/// A bundle with /etc/secret, and /tmp and /run writable (tmpfs: the root is read-only).
fn bundle_with_secret() -> Bundle {
    let bundle = Bundle::busybox().config(|c| {
        let mounts = c["mounts"].as_array_mut().expect("mounts");
        for dir in ["/tmp", "/run"] {
            mounts.push(
                json!({"destination": dir, "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "nodev", "mode=1777"]}),
            );
        }
    });
    fs::write(bundle.rootfs().join("etc/secret"), "s3cret\n").expect("write /etc/secret");
    bundle
}

#[test]
#[ignore = "needs AppArmor: tests/v2/run.sh --lsm runs it under QEMU"]
fn apparmor_profile_confines_the_container() {
    require_apparmor();
    let rt = Runtime::new();
    let bundle = bundle_with_secret()
        .args(&["sh", "-c", PROBE])
        .config(|c| c["process"]["apparmorProfile"] = json!(PROFILE));
    let (id, out) = rt.run(&bundle);
    assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with(&format!("{PROFILE} (enforce)")), "{text}");
    for want in ["secret=denied", "tmp=denied", "run=written", "passwd=read"] {
        assert!(text.lines().any(|l| l == want), "no {want}: {text}");
    }
    // The denial is EACCES, not a missing file.
    let bundle2 = bundle_with_secret()
        .args(&["cat", "/etc/secret"])
        .config(|c| c["process"]["apparmorProfile"] = json!(PROFILE));
    let (id2, out2) = rt.run(&bundle2);
    assert_ne!(exit_code(&out2), 0);
    assert!(
        stderr(&out2).contains("Permission denied"),
        "{}",
        stderr(&out2)
    );
    assert_nothing_left(&rt, &bundle, &id);
    assert_nothing_left(&rt, &bundle2, &id2);
    detail(text.lines().collect::<Vec<_>>().join(" "));
}

/// Without the field the container is unconfined (and the secret readable): the profile is what
/// denies it.
#[test]
#[ignore = "needs AppArmor: tests/v2/run.sh --lsm runs it under QEMU"]
fn apparmor_absent_leaves_the_container_unconfined() {
    require_apparmor();
    let rt = Runtime::new();
    let bundle = bundle_with_secret().args(&["sh", "-c", PROBE]);
    let (id, out) = rt.run(&bundle);
    assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("unconfined"), "{text}");
    assert!(text.lines().any(|l| l == "secret=read"), "{text}");
    assert!(text.lines().any(|l| l == "tmp=written"), "{text}");
    assert_nothing_left(&rt, &bundle, &id);
    detail(text.lines().collect::<Vec<_>>().join(" "));
}

#[test]
#[ignore = "needs AppArmor: tests/v2/run.sh --lsm runs it under QEMU"]
fn exec_apparmor_flag_and_process_json() {
    require_apparmor();
    let rt = Runtime::new();
    let bundle = bundle_with_secret().args(&["sleep", "100000"]);
    let id = start(&rt, &bundle);
    let plain = exec(&rt, &[&id, "cat", "/proc/self/attr/current"]);
    assert!(
        stdout(&plain).starts_with("unconfined"),
        "{}",
        stdout(&plain)
    );
    let flagged = exec(&rt, &["--apparmor", PROFILE, &id, "sh", "-c", PROBE]);
    assert_eq!(exit_code(&flagged), 0, "stderr: {}", stderr(&flagged));
    let text = stdout(&flagged);
    assert!(text.starts_with(&format!("{PROFILE} (enforce)")), "{text}");
    assert!(text.lines().any(|l| l == "secret=denied"), "{text}");
    assert!(text.lines().any(|l| l == "tmp=denied"), "{text}");
    // The same field in --process JSON.
    let file = bundle.path().join("process.json");
    let mut p = bundle.spec()["process"].clone();
    p["args"] = json!(["cat", "/proc/self/attr/apparmor/current"]);
    p["apparmorProfile"] = json!(PROFILE);
    fs::write(&file, p.to_string()).expect("write process.json");
    let json_out = exec(&rt, &["--process", file.to_str().expect("utf-8"), &id]);
    assert_eq!(exit_code(&json_out), 0, "stderr: {}", stderr(&json_out));
    assert!(stdout(&json_out).starts_with(&format!("{PROFILE} (enforce)")));
    // A profile that is not loaded: one line, the process never runs.
    let bad = exec(&rt, &["--apparmor", "coracle-not-loaded", &id, "true"]);
    assert_one_line_error(&bad, "no such profile is loaded");
    rt.run_ok(&["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
    detail(text.lines().collect::<Vec<_>>().join(" "));
}

#[test]
#[ignore = "needs AppArmor: tests/v2/run.sh --lsm runs it under QEMU"]
fn apparmor_unloaded_profile_fails_create_with_nothing_left() {
    require_apparmor();
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&["true"])
        .config(|c| c["process"]["apparmorProfile"] = json!("coracle-not-loaded"));
    let (id, out) = rt.run(&bundle);
    assert_one_line_error(
        &out,
        "process.apparmorProfile: applying AppArmor profile \"coracle-not-loaded\": no such profile is loaded",
    );
    assert_nothing_left(&rt, &bundle, &id);
    detail(stderr(&out).trim());
}

// ---- in the guest: SELinux on (permissive), the minimal policy loaded ----

const PROCESS_LABEL: &str = "system_u:system_r:container_t";
const MOUNT_LABEL: &str = "system_u:object_r:container_file_t";

fn require_selinux() {
    assert!(
        selinux_on(),
        "SELinux is not enabled: tests/v2/run.sh --selinux runs it under QEMU"
    );
    let policy = fs::metadata("/sys/fs/selinux/policy")
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(policy > 0, "no SELinux policy is loaded");
}

/// The process runs in selinuxLabel; the bundle's tmpfs mounts (/dev, /dev/shm) carry
/// mountLabel, and proc does not.
#[test]
#[ignore = "needs SELinux: tests/v2/run.sh --selinux runs it under QEMU"]
fn selinux_process_and_mount_labels() {
    require_selinux();
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&[
            "sh",
            "-c",
            "cat /proc/self/attr/current; echo; cat /proc/self/mounts",
        ])
        .config(|c| {
            c["process"]["selinuxLabel"] = json!(PROCESS_LABEL);
            c["linux"]["mountLabel"] = json!(MOUNT_LABEL);
        });
    let (id, out) = rt.run(&bundle);
    assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    // SELinux ends the context with a NUL.
    let current = lines.next().map(|l| l.trim_end_matches('\0'));
    assert_eq!(current, Some(PROCESS_LABEL), "{text}");
    let mount = |dest: &str| {
        text.lines()
            .find(|l| l.split(' ').nth(1) == Some(dest))
            .unwrap_or_else(|| panic!("no {dest} mount: {text}"))
            .to_string()
    };
    let context = format!("context={MOUNT_LABEL}");
    for dest in ["/dev", "/dev/shm"] {
        assert!(mount(dest).contains(&context), "{}", mount(dest));
    }
    assert!(!mount("/proc").contains("context="), "{}", mount("/proc"));
    assert_nothing_left(&rt, &bundle, &id);
    detail(format!("{PROCESS_LABEL}; {}", mount("/dev/shm")));
}

#[test]
#[ignore = "needs SELinux: tests/v2/run.sh --selinux runs it under QEMU"]
fn selinux_exec_process_label() {
    require_selinux();
    let rt = Runtime::new();
    let bundle = Bundle::busybox().args(&["sleep", "100000"]);
    let id = start(&rt, &bundle);
    let out = exec(
        &rt,
        &[
            "--process-label",
            PROCESS_LABEL,
            &id,
            "cat",
            "/proc/self/attr/current",
        ],
    );
    assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out).trim_end_matches(['\n', '\0']), PROCESS_LABEL);
    let plain = exec(&rt, &[&id, "cat", "/proc/self/attr/current"]);
    assert_ne!(stdout(&plain).trim_end_matches(['\n', '\0']), PROCESS_LABEL);
    rt.run_ok(&["delete", "--force", &id]);
    assert_nothing_left(&rt, &bundle, &id);
    detail(format!("exec --process-label: {PROCESS_LABEL}"));
}

#[test]
#[ignore = "needs SELinux: tests/v2/run.sh --selinux runs it under QEMU"]
fn selinux_unknown_label_fails_create_with_nothing_left() {
    require_selinux();
    let rt = Runtime::new();
    let bundle = Bundle::busybox()
        .args(&["true"])
        .config(|c| c["process"]["selinuxLabel"] = json!("system_u:system_r:no_such_t"));
    let (id, out) = rt.run(&bundle);
    assert_one_line_error(&out, "process.selinuxLabel: setting attr/");
    assert_one_line_error(&out, "not a valid context in the loaded policy");
    assert_nothing_left(&rt, &bundle, &id);
    detail(stderr(&out).trim());
}

/// The rootfs owned by `uid` (the container's root in a user namespace).
fn chown_tree(dir: &std::path::Path, uid: u32) {
    std::os::unix::fs::lchown(dir, Some(uid), Some(uid)).expect("chown");
    for entry in fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() && !path.is_symlink() {
            chown_tree(&path, uid);
        } else {
            std::os::unix::fs::lchown(&path, Some(uid), Some(uid)).expect("chown");
        }
    }
}

/// The same profile for a container in its own user namespace: the init writes the attr as the
/// namespace's root, `exec --apparmor` after joining it.
#[test]
#[ignore = "needs AppArmor: tests/v2/run.sh --lsm runs it under QEMU"]
fn apparmor_profile_in_a_user_namespace() {
    require_apparmor();
    let rt = Runtime::new();
    let maps = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    let bundle = bundle_with_secret().args(&["sh", "-c", PROBE]).config(|c| {
        c["process"]["apparmorProfile"] = json!(PROFILE);
        let list = c["linux"]["namespaces"].as_array_mut().expect("namespaces");
        list.push(json!({ "type": "user" }));
        c["linux"]["uidMappings"] = maps.clone();
        c["linux"]["gidMappings"] = maps.clone();
    });
    chown_tree(&bundle.rootfs(), 100000);
    let (id, out) = rt.run(&bundle);
    assert_eq!(exit_code(&out), 0, "stderr: {}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with(&format!("{PROFILE} (enforce)")), "{text}");
    for want in ["secret=denied", "tmp=denied", "run=written", "passwd=read"] {
        assert!(text.lines().any(|l| l == want), "no {want}: {text}");
    }
    assert_nothing_left(&rt, &bundle, &id);

    let mut sleeper = bundle_with_secret().args(&["sleep", "100000"]);
    sleeper.edit(|c| {
        let list = c["linux"]["namespaces"].as_array_mut().expect("namespaces");
        list.push(json!({ "type": "user" }));
        c["linux"]["uidMappings"] = maps.clone();
        c["linux"]["gidMappings"] = maps.clone();
    });
    chown_tree(&sleeper.rootfs(), 100000);
    let id2 = start(&rt, &sleeper);
    let out2 = exec(&rt, &["--apparmor", PROFILE, &id2, "sh", "-c", PROBE]);
    assert_eq!(exit_code(&out2), 0, "stderr: {}", stderr(&out2));
    let text2 = stdout(&out2);
    assert!(
        text2.starts_with(&format!("{PROFILE} (enforce)")),
        "{text2}"
    );
    assert!(text2.lines().any(|l| l == "secret=denied"), "{text2}");
    rt.run_ok(&["delete", "--force", &id2]);
    assert_nothing_left(&rt, &sleeper, &id2);
    detail(format!(
        "run + exec in a user namespace: {}",
        text.lines().collect::<Vec<_>>().join(" ")
    ));
}
