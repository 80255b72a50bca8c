//! Fetching one blob: streamed from the registry into the store's atomic blob writer,
//! which hashes while it writes and publishes only when digest and size are what the
//! descriptor says. A mismatch (or any failure) leaves nothing in the store.

use super::client::{expect_ok, Body, Client};
use super::error::{Error, Result};
use super::manifest::Descriptor;
use super::progress::{BlobKind, Event, Progress};
use crate::store::{Digest, Store};
use std::io::{Read, Write};

const CHUNK: usize = 256 * 1024;
/// Progress is reported at most once a MiB, to keep terminals calm.
const REPORT_EVERY: u64 = 1 << 20;

/// Attempts per blob: a dropped connection or a 5xx is retried (from the start: the failed
/// attempt's writer is dropped, leaving nothing); a digest or size mismatch never is.
const ATTEMPTS: u32 = 3;

/// Fetches `desc` from `repository` into `store` unless it is there already.
pub fn fetch(
    client: &Client,
    repository: &str,
    desc: &Descriptor,
    kind: BlobKind,
    store: &Store,
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
    let mut attempt = 1;
    loop {
        match fetch_once(client, repository, desc, store, progress) {
            Err(e) if attempt < ATTEMPTS && transient(&e) => {
                std::thread::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)));
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn transient(e: &Error) -> bool {
    match e {
        Error::Unreachable { .. } | Error::Io { .. } => true,
        Error::Status { status, .. } => *status >= 500,
        _ => false,
    }
}

fn fetch_once(
    client: &Client,
    repository: &str,
    desc: &Descriptor,
    store: &Store,
    progress: &dyn Progress,
) -> Result<()> {
    let digest = &desc.digest;
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
    let mut writer = store.blob_writer(Some(digest), Some(desc.size))?;
    // Never more than the descriptor promised: a hostile server cannot fill the disk.
    let mut reader = resp.into_reader().take(desc.size);
    copy(&mut reader, &mut writer, digest, &source_name, progress)?;
    // The writer checks size and digest; its errors are rephrased to name the source.
    writer.commit().map_err(|e| match e {
        crate::Error::DigestMismatch { actual, .. } => Error::DigestMismatch {
            digest: digest.clone(),
            source_name: source_name.clone(),
            actual: Digest::parse(&actual).unwrap_or_else(|_| Digest::of(b"")),
        },
        crate::Error::SizeMismatch {
            expected, actual, ..
        } => Error::SizeMismatch {
            digest: digest.clone(),
            source_name: source_name.clone(),
            expected,
            actual,
        },
        other => other.into(),
    })?;
    progress.event(Event::Done {
        digest,
        skipped: false,
        mounted: false,
    });
    Ok(())
}

fn copy(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    digest: &Digest,
    source_name: &str,
    progress: &dyn Progress,
) -> Result<u64> {
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
        // Not `Io`: a store that cannot write is not worth a retry.
        writer
            .write_all(&buf[..n])
            .map_err(|e| Error::Store(format!("blob {digest}: writing to the store: {e}")))?;
        done += n as u64;
        if done - reported >= REPORT_EVERY {
            progress.event(Event::Bytes { digest, done });
            reported = done;
        }
    }
    Ok(done)
}
