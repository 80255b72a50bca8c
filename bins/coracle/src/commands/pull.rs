//! `coracle pull [--platform OS/ARCH[/VARIANT]] [--tls-verify=false] REF`: fetches an image
//! into the store (per-layer progress on stderr) and prints its manifest digest.

use std::path::Path;

use super::{parse_ref, usage};
use crate::cli::PullArgs;
use crate::progress::Reporter;
use image::registry::{self, login, Platform, PullOptions};
use image::store::Store;
use image::Result;

pub fn run(root: &Path, a: &PullArgs) -> Result<i32> {
    let reference = parse_ref(&a.reference)?;
    let platform = a
        .platform
        .as_deref()
        .map(str::parse::<Platform>)
        .transpose()
        .map_err(usage)?;
    let opts = PullOptions {
        platform,
        tls_verify: a.tls.tls_verify,
        credentials: login::stored_credentials(&reference.domain).map_err(other)?,
        workers: workers("CORACLE_PULL_WORKERS")?,
    };
    let store = Store::open(root)?;
    let pulled =
        registry::pull(&reference, &opts, &store, &Reporter::new("Copying")).map_err(other)?;
    out!("{}", pulled.manifest);
    Ok(0)
}

/// The registry client's errors are already one line naming what failed.
pub fn other(e: registry::Error) -> image::Error {
    image::Error::Other(e.to_string())
}

/// Parallel transfers: the default, or the number in `var` (tests, slow links).
pub fn workers(var: &str) -> Result<usize> {
    match std::env::var(var) {
        Ok(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| usage(format!("{var}={v:?}: expected a positive number"))),
        Err(_) => Ok(registry::parallel::DEFAULT_WORKERS),
    }
}
