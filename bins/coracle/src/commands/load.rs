//! `load [-i FILE]`: docker-archive or oci-archive (detected), from a file or stdin.

use std::path::Path;

use crate::cli::LoadArgs;
use image::archive;
use image::store::Store;
use image::Result;

pub fn run(root: &Path, args: &LoadArgs) -> Result<i32> {
    let store = Store::open(root)?;
    let refs = match &args.input {
        Some(path) => archive::load(&store, path)?,
        None => archive::load_stream(&store, std::io::stdin().lock())?,
    };
    for r in refs {
        out!("Loaded image: {r}");
    }
    Ok(0)
}
