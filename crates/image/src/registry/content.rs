//! What the registry client needs from a content store: blobs by digest (written through
//! an atomic writer, read back for push) and references naming manifests. The store
//! module implements it; tests can use any other.

use super::digest::Digest;
use std::io::{Read, Write};

/// A blob being written. Dropping it without `commit` must leave nothing in the store.
pub trait BlobWriter: Write + Send {
    /// Makes the blob visible under its digest, durably; the store may check the digest
    /// again (the client has already checked it while streaming).
    fn commit(self: Box<Self>) -> Result<(), String>;
}

pub trait Content: Sync {
    fn has_blob(&self, digest: &Digest) -> bool;
    /// A writer for the blob with this digest and size.
    fn blob_writer(&self, digest: &Digest, size: u64) -> Result<Box<dyn BlobWriter + '_>, String>;
    /// The blob's content and size.
    fn open_blob(&self, digest: &Digest) -> Result<(Box<dyn Read + Send + '_>, u64), String>;
    /// Records that `reference` (e.g. `localhost:5000/app:1`) names the manifest `digest`,
    /// once every blob it needs is stored: this is what makes an image visible.
    fn set_reference(&self, reference: &str, digest: &Digest) -> Result<(), String>;
    /// The manifest digest a reference names, if any.
    fn resolve(&self, reference: &str) -> Result<Option<Digest>, String>;
}
