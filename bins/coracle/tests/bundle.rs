//! `coracle bundle`: the bundle runs under coracle-runtime, runc and crun; the image config
//! becomes the process (Cmd, Env, WorkingDir, User from the image's passwd/group); layers stay
//! shared and untouched; whiteouts of upper layers hide lower files; `unbundle` leaves nothing
//! mounted.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{busybox_rootfs, docker_archive, runtime_bin, tarball, unique_id, Entry, Env};

/// A two-layer image: busybox, then a layer that deletes /bin/cat and adds /etc/motd.
fn two_layer_image(env: &Env, tag: &str, config_extra: &str) {
    let rootfs = env.path("rootfs");
    busybox_rootfs(&rootfs);
    let base = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .args(["-cf", "-", "."])
        .output()
        .unwrap()
        .stdout;
    let top = tarball(&[
        Entry::Dir("bin/"),
        Entry::File("bin/.wh.cat", b""),
        Entry::File("etc/motd", b"from the top layer\n"),
    ]);
    let archive = env.path("image.tar");
    docker_archive(&archive, tag, &[base, top], config_extra);
    env.ok(&[Path::new("load"), Path::new("-i"), &archive]);
}

fn run_bundle(runtime: &Path, state: &Path, bundle: &Path) -> (bool, String) {
    let id = unique_id();
    let mut cmd = if runtime.ends_with("crun") {
        // crun refuses hybrid cgroups unless the unified mount is out of sight (MACHINE-NOTES):
        // a private mount namespace without it.
        let mut c = Command::new("unshare");
        c.args([
            "-m",
            "sh",
            "-c",
            r#"umount -l /sys/fs/cgroup/unified && exec "$0" "$@""#,
        ]);
        c.arg(runtime);
        c
    } else {
        Command::new(runtime)
    };
    let out = cmd
        .arg("--root")
        .arg(state)
        .args(["run", "-b"])
        .arg(bundle)
        .arg(&id)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = Command::new(runtime)
        .arg("--root")
        .arg(state)
        .args(["delete", "-f", &id])
        .output();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn mounted(path: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(&format!(" {} ", path.display()))
}

const SCRIPT: &str = "id; pwd; echo FOO=$FOO HOME=$HOME; cat /etc/motd; ls /bin/cat || echo cat-gone; touch /tmp/written && echo wrote; echo done";

#[test]
fn bundle_runs_under_coracle_runtime_runc_and_crun() {
    let env = Env::new();
    two_layer_image(
        &env,
        "localhost/app:v1",
        r#","User":"daemon","WorkingDir":"/tmp","Env":["FOO=bar"]"#,
    );
    let runtimes: [(&str, PathBuf); 2] = [
        ("coracle-runtime", runtime_bin()),
        ("runc", PathBuf::from("/usr/sbin/runc")),
    ];
    for mode in ["overlay", "copy"] {
        for (name, bin) in &runtimes {
            let bundle = env.path(&format!("bundle-{name}-{mode}"));
            let made = env.ok(&[
                "bundle",
                "--rootfs",
                mode,
                "localhost/app:v1",
                bundle.to_str().unwrap(),
                "--",
                "sh",
                "-c",
                SCRIPT,
            ]);
            assert!(made.contains(&format!("({mode})")), "{made}");
            assert_eq!(mounted(&bundle.join("rootfs")), mode == "overlay");
            let config: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(bundle.join("config.json")).unwrap())
                    .unwrap();
            assert_eq!(config["process"]["user"]["uid"], 1);
            let (ok, out) = run_bundle(bin, &env.path(&format!("state-{name}")), &bundle);
            assert!(ok, "{name} ({mode}): {out}");
            assert!(
                out.contains("uid=1(daemon) gid=1(daemon)") && out.contains("4242(extra)"),
                "{name} ({mode}): {out}"
            );
            assert!(out.contains("/tmp\n"), "{name}: WorkingDir: {out}");
            assert!(out.contains("FOO=bar HOME=/usr/sbin"), "{name}: Env: {out}");
            assert!(out.contains("from the top layer"), "{name}: {out}");
            assert!(
                out.contains("cat-gone"),
                "{name} ({mode}): whiteout did not hide /bin/cat: {out}"
            );
            assert!(out.contains("done"), "{name}: {out}");
            if mode == "overlay" {
                assert!(out.contains("wrote"), "{name}: {out}");
                assert!(
                    bundle.join(".coracle/upper/tmp/written").exists(),
                    "writes go to the bundle's upper dir"
                );
            }
            env.ok(&["unbundle", bundle.to_str().unwrap()]);
            assert!(
                !mounted(&bundle.join("rootfs")) && !bundle.exists(),
                "{name} ({mode}): unbundle left things"
            );
        }
    }
    // The shared layer dirs never saw a container's writes.
    for layer in std::fs::read_dir(env.root().join("layers")).unwrap() {
        assert!(!layer.unwrap().path().join("tmp/written").exists());
    }
    env.assert_clean();
}

#[test]
fn image_config_becomes_annotations_and_cmd() {
    let env = Env::new();
    two_layer_image(
        &env,
        "localhost/meta:v1",
        r#","Entrypoint":["/bin/echo"],"ExposedPorts":{"8080/tcp":{}},"Volumes":{"/data":{}},"StopSignal":"SIGINT""#,
    );
    let bundle = env.path("b");
    env.ok(&["bundle", "localhost/meta:v1", bundle.to_str().unwrap()]);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(
        config["process"]["args"],
        serde_json::json!(["/bin/echo", "sh"])
    );
    let a = &config["annotations"];
    assert_eq!(a["org.opencontainers.image.exposedPorts"], "8080/tcp");
    assert_eq!(a["org.opencontainers.image.stopSignal"], "SIGINT");
    assert_eq!(a["io.coracle.image.volumes"], "/data");
    let (ok, out) = run_bundle(&runtime_bin(), &env.path("state"), &bundle);
    assert!(ok && out.trim() == "sh", "{out}");

    // Bad targets: a non-empty dir is refused and kept as it was; an unknown user fails cleanly.
    let busy = env.path("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("keep"), b"k").unwrap();
    let line = env.fails(&["bundle", "localhost/meta:v1", busy.to_str().unwrap()]);
    assert!(line.contains("not empty"), "{line}");
    assert!(busy.join("keep").exists());
    assert!(env
        .fails(&["unbundle", busy.to_str().unwrap()])
        .contains("not a bundle"));

    // Removing the image while its bundle is mounted keeps the layers the overlay uses.
    env.ok(&["rmi", "localhost/meta:v1"]);
    env.ok(&["image", "prune"]);
    let (ok, out) = run_bundle(&runtime_bin(), &env.path("state"), &bundle);
    assert!(ok && out.trim() == "sh", "after rmi: {out}");
    env.ok(&["unbundle", bundle.to_str().unwrap()]);
    assert!(!mounted(&bundle.join("rootfs")) && !bundle.exists());
    let pruned = env.ok(&["image", "prune"]);
    assert!(
        pruned.contains(", 2 layers"),
        "unmounted layers are collected: {pruned}"
    );
}

#[test]
fn unknown_user_fails_and_leaves_nothing() {
    let env = Env::new();
    two_layer_image(&env, "localhost/ghost:v1", r#","User":"ghost""#);
    let bundle = env.path("b");
    let line = env.fails(&["bundle", "localhost/ghost:v1", bundle.to_str().unwrap()]);
    assert!(line.contains("ghost"), "{line}");
    assert!(!bundle.exists() && !mounted(&bundle.join("rootfs")));
}

/// A layer that escapes, loaded from an archive (load does not read layers): bundle refuses
/// it naming the entry, in both rootfs modes, writes nothing outside and keeps no partial layer.
#[test]
fn hostile_layer_is_refused_at_unpack() {
    let cases: [(&str, Vec<Entry>); 4] = [
        ("../escaped", vec![Entry::File("../escaped", b"x")]),
        ("/abs-escaped", vec![Entry::File("/abs-escaped", b"x")]),
        (
            "link/escaped",
            vec![
                Entry::Symlink("link", ".."),
                Entry::File("link/escaped", b"x"),
            ],
        ),
        ("hard", vec![Entry::Hardlink("hard", "../victim")]),
    ];
    for (entry, entries) in cases {
        let env = Env::new();
        std::fs::write(env.path("victim"), b"v").unwrap();
        let archive = env.path("evil.tar");
        docker_archive(&archive, "localhost/evil:v1", &[tarball(&entries)], "");
        env.ok(&[Path::new("load"), Path::new("-i"), &archive]);
        for mode in ["overlay", "copy"] {
            let bundle = env.path("b");
            let line = env.fails(&[
                "bundle",
                "--rootfs",
                mode,
                "localhost/evil:v1",
                bundle.to_str().unwrap(),
            ]);
            assert!(line.contains(&format!("{entry:?}")), "{mode}: {line}");
            assert!(!bundle.exists() && !mounted(&bundle.join("rootfs")));
            assert!(!env.path("escaped").exists() && !Path::new("/abs-escaped").exists());
            assert!(
                !env.root().join("escaped").exists() && !env.root().join("layers/escaped").exists()
            );
            assert_eq!(
                std::fs::metadata(env.path("victim"))
                    .map(|m| std::os::unix::fs::MetadataExt::nlink(&m))
                    .unwrap(),
                1
            );
            assert_eq!(
                std::fs::read_dir(env.root().join("layers"))
                    .unwrap()
                    .count(),
                0,
                "no partial layer"
            );
        }
        env.assert_clean();
    }
}

/// Where overlayfs cannot be used (here: a store path with ':', which overlay options cannot
/// name), `auto` falls back to a copy that runs the same; `--rootfs overlay` says why it can't.
#[test]
fn overlay_unavailable_falls_back_to_a_copy() {
    let env = Env::new();
    let root = env.path("store:colon");
    let coracle = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_coracle"))
            .arg("--root")
            .arg(&root)
            .args(args)
            .output()
            .unwrap()
    };
    let rootfs = env.path("rootfs");
    busybox_rootfs(&rootfs);
    assert!(coracle(&["import", rootfs.to_str().unwrap(), "bb"])
        .status
        .success());
    let bundle = env.path("b");
    let b = bundle.to_str().unwrap();
    let out = coracle(&["bundle", "bb", b, "--", "sh", "-c", "echo from-copy"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(copy)"),
        "{out:?}"
    );
    assert!(!mounted(&bundle.join("rootfs")));
    let (ok, text) = run_bundle(&runtime_bin(), &env.path("state"), &bundle);
    assert!(ok && text.contains("from-copy"), "{text}");
    assert!(coracle(&["unbundle", b]).status.success());
    let out = coracle(&["bundle", "--rootfs", "overlay", "bb", b]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.lines().count() == 1 && err.contains("':'"),
        "{err}"
    );
    assert!(!bundle.exists());
}
