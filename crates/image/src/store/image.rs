//! An image in the store: its manifest and config, read from blobs.

use oci_spec::image::{ImageConfiguration, ImageManifest};

use super::{Digest, Store, Target, Verify};
use crate::error::{Error, Result};

/// Media types a reference may name (single-platform manifests, OCI or Docker v2 schema 2).
pub const MANIFEST_TYPES: [&str; 2] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// A loaded image.
#[derive(Clone, Debug)]
pub struct Image {
    pub target: Target,
    pub manifest: ImageManifest,
    pub config: ImageConfiguration,
    /// The layers' blob digests, bottom to top.
    pub layers: Vec<Digest>,
    /// The uncompressed layers' digests (config rootfs.diff_ids), bottom to top.
    pub diff_ids: Vec<Digest>,
}

impl Image {
    pub(super) fn load(store: &Store, target: &Target) -> Result<Image> {
        if !MANIFEST_TYPES.contains(&target.media_type.as_str()) {
            return Err(Error::Other(format!(
                "{}: media type {} is not an image manifest (references name single-platform manifests)",
                target.digest, target.media_type
            )));
        }
        let raw = store.read_blob(&target.digest, Verify::No)?;
        let manifest: ImageManifest = serde_json::from_slice(&raw)
            .map_err(|e| Error::json(format!("manifest {}", target.digest), e))?;
        let config_digest = Digest::from_oci(manifest.config().digest())?;
        let raw = store.read_blob(&config_digest, Verify::No)?;
        let config: ImageConfiguration = serde_json::from_slice(&raw)
            .map_err(|e| Error::json(format!("config {config_digest}"), e))?;
        let layers = manifest
            .layers()
            .iter()
            .map(|l| Digest::from_oci(l.digest()))
            .collect::<Result<Vec<_>>>()?;
        let diff_ids = config
            .rootfs()
            .diff_ids()
            .iter()
            .map(|d| Digest::parse(d))
            .collect::<Result<Vec<_>>>()?;
        if diff_ids.len() != layers.len() {
            return Err(Error::Other(format!(
                "image {}: {} layers but {} diff_ids in its config",
                target.digest,
                layers.len(),
                diff_ids.len()
            )));
        }
        Ok(Image {
            target: target.clone(),
            manifest,
            config,
            layers,
            diff_ids,
        })
    }

    /// The image ID: its config's digest (as Docker and Podman show it).
    pub fn id(&self) -> Digest {
        Digest::from_oci(self.manifest.config().digest()).expect("checked at load")
    }

    /// Total compressed size of the layers plus config and manifest.
    pub fn size(&self) -> u64 {
        self.target.size
            + self.manifest.config().size()
            + self.manifest.layers().iter().map(|l| l.size()).sum::<u64>()
    }

    /// Every blob the image needs: manifest, config, layers.
    pub fn blobs(&self) -> Vec<Digest> {
        let mut v = vec![self.target.digest.clone(), self.id()];
        v.extend(self.layers.iter().cloned());
        v
    }

    pub(super) fn check_complete(&self, store: &Store) -> Result<()> {
        match self.blobs().into_iter().find(|d| !store.has_blob(d)) {
            Some(d) => Err(Error::Other(format!(
                "image {}: blob {d} is missing",
                self.target.digest
            ))),
            None => Ok(()),
        }
    }

    /// The chain ids of the layers, bottom to top (the names of their unpacked dirs).
    pub fn chain_ids(&self) -> Vec<Digest> {
        let mut out: Vec<Digest> = Vec::with_capacity(self.diff_ids.len());
        for d in &self.diff_ids {
            let next = match out.last() {
                None => d.clone(),
                Some(parent) => Digest::of(format!("{parent} {d}").as_bytes()),
            };
            out.push(next);
        }
        out
    }
}
