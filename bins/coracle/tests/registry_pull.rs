//! Pulls from a real registry (docker-registry on 127.0.0.1): skopeo pushes images built
//! here from busybox-static, coracle pulls them; index platform selection; errors.

mod registry_support;

use registry_support::oci::{self, Built};
use registry_support::{skopeo_copy, Coracle, Registry, TempDir};
use std::path::Path;

/// Builds a one-platform image and pushes it with skopeo to `dest`.
fn push_single(work: &Path, dest: &str, marker: &str) -> Built {
    let layout = work.join(format!("layout-{marker}"));
    let rootfs = oci::busybox_rootfs(work, Path::new("/bin/busybox"));
    let built = oci::write_image(&layout, &rootfs, "amd64", marker);
    oci::write_layout(&layout, "t", &[&built]);
    skopeo_copy(
        &format!("oci:{}:t", layout.display()),
        &format!("docker://{dest}"),
        false,
    );
    built
}

fn hexes(b: &Built) -> Vec<String> {
    let mut v: Vec<String> = b
        .layers
        .iter()
        .chain([&b.config, &b.manifest])
        .map(|d| d.hex().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn skopeo_pushes_coracle_pulls_by_tag_and_digest() {
    let reg = Registry::start();
    let work = TempDir::new("pull");
    let built = push_single(work.path(), &reg.reference("pull/app:v1"), "pull-by-tag");
    let coracle = Coracle::new(work.path());

    let out = coracle.run(&["pull", &reg.reference("pull/app:v1")]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains(built.manifest.as_str()),
        "pull prints the manifest digest: {stdout}"
    );
    // Not a terminal: plain lines, one per blob start and end.
    for l in &built.layers {
        assert!(
            stderr.contains(&format!("{} done", &l.as_str()[..19])),
            "{stderr}"
        );
    }
    // Every blob stored as the registry served it (gzip, plain tar, zstd), nothing temporary left.
    let files = coracle.blob_files();
    for h in hexes(&built) {
        assert!(
            files.contains(&h),
            "blob {h} missing from the store: {files:?}"
        );
    }
    assert!(
        coracle.temp_files().is_empty(),
        "{:?}",
        coracle.temp_files()
    );

    // A second pull finds everything there; a pull by digest names the same image.
    let again = coracle.run(&["pull", &reg.reference("pull/app:v1")]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let by_digest = coracle.ok(&[
        "pull",
        &reg.reference(&format!("pull/app@{}", built.manifest)),
    ]);
    assert!(by_digest.contains(built.manifest.as_str()));
}

#[test]
fn index_platform_selection() {
    let reg = Registry::start();
    let work = TempDir::new("index");
    let layout = work.path().join("layout");
    let amd64 = oci::write_image(
        &layout,
        &oci::busybox_rootfs(work.path(), Path::new("/bin/busybox")),
        "amd64",
        "index",
    );
    let arm_busybox = oci::arm64_busybox(work.path()).unwrap_or_else(|| {
        eprintln!("busybox-static:arm64 cannot be fetched here: the arm64 layer is distinct stand-in content");
        oci::arm64_stand_in(work.path())
    });
    let arm64 = oci::write_image(
        &layout,
        &oci::busybox_rootfs(work.path(), &arm_busybox),
        "arm64",
        "index",
    );
    oci::write_layout(&layout, "multi", &[&amd64, &arm64]);
    let reference = reg.reference("multi/app:1");
    skopeo_copy(
        &format!("oci:{}:multi", layout.display()),
        &format!("docker://{reference}"),
        true,
    );

    let coracle = Coracle::new(work.path());
    let host_default = coracle.ok(&["pull", &reference]);
    assert!(
        host_default.contains(amd64.manifest.as_str()),
        "default platform is the host's (amd64): {host_default}"
    );
    let arm = coracle.ok(&["pull", "--platform", "linux/arm64", &reference]);
    assert!(arm.contains(arm64.manifest.as_str()), "{arm}");
    assert!(coracle
        .blob_files()
        .contains(&arm64.layers[0].hex().to_string()));
    let arm_v8 = coracle.ok(&["pull", "--platform", "linux/arm64/v8", &reference]);
    assert!(arm_v8.contains(arm64.manifest.as_str()));

    let err = coracle.fails(&["pull", "--platform", "linux/s390x", &reference]);
    assert!(
        err.contains("linux/s390x") && err.contains(&reference) && err.contains("linux/arm64/v8"),
        "{err}"
    );
    let err = coracle.fails(&["pull", "--platform", "linux", &reference]);
    assert!(err.contains("--platform"), "{err}");
}

#[test]
fn missing_image_is_named_and_nothing_is_stored() {
    let reg = Registry::start();
    let work = TempDir::new("missing");
    let coracle = Coracle::new(work.path());
    let reference = reg.reference("nothing/here:v9");
    let err = coracle.fails(&["pull", &reference]);
    assert!(
        err.contains(&format!("image {reference}: not found")),
        "{err}"
    );
    assert!(coracle.blob_files().is_empty());
    let err = coracle.fails(&["pull", "Bad//Ref"]);
    assert!(err.contains("Bad//Ref"), "{err}");
}

/// coracle-runtime next to the coracle binary (target/debug), built if the workspace's test
/// run has not built it yet.
fn runtime_binary() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_coracle"))
        .parent()
        .unwrap()
        .to_path_buf();
    let bin = dir.join("coracle-runtime");
    if !bin.exists() {
        registry_support::run_ok(std::process::Command::new(env!("CARGO")).args([
            "build",
            "-q",
            "-p",
            "coracle-runtime",
        ]));
    }
    bin
}

#[test]
fn pulled_image_runs_with_coracle_runtime() {
    let reg = Registry::start();
    let work = TempDir::new("run");
    let marker = format!("hello from {}", registry_support::unique("pulled"));
    push_single(work.path(), &reg.reference("run/app:1"), &marker);
    let coracle = Coracle::new(work.path());
    coracle.ok(&["pull", &reg.reference("run/app:1")]);

    let bundle_dir = work.path().join("bundle");
    let dir = bundle_dir.to_str().unwrap();
    coracle.ok(&[
        "bundle",
        "--rootfs",
        "copy",
        &reg.reference("run/app:1"),
        dir,
    ]);
    let id = registry_support::unique("run");
    let state = work.path().join("runtime-state");
    let out = std::process::Command::new(runtime_binary())
        .arg("--root")
        .arg(&state)
        .args(["run", "-b"])
        .arg(&bundle_dir)
        .arg(&id)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The image's Cmd is `cat /etc/hello.txt`, from the uncompressed layer over the gzip and zstd ones.
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), marker);
    coracle.ok(&["unbundle", dir]);
}

#[test]
fn https_registry_with_a_self_signed_certificate() {
    let reg = Registry::start_full(false, true);
    let work = TempDir::new("https");
    // skopeo pushes over HTTPS without verification (the certificate is self-signed).
    let built = push_single(work.path(), &reg.reference("tls/app:1"), "https");
    let coracle = Coracle::new(work.path());
    // A loopback registry: HTTPS is tried first, without certificate checks.
    let out = coracle.ok(&["pull", &reg.reference("tls/app:1")]);
    assert!(out.contains(built.manifest.as_str()), "{out}");
    let out = coracle.ok(&[
        "push",
        &reg.reference("tls/app:1"),
        &reg.reference("tls/copy:2"),
    ]);
    assert!(out.contains(built.manifest.as_str()), "{out}");
}

#[test]
fn plain_http_elsewhere_than_loopback_needs_tls_verify_false() {
    let Some(ip) = registry_support::global_ipv4() else {
        eprintln!(
            "SKIPPED: this machine has no global IPv4 address to serve a non-loopback registry on"
        );
        return;
    };
    let reg = Registry::start_on(&ip);
    let work = TempDir::new("insecure");
    let built = push_single(work.path(), &reg.reference("plain/app:1"), "insecure");
    let coracle = Coracle::new(work.path());
    // Not loopback: HTTPS with verified certificates only, and this registry speaks plain HTTP.
    let err = coracle.fails(&["pull", &reg.reference("plain/app:1")]);
    assert!(
        err.contains(&format!("registry {} is unreachable", reg.host)),
        "{err}"
    );
    assert!(coracle.blob_files().is_empty());
    let out = coracle.ok(&["pull", "--tls-verify=false", &reg.reference("plain/app:1")]);
    assert!(out.contains(built.manifest.as_str()), "{out}");
    let err = coracle.fails(&[
        "push",
        &reg.reference("plain/app:1"),
        &reg.reference("plain/copy:1"),
    ]);
    assert!(err.contains("unreachable"), "{err}");
    coracle.ok(&[
        "push",
        "--tls-verify=false",
        &reg.reference("plain/app:1"),
        &reg.reference("plain/copy:1"),
    ]);
}

#[test]
fn concurrent_pulls_into_one_store() {
    let reg = Registry::start();
    let work = TempDir::new("concurrent");
    let built = push_single(work.path(), &reg.reference("conc/app:1"), "concurrent");
    let coracle = Coracle::new(work.path());
    let children: Vec<_> = (0..4)
        .map(|_| {
            coracle
                .cmd()
                .args(["pull", &reg.reference("conc/app:1")])
                .stderr(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(built.manifest.as_str()));
    }
    assert!(coracle.ok(&["image", "fsck"]).starts_with("clean"));
    let listed = coracle.ok(&["images", "--format", "json"]);
    assert_eq!(listed.matches("conc/app").count(), 1, "{listed}");
}
