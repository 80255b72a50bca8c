//! The crate's error type: every variant names what it is about (a path, a digest, a reference,
//! a layer entry), so the CLI can print it as one line.

use std::io;
use std::path::{Path, PathBuf};

/// Errors of the image crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("invalid digest {0:?}: {1}")]
    InvalidDigest(String, &'static str),
    #[error("invalid reference {0:?}: {1}")]
    InvalidReference(String, String),
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: String, actual: String },
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        digest: String,
        expected: u64,
        actual: u64,
    },
    #[error("blob {0} is not in the store")]
    BlobNotFound(String),
    #[error("image {0} is not in the store")]
    ImageNotFound(String),
    #[error("{what}: {source}")]
    Json {
        what: String,
        source: serde_json::Error,
    },
    /// A layer entry that would write outside the target, or is otherwise refused.
    #[error("layer entry {entry:?}: {reason}")]
    UnsafeEntry { entry: String, reason: String },
    /// An I/O failure while applying one layer entry.
    #[error("layer entry {entry:?}: {source}")]
    Entry { entry: String, source: io::Error },
    /// Anything else, already phrased for the user.
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attach a path to an io::Error.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|source| Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        })
    }
}

impl<T> IoContext<T> for rustix::io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::Io {
            path: path.as_ref().to_path_buf(),
            source: e.into(),
        })
    }
}

impl Error {
    pub fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        Error::Json {
            what: what.into(),
            source,
        }
    }
}
