//! `tag SOURCE TARGET`: another reference to the same manifest.

use std::path::Path;

use super::parse_ref;
use image::store::Store;
use image::Result;

pub fn run(root: &Path, source: &str, target: &str) -> Result<i32> {
    let new = parse_ref(target)?;
    let store = Store::open(root)?;
    let (_, t) = store.resolve(source)?;
    store.set_ref(&new, &t)?;
    Ok(0)
}
