//! Blobs: ROOT/blobs/sha256/<hex>. Written only through [`BlobWriter`], which hashes while it
//! writes to a temp file and publishes the blob (fsync, rename, fsync dir) only when the digest
//! and size match what the caller expected. Read back through [`BlobReader`], which can verify.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use super::atomic;
use super::digest::{Digest, Hasher};
use super::Store;
use crate::error::{Error, IoContext, Result};

/// Whether reading a blob re-hashes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    Yes,
    No,
}

/// A blob being written. Dropping it without [`BlobWriter::commit`] removes the temp file.
pub struct BlobWriter<'s> {
    store: &'s Store,
    file: Option<BufWriter<File>>,
    temp: PathBuf,
    hasher: Hasher,
    written: u64,
    expected: Option<Digest>,
    size: Option<u64>,
}

impl<'s> BlobWriter<'s> {
    pub(super) fn new(
        store: &'s Store,
        expected: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<Self> {
        let (file, temp) = atomic::create_temp(&store.tmp_dir(), "blob")?;
        Ok(BlobWriter {
            store,
            file: Some(BufWriter::with_capacity(256 * 1024, file)),
            temp,
            hasher: Hasher::default(),
            written: 0,
            expected: expected.cloned(),
            size,
        })
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Check digest and size, then publish the blob durably. Returns its digest (the computed
    /// one, equal to the expected one when there was one). On a mismatch nothing is published.
    pub fn commit(mut self) -> Result<Digest> {
        let actual = std::mem::take(&mut self.hasher).finish();
        if let Some(size) = self.size {
            if size != self.written {
                let digest = self.expected.as_ref().unwrap_or(&actual).to_string();
                return Err(Error::SizeMismatch {
                    digest,
                    expected: size,
                    actual: self.written,
                });
            }
        }
        if let Some(exp) = &self.expected {
            if *exp != actual {
                return Err(Error::DigestMismatch {
                    expected: exp.to_string(),
                    actual: actual.to_string(),
                });
            }
        }
        let file = self.file.take().expect("commit runs once");
        let file = file
            .into_inner()
            .map_err(|e| e.into_error())
            .at(&self.temp)?;
        file.sync_all().at(&self.temp)?;
        atomic::publish(&self.temp, &self.store.blob_path(&actual))?;
        Ok(actual)
    }
}

impl Write for BlobWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.as_mut().expect("not committed").write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        if self.size.is_some_and(|s| self.written > s) {
            return Err(io::Error::other(format!(
                "blob larger than its expected {} bytes",
                self.size.unwrap_or(0)
            )));
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("not committed").flush()
    }
}

impl Drop for BlobWriter<'_> {
    fn drop(&mut self) {
        if self.file.is_some() || std::fs::metadata(&self.temp).is_ok() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// A blob opened for reading. With [`Verify::Yes`] it hashes what it reads and fails at the end
/// of the blob if the content does not match its digest.
pub struct BlobReader {
    file: File,
    digest: Digest,
    hasher: Option<Hasher>,
}

impl BlobReader {
    pub(super) fn open(store: &Store, digest: &Digest, verify: Verify) -> Result<BlobReader> {
        let path = store.blob_path(digest);
        let file = File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::BlobNotFound(digest.to_string()),
            _ => Error::Io {
                path: path.clone(),
                source: e,
            },
        })?;
        let hasher = (verify == Verify::Yes).then(Hasher::default);
        Ok(BlobReader {
            file,
            digest: digest.clone(),
            hasher,
        })
    }

    pub fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        if let Some(h) = &mut self.hasher {
            if n > 0 {
                h.update(&buf[..n]);
            } else {
                let actual = std::mem::take(h).finish();
                self.hasher = None;
                if actual != self.digest {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "blob {} is corrupt (content hashes to {actual})",
                            self.digest
                        ),
                    ));
                }
            }
        }
        Ok(n)
    }
}
