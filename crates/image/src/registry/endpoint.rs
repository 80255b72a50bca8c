//! From a reference (the store's `Reference`, normalised as Docker does) to where the
//! distribution API answers and what it is asked for.

use crate::store::Reference;

/// Docker Hub's name in references, and where its API actually answers.
const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// The API host (with port) for a registry domain.
pub fn api_host(domain: &str) -> &str {
    if domain == DOCKER_HUB || domain == "index.docker.io" {
        DOCKER_HUB_API
    } else {
        domain
    }
}

/// What the manifest endpoint is asked for: the digest when there is one (it pins the
/// content), else the tag.
pub fn manifest_ref(r: &Reference) -> String {
    match (&r.digest, &r.tag) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.clone(),
        (None, None) => "latest".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_and_others() {
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(
            (api_host(&r.domain), r.path.as_str()),
            ("registry-1.docker.io", "library/busybox")
        );
        assert_eq!(manifest_ref(&r), "latest");
        let r = Reference::parse("localhost:5000/a/b@sha256:0000000000000000000000000000000000000000000000000000000000000000").unwrap();
        assert_eq!(api_host(&r.domain), "localhost:5000");
        assert!(manifest_ref(&r).starts_with("sha256:"));
    }
}
