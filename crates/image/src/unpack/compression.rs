//! Layer codecs, chosen by the stream's magic bytes rather than the media type (docker-archive
//! manifests call every layer a tar, whatever it holds): gzip, zstd or plain tar.

use std::io::{BufRead, BufReader, Read};

use crate::error::{Error, Result};

const GZIP: &[u8] = &[0x1f, 0x8b];
const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// Wrap `r` in the decoder its first bytes call for.
pub fn decompress<'a>(r: impl Read + 'a) -> Result<Box<dyn Read + 'a>> {
    let mut r = BufReader::with_capacity(256 * 1024, r);
    let head = r
        .fill_buf()
        .map_err(|e| Error::Other(format!("reading layer: {e}")))?;
    if head.starts_with(GZIP) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(r)))
    } else if head.starts_with(ZSTD) {
        let d = zstd::stream::read::Decoder::with_buffer(r)
            .map_err(|e| Error::Other(format!("zstd layer: {e}")))?;
        Ok(Box::new(d))
    } else {
        Ok(Box::new(r))
    }
}

/// Hashes what passes through: the diff ID of the uncompressed layer.
pub struct HashReader<R> {
    pub inner: R,
    pub hasher: crate::store::Hasher,
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
