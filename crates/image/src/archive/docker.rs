//! docker-archive (`docker save`'s format): `manifest.json` = `[{"Config": FILE, "RepoTags":
//! [...], "Layers": [FILE, ...]}]`, the config and layer files beside it. Layers are written
//! uncompressed (what every reader of the format accepts) and read in any compression.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use super::reader::TarIndex;
use super::writer::ArchiveWriter;
use super::Loaded;
use crate::error::{Error, IoContext, Result};
use crate::store::{Batch, Digest, Image, NewLayer, Reference, Store, Verify};

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

pub fn load(batch: &mut Batch, ar: &TarIndex, shown: &str) -> Result<Loaded> {
    let bad = |what: String| Error::Other(format!("{shown}: {what}"));
    let entries: Vec<Entry> = serde_json::from_slice(&ar.read("manifest.json")?)
        .map_err(|e| bad(format!("manifest.json: {e}")))?;
    let mut out = Vec::new();
    for e in entries {
        let tags = e.repo_tags.unwrap_or_default();
        if tags.is_empty() {
            return Err(bad(format!(
                "{}: image without RepoTags (coracle keeps named images only)",
                e.config
            )));
        }
        let config = ar.read(&e.config)?;
        let parsed: oci_spec::image::ImageConfiguration =
            serde_json::from_slice(&config).map_err(|err| bad(format!("{}: {err}", e.config)))?;
        if parsed.rootfs().diff_ids().len() != e.layers.len() {
            return Err(bad(format!(
                "{}: {} layers but {} diff_ids",
                e.config,
                e.layers.len(),
                parsed.rootfs().diff_ids().len()
            )));
        }
        let mut layers = Vec::new();
        for (name, diff_id) in e.layers.iter().zip(parsed.rootfs().diff_ids()) {
            let size = ar.size(name)?;
            let mut head = [0u8; 4];
            let n = ar.reader(name)?.read(&mut head).at(shown)?;
            let media = match &head[..n] {
                [0x1f, 0x8b, ..] => LAYER_GZIP,
                [0x28, 0xb5, 0x2f, 0xfd] => LAYER_ZSTD,
                _ => LAYER_TAR,
            };
            // An uncompressed layer's digest is its diff ID: check it now (the blob is the layer).
            let expected = match media {
                LAYER_TAR => Some(
                    Digest::parse(diff_id).map_err(|err| bad(format!("{}: {err}", e.config)))?,
                ),
                _ => None,
            };
            let digest = batch
                .copy_blob(ar.reader(name)?, expected.as_ref(), Some(size))
                .map_err(|err| bad(format!("{name}: {err}")))?;
            layers.push(NewLayer {
                digest,
                size,
                media_type: media.into(),
            });
        }
        let target = batch.put_image_raw(&config, &layers)?;
        for t in tags {
            let r = Reference::parse(&t).map_err(|err| bad(format!("RepoTags: {err}")))?;
            out.push((r, target.clone()));
        }
    }
    if out.is_empty() {
        return Err(bad("manifest.json names no image".into()));
    }
    Ok(out)
}

/// `docker.io/library/busybox:latest` -> `busybox:latest`, as Docker writes RepoTags.
fn familiar(r: &Reference) -> String {
    let s = r.to_string();
    s.strip_prefix("docker.io/library/")
        .or_else(|| s.strip_prefix("docker.io/"))
        .unwrap_or(&s)
        .to_string()
}

pub fn save<W: Write>(
    store: &Store,
    images: &[(Reference, Image)],
    out: &mut ArchiveWriter<W>,
) -> Result<()> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut written = std::collections::HashSet::new();
    for (r, img) in images {
        let id = img.id();
        let config_name = format!("{}.json", id.hex());
        if written.insert(config_name.clone()) {
            out.add_bytes(&config_name, &store.read_blob(&id, Verify::Yes)?)?;
        }
        let mut layer_names = Vec::new();
        for (blob, diff_id) in img.layers.iter().zip(&img.diff_ids) {
            let name = format!("{}.tar", diff_id.hex());
            if written.insert(name.clone()) {
                write_uncompressed(store, blob, diff_id, &name, out)?;
            }
            layer_names.push(name);
        }
        match entries.iter_mut().find(|e| e.config == config_name) {
            Some(e) => e.repo_tags.get_or_insert_with(Vec::new).push(familiar(r)),
            None => entries.push(Entry {
                config: config_name,
                repo_tags: Some(vec![familiar(r)]),
                layers: layer_names,
            }),
        }
    }
    out.add_bytes(
        "manifest.json",
        &serde_json::to_vec(&entries).expect("manifest serialises"),
    )
}

/// A tar member needs its size up front: a compressed layer is measured in a first pass.
fn write_uncompressed<W: Write>(
    store: &Store,
    blob: &Digest,
    diff_id: &Digest,
    name: &str,
    out: &mut ArchiveWriter<W>,
) -> Result<()> {
    let open = || -> Result<Box<dyn Read>> {
        crate::unpack::decompress(store.open_blob(blob, Verify::Yes)?)
    };
    let mut hashing = crate::unpack::HashReader {
        inner: open()?,
        hasher: Default::default(),
    };
    let size = std::io::copy(&mut hashing, &mut std::io::sink()).at(store.blob_path(blob))?;
    if hashing.hasher.finish() != *diff_id {
        return Err(Error::Other(format!(
            "layer {blob}: content does not match diff ID {diff_id}"
        )));
    }
    out.add(name, size, open()?)
}
