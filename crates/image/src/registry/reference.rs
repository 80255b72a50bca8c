//! Image references as users type them (`busybox`, `localhost:5000/app:1`,
//! `quay.io/org/app@sha256:...`) and the registry endpoint each one names.

use super::digest::Digest;
use std::fmt;

/// Docker Hub, the registry of references that name none.
pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's distribution API actually answers.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A fully qualified reference: registry host, repository, and a tag and/or digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Registry host as written, with its port (`docker.io` for Docker Hub).
    pub registry: String,
    /// Repository path inside the registry (`library/busybox`).
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl Reference {
    /// Parses a reference; a missing registry means Docker Hub, a missing tag and
    /// digest means `latest`.
    pub fn parse(input: &str) -> Result<Reference, String> {
        let bad = |why: &str| format!("invalid image reference {input:?}: {why}");
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => (r, Some(Digest::parse(d).map_err(|e| bad(&e))?)),
            None => (input, None),
        };
        let (name, tag) = split_tag(rest);
        let (registry, repository) = split_registry(name);
        if repository.is_empty() || !repository.split('/').all(valid_component) {
            return Err(bad(
                "the repository must be lowercase letters, digits and . _ - separated by /",
            ));
        }
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(bad(
                    "the tag must be 1-128 of [A-Za-z0-9_.-], not starting with . or -",
                ));
            }
        }
        let mut repository = repository.to_string();
        if registry == DOCKER_HUB && !repository.contains('/') {
            repository = format!("library/{repository}");
        }
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_string()),
            (t, _) => t.map(str::to_string),
        };
        Ok(Reference {
            registry: registry.to_string(),
            repository,
            tag,
            digest,
        })
    }

    /// The host the distribution API is reached at.
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }

    /// What the manifest endpoint is asked for: the digest when there is one (it pins the
    /// content), else the tag.
    pub fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// The API host for a registry name (Docker Hub's differs from its name).
pub fn api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB || registry == "index.docker.io" {
        DOCKER_HUB_API
    } else {
        registry
    }
}

/// `name:tag` -> (name, tag); a colon before the last `/` is a port, not a tag.
fn split_tag(s: &str) -> (&str, Option<&str>) {
    let last_slash = s.rfind('/').map_or(0, |i| i + 1);
    match s[last_slash..].rfind(':') {
        Some(i) => (&s[..last_slash + i], Some(&s[last_slash + i + 1..])),
        None => (s, None),
    }
}

/// The first component is a registry when it looks like a host (has a dot or a port, or
/// is localhost), as Docker decides it.
fn split_registry(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first, rest)
        }
        _ => (DOCKER_HUB, name),
    }
}

fn valid_component(c: &str) -> bool {
    !c.is_empty()
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && c.as_bytes()[0].is_ascii_alphanumeric()
}

fn valid_tag(t: &str) -> bool {
    (1..=128).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && !t.starts_with(['.', '-'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_docker_hub_library_latest() {
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/busybox:latest");
        assert_eq!(r.api_host(), "registry-1.docker.io");
    }

    #[test]
    fn port_is_not_a_tag() {
        let r = Reference::parse("localhost:5000/app").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("localhost:5000", "app")
        );
        assert_eq!(r.tag.as_deref(), Some("latest"));
        let r = Reference::parse("127.0.0.1:5000/a/b:v1").unwrap();
        assert_eq!(
            (r.repository.as_str(), r.tag.as_deref()),
            ("a/b", Some("v1"))
        );
    }

    #[test]
    fn digest_pins_the_manifest() {
        let d = Digest::of(b"m");
        let r = Reference::parse(&format!("quay.io/x/y@{d}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.manifest_ref(), d.to_string());
    }

    #[test]
    fn bad_references_name_themselves() {
        for bad in ["UPPER/case", "a//b", "x:", "x:-t", "x@sha256:12"] {
            let e = Reference::parse(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }
}
