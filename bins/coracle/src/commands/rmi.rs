//! `rmi IMAGE...` / `image rm`: remove a reference (or, given an image ID, every reference to
//! that image), then collect what no image needs any more.

use std::path::Path;

use image::store::{Reference, Store};
use image::{Error, Result};

/// An image whose last reference would go while a container's rootfs is an overlay of its
/// layers is refused (the prune that follows would delete those layers), as Docker does.
fn refuse_images_in_use(root: &Path, store: &Store, doomed: &[Reference]) -> Result<()> {
    let engine = engine::container::Engine::new(root);
    let containers =
        engine::container::record::all(&engine).map_err(|e| Error::Other(e.to_string()))?;
    if containers.is_empty() {
        return Ok(());
    }
    let refs = store.refs()?;
    for (r, target) in refs.iter().filter(|(r, _)| doomed.contains(r)) {
        let kept = refs.iter().any(|(o, t)| t == target && !doomed.contains(o));
        let id = store.image(target)?.id().to_string();
        if let Some(c) = containers.iter().find(|c| !kept && c.image_id == id) {
            return Err(Error::Other(format!(
                "image {r} is used by container {} ({}): remove the container first",
                c.name,
                c.short_id()
            )));
        }
    }
    Ok(())
}

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
    refuse_images_in_use(root, &store, &doomed)?;
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
