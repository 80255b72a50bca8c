//! coracle's images, to the OCI image and distribution specs.
//!
//! The crate never depends on the runtime crate: an image becomes a runtime bundle (a directory
//! with config.json and a rootfs), which any OCI runtime can run.
//!
//! Rooms (one concept per module):
//! - `store`: content-addressed blobs (sha256), image references, unpacked layers shared by
//!   images; every write atomic and durable; fsck and prune.
//! - `unpack`: applying layer tarballs (whiteouts, links, devices, ownership, xattrs), never
//!   writing outside the target.
//! - `registry`: the distribution-spec v2 client (pull, push, auth).
//! - `bundle`: image config -> OCI runtime bundle.
#![forbid(unsafe_code)]
