//! `import`: a root filesystem (a directory, or a tarball: plain, gzip or zstd) becomes a
//! one-layer image. The layer is streamed into the store gzip-compressed while its uncompressed
//! bytes are hashed (the diff ID); a tarball's entries are checked on the way (a layer that
//! would be refused at unpack is refused here), and nothing is referenced until all is stored.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use flate2::write::GzEncoder;
use oci_spec::image::{
    ConfigBuilder, HistoryBuilder, ImageConfiguration, ImageConfigurationBuilder, RootFsBuilder,
};

use crate::error::{Error, IoContext, Result};
use crate::store::{Batch, Digest, Hasher, NewLayer, Reference, Store, Target};
use crate::unpack::decompress;

pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// Import `src` as `reference`; returns the manifest target.
pub fn import(
    store: &Store,
    src: &Path,
    reference: &Reference,
    cmd: Option<Vec<String>>,
) -> Result<Target> {
    let meta = std::fs::metadata(src).at(src)?;
    let mut batch = Batch::new(store);
    let (layer, diff_id) = if meta.is_dir() {
        layer_from_dir(store, src)?
    } else {
        layer_from_tarball(store, src)?
    };
    batch.adopt(layer.digest.clone());
    let config = image_config(&diff_id, cmd, &format!("coracle import {}", src.display()))?;
    let config_json = serde_json::to_vec(&config).map_err(|e| Error::json("image config", e))?;
    let target = batch.put_image_raw(&config_json, &[layer])?;
    batch.commit(&[(reference.clone(), target.clone())])?;
    Ok(target)
}

/// Bytes written through it are hashed before they go on.
struct HashWriter<W> {
    inner: W,
    hasher: Hasher,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Bytes read through it are also written to `out`.
struct Tee<R, W> {
    inner: R,
    out: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}

fn layer_from_dir(store: &Store, dir: &Path) -> Result<(NewLayer, Digest)> {
    let blob = store.blob_writer(None, None)?;
    let hw = HashWriter {
        inner: GzEncoder::new(blob, flate2::Compression::fast()),
        hasher: Hasher::default(),
    };
    let mut b = tar::Builder::new(hw);
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Complete);
    b.append_dir_all(".", dir).at(dir)?;
    let hw = b.into_inner().at(dir)?;
    let diff_id = hw.hasher.finish();
    let blob = hw.inner.finish().at(dir)?;
    let size = blob.written();
    let digest = blob.commit()?;
    Ok((
        NewLayer {
            digest,
            size,
            media_type: LAYER_GZIP.into(),
        },
        diff_id,
    ))
}

fn layer_from_tarball(store: &Store, path: &Path) -> Result<(NewLayer, Digest)> {
    let file = File::open(path).at(path)?;
    let blob = store.blob_writer(None, None)?;
    let gz = GzEncoder::new(blob, flate2::Compression::fast());
    let src = crate::unpack::HashReader {
        inner: decompress(file)?,
        hasher: Hasher::default(),
    };
    let mut tee = Tee {
        inner: src,
        out: gz,
    };
    {
        let mut archive = tar::Archive::new(&mut tee);
        let entries = archive.entries().map_err(|e| not_a_tarball(path, e))?;
        let mut count = 0;
        for e in entries {
            let mut e = e.map_err(|e| not_a_tarball(path, e))?;
            crate::unpack::check_entry_path(&e.path_bytes())
                .map_err(|err| Error::Other(format!("{}: {err}", path.display())))?;
            io::copy(&mut e, &mut io::sink()).map_err(|e| not_a_tarball(path, e))?;
            count += 1;
        }
        if count == 0 {
            return Err(Error::Other(format!(
                "{}: not a tar archive (no entries)",
                path.display()
            )));
        }
    }
    io::copy(&mut tee, &mut io::sink()).at(path)?;
    let diff_id = tee.inner.hasher.finish();
    let blob = tee.out.finish().at(path)?;
    let size = blob.written();
    let digest = blob.commit()?;
    Ok((
        NewLayer {
            digest,
            size,
            media_type: LAYER_GZIP.into(),
        },
        diff_id,
    ))
}

/// A tar parse error as one short line naming the file (the tar crate's messages can quote the
/// bad bytes).
pub(crate) fn not_a_tarball(path: &Path, e: io::Error) -> Error {
    let msg: String = e
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(80)
        .collect();
    Error::Other(format!(
        "{}: not a valid tar archive: {msg}",
        path.display()
    ))
}

/// A config for a single layer on this host's platform.
pub fn image_config(
    diff_id: &Digest,
    cmd: Option<Vec<String>>,
    created_by: &str,
) -> Result<ImageConfiguration> {
    let now = crate::time::rfc3339_now();
    let mut cfg = ConfigBuilder::default().env(vec![crate::bundle::DEFAULT_PATH.to_string()]);
    if let Some(cmd) = cmd {
        cfg = cfg.cmd(cmd);
    }
    let e = |e: oci_spec::OciSpecError| Error::Other(format!("image config: {e}"));
    ImageConfigurationBuilder::default()
        .created(now.clone())
        .architecture(oci_spec::image::Arch::default())
        .os(oci_spec::image::Os::default())
        .config(cfg.build().map_err(e)?)
        .rootfs(
            RootFsBuilder::default()
                .typ("layers")
                .diff_ids(vec![diff_id.to_string()])
                .build()
                .map_err(e)?,
        )
        .history(vec![HistoryBuilder::default()
            .created(now)
            .created_by(created_by)
            .build()
            .map_err(e)?])
        .build()
        .map_err(e)
}
