//! The distribution-spec v2 client: pull and push by tag or digest, with anonymous, Basic
//! and bearer-token auth, over HTTPS (rustls) or plain HTTP for loopback hosts and
//! `--tls-verify=false`. Synchronous (ureq), with layer transfers in parallel on a few
//! std threads. Blobs are stored as the registry serves them (gzip, zstd or plain tar):
//! decompression belongs to the unpacker.
//!
//! One concept per file: `reference` (what users type -> registry, repository, tag or
//! digest), `transport` (agent, TLS, schemes), `challenge` (WWW-Authenticate), `client`
//! (ping, auth, requests), `authfile` (auth.json), `manifest` (media types, index
//! selection), `platform`, `fetch_manifest`, `blob` (verified download), `parallel`,
//! `pull`, `push`, `login`, `progress`, `content` (what the client needs from a store).

pub mod authfile;
pub mod blob;
pub mod challenge;
pub mod client;
pub mod content;
pub mod digest;
pub mod error;
pub mod fetch_manifest;
pub mod login;
pub mod manifest;
pub mod parallel;
pub mod platform;
pub mod progress;
pub mod pull;
pub mod push;
pub mod reference;
pub mod transport;

pub use authfile::Credentials;
pub use content::{BlobWriter, Content};
pub use digest::Digest;
pub use error::{Error, Result};
pub use platform::Platform;
pub use progress::{BlobKind, Event, Progress, Silent};
pub use pull::{pull, PullOptions, Pulled};
pub use push::{push, PushOptions};
pub use reference::Reference;
