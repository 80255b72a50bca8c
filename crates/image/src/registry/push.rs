//! `push`: a stored image to a registry. Each blob: HEAD (already there? skip), else a
//! cross-repository mount when the image came from another repository of the same
//! registry, else an upload (one streamed PUT, or PATCH chunks then PUT for blobs larger
//! than the chunk size); then the manifest, by tag or by digest.

use super::authfile::Credentials;
use super::client::{encode_query, expect_ok, Body, Client};
use super::endpoint;
use super::error::{Error, Result};
use super::manifest::{self, Descriptor, Manifest};
use super::parallel;
use super::progress::{BlobKind, Event, Progress};
use crate::store::{Digest, Reference, Store, Verify};
use std::io::Read;

pub struct PushOptions {
    pub tls_verify: bool,
    pub credentials: Option<Credentials>,
    pub workers: usize,
    /// Blobs larger than this go up in PATCH chunks of this size.
    pub chunk_size: u64,
}

/// Chunked uploads only for big blobs: one PUT is one round trip.
pub const DEFAULT_CHUNK_SIZE: u64 = 64 << 20;

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            tls_verify: true,
            credentials: None,
            workers: parallel::DEFAULT_WORKERS,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }
}

/// Pushes the stored image `source` (a reference, image ID or digest the store resolves)
/// to `dest`; returns the manifest digest.
pub fn push(
    source: &str,
    dest: &Reference,
    opts: &PushOptions,
    store: &Store,
    progress: &dyn Progress,
) -> Result<Digest> {
    let (source_ref, target) = store.resolve(source)?;
    let bytes = store.read_blob(&target.digest, Verify::Yes)?;
    let document = format!("manifest {} of {source}", target.digest);
    let Manifest::Image(m) = manifest::parse(&target.media_type, &bytes, &document)? else {
        return Err(Error::Unsupported {
            what: format!("image {source}"),
            why: "pushing an index is not supported".into(),
        });
    };
    let client = Client::connect(
        endpoint::api_host(&dest.domain),
        opts.tls_verify,
        opts.credentials.clone(),
    )?;
    // The registry can copy blobs between its own repositories without an upload.
    let mount_from = source_ref
        .as_ref()
        .filter(|s| s.domain == dest.domain && s.path != dest.path)
        .map(|s| s.path.as_str());
    let up = Uploader {
        client: &client,
        dest,
        mount_from,
        store,
        progress,
        chunk_size: opts.chunk_size,
    };
    let mut jobs: Vec<(&Descriptor, BlobKind)> =
        m.layers.iter().map(|l| (l, BlobKind::Layer)).collect();
    jobs.push((&m.config, BlobKind::Config));
    parallel::for_each(&jobs, opts.workers, |(desc, kind)| up.blob(desc, *kind))?;
    up.manifest(&bytes, &target.media_type, &target.digest)?;
    Ok(target.digest)
}

struct Uploader<'a> {
    client: &'a Client,
    dest: &'a Reference,
    mount_from: Option<&'a str>,
    store: &'a Store,
    progress: &'a dyn Progress,
    chunk_size: u64,
}

impl Uploader<'_> {
    fn scopes(&self) -> Vec<String> {
        let mut s = vec![format!("repository:{}:pull,push", self.dest.path)];
        if let Some(from) = self.mount_from {
            s.push(format!("repository:{from}:pull"));
        }
        s
    }

    fn repo(&self) -> &str {
        &self.dest.path
    }

    fn what(&self, digest: &Digest) -> String {
        format!("blob {digest} to {}/{}", self.client.host(), self.repo())
    }

    /// Whatever it takes to have this blob in the destination repository.
    fn blob(&self, desc: &Descriptor, kind: BlobKind) -> Result<()> {
        let digest = &desc.digest;
        self.progress.event(Event::Start {
            kind,
            digest,
            size: desc.size,
        });
        if self.exists(digest)? {
            self.progress.event(Event::Done {
                digest,
                skipped: true,
                mounted: false,
            });
            return Ok(());
        }
        let location = match self.start_upload(digest)? {
            None => {
                self.progress.event(Event::Done {
                    digest,
                    skipped: false,
                    mounted: true,
                });
                return Ok(());
            }
            Some(location) => location,
        };
        let reader = self.store.open_blob(digest, Verify::Yes)?;
        let size = reader
            .size()
            .map_err(|e| Error::io(format!("blob {digest} in the local store"), e))?;
        let reader: Box<dyn Read + Send + '_> = Box::new(reader);
        if size > self.chunk_size {
            self.chunked(digest, location, reader, size)?;
        } else {
            self.monolithic(digest, &location, reader, size)?;
        }
        self.progress.event(Event::Done {
            digest,
            skipped: false,
            mounted: false,
        });
        Ok(())
    }

    fn exists(&self, digest: &Digest) -> Result<bool> {
        let path = format!("/v2/{}/blobs/{digest}", self.repo());
        let resp = self
            .client
            .request("HEAD", &path, &self.scopes(), &[], Body::Empty)?;
        match resp.status() {
            200 => Ok(true),
            404 => Ok(false),
            401 => Err(self.client.unauthorized(&self.what(digest), resp)),
            _ => expect_ok(resp, &self.what(digest)).map(|_| false),
        }
    }

    /// POST an upload (with a mount request when we can); `None` when the mount worked.
    fn start_upload(&self, digest: &Digest) -> Result<Option<String>> {
        let mut path = format!("/v2/{}/blobs/uploads/", self.repo());
        if let Some(from) = self.mount_from {
            path.push_str(&format!(
                "?mount={}&from={}",
                encode_query(digest.as_str()),
                encode_query(from)
            ));
        }
        let resp = self.client.request(
            "POST",
            &path,
            &self.scopes(),
            &[("Content-Length", "0")],
            Body::Empty,
        )?;
        match resp.status() {
            201 if self.mount_from.is_some() => Ok(None),
            202 => location(&resp, &self.what(digest)),
            401 => Err(self.client.unauthorized(&self.what(digest), resp)),
            _ => Err(unexpected(resp, &self.what(digest))),
        }
    }

    fn monolithic(
        &self,
        digest: &Digest,
        location: &str,
        reader: Box<dyn Read + Send + '_>,
        size: u64,
    ) -> Result<()> {
        let url = with_digest(location, digest);
        let len = size.to_string();
        let headers = [
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", len.as_str()),
        ];
        let reader = Counting {
            inner: reader,
            digest,
            done: 0,
            progress: self.progress,
        };
        let resp = self.client.request(
            "PUT",
            &url,
            &self.scopes(),
            &headers,
            Body::Stream(Box::new(reader)),
        )?;
        self.finished(resp, digest)
    }

    /// PATCH chunks (each with its Content-Range), following the Location each answer
    /// gives, then a closing PUT with the digest.
    fn chunked(
        &self,
        digest: &Digest,
        mut location: String,
        mut reader: Box<dyn Read + Send + '_>,
        size: u64,
    ) -> Result<()> {
        let what = self.what(digest);
        let mut offset = 0u64;
        while offset < size {
            let len = self.chunk_size.min(size - offset);
            let mut chunk = Vec::with_capacity(len as usize);
            (&mut reader)
                .take(len)
                .read_to_end(&mut chunk)
                .map_err(|e| Error::io(format!("blob {digest} in the local store"), e))?;
            if chunk.len() as u64 != len {
                return Err(Error::Store(format!(
                    "blob {digest} in the local store is shorter than {size} bytes"
                )));
            }
            let range = format!("{}-{}", offset, offset + len - 1);
            let clen = len.to_string();
            let headers = [
                ("Content-Type", "application/octet-stream"),
                ("Content-Range", &range),
                ("Content-Length", &clen),
            ];
            let resp = self.client.request(
                "PATCH",
                &location,
                &self.scopes(),
                &headers,
                Body::Bytes(&chunk),
            )?;
            if resp.status() != 202 {
                return Err(unexpected(resp, &what));
            }
            location = location_of(&resp, &what)?;
            offset += len;
            self.progress.event(Event::Bytes {
                digest,
                done: offset,
            });
        }
        let url = with_digest(&location, digest);
        let resp = self.client.request(
            "PUT",
            &url,
            &self.scopes(),
            &[("Content-Length", "0")],
            Body::Empty,
        )?;
        self.finished(resp, digest)
    }

    fn finished(&self, resp: ureq::Response, digest: &Digest) -> Result<()> {
        match resp.status() {
            201 | 204 => Ok(()),
            401 => Err(self.client.unauthorized(&self.what(digest), resp)),
            _ => Err(unexpected(resp, &self.what(digest))),
        }
    }

    /// PUT the manifest under the destination's tag, or its digest when it names one.
    fn manifest(&self, bytes: &[u8], media_type: &str, digest: &Digest) -> Result<()> {
        if let Some(d) = &self.dest.digest {
            if d != digest {
                return Err(Error::Invalid(format!(
                    "destination {} names digest {d} but the image is {digest}",
                    self.dest
                )));
            }
        }
        let what = format!("manifest {} to {}", digest, self.dest);
        let tag_or_digest = self.dest.tag.clone().unwrap_or_else(|| digest.to_string());
        let path = format!("/v2/{}/manifests/{tag_or_digest}", self.repo());
        let resp = self.client.request(
            "PUT",
            &path,
            &self.scopes(),
            &[("Content-Type", media_type)],
            Body::Bytes(bytes),
        )?;
        match resp.status() {
            201 | 200 | 204 => {}
            401 => return Err(self.client.unauthorized(&what, resp)),
            _ => return Err(unexpected(resp, &what)),
        }
        let stated = resp
            .header("docker-content-digest")
            .and_then(|h| Digest::parse(h).ok());
        match stated {
            Some(s) if &s != digest => Err(Error::DigestMismatch {
                digest: digest.clone(),
                source_name: what,
                actual: s,
            }),
            _ => Ok(()),
        }
    }
}

fn with_digest(location: &str, digest: &Digest) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={}", encode_query(digest.as_str()))
}

fn location(resp: &ureq::Response, what: &str) -> Result<Option<String>> {
    location_of(resp, what).map(Some)
}

fn location_of(resp: &ureq::Response, what: &str) -> Result<String> {
    resp.header("location")
        .map(str::to_string)
        .ok_or_else(|| Error::Status {
            what: what.into(),
            status: resp.status(),
            detail: "no Location header".into(),
        })
}

/// Any status the protocol does not expect at that step, as the error naming `what`.
fn unexpected(resp: ureq::Response, what: &str) -> Error {
    let status = resp.status();
    match expect_ok(resp, what) {
        Err(e) => e,
        Ok(_) => Error::Status {
            what: what.into(),
            status,
            detail: "unexpected status".into(),
        },
    }
}

/// Reports upload progress as the PUT body is read.
struct Counting<'a, R> {
    inner: R,
    digest: &'a Digest,
    done: u64,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let before = self.done;
        self.done += n as u64;
        if self.done >> 20 != before >> 20 {
            self.progress.event(Event::Bytes {
                digest: self.digest,
                done: self.done,
            });
        }
        Ok(n)
    }
}
