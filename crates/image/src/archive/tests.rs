//! Loading an oci-archive whose index.json names a multi-platform index: the host's manifest
//! is the one referenced, byte for byte; a save of it loads back with the same digests.

use std::path::Path;

use super::*;
use crate::store::{Digest, Store};

struct Layout(tar::Builder<Vec<u8>>);

impl Layout {
    fn add(&mut self, name: &str, data: &[u8]) {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        self.0.append_data(&mut h, name, data).unwrap();
    }
    fn blob(&mut self, data: &[u8]) -> (Digest, usize) {
        let d = Digest::of(data);
        self.add(&format!("blobs/sha256/{}", d.hex()), data);
        (d, data.len())
    }
}

/// A manifest for `arch` with one layer; returns its descriptor JSON.
fn platform_manifest(l: &mut Layout, arch: &str, content: &[u8]) -> String {
    let layer =
        crate::unpack::tests::tarball(&[crate::unpack::tests::E::File("arch", content, 0o644)]);
    let (ld, ls) = l.blob(&layer);
    let config = format!(
        r#"{{"architecture":"{arch}","os":"linux","rootfs":{{"type":"layers","diff_ids":["{ld}"]}}}}"#
    );
    let (cd, cs) = l.blob(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{cs}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{ld}","size":{ls}}}]}}"#
    );
    let (md, ms) = l.blob(manifest.as_bytes());
    format!(
        r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{md}","size":{ms},"platform":{{"architecture":"{arch}","os":"linux"}}}}"#
    )
}

fn write_multi_arch(path: &Path) -> Vec<String> {
    let mut l = Layout(tar::Builder::new(Vec::new()));
    l.add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    let arm = platform_manifest(&mut l, "arm64", b"arm");
    let amd = platform_manifest(&mut l, "amd64", b"amd");
    let nested = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{arm},{amd}]}}"#
    );
    let (nd, ns) = l.blob(nested.as_bytes());
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"{nd}","size":{ns},"annotations":{{"org.opencontainers.image.ref.name":"localhost/multi:v1"}}}}]}}"#
    );
    l.add("index.json", index.as_bytes());
    std::fs::write(path, l.0.into_inner().unwrap()).unwrap();
    vec![arm, amd]
}

#[test]
fn oci_archive_with_a_platform_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("root")).unwrap();
    let archive = dir.path().join("multi.tar");
    let descs = write_multi_arch(&archive);
    let refs = load(&store, &archive).unwrap();
    assert_eq!(refs[0].to_string(), "localhost/multi:v1");
    let (_, target) = store.resolve("localhost/multi:v1").unwrap();
    let host = if cfg!(target_arch = "x86_64") {
        &descs[1]
    } else {
        &descs[0]
    };
    assert!(
        host.contains(target.digest.as_str()),
        "the host's manifest is referenced"
    );
    let image = store.image(&target).unwrap();
    assert_eq!(
        image.config.architecture().to_string(),
        if cfg!(target_arch = "x86_64") {
            "amd64"
        } else {
            "arm64"
        }
    );

    // Saved and loaded into another store: the same manifest digest.
    let out = dir.path().join("again.tar");
    save_to_file(&store, &[(refs[0].clone(), image)], Format::Oci, &out).unwrap();
    let other = Store::open(dir.path().join("other")).unwrap();
    load(&other, &out).unwrap();
    assert_eq!(other.resolve("localhost/multi:v1").unwrap().1, target);
}
