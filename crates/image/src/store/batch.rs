//! A batch of writes that ends in references: what import, load and pull use so that a failed
//! operation leaves nothing behind. Blobs the batch newly wrote are removed again if it is
//! dropped without [`Batch::commit`] (unless some reference has come to need them meanwhile;
//! the check and the removal happen under ROOT/refs.lock, as do reference updates).

use std::io::Read;

use super::{Digest, NewLayer, Reference, Store, Target};
use crate::error::Result;

pub struct Batch<'s> {
    store: &'s Store,
    written: Vec<Digest>,
    committed: bool,
}

impl<'s> Batch<'s> {
    pub fn new(store: &'s Store) -> Self {
        Batch {
            store,
            written: Vec::new(),
            committed: false,
        }
    }

    pub fn store(&self) -> &'s Store {
        self.store
    }

    /// Stream a blob in (checked against `expected`/`size` when given); a blob already present
    /// is not rewritten.
    pub fn copy_blob(
        &mut self,
        mut r: impl Read,
        expected: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<Digest> {
        if let Some(d) = expected.filter(|d| self.store.has_blob(d)) {
            return Ok(d.clone());
        }
        let mut w = self.store.blob_writer(expected, size)?;
        std::io::copy(&mut r, &mut w)
            .map_err(|e| crate::Error::Other(format!("copying blob: {e}")))?;
        let d = w.commit()?;
        self.written.push(d.clone());
        Ok(d)
    }

    /// Count a blob written outside the batch (e.g. through a [`Store::blob_writer`]) as the
    /// batch's own: it is discarded with the batch.
    pub fn adopt(&mut self, d: Digest) {
        self.written.push(d);
    }

    pub fn put_blob(&mut self, data: &[u8], expected: Option<&Digest>) -> Result<Digest> {
        self.copy_blob(data, expected, Some(data.len() as u64))
    }

    /// [`Store::put_image_raw`] inside the batch.
    pub fn put_image_raw(&mut self, config_json: &[u8], layers: &[NewLayer]) -> Result<Target> {
        let t = self.store.put_image_raw(config_json, layers)?;
        let cfg = Digest::of(config_json);
        self.written.extend([cfg, t.digest.clone()]);
        Ok(t)
    }

    /// Point every reference at its image (each checked whole), then keep the batch.
    pub fn commit(mut self, refs: &[(Reference, Target)]) -> Result<()> {
        for (r, t) in refs {
            self.store.set_ref(r, t)?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if !self.committed && !self.written.is_empty() {
            let _ = self.store.discard_unreferenced(&self.written);
        }
    }
}

impl Store {
    /// Remove these blobs unless a reference needs them (under ROOT/refs.lock).
    pub(crate) fn discard_unreferenced(&self, blobs: &[Digest]) -> Result<()> {
        self.update_refs(|idx| {
            let needed: std::collections::HashSet<Digest> = idx
                .refs
                .values()
                .flat_map(|t| {
                    self.image(t)
                        .map(|i| i.blobs())
                        .unwrap_or_else(|_| vec![t.digest.clone()])
                })
                .collect();
            for d in blobs.iter().filter(|d| !needed.contains(d)) {
                let _ = std::fs::remove_file(self.blob_path(d));
            }
            false
        })?;
        super::atomic::sync_dir(&self.root.join("blobs/sha256"))
    }
}
