//! Random access to the members of a tar file (image archives put manifest.json anywhere):
//! one scan records each regular member's data offset and size.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

pub struct TarIndex {
    path: PathBuf,
    file: File,
    members: HashMap<String, (u64, u64)>,
}

/// `./a/b` and `a/b` are the same member.
fn normalise(name: &str) -> String {
    name.trim_start_matches("./").to_string()
}

impl TarIndex {
    pub fn open(path: &Path) -> Result<TarIndex> {
        let file = File::open(path).at(path)?;
        let bad = |e: std::io::Error| crate::import::not_a_tarball(path, e);
        let mut members = HashMap::new();
        let mut links = Vec::new();
        {
            let mut archive = tar::Archive::new(&file);
            for e in archive.entries().map_err(bad)? {
                let e = e.map_err(bad)?;
                let name = normalise(&String::from_utf8_lossy(&e.path_bytes()));
                let kind = e.header().entry_type();
                if kind.is_file() {
                    members.insert(name, (e.raw_file_position(), e.size()));
                } else if kind.is_symlink() || kind.is_hard_link() {
                    // Older docker archives link duplicate layers to the first copy.
                    let target = String::from_utf8_lossy(&e.link_name_bytes().unwrap_or_default())
                        .into_owned();
                    let base = if kind.is_symlink() {
                        Path::new(&name).parent().map(|p| p.to_path_buf())
                    } else {
                        None
                    };
                    let resolved = base.map_or(target.clone(), |b| {
                        b.join(&target).to_string_lossy().into_owned()
                    });
                    links.push((name, normalise(&resolve_dots(&resolved))));
                }
            }
        }
        if members.is_empty() {
            return Err(Error::Other(format!(
                "{}: not an image archive (no files)",
                path.display()
            )));
        }
        for (name, target) in links {
            if let Some(m) = members.get(&target).copied() {
                members.insert(name, m);
            }
        }
        Ok(TarIndex {
            path: path.to_path_buf(),
            file,
            members,
        })
    }

    pub fn has(&self, name: &str) -> bool {
        self.members.contains_key(&normalise(name))
    }

    pub fn size(&self, name: &str) -> Result<u64> {
        Ok(self.member(name)?.1)
    }

    fn member(&self, name: &str) -> Result<(u64, u64)> {
        self.members.get(&normalise(name)).copied().ok_or_else(|| {
            Error::Other(format!("{}: no {name} in the archive", self.path.display()))
        })
    }

    /// A reader over one member's bytes.
    pub fn reader(&self, name: &str) -> Result<impl Read> {
        let (pos, size) = self.member(name)?;
        let mut f = self.file.try_clone().at(&self.path)?;
        f.seek(SeekFrom::Start(pos)).at(&self.path)?;
        Ok(f.take(size))
    }

    /// A small member (manifest, index, config) read whole.
    pub fn read(&self, name: &str) -> Result<Vec<u8>> {
        if self.size(name)? > 64 << 20 {
            return Err(Error::Other(format!(
                "{}: {name} is too large",
                self.path.display()
            )));
        }
        let mut v = Vec::new();
        self.reader(name)?.read_to_end(&mut v).at(&self.path)?;
        Ok(v)
    }
}

/// `a/b/../c` -> `a/c` (link targets inside the archive).
fn resolve_dots(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(
        b: &mut tar::Builder<Vec<u8>>,
        kind: tar::EntryType,
        name: &str,
        link: &str,
        data: &[u8],
    ) {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        if !link.is_empty() {
            h.set_link_name(link).unwrap();
        }
        b.append_data(&mut h, name, data).unwrap();
    }

    #[test]
    fn members_by_name_and_through_links() {
        let mut b = tar::Builder::new(Vec::new());
        member(
            &mut b,
            tar::EntryType::Regular,
            "./a/layer.tar",
            "",
            b"layer bytes",
        );
        member(
            &mut b,
            tar::EntryType::Symlink,
            "b/layer.tar",
            "../a/layer.tar",
            b"",
        );
        member(&mut b, tar::EntryType::Link, "c.tar", "a/layer.tar", b"");
        member(&mut b, tar::EntryType::Regular, "manifest.json", "", b"[]");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.tar");
        std::fs::write(&path, b.into_inner().unwrap()).unwrap();
        let idx = TarIndex::open(&path).unwrap();
        for name in ["a/layer.tar", "./a/layer.tar", "b/layer.tar", "c.tar"] {
            assert_eq!(idx.read(name).unwrap(), b"layer bytes", "{name}");
        }
        assert_eq!(idx.read("manifest.json").unwrap(), b"[]");
        let e = idx.read("nothere").unwrap_err().to_string();
        assert!(e.contains("x.tar") && e.contains("nothere"), "{e}");
        std::fs::write(&path, b"not a tar at all").unwrap();
        assert!(TarIndex::open(&path).is_err());
    }
}
