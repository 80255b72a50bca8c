//! Manifests and indexes, OCI and Docker v2 schema 2: what a pull reads to learn the
//! config and layers of an image, and how an index (manifest list) names one image per
//! platform.

use super::error::{Error, Result};
use super::platform::Platform;
use crate::store::Digest;
use serde::Deserialize;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The Accept header of a manifest request: every kind we can read.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// A content descriptor (the fields a client acts on).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    #[serde(deserialize_with = "digest_field")]
    pub digest: Digest,
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ImageManifest {
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Index {
    pub manifests: Vec<Descriptor>,
}

/// A parsed manifest document.
#[derive(Clone, Debug)]
pub enum Manifest {
    Image(ImageManifest),
    Index(Index),
}

/// Which kind a document is: the Content-Type the registry sent, else the document's own
/// `mediaType`, else its shape (OCI allows both to be absent).
pub fn media_type_of(content_type: Option<&str>, bytes: &[u8], document: &str) -> Result<String> {
    let declared = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_string());
    if let Some(ct) = declared.filter(|c| is_known(c)) {
        return Ok(ct);
    }
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| bad(document, e))?;
    if let Some(mt) = doc.get("mediaType").and_then(serde_json::Value::as_str) {
        return Ok(mt.to_string());
    }
    Ok(if doc.get("manifests").is_some() {
        OCI_INDEX
    } else {
        OCI_MANIFEST
    }
    .to_string())
}

fn is_known(mt: &str) -> bool {
    [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].contains(&mt)
}

/// Parses a document of the given media type; schema 1 and anything else is refused.
pub fn parse(media_type: &str, bytes: &[u8], document: &str) -> Result<Manifest> {
    match media_type {
        OCI_MANIFEST | DOCKER_MANIFEST => serde_json::from_slice(bytes)
            .map(Manifest::Image)
            .map_err(|e| bad(document, e)),
        OCI_INDEX | DOCKER_LIST => serde_json::from_slice(bytes)
            .map(Manifest::Index)
            .map_err(|e| bad(document, e)),
        other => Err(Error::Unsupported {
            what: document.to_string(),
            why: format!(
                "unsupported manifest media type {other:?} (OCI and Docker schema 2 only)"
            ),
        }),
    }
}

/// The manifest of an index matching `want`; when no variant is asked for, the first
/// manifest of the OS and architecture wins (registries list the preferred one first).
pub fn select<'a>(index: &'a Index, want: &Platform, document: &str) -> Result<&'a Descriptor> {
    let candidates = || {
        index
            .manifests
            .iter()
            .filter(|d| d.platform.as_ref().is_some_and(|p| p.matches(want)))
    };
    candidates().next().ok_or_else(|| {
        let have: Vec<String> = index
            .manifests
            .iter()
            .filter_map(|d| d.platform.as_ref())
            .map(|p| p.to_string())
            .collect();
        Error::NotFound {
            what: format!(
                "{document}: no image for platform {want} (it has: {})",
                have.join(", ")
            ),
        }
    })
}

fn bad(document: &str, e: serde_json::Error) -> Error {
    Error::BadDocument {
        document: document.to_string(),
        why: e.to_string(),
    }
}

fn digest_field<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Digest, D::Error> {
    let s = String::deserialize(d)?;
    Digest::parse(&s).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"{"schemaVersion":2,"manifests":[
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","platform":{"os":"linux","architecture":"amd64"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":2,"digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","platform":{"os":"linux","architecture":"arm","variant":"v7"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":3,"digest":"sha256:3333333333333333333333333333333333333333333333333333333333333333","platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}"#;

    fn index() -> Index {
        let mt = media_type_of(None, INDEX.as_bytes(), "idx").unwrap();
        assert_eq!(mt, OCI_INDEX);
        match parse(&mt, INDEX.as_bytes(), "idx").unwrap() {
            Manifest::Index(i) => i,
            _ => panic!("not an index"),
        }
    }

    #[test]
    fn selects_by_platform() {
        let i = index();
        assert_eq!(
            select(&i, &"linux/arm64".parse().unwrap(), "idx")
                .unwrap()
                .size,
            3
        );
        assert_eq!(
            select(&i, &"linux/arm/v7".parse().unwrap(), "idx")
                .unwrap()
                .size,
            2
        );
        assert_eq!(
            select(&i, &"linux/amd64".parse().unwrap(), "idx")
                .unwrap()
                .size,
            1
        );
        let e = select(&i, &"linux/s390x".parse().unwrap(), "idx")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("linux/s390x") && e.contains("linux/arm64/v8"),
            "{e}"
        );
    }

    #[test]
    fn bad_documents_are_named() {
        let e = parse(OCI_MANIFEST, b"{\"config\":1}", "manifest x:1")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("manifest x:1: bad JSON"), "{e}");
        let e = parse(
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            b"{}",
            "m",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unsupported manifest media type"));
    }
}
