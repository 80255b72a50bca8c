//! `pull`: reference -> manifest (an index picks the platform) -> config and layers,
//! downloaded in parallel into the store -> the manifest -> the reference. The reference
//! is set last (and the store refuses it unless every blob is there), so an interrupted
//! pull leaves only unreferenced blobs, which prune removes, and never a half image.

use super::authfile::Credentials;
use super::blob;
use super::client::Client;
use super::endpoint;
use super::error::{Error, Result};
use super::fetch_manifest::{self, Fetched};
use super::manifest::{self, Descriptor, Manifest};
use super::parallel;
use super::platform::Platform;
use super::progress::{BlobKind, Event, Progress};
use crate::store::{Digest, Reference, Store, Target};

pub struct PullOptions {
    /// The platform to pick from an index; the host's when `None`.
    pub platform: Option<Platform>,
    pub tls_verify: bool,
    pub credentials: Option<Credentials>,
    /// Downloads in flight at once.
    pub workers: usize,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            platform: None,
            tls_verify: true,
            credentials: None,
            workers: parallel::DEFAULT_WORKERS,
        }
    }
}

/// What a pull stored.
#[derive(Debug)]
pub struct Pulled {
    /// The image manifest's digest (the platform's, when the reference named an index).
    pub manifest: Digest,
    /// The platform picked from an index, if the reference named one.
    pub platform: Option<Platform>,
}

pub fn pull(
    reference: &Reference,
    opts: &PullOptions,
    store: &Store,
    progress: &dyn Progress,
) -> Result<Pulled> {
    let client = Client::connect(
        endpoint::api_host(&reference.domain),
        opts.tls_verify,
        opts.credentials.clone(),
    )?;
    let name = reference.to_string();
    let repo = &reference.path;
    let top = fetch_manifest::fetch(
        &client,
        repo,
        &endpoint::manifest_ref(reference),
        reference.digest.as_ref(),
        &name,
    )?;
    let (image, platform) = match &top.manifest {
        Manifest::Image(_) => (top, None),
        Manifest::Index(index) => {
            let want = opts.platform.clone().unwrap_or_else(Platform::host);
            let entry = manifest::select(index, &want, &format!("image {name}"))?;
            let image = fetch_manifest::fetch(
                &client,
                repo,
                entry.digest.as_str(),
                Some(&entry.digest),
                &name,
            )?;
            (image, Some(want))
        }
    };
    let Manifest::Image(m) = &image.manifest else {
        return Err(Error::Unsupported {
            what: format!("image {name}"),
            why: "an index inside an index".into(),
        });
    };
    progress.event(Event::Resolved {
        reference: &name,
        digest: &image.digest,
    });
    check_layer_types(&m.layers, &name)?;
    let mut jobs: Vec<(&Descriptor, BlobKind)> =
        m.layers.iter().map(|l| (l, BlobKind::Layer)).collect();
    jobs.push((&m.config, BlobKind::Config));
    parallel::for_each(&jobs, opts.workers, |(desc, kind)| {
        blob::fetch(&client, repo, desc, *kind, store, progress)
    })?;
    store_manifest(&image, store)?;
    let target = Target {
        media_type: image.media_type.clone(),
        digest: image.digest.clone(),
        size: image.bytes.len() as u64,
    };
    store.set_ref(reference, &target)?;
    Ok(Pulled {
        manifest: image.digest,
        platform,
    })
}

/// The manifest itself is a blob too (its exact bytes, verified by `fetch`).
fn store_manifest(image: &Fetched, store: &Store) -> Result<()> {
    if !store.has_blob(&image.digest) {
        store.put_blob(&image.bytes, Some(&image.digest))?;
    }
    Ok(())
}

/// Layer kinds we store (the unpacker reads tar, gzip and zstd). Foreign layers (fetched
/// from URLs outside the registry) and unknown kinds are refused by name.
pub const LAYER_TYPES: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
];

fn check_layer_types(layers: &[Descriptor], name: &str) -> Result<()> {
    for l in layers {
        if !LAYER_TYPES.contains(&l.media_type.as_str()) {
            return Err(Error::Unsupported {
                what: format!("image {name}: layer {}", l.digest),
                why: format!("unsupported layer media type {:?}", l.media_type),
            });
        }
    }
    Ok(())
}
