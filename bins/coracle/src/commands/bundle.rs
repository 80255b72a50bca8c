//! `bundle [--rootfs auto|overlay|copy] IMAGE DIR [-- CMD...]` and `unbundle DIR`.

use std::path::Path;

use super::{find, usage};
use crate::cli::BundleArgs;
use image::rootfs::{Made, RootfsMode};
use image::store::Store;
use image::Result;

pub fn run(root: &Path, args: &BundleArgs) -> Result<i32> {
    let mode = match args.rootfs.as_str() {
        "auto" => RootfsMode::Auto,
        "overlay" => RootfsMode::Overlay,
        "copy" => RootfsMode::Copy,
        other => {
            return Err(usage(format!(
                "--rootfs {other:?}: expected auto, overlay or copy"
            )))
        }
    };
    let store = Store::open(root)?;
    let (named, img) = find(&store, &args.image)?;
    let name = named.map_or_else(|| img.id().to_string(), |r| r.to_string());
    let cmd = (!args.cmd.is_empty()).then(|| args.cmd.clone());
    let made = image::bundle::create(&store, &img, &name, &args.dir, mode, cmd)?;
    let how = match made {
        Made::Overlay => "overlay",
        Made::Copy => "copy",
    };
    out!("{} ({how})", args.dir.display());
    Ok(0)
}

pub fn remove(dir: &Path) -> Result<i32> {
    image::bundle::remove(dir)?;
    Ok(0)
}
