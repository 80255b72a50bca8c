//! `rmi IMAGE...` / `image rm`: remove a reference (or, given an image ID, every reference to
//! that image), then collect what no image needs any more.

use std::path::Path;

use image::store::Store;
use image::Result;

pub fn run(root: &Path, images: &[String]) -> Result<i32> {
    let store = Store::open_exclusive(root)?;
    // Resolve all first: a bad argument removes nothing.
    let mut doomed = Vec::new();
    for what in images {
        let (named, target) = store.resolve(what)?;
        match named {
            Some(r) => doomed.push(r),
            None => doomed.extend(
                store
                    .refs()?
                    .into_iter()
                    .filter(|(_, t)| *t == target)
                    .map(|(r, _)| r),
            ),
        }
    }
    for r in doomed {
        if store.remove_ref(&r)? {
            out!("Untagged: {r}");
        }
    }
    let report = store.prune()?;
    if report.blobs_removed > 0 {
        out!(
            "Deleted: {} blobs, {} layers",
            report.blobs_removed,
            report.layers_removed
        );
    }
    Ok(0)
}
