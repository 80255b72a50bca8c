//! fsck: re-hash every blob, check every reference names a whole image, clean ROOT/tmp.
//! Leftover temp files are what a crash leaves by design: they are removed and counted, not
//! reported as problems.

use super::{atomic, Digest, Store, Verify};
use crate::error::{IoContext, Result};

#[derive(Debug, Default)]
pub struct FsckReport {
    pub blobs_checked: usize,
    pub refs_checked: usize,
    pub layers_checked: usize,
    pub temps_removed: usize,
    /// One line per problem; empty means clean.
    pub problems: Vec<String>,
}

impl Store {
    /// Check the whole store (needs the exclusive lock: it removes leftovers in ROOT/tmp).
    pub fn fsck(&self) -> Result<FsckReport> {
        self.require_exclusive("fsck")?;
        let mut report = FsckReport {
            temps_removed: self.clean_tmp()?,
            ..Default::default()
        };
        self.check_blob_names(&mut report)?;
        for d in self.blobs()? {
            report.blobs_checked += 1;
            if let Err(e) = self.rehash(&d) {
                report.problems.push(format!("blob {d}: {e}"));
            }
        }
        let refs = match self.refs() {
            Ok(r) => r,
            Err(e) => {
                report.problems.push(format!("references: {e}"));
                Vec::new()
            }
        };
        for (r, t) in refs {
            report.refs_checked += 1;
            match self.image(&t).and_then(|i| i.check_complete(self)) {
                Ok(()) => {}
                Err(e) => report.problems.push(format!("{r}: {e}")),
            }
        }
        let layers = self.root.join("layers");
        for e in std::fs::read_dir(&layers).at(&layers)? {
            let e = e.at(&layers)?;
            report.layers_checked += 1;
            let name = e.file_name().to_string_lossy().into_owned();
            if Digest::parse(&format!("sha256:{name}")).is_err() || !e.path().is_dir() {
                report
                    .problems
                    .push(format!("layers/{name}: not a layer directory"));
            }
        }
        Ok(report)
    }

    fn rehash(&self, d: &Digest) -> Result<()> {
        let mut r = self.open_blob(d, Verify::Yes)?;
        std::io::copy(&mut r, &mut std::io::sink()).at(self.blob_path(d))?;
        Ok(())
    }

    fn check_blob_names(&self, report: &mut FsckReport) -> Result<()> {
        let dir = self.root.join("blobs/sha256");
        for e in std::fs::read_dir(&dir).at(&dir)? {
            let name = e.at(&dir)?.file_name().to_string_lossy().into_owned();
            if Digest::parse(&format!("sha256:{name}")).is_err() {
                report
                    .problems
                    .push(format!("blobs/sha256/{name}: not a blob name"));
            }
        }
        Ok(())
    }

    /// Remove everything in ROOT/tmp (only safe under the exclusive lock).
    pub(super) fn clean_tmp(&self) -> Result<usize> {
        self.require_exclusive("cleaning temp files")?;
        let tmp = self.tmp_dir();
        let mut n = 0;
        for e in std::fs::read_dir(&tmp).at(&tmp)? {
            let p = e.at(&tmp)?.path();
            let r = if p.is_dir() && !p.is_symlink() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            r.at(&p)?;
            n += 1;
        }
        if n > 0 {
            atomic::sync_dir(&tmp)?;
        }
        Ok(n)
    }
}
