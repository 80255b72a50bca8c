//! Applying layer tarballs. The tar crate parses; everything that touches the file system is
//! ours and goes through directory fds (see walk.rs): no entry can create, change or delete
//! anything outside the target. Refused: absolute paths, `..`, a parent that is a symlink
//! (symlink-then-write), hardlinks whose source is outside or a directory, whiteouts of `.`/`..`.
//! A refused entry fails the whole layer with an error naming it.
//!
//! Whiteouts come in two forms: [`Whiteouts::Apply`] deletes what they name (a flattened rootfs,
//! the copy fallback), [`Whiteouts::Overlay`] records them the way overlayfs reads lower dirs
//! (0:0 char devices, `trusted.overlay.opaque=y`), for the store's per-layer directories.
//!
//! Returns the digest of the uncompressed stream (the layer's diff ID) for the caller to check.

mod compression;
mod entry;
mod path;
mod walk;

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rustix::fs::{fsetxattr, openat, FileType, Mode, OFlags, XattrFlags};
use rustix::io::Errno;
use tar::EntryType;

use crate::error::{Error, Result};
use crate::store::{Digest, Hasher};
pub use compression::{decompress, HashReader};
use entry::Meta;
use path::EntryPath;
use walk::{io_err, open_dir_at, open_parent, remove_all_at, type_at};

/// How `.wh.` entries are applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whiteouts {
    /// Delete what they name from the target (which holds the lower layers' content).
    Apply,
    /// Write overlayfs whiteouts into the target (an empty per-layer dir).
    Overlay,
}

/// How to apply a layer.
#[derive(Clone, Debug)]
pub struct Options {
    pub whiteouts: Whiteouts,
    /// For [`Whiteouts::Overlay`]: the lower layers' dirs, top first, where a hardlink whose
    /// source is in an earlier layer finds it (it becomes a copy, as overlayfs copy-up would).
    pub lowers: Vec<PathBuf>,
}

const WH_PREFIX: &[u8] = b".wh.";
const WH_OPAQUE: &[u8] = b".wh..wh..opq";

/// Check an entry's path the way [`apply_layer`] will (for importers that only stream).
pub fn check_entry_path(raw: &[u8]) -> Result<()> {
    let path = EntryPath::parse(raw)?;
    if let Some((_, name)) = path.split() {
        let n = name.as_bytes();
        if n == b".wh.." || n == b".wh..." || n == b".wh." {
            return Err(unsafe_entry(
                &String::from_utf8_lossy(raw),
                "whiteout of \".\" or \"..\"",
            ));
        }
    }
    Ok(())
}

/// Apply one layer (plain, gzip or zstd tar) onto `target`; returns its diff ID.
pub fn apply_layer(layer: impl Read, target: &Path, opts: &Options) -> Result<Digest> {
    let root = rustix::fs::open(target, walk::DIR_FLAGS, Mode::empty()).map_err(|e| Error::Io {
        path: target.into(),
        source: e.into(),
    })?;
    let mut hashed = compression::HashReader {
        inner: decompress(layer)?,
        hasher: Hasher::default(),
    };
    let mut state = State {
        root,
        opts,
        created: HashSet::new(),
        dirs: Vec::new(),
        cache: None,
        chown: rustix::process::geteuid().is_root(),
    };
    {
        let mut archive = tar::Archive::new(&mut hashed);
        let entries = archive
            .entries()
            .map_err(|e| Error::Other(format!("layer: {e}")))?;
        for e in entries {
            let mut e = e.map_err(|e| Error::Other(format!("layer: {e}")))?;
            state.apply(&mut e)?;
        }
    }
    // The tar ends before the stream does (padding): hash all of it.
    std::io::copy(&mut hashed, &mut std::io::sink())
        .map_err(|e| Error::Other(format!("layer: {e}")))?;
    state.finish()?;
    Ok(hashed.hasher.finish())
}

struct State<'a> {
    root: OwnedFd,
    opts: &'a Options,
    /// Paths this layer wrote (an opaque whiteout keeps them).
    created: HashSet<EntryPath>,
    /// Directory mtimes, set last (their children change them).
    dirs: Vec<(EntryPath, i64)>,
    /// The last parent dir opened (entries come grouped by directory): saves a walk from the
    /// root per entry. Dropped whenever anything is removed, so it never names a replaced dir.
    cache: Option<(Vec<Vec<u8>>, Rc<OwnedFd>)>,
    chown: bool,
}

impl State<'_> {
    fn apply(&mut self, e: &mut tar::Entry<'_, impl Read>) -> Result<()> {
        let raw = e.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let path = EntryPath::parse(&raw)?;
        let kind = e.header().entry_type();
        if matches!(
            kind,
            EntryType::XGlobalHeader
                | EntryType::XHeader
                | EntryType::GNULongName
                | EntryType::GNULongLink
        ) {
            return Ok(());
        }
        let meta = self.meta(e, &shown)?;
        let Some((parent_comps, name)) = path.split() else {
            // "./": the target itself.
            if kind != EntryType::Directory {
                return Err(Error::UnsafeEntry {
                    entry: shown,
                    reason: "names the target itself".into(),
                });
            }
            entry::apply_fd(&self.root, &meta, &shown)?;
            self.dirs.push((path, meta.mtime));
            return Ok(());
        };
        let parent = self.parent_fd(parent_comps, &shown)?;
        let name_bytes = name.as_bytes();
        if name_bytes.starts_with(WH_PREFIX) {
            return self.whiteout(
                &parent,
                &EntryPath(parent_comps.to_vec()),
                name_bytes,
                &shown,
            );
        }
        match type_at(&parent, name).map_err(|e| io_err(&shown, e))? {
            Some(FileType::Directory) if kind == EntryType::Directory => {}
            Some(_) => {
                self.cache = None;
                remove_all_at(&parent, name).map_err(|e| io_err(&shown, e))?
            }
            None => {}
        }
        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                entry::file(&parent, name, e, &meta, &shown)?
            }
            EntryType::Directory => {
                entry::dir(&parent, name, &meta, &shown)?;
                self.dirs.push((path.clone(), meta.mtime));
            }
            EntryType::Symlink => {
                let target = e
                    .link_name_bytes()
                    .ok_or_else(|| unsafe_entry(&shown, "symlink without a target"))?;
                entry::symlink(&parent, name, OsStr::from_bytes(&target), &meta, &shown)?
            }
            EntryType::Link => self.hardlink(e, &parent, name, &shown)?,
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let ft = match kind {
                    EntryType::Char => FileType::CharacterDevice,
                    EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let h = e.header();
                let dev = (
                    h.device_major().ok().flatten().unwrap_or(0),
                    h.device_minor().ok().flatten().unwrap_or(0),
                );
                entry::node(&parent, name, ft, dev, &meta, &shown)?
            }
            other => {
                return Err(unsafe_entry(
                    &shown,
                    &format!("unsupported entry type {other:?}"),
                ))
            }
        }
        self.created.insert(path);
        Ok(())
    }

    fn parent_fd(&mut self, comps: &[Vec<u8>], shown: &str) -> Result<Rc<OwnedFd>> {
        if let Some((path, fd)) = &self.cache {
            if path.as_slice() == comps {
                return Ok(fd.clone());
            }
        }
        let fd = Rc::new(open_parent(&self.root, comps, true, shown)?);
        self.cache = Some((comps.to_vec(), fd.clone()));
        Ok(fd)
    }

    fn whiteout(
        &mut self,
        parent: &OwnedFd,
        parent_path: &EntryPath,
        name: &[u8],
        shown: &str,
    ) -> Result<()> {
        self.cache = None;
        if name == WH_OPAQUE {
            return match self.opts.whiteouts {
                Whiteouts::Overlay => {
                    fsetxattr(parent, "trusted.overlay.opaque", b"y", XattrFlags::empty())
                        .map_err(|e| io_err(shown, e))
                }
                Whiteouts::Apply => {
                    let created = &self.created;
                    walk::clear_dir(parent, |child| !created.contains(&parent_path.join(child)))
                        .map_err(|e| io_err(shown, e))
                }
            };
        }
        if name.starts_with(b".wh..wh.") {
            return Ok(()); // aufs metadata (.wh..wh.plnk, .wh..wh.aufs): not content
        }
        let victim = &name[WH_PREFIX.len()..];
        if victim.is_empty() || victim == b"." || victim == b".." {
            return Err(unsafe_entry(shown, "whiteout of \".\" or \"..\""));
        }
        let victim = OsStr::from_bytes(victim);
        remove_all_at(parent, victim).map_err(|e| io_err(shown, e))?;
        if self.opts.whiteouts == Whiteouts::Overlay {
            entry::overlay_whiteout(parent, victim, shown)?;
        }
        Ok(())
    }

    fn hardlink(
        &self,
        e: &tar::Entry<'_, impl Read>,
        parent: &OwnedFd,
        name: &OsStr,
        shown: &str,
    ) -> Result<()> {
        let raw = e
            .link_name_bytes()
            .ok_or_else(|| unsafe_entry(shown, "hardlink without a target"))?;
        let src = EntryPath::parse(&raw).map_err(|err| match err {
            Error::UnsafeEntry { reason, .. } => {
                unsafe_entry(shown, &format!("hardlink target: {reason}"))
            }
            other => other,
        })?;
        let Some((src_parent, src_name)) = src.split() else {
            return Err(unsafe_entry(shown, "hardlink to the target itself"));
        };
        match open_parent(&self.root, src_parent, false, shown) {
            Ok(dir) => match type_at(&dir, src_name).map_err(|e| io_err(shown, e))? {
                Some(FileType::Directory) => {
                    return Err(unsafe_entry(shown, "hardlink to a directory"))
                }
                Some(_) => return entry::hardlink(&dir, src_name, parent, name, shown),
                None => {}
            },
            Err(Error::Entry { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(other) => return Err(other),
        }
        self.copy_from_lower(src_parent, src_name, parent, name, shown)
    }

    /// A hardlink whose source is in a lower layer: copy the source into this layer.
    fn copy_from_lower(
        &self,
        comps: &[Vec<u8>],
        src: &OsStr,
        parent: &OwnedFd,
        name: &OsStr,
        shown: &str,
    ) -> Result<()> {
        for lower in &self.opts.lowers {
            let Ok(root) = rustix::fs::open(lower, walk::DIR_FLAGS, Mode::empty()) else {
                continue;
            };
            let Ok(dir) = open_parent(&root, comps, false, shown) else {
                continue;
            };
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            match openat(&dir, src, flags, Mode::empty()) {
                Ok(fd) => {
                    let st = rustix::fs::fstat(&fd).map_err(|e| io_err(shown, e))?;
                    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                        return Err(unsafe_entry(
                            shown,
                            "hardlink to something that is not a regular file",
                        ));
                    }
                    let meta = Meta {
                        mode: st.st_mode & 0o7777,
                        uid: st.st_uid,
                        gid: st.st_gid,
                        mtime: st.st_mtime,
                        xattrs: Vec::new(),
                        chown: self.chown,
                    };
                    return entry::file(parent, name, &mut std::fs::File::from(fd), &meta, shown);
                }
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(io_err(shown, e)),
            }
        }
        Err(unsafe_entry(
            shown,
            "hardlink target not found in this or an earlier layer",
        ))
    }

    fn meta(&self, e: &mut tar::Entry<'_, impl Read>, shown: &str) -> Result<Meta> {
        let h = e.header();
        let bad = |what: &str| unsafe_entry(shown, &format!("bad {what} in header"));
        let old = h.as_old();
        // An empty numeric field (all NULs or spaces) reads as 0, as Go's archive/tar (Docker)
        // reads it; anything else unparsable is refused.
        let num = |r: std::io::Result<u64>, raw: &[u8], what: &str| match r {
            Ok(n) => Ok(n),
            Err(_) if raw.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
            Err(_) => Err(bad(what)),
        };
        let mut m = Meta {
            mode: num(h.mode().map(u64::from), &old.mode, "mode")? as u32,
            uid: num(h.uid(), &old.uid, "uid")? as u32,
            gid: num(h.gid(), &old.gid, "gid")? as u32,
            mtime: num(h.mtime(), &old.mtime, "mtime")? as i64,
            xattrs: Vec::new(),
            chown: self.chown,
        };
        if let Some(exts) = e.pax_extensions().map_err(|source| Error::Entry {
            entry: shown.into(),
            source,
        })? {
            for ext in exts {
                let ext = ext.map_err(|_| bad("pax record"))?;
                let (Ok(key), value) = (ext.key(), ext.value_bytes()) else {
                    continue;
                };
                let num = || {
                    std::str::from_utf8(value)
                        .ok()
                        .and_then(|v| v.split('.').next()?.parse::<i64>().ok())
                };
                match key {
                    "uid" => m.uid = num().ok_or_else(|| bad("pax uid"))? as u32,
                    "gid" => m.gid = num().ok_or_else(|| bad("pax gid"))? as u32,
                    "mtime" => m.mtime = num().ok_or_else(|| bad("pax mtime"))?,
                    k => {
                        // trusted.overlay.* would forge overlayfs state: never taken from a layer.
                        if let Some(x) = k
                            .strip_prefix("SCHILY.xattr.")
                            .filter(|x| !x.starts_with("trusted.overlay."))
                        {
                            m.xattrs.push((x.to_string(), value.to_vec()));
                        }
                    }
                }
            }
        }
        Ok(m)
    }

    fn finish(&mut self) -> Result<()> {
        for (path, mtime) in self.dirs.iter().rev() {
            let shown = path.to_string();
            let fd = match path.split() {
                None => open_dir_at(&self.root, OsStr::new(".")).map_err(|e| io_err(&shown, e))?,
                Some((parent, name)) => {
                    // A later entry may have removed it: nothing to stamp then.
                    let Ok(p) = open_parent(&self.root, parent, false, &shown) else {
                        continue;
                    };
                    let Ok(fd) = open_dir_at(&p, name) else {
                        continue;
                    };
                    fd
                }
            };
            rustix::fs::futimens(&fd, &entry::times(*mtime)).map_err(|e| io_err(&shown, e))?;
        }
        Ok(())
    }
}

fn unsafe_entry(entry: &str, reason: &str) -> Error {
    Error::UnsafeEntry {
        entry: entry.into(),
        reason: reason.into(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
