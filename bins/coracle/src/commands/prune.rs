//! `image prune`: garbage-collect blobs and layers no reference needs.

use std::path::Path;

use image::store::Store;
use image::Result;

pub fn run(root: &Path) -> Result<i32> {
    let store = Store::open_exclusive(root)?;
    let r = store.prune()?;
    out!(
        "Deleted {} blobs ({} bytes), {} layers, {} leftover temp files",
        r.blobs_removed,
        r.bytes_removed,
        r.layers_removed,
        r.temps_removed
    );
    Ok(0)
}
