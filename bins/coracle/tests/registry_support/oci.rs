//! OCI image layouts written by the tests: a busybox-static rootfs as a gzip layer, an
//! uncompressed layer and a zstd layer (so a pull stores all three kinds as they are), for
//! one platform or as a two-platform index.

use super::{run_ok, TempDir};
use image::registry::Digest;
use serde_json::json;
use std::path::Path;
use std::process::Command;

pub const GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// What was written for one platform.
pub struct Built {
    pub manifest: Digest,
    pub manifest_size: usize,
    pub config: Digest,
    pub layers: Vec<Digest>,
    pub arch: String,
}

/// Stores `bytes` as a blob of the layout; returns its digest.
pub fn put(layout: &Path, bytes: &[u8]) -> Digest {
    let d = Digest::of(bytes);
    let dir = layout.join("blobs/sha256");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(d.hex()), bytes).unwrap();
    d
}

/// A reproducible tar of `dir`'s content.
pub fn tar_of(dir: &Path) -> Vec<u8> {
    run_ok(
        Command::new("tar")
            .args([
                "--sort=name",
                "--mtime=@0",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
                "-C",
            ])
            .arg(dir)
            .args(["-cf", "-", "."]),
    )
    .stdout
}

fn compress(tool: &str, data: &[u8], work: &Path) -> Vec<u8> {
    let src = work.join(format!("layer-{tool}.tar"));
    std::fs::write(&src, data).unwrap();
    let args: &[&str] = if tool == "gzip" {
        &["-n", "-c"]
    } else {
        &["-q", "-c"]
    };
    let out = run_ok(Command::new(tool).args(args).arg(&src)).stdout;
    std::fs::remove_file(&src).unwrap();
    out
}

/// A rootfs with `busybox` as /bin/busybox and /bin/sh.
pub fn busybox_rootfs(work: &Path, busybox: &Path) -> std::path::PathBuf {
    let root = work.join(format!(
        "rootfs-{}",
        Digest::of(busybox.to_string_lossy().as_bytes()).hex()
    ));
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    root
}

/// Writes config, three layers and manifest for one platform; `marker` goes into the
/// uncompressed layer (/etc/hello.txt) so each test's image is its own.
pub fn write_image(layout: &Path, rootfs: &Path, arch: &str, marker: &str) -> Built {
    let work = TempDir::new("layers");
    let base = tar_of(rootfs);
    let extra = work.path().join("extra");
    std::fs::create_dir_all(extra.join("etc")).unwrap();
    std::fs::write(extra.join("etc/hello.txt"), format!("{marker}\n")).unwrap();
    let plain = tar_of(&extra);
    let zextra = work.path().join("zextra");
    std::fs::create_dir_all(zextra.join("etc")).unwrap();
    std::fs::write(
        zextra.join("etc/zstd.txt"),
        format!("zstd {marker} {arch}\n"),
    )
    .unwrap();
    let ztar = tar_of(&zextra);
    let layers = [
        (
            compress("gzip", &base, work.path()),
            GZIP,
            Digest::of(&base),
        ),
        (plain.clone(), TAR, Digest::of(&plain)),
        (
            compress("zstd", &ztar, work.path()),
            ZSTD,
            Digest::of(&ztar),
        ),
    ];
    let mut descs = Vec::new();
    let mut digests = Vec::new();
    for (bytes, mt, _) in &layers {
        let d = put(layout, bytes);
        descs.push(json!({"mediaType": mt, "digest": d.as_str(), "size": bytes.len()}));
        digests.push(d);
    }
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.2.as_str()).collect();
    let variant = (arch == "arm64").then_some("v8");
    let mut config = json!({
        "architecture": arch, "os": "linux",
        "config": {"Cmd": ["/bin/sh", "-c", "cat /etc/hello.txt"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    if let Some(v) = variant {
        config["variant"] = json!(v);
    }
    let config = serde_json::to_vec(&config).unwrap();
    let config_d = put(layout, &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_d.as_str(), "size": config.len()},
        "layers": descs,
    }))
    .unwrap();
    let manifest_d = put(layout, &manifest);
    Built {
        manifest: manifest_d,
        manifest_size: manifest.len(),
        config: config_d,
        layers: digests,
        arch: arch.into(),
    }
}

fn platform(b: &Built) -> serde_json::Value {
    let mut p = json!({"os": "linux", "architecture": b.arch});
    if b.arch == "arm64" {
        p["variant"] = json!("v8");
    }
    p
}

/// index.json naming one image (single) or an image index of several (multi), under `tag`.
pub fn write_layout(layout: &Path, tag: &str, images: &[&Built]) {
    let top = if images.len() == 1 {
        json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": images[0].manifest.as_str(), "size": images[0].manifest_size})
    } else {
        let manifests: Vec<_> = images
            .iter()
            .map(|b| json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": b.manifest.as_str(), "size": b.manifest_size, "platform": platform(b)}))
            .collect();
        let index = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests})).unwrap();
        let d = put(layout, &index);
        json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d.as_str(), "size": index.len()})
    };
    let mut top = top;
    top["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [top]})).unwrap(),
    )
    .unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
}

/// busybox for arm64 from Debian's busybox-static:arm64 (dpkg-deb -x): the .deb scripts/setup.sh
/// fetched into target/fixtures, else `apt-get download` where apt knows arm64; `None` otherwise.
pub fn arm64_busybox(work: &Path) -> Option<std::path::PathBuf> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/fixtures/busybox-static_arm64.deb");
    let deb = if fixture.is_file() {
        fixture
    } else {
        let ok = Command::new("apt-get")
            .args(["download", "busybox-static:arm64"])
            .current_dir(work)
            .output()
            .ok()?;
        if !ok.status.success() {
            return None;
        }
        std::fs::read_dir(work)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "deb"))?
    };
    let x = work.join("arm64");
    run_ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x));
    let b = x.join("bin/busybox");
    b.exists().then_some(b)
}

/// A stand-in for the arm64 busybox when Debian's cannot be fetched: distinct content.
pub fn arm64_stand_in(work: &Path) -> std::path::PathBuf {
    let p = work.join("busybox-arm64-stand-in");
    std::fs::write(
        &p,
        b"#!/bin/false\nnot an arm64 busybox: a stand-in with distinct content\n",
    )
    .unwrap();
    p
}

/// An image of `layers` uncompressed layers of `mib` MiB of incompressible bytes each
/// (seeded by `marker`): big enough that a pull takes a while.
pub fn write_big_image(layout: &Path, marker: &str, layers: usize, mib: usize) -> Built {
    let work = TempDir::new("big");
    let mut seed = Digest::of(marker.as_bytes())
        .hex()
        .bytes()
        .fold(0x9e37_79b9_7f4a_7c15u64, |a, b| a.rotate_left(5) ^ b as u64);
    let mut descs = Vec::new();
    let (mut digests, mut diff_ids) = (Vec::new(), Vec::new());
    for i in 0..layers {
        let dir = work.path().join(format!("l{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut data = Vec::with_capacity(mib << 20);
        while data.len() < mib << 20 {
            // xorshift64: fast, incompressible enough, reproducible.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            data.extend_from_slice(&seed.to_le_bytes());
        }
        std::fs::write(dir.join(format!("data{i}")), &data).unwrap();
        let tar = tar_of(&dir);
        let d = put(layout, &tar);
        descs.push(json!({"mediaType": TAR, "digest": d.as_str(), "size": tar.len()}));
        diff_ids.push(d.to_string());
        digests.push(d);
    }
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let config_d = put(layout, &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_d.as_str(), "size": config.len()},
        "layers": descs,
    }))
    .unwrap();
    let manifest_d = put(layout, &manifest);
    Built {
        manifest: manifest_d,
        manifest_size: manifest.len(),
        config: config_d,
        layers: digests,
        arch: "amd64".into(),
    }
}
