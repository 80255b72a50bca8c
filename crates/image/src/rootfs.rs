//! A container's root filesystem from an image: an overlayfs mount of the store's shared layer
//! dirs (read-only lowers) plus a per-container upper and work dir; or, where overlayfs cannot
//! be mounted, a private copy made by applying the image's layer blobs in order.

use std::path::{Path, PathBuf};

use rustix::mount::{mount, unmount, MountFlags, UnmountFlags};

use crate::error::{Error, IoContext, Result};
use crate::store::{Image, Store, Verify};
use crate::unpack::{apply_layer, Options, Whiteouts};

/// How a rootfs is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootfsMode {
    /// overlayfs when it can be mounted, else a copy.
    Auto,
    Overlay,
    Copy,
}

/// What was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Made {
    Overlay,
    Copy,
}

/// Make `target` (an empty dir) the image's rootfs. `scratch` holds the overlay's upper and work
/// dirs (same file system as each other; created here).
pub fn prepare(
    store: &Store,
    image: &Image,
    target: &Path,
    scratch: &Path,
    mode: RootfsMode,
) -> Result<Made> {
    if mode != RootfsMode::Copy {
        let lowers = store.layer_dirs(image)?;
        match mount_overlay(&lowers, scratch, target) {
            Ok(()) => return Ok(Made::Overlay),
            Err(e) if mode == RootfsMode::Overlay => return Err(e),
            Err(_) => {
                let _ = std::fs::remove_dir_all(scratch.join("upper"));
                let _ = std::fs::remove_dir_all(scratch.join("work"));
            }
        }
    }
    copy(store, image, target)?;
    Ok(Made::Copy)
}

/// overlayfs with `lowers` (bottom to top) under an upper dir in `scratch`.
pub fn mount_overlay(lowers: &[PathBuf], scratch: &Path, target: &Path) -> Result<()> {
    if lowers.is_empty() {
        return Err(Error::Other(
            "an image without layers cannot be an overlay rootfs".into(),
        ));
    }
    let (upper, work) = (scratch.join("upper"), scratch.join("work"));
    for d in [&upper, &work] {
        std::fs::create_dir_all(d).at(d)?;
    }
    let mut all = lowers.iter().rev().map(|p| p.as_path()).collect::<Vec<_>>();
    all.extend([upper.as_path(), work.as_path()]);
    if let Some(p) = all
        .iter()
        .find(|p| p.to_string_lossy().contains([':', ',', '\\']))
    {
        return Err(Error::Other(format!(
            "{}: overlayfs paths may not contain ':', ',' or '\\'",
            p.display()
        )));
    }
    let lower = lowers
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let data = format!(
        "lowerdir={lower},upperdir={},workdir={}",
        upper.display(),
        work.display()
    );
    if data.len() >= 4096 {
        return Err(Error::Other(format!(
            "{} layers: overlayfs options exceed one page",
            lowers.len()
        )));
    }
    let data =
        std::ffi::CString::new(data).map_err(|_| Error::Other("NUL in overlay options".into()))?;
    mount(
        "overlay",
        target,
        "overlay",
        MountFlags::empty(),
        data.as_c_str(),
    )
    .at(target)
}

/// A private copy: the layer blobs applied in order, whiteouts deleting lower content.
pub fn copy(store: &Store, image: &Image, target: &Path) -> Result<()> {
    for (blob, diff_id) in image.layers.iter().zip(&image.diff_ids) {
        let got = apply_layer(
            store.open_blob(blob, Verify::Yes)?,
            target,
            &Options {
                whiteouts: Whiteouts::Apply,
                lowers: vec![],
            },
        )
        .map_err(|e| Error::Other(format!("layer {blob}: {e}")))?;
        if got != *diff_id {
            return Err(Error::Other(format!(
                "layer {blob}: content has diff ID {got}, the config says {diff_id}"
            )));
        }
    }
    Ok(())
}

/// Unmount a rootfs made by [`prepare`]; a rootfs that is not a mount point is left alone.
pub fn release(target: &Path) -> Result<()> {
    match unmount(target, UnmountFlags::DETACH) {
        Ok(()) | Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e).at(target),
    }
}
