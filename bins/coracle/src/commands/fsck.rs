//! `image fsck`: exit 0 and a summary when the store is clean; one line per problem and exit 1
//! otherwise. Leftovers of interrupted writes are removed and counted, not problems.

use std::path::Path;

use image::store::Store;
use image::Result;

pub fn run(root: &Path) -> Result<i32> {
    let store = Store::open_exclusive(root)?;
    let r = store.fsck()?;
    for p in &r.problems {
        out!("problem: {p}");
    }
    out!(
        "{}: {} blobs, {} references, {} layers checked; {} leftover temp files removed",
        if r.problems.is_empty() {
            "clean"
        } else {
            "damaged"
        },
        r.blobs_checked,
        r.refs_checked,
        r.layers_checked,
        r.temps_removed
    );
    Ok(if r.problems.is_empty() { 0 } else { 1 })
}
