//! `coracle pull [--platform OS/ARCH[/VARIANT]] [--tls-verify=false] REF`: fetches an image
//! into the store (per-layer progress on stderr) and prints its manifest digest.

use super::Result;
use crate::cli::{Cli, PullArgs};
use crate::progress::Reporter;
use crate::root::store_root;
use image::registry::{self, login, Platform, PullOptions, Reference};
use image::store::Store;

pub fn run(cli: &Cli, a: &PullArgs) -> Result<()> {
    let reference = Reference::parse(&a.reference).map_err(|e| e.to_string())?;
    let platform = a
        .platform
        .as_deref()
        .map(str::parse::<Platform>)
        .transpose()?;
    let store = Store::open(store_root(cli.root.as_ref())?).map_err(|e| e.to_string())?;
    let opts = PullOptions {
        platform,
        tls_verify: a.tls.tls_verify,
        credentials: login::stored_credentials(&reference.domain).map_err(|e| e.to_string())?,
        workers: workers("CORACLE_PULL_WORKERS")?,
    };
    let pulled = registry::pull(&reference, &opts, &store, &Reporter::new("Copying"))
        .map_err(|e| e.to_string())?;
    println!("{}", pulled.manifest);
    Ok(())
}

/// Parallel transfers: the default, or the number in `var` (tests and slow links).
pub fn workers(var: &str) -> Result<usize> {
    match std::env::var(var) {
        Ok(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(format!("{var}={v:?}: expected a positive number")),
        Err(_) => Ok(registry::parallel::DEFAULT_WORKERS),
    }
}
