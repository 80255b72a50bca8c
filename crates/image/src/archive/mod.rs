//! Image archives: `save` and `load` in docker-archive and oci-archive form (interoperable with
//! docker/podman load and skopeo). Loading goes through a store [`Batch`]: blobs first, then
//! the references, so a failed or killed load never leaves a reference to a partial image.

mod docker;
mod oci;
mod reader;
mod writer;

use std::io::Write;
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::store::{atomic_temp_name, Batch, Image, Reference, Store, Target};
pub use reader::TarIndex;
use writer::ArchiveWriter;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Docker,
    Oci,
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        match s {
            "docker-archive" | "docker" => Ok(Format::Docker),
            "oci-archive" | "oci" => Ok(Format::Oci),
            other => Err(Error::Other(format!(
                "--format {other:?}: expected docker-archive or oci-archive"
            ))),
        }
    }
}

/// (reference, manifest) pairs a load produced.
pub type Loaded = Vec<(Reference, Target)>;

/// Load every named image of the archive at `path` (format detected); returns the references.
pub fn load(store: &Store, path: &Path) -> Result<Vec<Reference>> {
    let shown = path.display().to_string();
    let ar = TarIndex::open(path)?;
    let mut batch = Batch::new(store);
    let loaded = if ar.has("manifest.json") {
        docker::load(&mut batch, &ar, &shown)?
    } else if ar.has("index.json") && ar.has("oci-layout") {
        oci::load(&mut batch, &ar, &shown)?
    } else {
        return Err(Error::Other(format!(
            "{shown}: neither a docker-archive (manifest.json) nor an oci-archive (index.json)"
        )));
    };
    batch.commit(&loaded)?;
    Ok(loaded.into_iter().map(|(r, _)| r).collect())
}

/// Load from a stream (stdin): spooled into the store's tmp dir first (archives need seeking).
pub fn load_stream(store: &Store, mut r: impl std::io::Read) -> Result<Vec<Reference>> {
    let spool = store.root().join("tmp").join(atomic_temp_name("load"));
    let result = (|| {
        let mut f = std::fs::File::create(&spool).at(&spool)?;
        std::io::copy(&mut r, &mut f)
            .map_err(|e| Error::Other(format!("reading the archive from stdin: {e}")))?;
        load(store, &spool)
            .map_err(|e| Error::Other(e.to_string().replace(&spool.display().to_string(), "stdin")))
    })();
    let _ = std::fs::remove_file(&spool);
    result
}

/// Write `images` as one archive to `w`.
pub fn save<W: Write>(
    store: &Store,
    images: &[(Reference, Image)],
    format: Format,
    w: W,
    shown: &Path,
) -> Result<W> {
    let mut out = ArchiveWriter::new(w, shown);
    match format {
        Format::Docker => docker::save(store, images, &mut out)?,
        Format::Oci => oci::save(store, images, &mut out)?,
    }
    out.finish()
}

/// Write the archive to `path` atomically: a temp file beside it, renamed when complete.
pub fn save_to_file(
    store: &Store,
    images: &[(Reference, Image)],
    format: Format,
    path: &Path,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| Error::Other(format!("{}: not a file name", path.display())))?;
    let temp = dir.join(format!(
        ".{}.{}",
        name.to_string_lossy(),
        atomic_temp_name("tmp")
    ));
    let result = (|| {
        let f = std::fs::File::create(&temp).at(&temp)?;
        let f = save(store, images, format, std::io::BufWriter::new(f), path)?;
        let f = f.into_inner().map_err(|e| e.into_error()).at(path)?;
        f.sync_all().at(path)?;
        std::fs::rename(&temp, path).at(path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// The platform this binary runs on, in OCI terms.
pub fn host_platform_matches(p: &oci_spec::image::Platform) -> bool {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    p.os().to_string() == "linux" && p.architecture().to_string() == arch
}

#[cfg(test)]
mod tests;
