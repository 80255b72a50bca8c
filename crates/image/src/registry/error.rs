//! The registry client's errors: each one a single line that names what failed (the
//! host, the reference, the blob or the document) so the CLI can print it as is.

use crate::store::Digest;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid argument: {0}")]
    Invalid(String),
    #[error("registry {host} is unreachable: {why}")]
    Unreachable { host: String, why: String },
    #[error("{what}: unauthorized: {detail}")]
    Unauthorized { what: String, detail: String },
    #[error("{what}: denied: {detail}")]
    Denied { what: String, detail: String },
    #[error("{what}: not found")]
    NotFound { what: String },
    #[error("{what}: registry answered HTTP {status}: {detail}")]
    Status {
        what: String,
        status: u16,
        detail: String,
    },
    #[error("blob {digest} from {source_name}: digest mismatch (the content hashes to {actual})")]
    DigestMismatch {
        digest: Digest,
        source_name: String,
        actual: Digest,
    },
    #[error(
        "blob {digest} from {source_name}: size mismatch (expected {expected} bytes, got {actual})"
    )]
    SizeMismatch {
        digest: Digest,
        source_name: String,
        expected: u64,
        actual: u64,
    },
    #[error("{document}: bad JSON: {why}")]
    BadDocument { document: String, why: String },
    #[error("{what}: {why}")]
    Unsupported { what: String, why: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Store(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// Store failures (a blob that cannot be written, a reference that cannot be set) keep the
/// store's own one-line message.
impl From<crate::Error> for Error {
    fn from(e: crate::Error) -> Error {
        Error::Store(e.to_string())
    }
}

impl Error {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}
