//! `image inspect IMAGE...`: a JSON array, one object per image (ID, digest, names, manifest,
//! config).

use std::path::Path;

use super::find;
use image::store::Store;
use image::{Error, Result};

pub fn run(root: &Path, images: &[String]) -> Result<i32> {
    let store = Store::open(root)?;
    let refs = store.refs()?;
    let mut out = Vec::new();
    for what in images {
        let (_, img) = find(&store, what)?;
        let names: Vec<String> = refs
            .iter()
            .filter(|(_, t)| *t == img.target)
            .map(|(r, _)| r.to_string())
            .collect();
        out.push(serde_json::json!({
            "Id": img.id().to_string(),
            "Digest": img.target.digest.to_string(),
            "RepoTags": names,
            "Manifest": serde_json::to_value(&img.manifest).map_err(|e| Error::json("manifest", e))?,
            "Config": serde_json::to_value(&img.config).map_err(|e| Error::json("config", e))?,
        }));
    }
    out!(
        "{}",
        serde_json::to_string_pretty(&out).map_err(|e| Error::json("inspect", e))?
    );
    Ok(0)
}
