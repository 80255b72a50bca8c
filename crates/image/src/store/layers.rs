//! Unpacked layers: ROOT/layers/<chain id hex>/, one per distinct layer stack position, shared
//! by every image whose layers up to there are the same. Each holds only its own layer's
//! content with whiteouts in overlayfs form, so the dirs can be overlay lower dirs as they are.
//!
//! A layer is unpacked into ROOT/tmp, checked against its diff ID, synced (syncfs) and renamed
//! into place, so a half-unpacked layer is never under ROOT/layers. Two processes unpacking the
//! same layer race harmlessly: the loser's rename fails and its copy is removed.

use std::path::PathBuf;

use super::{atomic, Image, Store, Verify};
use crate::error::{Error, IoContext, Result};
use crate::unpack::{apply_layer, Options, Whiteouts};

impl Store {
    /// The image's layer dirs, bottom to top, unpacking the missing ones.
    pub fn layer_dirs(&self, image: &Image) -> Result<Vec<PathBuf>> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (i, chain) in image.chain_ids().iter().enumerate() {
            let dir = self.root.join("layers").join(chain.hex());
            if !dir.is_dir() {
                let lowers = dirs.iter().rev().cloned().collect();
                self.unpack_layer(image, i, &dir, lowers)?;
            }
            dirs.push(dir);
        }
        Ok(dirs)
    }

    fn unpack_layer(
        &self,
        image: &Image,
        i: usize,
        dir: &std::path::Path,
        lowers: Vec<PathBuf>,
    ) -> Result<()> {
        let (blob, diff_id) = (&image.layers[i], &image.diff_ids[i]);
        let temp = self.tmp_dir().join(atomic::unique_name("layer"));
        std::fs::create_dir(&temp).at(&temp)?;
        let result = (|| {
            std::fs::set_permissions(&temp, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .at(&temp)?;
            let reader = self.open_blob(blob, Verify::Yes)?;
            let got = apply_layer(
                reader,
                &temp,
                &Options {
                    whiteouts: Whiteouts::Overlay,
                    lowers,
                },
            )
            .map_err(|e| Error::Other(format!("layer {blob}: {e}")))?;
            if got != *diff_id {
                return Err(Error::Other(format!(
                    "layer {blob}: content has diff ID {got}, the config says {diff_id}"
                )));
            }
            let fd = std::fs::File::open(&temp).at(&temp)?;
            rustix::fs::syncfs(&fd).at(&temp)?;
            match std::fs::rename(&temp, dir) {
                Ok(()) => atomic::sync_dir(&self.root.join("layers")),
                Err(_) if dir.is_dir() => Ok(()), // another process won the race
                Err(e) => Err(e).at(dir),
            }
        })();
        if temp.exists() {
            let _ = std::fs::remove_dir_all(&temp);
        }
        result
    }
}
