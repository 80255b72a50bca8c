//! `coracle push [--tls-verify=false] REF [DEST]`: uploads a stored image (to its own
//! reference, or to DEST) and prints the manifest digest.

use std::path::Path;

use super::pull::{other, workers};
use super::{parse_ref, usage};
use crate::cli::PushArgs;
use crate::progress::Reporter;
use image::registry::{self, login, push::DEFAULT_CHUNK_SIZE, PushOptions};
use image::store::Store;
use image::Result;

pub fn run(root: &Path, a: &PushArgs) -> Result<i32> {
    let dest = parse_ref(a.destination.as_deref().unwrap_or(&a.reference))?;
    let opts = PushOptions {
        tls_verify: a.tls.tls_verify,
        credentials: login::stored_credentials(&dest.domain).map_err(other)?,
        workers: workers("CORACLE_PUSH_WORKERS")?,
        chunk_size: chunk_size()?,
    };
    let store = Store::open(root)?;
    let digest = registry::push(
        &a.reference,
        &dest,
        &opts,
        &store,
        &Reporter::new("Pushing"),
    )
    .map_err(other)?;
    out!("{digest}");
    Ok(0)
}

/// Blobs larger than this go up in chunks of this size ($CORACLE_PUSH_CHUNK_SIZE bytes).
fn chunk_size() -> Result<u64> {
    match std::env::var("CORACLE_PUSH_CHUNK_SIZE") {
        Ok(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            usage(format!(
                "CORACLE_PUSH_CHUNK_SIZE={v:?}: expected a positive number of bytes"
            ))
        }),
        Err(_) => Ok(DEFAULT_CHUNK_SIZE),
    }
}
