//! prune: remove blobs and unpacked layers no reference needs. Layer dirs are renamed into
//! ROOT/tmp before they are deleted, so a crash mid-delete never leaves a partial layer under
//! ROOT/layers that looks complete.

use std::collections::HashSet;

use super::{atomic, Store};
use crate::error::{IoContext, Result};

/// The overlay mount options of this mount namespace (lowerdir paths are in them).
fn overlay_mounts() -> String {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter(|l| l.contains(" - overlay "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Debug, Default)]
pub struct PruneReport {
    pub blobs_removed: usize,
    pub bytes_removed: u64,
    pub layers_removed: usize,
    pub temps_removed: usize,
}

impl Store {
    /// Garbage-collect (needs the exclusive lock).
    pub fn prune(&self) -> Result<PruneReport> {
        self.require_exclusive("prune")?;
        let mut report = PruneReport {
            temps_removed: self.clean_tmp()?,
            ..Default::default()
        };
        let mut keep_blobs = HashSet::new();
        let mut keep_layers = HashSet::new();
        for (_, t) in self.refs()? {
            // A reference to an unreadable image keeps what it names: prune never guesses.
            keep_blobs.insert(t.digest.clone());
            if let Ok(img) = self.image(&t) {
                keep_blobs.extend(img.blobs());
                keep_layers.extend(img.chain_ids().iter().map(|c| c.hex().to_string()));
            }
        }
        for d in self.blobs()? {
            if !keep_blobs.contains(&d) {
                let p = self.blob_path(&d);
                report.bytes_removed += std::fs::metadata(&p).map_or(0, |m| m.len());
                std::fs::remove_file(&p).at(&p)?;
                report.blobs_removed += 1;
            }
        }
        atomic::sync_dir(&self.root.join("blobs/sha256"))?;
        let layers = self.root.join("layers");
        let mounted = overlay_mounts();
        for e in std::fs::read_dir(&layers).at(&layers)? {
            let e = e.at(&layers)?;
            // A bundle's overlay may still use a layer whose image is gone: keep it while mounted.
            let in_use = mounted.contains(&e.path().display().to_string());
            if !in_use && !keep_layers.contains(&*e.file_name().to_string_lossy()) {
                let doomed = self.tmp_dir().join(atomic::unique_name("gc"));
                std::fs::rename(e.path(), &doomed).at(e.path())?;
                atomic::sync_dir(&layers)?;
                std::fs::remove_dir_all(&doomed).at(&doomed)?;
                report.layers_removed += 1;
            }
        }
        Ok(report)
    }
}
