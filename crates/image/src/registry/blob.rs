//! Fetching one blob: streamed from the registry into the store's atomic writer, hashed
//! on the way, committed only when digest and size are what the descriptor says.

use super::client::{expect_ok, Body, Client};
use super::content::Content;
use super::digest::{Digest, Hasher};
use super::error::{Error, Result};
use super::manifest::Descriptor;
use super::progress::{BlobKind, Event, Progress};
use std::io::{Read, Write};

const CHUNK: usize = 256 * 1024;
/// Progress is reported at most this often (in bytes) to keep terminals calm.
const REPORT_EVERY: u64 = 1 << 20;

/// Fetches `desc` from `repository` into `store` unless it is there already.
pub fn fetch(
    client: &Client,
    repository: &str,
    desc: &Descriptor,
    kind: BlobKind,
    store: &dyn Content,
    progress: &dyn Progress,
) -> Result<()> {
    let digest = &desc.digest;
    progress.event(Event::Start {
        kind,
        digest,
        size: desc.size,
    });
    if store.has_blob(digest) {
        progress.event(Event::Done {
            digest,
            skipped: true,
            mounted: false,
        });
        return Ok(());
    }
    let source_name = format!("{}/{repository}", client.host());
    let scopes = [format!("repository:{repository}:pull")];
    let resp = client.request(
        "GET",
        &format!("/v2/{repository}/blobs/{digest}"),
        &scopes,
        &[],
        Body::Empty,
    )?;
    let resp = expect_ok(resp, &format!("blob {digest} in {source_name}"))?;
    let mut writer = store.blob_writer(digest, desc.size).map_err(Error::Store)?;
    let mut reader = resp.into_reader().take(desc.size + 1);
    let (actual, got) = copy_hashed(&mut reader, &mut writer, digest, &source_name, progress)?;
    if got != desc.size {
        return Err(Error::SizeMismatch {
            digest: digest.clone(),
            source_name,
            expected: desc.size,
            actual: got,
        });
    }
    if &actual != digest {
        // The writer is dropped uncommitted: nothing of this blob stays in the store.
        return Err(Error::DigestMismatch {
            digest: digest.clone(),
            source_name,
            actual,
        });
    }
    writer.commit().map_err(Error::Store)?;
    progress.event(Event::Done {
        digest,
        skipped: false,
        mounted: false,
    });
    Ok(())
}

fn copy_hashed(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    digest: &Digest,
    source_name: &str,
    progress: &dyn Progress,
) -> Result<(Digest, u64)> {
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; CHUNK];
    let (mut done, mut reported) = (0u64, 0u64);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::io(
                    format!("blob {digest} from {source_name}: download"),
                    e,
                ))
            }
        };
        hasher.update(&buf[..n]);
        writer
            .write_all(&buf[..n])
            .map_err(|e| Error::io(format!("blob {digest}: writing to the store"), e))?;
        done += n as u64;
        if done - reported >= REPORT_EVERY {
            progress.event(Event::Bytes { digest, done });
            reported = done;
        }
    }
    Ok((hasher.finish(), done))
}
