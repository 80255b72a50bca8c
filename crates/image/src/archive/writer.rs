//! Writing an image archive (a tar of small JSON files and store blobs), to a file atomically
//! (temp name in the same dir, renamed when complete) or to stdout.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

pub struct ArchiveWriter<W: Write> {
    tar: tar::Builder<W>,
    shown: PathBuf,
}

impl<W: Write> ArchiveWriter<W> {
    pub fn new(out: W, shown: &Path) -> Self {
        ArchiveWriter {
            tar: tar::Builder::new(out),
            shown: shown.to_path_buf(),
        }
    }

    pub fn add(&mut self, name: &str, size: u64, data: impl Read) -> Result<()> {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(size);
        h.set_mtime(0);
        self.tar.append_data(&mut h, name, data).at(&self.shown)
    }

    pub fn add_bytes(&mut self, name: &str, data: &[u8]) -> Result<()> {
        self.add(name, data.len() as u64, data)
    }

    pub fn add_dir(&mut self, name: &str) -> Result<()> {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(0);
        self.tar
            .append_data(&mut h, name, std::io::empty())
            .at(&self.shown)
    }

    pub fn finish(self) -> Result<W> {
        self.tar.into_inner().at(&self.shown)
    }
}
