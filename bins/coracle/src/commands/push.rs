//! `coracle push [--tls-verify=false] REF [DEST]`: uploads a stored image (to its own
//! reference, or to DEST) and prints the manifest digest.

use super::pull::workers;
use super::Result;
use crate::cli::{Cli, PushArgs};
use crate::progress::Reporter;
use crate::root::store_root;
use image::registry::{self, login, push::DEFAULT_CHUNK_SIZE, PushOptions, Reference};
use image::store::Store;

pub fn run(cli: &Cli, a: &PushArgs) -> Result<()> {
    let dest_text = a.destination.as_deref().unwrap_or(&a.reference);
    let dest = Reference::parse(dest_text).map_err(|e| e.to_string())?;
    let store = Store::open(store_root(cli.root.as_ref())?).map_err(|e| e.to_string())?;
    let opts = PushOptions {
        tls_verify: a.tls.tls_verify,
        credentials: login::stored_credentials(&dest.domain).map_err(|e| e.to_string())?,
        workers: workers("CORACLE_PUSH_WORKERS")?,
        chunk_size: chunk_size()?,
    };
    let digest = registry::push(
        &a.reference,
        &dest,
        &opts,
        &store,
        &Reporter::new("Pushing"),
    )
    .map_err(|e| e.to_string())?;
    println!("{digest}");
    Ok(())
}

/// Blobs larger than this go up in chunks of this size ($CORACLE_PUSH_CHUNK_SIZE bytes).
fn chunk_size() -> Result<u64> {
    match std::env::var("CORACLE_PUSH_CHUNK_SIZE") {
        Ok(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or(format!(
            "CORACLE_PUSH_CHUNK_SIZE={v:?}: expected a positive number of bytes"
        )),
        Err(_) => Ok(DEFAULT_CHUNK_SIZE),
    }
}
