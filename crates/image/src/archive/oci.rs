//! oci-archive: a tar of an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`).
//! Each image is an index.json entry whose `org.opencontainers.image.ref.name` annotation is its
//! full reference (skopeo and podman read it back; `io.containerd.image.name` too, for ctr).

use std::io::Write;

use oci_spec::image::{ImageIndex, MediaType};

use super::reader::TarIndex;
use super::writer::ArchiveWriter;
use super::{host_platform_matches, Loaded};
use crate::error::{Error, Result};
use crate::store::{Batch, Digest, Image, Reference, Store, Target, Verify};

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME: &str = "io.containerd.image.name";
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

fn blob_name(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

pub fn load(batch: &mut Batch, ar: &TarIndex, shown: &str) -> Result<Loaded> {
    let bad = |what: String| Error::Other(format!("{shown}: {what}"));
    let index: ImageIndex = serde_json::from_slice(&ar.read("index.json")?)
        .map_err(|e| bad(format!("index.json: {e}")))?;
    let mut out = Vec::new();
    for desc in index.manifests() {
        let name = desc
            .annotations()
            .as_ref()
            .and_then(|a| a.get(CONTAINERD_NAME).or_else(|| a.get(REF_NAME)));
        let Some(name) = name else { continue };
        let reference = Reference::parse(name)
            .map_err(|e| bad(format!("index.json: annotation {REF_NAME}: {e}")))?;
        let mut digest = Digest::from_oci(desc.digest())?;
        let mut media = desc.media_type().to_string();
        if media == INDEX_TYPE || media == DOCKER_LIST {
            (digest, media) = pick_platform(ar, &digest, shown)?;
        }
        let raw = ar.read(&blob_name(&digest))?;
        if Digest::of(&raw) != digest {
            return Err(bad(format!(
                "manifest {digest}: content does not match its digest"
            )));
        }
        let manifest: oci_spec::image::ImageManifest =
            serde_json::from_slice(&raw).map_err(|e| bad(format!("manifest {digest}: {e}")))?;
        for l in manifest.layers().iter().chain([manifest.config()]) {
            let d = Digest::from_oci(l.digest())?;
            let r = ar
                .reader(&blob_name(&d))
                .map_err(|e| bad(format!("blob {d}: {e}")))?;
            batch
                .copy_blob(r, Some(&d), Some(l.size()))
                .map_err(|e| bad(format!("blob {d}: {e}")))?;
        }
        batch.put_blob(&raw, Some(&digest))?;
        out.push((
            reference,
            Target {
                media_type: media,
                digest,
                size: raw.len() as u64,
            },
        ));
    }
    if out.is_empty() {
        return Err(bad(format!(
            "index.json names no image (no {REF_NAME} annotation)"
        )));
    }
    Ok(out)
}

/// The host platform's manifest in a (nested) index.
fn pick_platform(ar: &TarIndex, index: &Digest, shown: &str) -> Result<(Digest, String)> {
    let idx: ImageIndex = serde_json::from_slice(&ar.read(&blob_name(index))?)
        .map_err(|e| Error::Other(format!("{shown}: index {index}: {e}")))?;
    for m in idx.manifests() {
        if !matches!(m.platform(), Some(p) if !host_platform_matches(p))
            && m.media_type() != &MediaType::ImageIndex
        {
            return Ok((Digest::from_oci(m.digest())?, m.media_type().to_string()));
        }
    }
    Err(Error::Other(format!(
        "{shown}: index {index} has no manifest for this platform"
    )))
}

pub fn save<W: Write>(
    store: &Store,
    images: &[(Reference, Image)],
    out: &mut ArchiveWriter<W>,
) -> Result<()> {
    out.add_bytes("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    out.add_dir("blobs/")?;
    out.add_dir("blobs/sha256/")?;
    let mut written = std::collections::HashSet::new();
    let mut manifests = Vec::new();
    for (r, img) in images {
        for d in img.blobs() {
            if written.insert(d.clone()) {
                let size = std::fs::metadata(store.blob_path(&d))
                    .map(|m| m.len())
                    .unwrap_or(0);
                out.add(&blob_name(&d), size, store.open_blob(&d, Verify::Yes)?)?;
            }
        }
        let name = r.to_string();
        manifests.push(serde_json::json!({
            "mediaType": img.target.media_type,
            "digest": img.target.digest,
            "size": img.target.size,
            "annotations": { REF_NAME: name, CONTAINERD_NAME: name },
        }));
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": manifests,
    });
    out.add_bytes(
        "index.json",
        &serde_json::to_vec(&index).expect("index serialises"),
    )
}
