//! Fetching a manifest document by tag or digest, with its digest checked.

use super::client::{expect_ok, read_limited, Body, Client};
use super::error::{Error, Result};
use super::manifest::{self, Manifest, ACCEPT};
use crate::store::Digest;

/// A manifest as the registry served it: the exact bytes (their digest is the image's
/// identity), its media type and its parsed form.
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub media_type: String,
    pub manifest: Manifest,
}

/// GET /v2/REPO/manifests/REF. `reference_name` is what errors call it (the user's
/// reference); `expected` is checked when the request was by digest.
pub fn fetch(
    client: &Client,
    repository: &str,
    manifest_ref: &str,
    expected: Option<&Digest>,
    reference_name: &str,
) -> Result<Fetched> {
    let scopes = [format!("repository:{repository}:pull")];
    let path = format!("/v2/{repository}/manifests/{manifest_ref}");
    let resp = client.request("GET", &path, &scopes, &[("Accept", ACCEPT)], Body::Empty)?;
    let what = format!("image {reference_name}");
    let resp = match resp.status() {
        401 => return Err(client.unauthorized(&what, resp)),
        _ => expect_ok(resp, &what)?,
    };
    let content_type = resp.header("content-type").map(str::to_string);
    let header_digest = resp.header("docker-content-digest").map(str::to_string);
    let document = format!("manifest of {reference_name}");
    let bytes = read_limited(resp, &document)?;
    let digest = Digest::of(&bytes);
    let claimed = match expected {
        Some(d) => Some(d.clone()),
        // A registry states the digest of what it serves; when it says sha256, check it.
        None => header_digest.and_then(|h| Digest::parse(&h).ok()),
    };
    if let Some(want) = claimed.filter(|want| want != &digest) {
        return Err(Error::DigestMismatch {
            digest: want,
            source_name: format!("{}/{repository}", client.host()),
            actual: digest,
        });
    }
    let media_type = manifest::media_type_of(content_type.as_deref(), &bytes, &document)?;
    let manifest = manifest::parse(&media_type, &bytes, &document)?;
    Ok(Fetched {
        bytes,
        digest,
        media_type,
        manifest,
    })
}
