//! coracle's images, to the OCI image and distribution specs.
//!
//! The crate never depends on the runtime crate: an image becomes a runtime bundle (a directory
//! with config.json and a rootfs), which any OCI runtime can run.
//!
//! Rooms (one concept per module):
//! - `store`: content-addressed blobs (sha256), image references, unpacked layers shared by
//!   images; every write atomic and durable; fsck and prune. Its module docs are the contract
//!   for everything that writes images (import, load, the registry client).
//! - `unpack`: applying layer tarballs (whiteouts, links, devices, ownership, xattrs), never
//!   writing outside the target.
//! - `registry`: the distribution-spec v2 client (pull, push, auth).
//! - `archive`: save/load of docker-archive and oci-archive files.
//! - `import`: a rootfs (dir or tarball) -> a one-layer image.
//! - `rootfs`: a container's root: overlayfs of the shared layer dirs, or a copy.
//! - `bundle`: image config -> OCI runtime bundle.
#![forbid(unsafe_code)]

pub mod archive;
pub mod bundle;
pub mod error;
pub mod import;
pub mod registry;
pub mod rootfs;
pub mod store;
pub mod time;
pub mod unpack;

pub use error::{Error, Result};
