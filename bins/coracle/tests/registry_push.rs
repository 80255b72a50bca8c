//! Pushes to a real registry: coracle pushes what it pulled, skopeo reads it back and
//! agrees on every digest; cross-repository mount, chunked upload, push by digest.

mod registry_support;

use image::registry::Digest;
use registry_support::oci::{self, Built};
use registry_support::{skopeo_copy, skopeo_inspect, skopeo_raw, Coracle, Registry, TempDir};
use std::path::Path;

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

/// What skopeo sees at `reference`: the manifest digest and the layer digests.
fn seen_by_skopeo(reference: &str) -> (Digest, Vec<String>) {
    let raw = skopeo_raw(reference);
    let inspect = skopeo_inspect(reference);
    assert_eq!(
        inspect["Digest"].as_str().unwrap(),
        Digest::of(&raw).as_str(),
        "skopeo inspect vs raw"
    );
    let layers = inspect["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    (Digest::of(&raw), layers)
}

#[test]
fn coracle_pushes_skopeo_agrees_on_digests() {
    let reg = Registry::start();
    let work = TempDir::new("push");
    let built = push_single(work.path(), &reg.reference("src/app:1"), "push");
    let coracle = Coracle::new(work.path());
    coracle.ok(&["pull", &reg.reference("src/app:1")]);

    // Same registry, other repository: every blob is mounted, none uploaded.
    let out = coracle.run(&[
        "push",
        &reg.reference("src/app:1"),
        &reg.reference("dst/app:2"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(built.manifest.as_str()));
    for l in &built.layers {
        assert!(
            stderr.contains(&format!("{} mounted", &l.as_str()[..19])),
            "{stderr}"
        );
    }
    let (digest, layers) = seen_by_skopeo(&reg.reference("dst/app:2"));
    assert_eq!(digest, built.manifest);
    assert_eq!(
        layers,
        built
            .layers
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
    );

    // Pushing again: the registry has every blob (HEAD), nothing is sent.
    let again = coracle.run(&[
        "push",
        &reg.reference("src/app:1"),
        &reg.reference("dst/app:2"),
    ]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        again.status.success() && stderr.matches("already exists").count() == 4,
        "{stderr}"
    );
}

#[test]
fn chunked_upload_to_another_registry_and_push_by_digest() {
    let reg = Registry::start();
    let other = Registry::start();
    let work = TempDir::new("chunks");
    let built = push_single(work.path(), &reg.reference("a/img:1"), "chunks");
    let coracle = Coracle::new(work.path());
    coracle.ok(&["pull", &reg.reference("a/img:1")]);

    // 64 KiB chunks: the busybox layer (~1 MB gzipped) goes up in many PATCH requests.
    let dest = other.reference("b/img:x");
    let out = coracle
        .cmd()
        .env("CORACLE_PUSH_CHUNK_SIZE", "65536")
        .args(["push", &reg.reference("a/img:1"), &dest])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(seen_by_skopeo(&dest).0, built.manifest);
    let patches = other
        .log()
        .matches("\"PATCH /v2/b/img/blobs/uploads/")
        .count();
    assert!(
        patches > 10,
        "the busybox layer went up in chunks: {patches} PATCH requests"
    );

    // skopeo copies it out to an OCI layout: the blobs are byte for byte ours.
    let copy = work.path().join("copy");
    skopeo_copy(
        &format!("docker://{dest}"),
        &format!("oci:{}:c", copy.display()),
        false,
    );
    for l in &built.layers {
        let bytes = std::fs::read(copy.join("blobs/sha256").join(l.hex())).unwrap();
        assert_eq!(&Digest::of(&bytes), l);
    }

    // By digest: the manifest goes up under its digest only.
    let by_digest = other.reference(&format!("c/img@{}", built.manifest));
    coracle.ok(&["push", &reg.reference("a/img:1"), &by_digest]);
    assert_eq!(seen_by_skopeo(&by_digest).0, built.manifest);
    let wrong = other.reference(&format!("c/img@{}", Digest::of(b"other")));
    let err = coracle.fails(&["push", &reg.reference("a/img:1"), &wrong]);
    assert!(
        err.contains("names digest") && err.contains(built.manifest.as_str()),
        "{err}"
    );
}

#[test]
fn pushing_an_unknown_image_is_named() {
    let reg = Registry::start();
    let work = TempDir::new("unknown");
    let coracle = Coracle::new(work.path());
    let err = coracle.fails(&["push", &reg.reference("never/pulled:1")]);
    assert!(err.contains("never/pulled:1"), "{err}");
}

#[test]
fn docker_schema2_images_round_trip() {
    let reg = Registry::start();
    let work = TempDir::new("v2s2");
    let coracle = Coracle::new(work.path());
    let rootfs = oci::busybox_rootfs(work.path(), Path::new("/bin/busybox"));
    coracle.ok(&[
        "import",
        rootfs.to_str().unwrap(),
        &reg.reference("oci/img:1"),
    ]);
    coracle.ok(&["push", &reg.reference("oci/img:1")]);
    // skopeo converts it to Docker's v2 schema 2 media types on the way to another repository.
    let mut c = std::process::Command::new("skopeo");
    c.args([
        "copy",
        "--quiet",
        "--format",
        "v2s2",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
    ]);
    registry_support::run_ok(
        c.arg(format!("docker://{}", reg.reference("oci/img:1")))
            .arg(format!("docker://{}", reg.reference("docker/img:1"))),
    );
    let raw = skopeo_raw(&reg.reference("docker/img:1"));
    let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );

    let fresh = Coracle::new(&work.path().join("fresh"));
    let out = fresh.ok(&["pull", &reg.reference("docker/img:1")]);
    assert!(out.contains(Digest::of(&raw).as_str()), "{out}");
    // Pushed back as it is: same bytes, same media type, same digest.
    let out = fresh.ok(&[
        "push",
        &reg.reference("docker/img:1"),
        &reg.reference("docker/again:1"),
    ]);
    assert!(out.contains(Digest::of(&raw).as_str()), "{out}");
    assert_eq!(skopeo_raw(&reg.reference("docker/again:1")), raw);
}
