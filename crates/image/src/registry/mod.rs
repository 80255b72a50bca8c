//! The distribution-spec v2 client: pull and push by tag or digest, with anonymous, Basic
//! and bearer-token auth, over HTTPS (rustls) or plain HTTP for loopback hosts and
//! `--tls-verify=false`. Synchronous (ureq), with layer transfers in parallel on a few
//! std threads. Blobs are stored as the registry serves them (gzip, zstd or plain tar):
//! decompression belongs to the unpacker.
//!
//! One concept per file: `endpoint` (a store `Reference` -> API host, manifest ref),
//! `transport` (agent, TLS, schemes), `challenge` (WWW-Authenticate), `client`
//! (ping, auth, requests), `authfile` (auth.json), `manifest` (media types, index
//! selection), `platform`, `fetch_manifest`, `blob` (verified download), `parallel`,
//! `pull`, `push`, `login`, `progress`. Blobs go
//! through the store's atomic writer and the reference is set last (see `store`'s contract).

pub mod authfile;
pub mod blob;
pub mod challenge;
pub mod client;
pub mod endpoint;
pub mod error;
pub mod fetch_manifest;
pub mod login;
pub mod manifest;
pub mod parallel;
pub mod platform;
pub mod progress;
pub mod pull;
pub mod push;
pub mod transport;

pub use crate::store::{Digest, Reference};
pub use authfile::Credentials;
pub use error::{Error, Result};
pub use platform::Platform;
pub use progress::{BlobKind, Event, Progress, Silent};
pub use pull::{pull, PullOptions, Pulled};
pub use push::{push, PushOptions};
