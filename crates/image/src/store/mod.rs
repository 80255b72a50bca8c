//! The content store. Layout under ROOT:
//!
//! ```text
//! ROOT/lock                 flock: shared while adding, exclusive to delete (prune, fsck, rmi)
//! ROOT/refs.lock            flock: serialises updates of refs.json
//! ROOT/refs.json            reference -> image manifest descriptor (see refs.rs)
//! ROOT/blobs/sha256/<hex>   content, named by its sha256 (manifests, configs, layer tarballs)
//! ROOT/layers/<hex>/        a layer unpacked (overlayfs lower-dir form), named by its chain id
//! ROOT/tmp/                 temp files and dirs; anything here is unfinished and is removed by fsck/prune
//! ```
//!
//! # The contract for writers (import, load, registry pull)
//! 1. `let store = Store::open(root)?` (takes the shared lock for the Store's lifetime).
//! 2. For each blob (layers first, then the config, then the manifest):
//!    `if !store.has_blob(&d) { let mut w = store.blob_writer(Some(&d), Some(size))?;
//!    io::copy(&mut body, &mut w)?; w.commit()?; }` — `commit` checks digest and size and
//!    publishes durably; on any error (or if `w` is dropped) nothing is published.
//!    Small JSON blobs: `store.put_blob(&bytes, Some(&d))`, or `put_blob(&bytes, None)` to get the
//!    digest of new content.
//!    Or through a [`Batch`] (`batch.copy_blob(body, Some(&d), Some(size))`), which removes
//!    what it wrote if it is dropped before `batch.commit(&refs)`: a failed pull leaves nothing.
//! 3. Last, `store.set_ref(&reference, &Target { media_type, digest: manifest_digest, size })`.
//!    It refuses unless the manifest, its config and every layer blob are present, so an image
//!    appears whole or not at all. Pull an index by resolving it to one platform's manifest first
//!    (store the index blob too if you like: unreferenced blobs are pruned, never an error).
//!
//! Readers: `store.resolve("busybox")`, `store.image(&target)` (manifest + config),
//! `store.open_blob(&d, Verify::Yes)`, `store.layer_dirs(&image)` (unpacks on first use).
//!
//! Crash safety: a published name always holds complete content (temp + fsync + rename + dir
//! fsync); refs are written after the blobs they name are durable; layer dirs are unpacked in
//! ROOT/tmp, synced (syncfs) and renamed into ROOT/layers; deletions rename into ROOT/tmp first.
//! So after a crash at any point the store holds complete blobs, complete layers, a consistent
//! refs.json, and leftovers in ROOT/tmp only.

mod atomic;
mod batch;
mod blob;
mod digest;
mod fsck;
mod image;

mod layers;
mod lock;
mod prune;
mod reference;
mod refs;
mod write;

use std::path::{Path, PathBuf};

pub use atomic::unique_name as atomic_temp_name;
pub use batch::Batch;
pub use blob::{BlobReader, BlobWriter, Verify};
pub use digest::{Digest, Hasher};
pub use fsck::FsckReport;
pub use image::Image;
pub use lock::LockMode;
pub use prune::PruneReport;
pub use reference::Reference;
pub use refs::Target;
pub use write::{NewLayer, OCI_MANIFEST};

use crate::error::{Error, IoContext, Result};
use refs::RefIndex;

/// An open store. Holds ROOT/lock (shared or exclusive) until dropped.
pub struct Store {
    root: PathBuf,
    mode: LockMode,
    _lock: std::fs::File,
}

/// The default store: /var/lib/coracle for root, else $XDG_DATA_HOME/coracle
/// (~/.local/share/coracle).
pub fn default_root() -> PathBuf {
    if rustix::process::geteuid().is_root() {
        return PathBuf::from("/var/lib/coracle");
    }
    match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x).join("coracle"),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/".into()))
            .join(".local/share/coracle"),
    }
}

impl Store {
    /// Open (creating the layout if needed) with the shared lock: for adding content.
    pub fn open(root: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(root, LockMode::Shared)
    }

    /// Open with the exclusive lock: waits until no other process has the store open.
    pub fn open_exclusive(root: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(root, LockMode::Exclusive)
    }

    fn open_with(root: impl AsRef<Path>, mode: LockMode) -> Result<Store> {
        let root = root.as_ref().to_path_buf();
        for dir in [
            root.join("blobs/sha256"),
            root.join("layers"),
            root.join("tmp"),
        ] {
            std::fs::create_dir_all(&dir).at(&dir)?;
        }
        let lock = lock::lock(&root.join("lock"), mode)?;
        Ok(Store {
            root,
            mode,
            _lock: lock,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn require_exclusive(&self, what: &str) -> Result<()> {
        match self.mode {
            LockMode::Exclusive => Ok(()),
            LockMode::Shared => Err(Error::Other(format!(
                "{what} needs the store opened exclusively"
            ))),
        }
    }

    // ---- blobs ----

    /// Where the blob with this digest lives (whether or not it exists).
    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(d.hex())
    }

    pub fn has_blob(&self, d: &Digest) -> bool {
        self.blob_path(d).is_file()
    }

    /// Start writing a blob; `expected`/`size` are checked by `commit` when given.
    pub fn blob_writer(
        &self,
        expected: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<BlobWriter<'_>> {
        BlobWriter::new(self, expected, size)
    }

    /// Write a whole blob from memory (verified against `expected` when given).
    pub fn put_blob(&self, data: &[u8], expected: Option<&Digest>) -> Result<Digest> {
        let mut w = self.blob_writer(expected, Some(data.len() as u64))?;
        std::io::Write::write_all(&mut w, data).at(self.tmp_dir())?;
        w.commit()
    }

    pub fn open_blob(&self, d: &Digest, verify: Verify) -> Result<BlobReader> {
        BlobReader::open(self, d, verify)
    }

    /// Read a whole blob (for manifests and configs).
    pub fn read_blob(&self, d: &Digest, verify: Verify) -> Result<Vec<u8>> {
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut self.open_blob(d, verify)?, &mut data)
            .at(self.blob_path(d))?;
        Ok(data)
    }

    /// Every blob digest present.
    pub fn blobs(&self) -> Result<Vec<Digest>> {
        let dir = self.root.join("blobs/sha256");
        let mut out = Vec::new();
        for e in std::fs::read_dir(&dir).at(&dir)? {
            let name = e.at(&dir)?.file_name();
            if let Ok(d) = Digest::parse(&format!("sha256:{}", name.to_string_lossy())) {
                out.push(d);
            }
        }
        out.sort();
        Ok(out)
    }

    // ---- references ----

    fn refs_path(&self) -> PathBuf {
        self.root.join("refs.json")
    }

    /// All references, by their normalised text.
    pub fn refs(&self) -> Result<Vec<(Reference, Target)>> {
        let idx = RefIndex::load(&self.refs_path())?;
        Ok(idx
            .refs
            .into_iter()
            .filter_map(|(k, v)| Some((Reference::parse(&k).ok()?, v)))
            .collect())
    }

    /// Point `r` at an image manifest; refuses unless the manifest, its config and all its
    /// layers are in the store (an image is whole or absent).
    pub fn set_ref(&self, r: &Reference, target: &Target) -> Result<()> {
        let mut result = Ok(());
        // Checked under refs.lock: a failed batch discards its blobs under the same lock.
        self.update_refs(|idx| {
            result = self
                .image(target)
                .and_then(|image| image.check_complete(self));
            if result.is_ok() {
                idx.refs.insert(r.to_string(), target.clone());
            }
            result.is_ok()
        })?;
        result
    }

    /// Remove a reference; false when it was not there.
    pub fn remove_ref(&self, r: &Reference) -> Result<bool> {
        let key = r.to_string();
        let mut found = false;
        self.update_refs(|idx| {
            found = idx.refs.remove(&key).is_some();
            found
        })?;
        Ok(found)
    }

    fn update_refs(&self, f: impl FnOnce(&mut RefIndex) -> bool) -> Result<()> {
        let _guard = lock::lock(&self.root.join("refs.lock"), LockMode::Exclusive)?;
        let mut idx = RefIndex::load(&self.refs_path())?;
        if f(&mut idx) {
            idx.save(&self.tmp_dir(), &self.refs_path())?;
        }
        Ok(())
    }

    /// Find an image by reference text (`busybox`, `name:tag`, `name@digest`), by image ID
    /// (config digest, or a prefix of its hex of at least 4 digits), or by manifest digest.
    pub fn resolve(&self, what: &str) -> Result<(Option<Reference>, Target)> {
        let refs = self.refs()?;
        if let Ok(r) = Reference::parse(what) {
            if let Some((r, t)) = refs.iter().find(|(k, _)| *k == r) {
                return Ok((Some(r.clone()), t.clone()));
            }
        }
        let hex = what.strip_prefix("sha256:").unwrap_or(what);
        if hex.len() >= 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut found: Vec<Target> = Vec::new();
            for (_, t) in &refs {
                let id = self
                    .image(t)
                    .map(|i| i.id().hex().to_string())
                    .unwrap_or_default();
                if (id.starts_with(hex) || t.digest.hex().starts_with(hex)) && !found.contains(t) {
                    found.push(t.clone());
                }
            }
            match found.len() {
                1 => return Ok((None, found.remove(0))),
                n if n > 1 => {
                    return Err(Error::Other(format!("{what}: ambiguous image ID prefix")))
                }
                _ => {}
            }
        }
        Err(Error::ImageNotFound(what.to_string()))
    }

    /// Load the manifest and config a target names.
    pub fn image(&self, target: &Target) -> Result<Image> {
        Image::load(self, target)
    }
}

#[cfg(test)]
mod tests;
