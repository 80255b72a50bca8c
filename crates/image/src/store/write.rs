//! Writing an image's config and manifest for layer blobs already in the store (import, load).

use oci_spec::image::{DescriptorBuilder, ImageConfiguration, ImageManifestBuilder, MediaType};

use super::{Digest, Store, Target};
use crate::error::{Error, Result};

/// A layer blob already committed to the store.
#[derive(Clone, Debug)]
pub struct NewLayer {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

impl Store {
    /// Store `config` and an OCI manifest naming it and `layers` (bottom to top); returns the
    /// manifest's target, ready for [`Store::set_ref`]. The config's rootfs.diff_ids must match.
    pub fn put_image(&self, config: &ImageConfiguration, layers: &[NewLayer]) -> Result<Target> {
        if config.rootfs().diff_ids().len() != layers.len() {
            return Err(Error::Other(
                "config diff_ids do not match the layers".into(),
            ));
        }
        let config_json = serde_json::to_vec(config).map_err(|e| Error::json("image config", e))?;
        self.put_image_raw(&config_json, layers)
    }

    /// Like [`Store::put_image`] for config bytes kept exactly as they came (so the image ID,
    /// the config's digest, is preserved). The caller has checked them.
    pub fn put_image_raw(&self, config_json: &[u8], layers: &[NewLayer]) -> Result<Target> {
        let config_digest = self.put_blob(config_json, None)?;
        let config_desc = DescriptorBuilder::default()
            .media_type(MediaType::ImageConfig)
            .digest(config_digest.to_oci())
            .size(config_json.len() as u64)
            .build()
            .map_err(|e| Error::Other(format!("config descriptor: {e}")))?;
        let layer_descs = layers
            .iter()
            .map(|l| {
                DescriptorBuilder::default()
                    .media_type(MediaType::from(l.media_type.as_str()))
                    .digest(l.digest.to_oci())
                    .size(l.size)
                    .build()
                    .map_err(|e| Error::Other(format!("layer descriptor: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(config_desc)
            .layers(layer_descs)
            .build()
            .map_err(|e| Error::Other(format!("manifest: {e}")))?;
        let raw = serde_json::to_vec(&manifest).map_err(|e| Error::json("manifest", e))?;
        let digest = self.put_blob(&raw, None)?;
        Ok(Target {
            media_type: OCI_MANIFEST.into(),
            digest,
            size: raw.len() as u64,
        })
    }
}
