//! Image -> OCI runtime bundle: `DIR/config.json` derived from the image config, `DIR/rootfs`
//! (an overlay of the store's layers, or a copy), and `DIR/.coracle/` (the overlay's upper and
//! work dirs, and `bundle.json` saying how the rootfs was made, so [`remove`] can undo it).
//! A failure at any step removes everything made so far.

mod spec;
mod user;

use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::{openat2, Mode, OFlags, ResolveFlags};

pub use self::spec::{derive, Input, DEFAULT_PATH};
use crate::error::{Error, IoContext, Result};
use crate::rootfs::{self, Made, RootfsMode};
use crate::store::{Image, Store};

const MARKER: &str = ".coracle/bundle.json";

#[derive(serde::Serialize, serde::Deserialize)]
struct Marker {
    image: String,
    rootfs: Made,
}

/// Write a bundle for `image` (named `name` in the marker) into `dir`, which must be absent or
/// empty. `cmd` replaces the image's Cmd.
pub fn create(
    store: &Store,
    image: &Image,
    name: &str,
    dir: &Path,
    mode: RootfsMode,
    cmd: Option<Vec<String>>,
) -> Result<Made> {
    let created_dir = match std::fs::read_dir(dir).map(|mut e| e.next().is_some()) {
        Ok(true) => {
            return Err(Error::Other(format!(
                "{}: exists and is not empty",
                dir.display()
            )))
        }
        Ok(false) => false,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir(dir).at(dir)?;
            true
        }
        Err(e) => return Err(e).at(dir),
    };
    let result = build(store, image, name, dir, mode, cmd);
    if result.is_err() {
        let _ = rootfs::release(&dir.join("rootfs"));
        if created_dir {
            let _ = std::fs::remove_dir_all(dir);
        } else if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let _ = if e.path().is_dir() {
                    std::fs::remove_dir_all(e.path())
                } else {
                    std::fs::remove_file(e.path())
                };
            }
        }
    }
    result
}

fn build(
    store: &Store,
    image: &Image,
    name: &str,
    dir: &Path,
    mode: RootfsMode,
    cmd: Option<Vec<String>>,
) -> Result<Made> {
    let (root, scratch) = (dir.join("rootfs"), dir.join(".coracle"));
    for d in [&root, &scratch] {
        std::fs::create_dir(d).at(d)?;
    }
    let made = rootfs::prepare(store, image, &root, &scratch, mode)?;
    let marker = serde_json::to_vec(&Marker {
        image: name.into(),
        rootfs: made,
    })
    .expect("marker serialises");
    std::fs::write(dir.join(MARKER), marker).at(dir.join(MARKER))?;
    let input = Input {
        config: &image.config,
        cmd,
        passwd: read_in_root(&root, "etc/passwd")?,
        group: read_in_root(&root, "etc/group")?,
        hostname: "coracle".into(),
    };
    let spec = derive(&input)?;
    let json = serde_json::to_vec_pretty(&spec).map_err(|e| Error::json("config.json", e))?;
    let tmp = dir.join(".config.json.tmp");
    std::fs::write(&tmp, json).at(&tmp)?;
    std::fs::rename(&tmp, dir.join("config.json")).at(dir.join("config.json"))?;
    Ok(made)
}

/// Read a file of the rootfs with every symlink resolved inside it (an image's /etc/passwd may
/// be a symlink to anywhere); absent is empty.
fn read_in_root(root: &Path, rel: &str) -> Result<String> {
    let dir = std::fs::File::open(root).at(root)?;
    let flags = OFlags::RDONLY | OFlags::CLOEXEC;
    match openat2(
        dir.as_fd(),
        rel,
        flags,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => {
            let mut s = String::new();
            std::fs::File::from(fd)
                .take(1 << 20)
                .read_to_string(&mut s)
                .at(root.join(rel))?;
            Ok(s)
        }
        Err(rustix::io::Errno::NOENT) => Ok(String::new()),
        Err(e) => Err(e).at(root.join(rel)),
    }
}

/// Undo [`create`]: unmount the rootfs and remove the bundle dir. Refuses a dir that is not
/// a coracle bundle.
pub fn remove(dir: &Path) -> Result<()> {
    if !dir.join(MARKER).is_file() {
        return Err(Error::Other(format!(
            "{}: not a bundle made by coracle (no {MARKER})",
            dir.display()
        )));
    }
    rootfs::release(&dir.join("rootfs"))?;
    std::fs::remove_dir_all(dir).at(dir)
}
