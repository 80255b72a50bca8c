//! Progress of a pull or push, reported per blob; the CLI draws it (bars on a terminal,
//! plain lines otherwise).

use crate::store::Digest;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobKind {
    Config,
    Layer,
    Manifest,
}

#[derive(Debug)]
pub enum Event<'a> {
    /// The reference resolved to this manifest.
    Resolved {
        reference: &'a str,
        digest: &'a Digest,
    },
    /// A blob transfer starts (`size` from its descriptor).
    Start {
        kind: BlobKind,
        digest: &'a Digest,
        size: u64,
    },
    /// Bytes transferred so far for a blob.
    Bytes { digest: &'a Digest, done: u64 },
    /// A blob is done: `skipped` when it was already there (present locally on pull,
    /// on the registry on push), `mounted` when the registry took it from another repository.
    Done {
        digest: &'a Digest,
        skipped: bool,
        mounted: bool,
    },
}

pub trait Progress: Sync {
    fn event(&self, event: Event<'_>);
}

/// No output.
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: Event<'_>) {}
}
