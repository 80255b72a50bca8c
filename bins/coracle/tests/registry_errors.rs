//! Failures a user must be told about in one line, with nothing partial left in the store:
//! a registry that is down, a hostile registry serving a blob that does not match its
//! digest (and bad JSON), reached through the bearer-token flow; a dropped download is retried.

mod registry_support;

use image::registry::Digest;
use registry_support::fake::{Fake, Route, TOKEN};
use registry_support::{free_port, Coracle, TempDir};
use serde_json::json;
use std::collections::HashMap;

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

#[test]
fn registry_down_names_the_host() {
    let work = TempDir::new("down");
    let coracle = Coracle::new(work.path());
    let host = format!("127.0.0.1:{}", free_port());
    let err = coracle.fails(&["pull", &format!("{host}/app:1")]);
    assert!(
        err.contains(&format!("registry {host} is unreachable")),
        "{err}"
    );
    let err = coracle.fails(&["login", "-u", "a", "-p", "b", &host]);
    assert!(err.contains(&host) && err.contains("unreachable"), "{err}");
    assert!(coracle.blob_files().is_empty());
}

/// A manifest whose second layer the fake serves with other content.
fn hostile_routes() -> (HashMap<String, Route>, Digest, Digest) {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec();
    let good = b"a good layer".to_vec();
    let claimed = b"what the manifest promises".to_vec();
    let (cd, gd, bd) = (Digest::of(&config), Digest::of(&good), Digest::of(&claimed));
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.as_str(), "size": config.len()},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": gd.as_str(), "size": good.len()},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": bd.as_str(), "size": claimed.len()},
        ],
    }))
    .unwrap();
    let mut routes = HashMap::new();
    let r = |ct, body| Route {
        content_type: ct,
        body,
        truncate_first: false,
    };
    routes.insert("/v2/evil/app/manifests/1".into(), r(MANIFEST, manifest));
    routes.insert(
        format!("/v2/evil/app/blobs/{cd}"),
        r("application/octet-stream", config),
    );
    routes.insert(
        format!("/v2/evil/app/blobs/{gd}"),
        r("application/octet-stream", good),
    );
    // Same length as promised, other bytes.
    routes.insert(
        format!("/v2/evil/app/blobs/{bd}"),
        r(
            "application/octet-stream",
            b"what the manifest PROMISES".to_vec(),
        ),
    );
    routes.insert(
        "/v2/evil/json/manifests/1".into(),
        r(MANIFEST, b"{\"config\": [".to_vec()),
    );
    (routes, bd, gd)
}

#[test]
fn wrong_digest_names_the_blob_and_leaves_nothing() {
    let (routes, bad, good) = hostile_routes();
    let fake = Fake::start(routes);
    let work = TempDir::new("hostile");
    let coracle = Coracle::new(work.path());
    let reference = format!("{}/evil/app:1", fake.host);
    // One download at a time, so the good layer is stored before the bad one is met.
    let out = coracle
        .cmd()
        .env("CORACLE_PULL_WORKERS", "1")
        .args(["pull", &reference])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let line = err.lines().find(|l| l.starts_with("coracle:")).unwrap();
    assert!(
        line.contains(&format!("blob {bad}")) && line.contains("digest mismatch"),
        "{err}"
    );
    let blobs = coracle.blob_files();
    assert!(
        !blobs.contains(&bad.hex().to_string()),
        "the bad blob must not be stored: {blobs:?}"
    );
    assert!(
        coracle.temp_files().is_empty(),
        "{:?}",
        coracle.temp_files()
    );
    // The good layer may stay (content-addressed, unreferenced: prune's business), but no image.
    let _ = good;
    let listed = coracle.ok(&["images", "--format", "json"]);
    assert!(!listed.contains("evil/app"), "no image listed: {listed}");
    assert!(coracle.ok(&["image", "fsck"]).starts_with("clean"));
    // The token flow was followed: the manifest was fetched with the fake's bearer token.
    let log = fake.log.lock().unwrap().clone();
    assert!(
        log.iter()
            .any(|l| l.starts_with("GET /token?service=fake&scope=repository%3Aevil%2Fapp%3Apull")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.starts_with("GET /v2/evil/app/manifests/1")
                && l.ends_with(&format!("Bearer {TOKEN}"))),
        "{log:?}"
    );
}

#[test]
fn bad_json_names_the_document() {
    let (routes, _, _) = hostile_routes();
    let fake = Fake::start(routes);
    let work = TempDir::new("badjson");
    let coracle = Coracle::new(work.path());
    let reference = format!("{}/evil/json:1", fake.host);
    let err = coracle.fails(&["pull", &reference]);
    assert!(
        err.contains(&format!("manifest of {reference}: bad JSON")),
        "{err}"
    );
    assert!(coracle.blob_files().is_empty());
}

#[test]
fn a_dropped_download_is_retried() {
    let (mut routes, _, good) = hostile_routes();
    // The good layer's first download is cut in half; the manifest points at good blobs only.
    routes
        .get_mut(&format!("/v2/evil/app/blobs/{good}"))
        .unwrap()
        .truncate_first = true;
    // An uncompressed layer's diff_id is its digest.
    let cfg = serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [good.as_str()]}}))
    .unwrap();
    routes.insert(
        format!("/v2/evil/app/blobs/{}", Digest::of(&cfg)),
        Route {
            content_type: "application/octet-stream",
            body: cfg.clone(),
            truncate_first: false,
        },
    );
    let body = b"a good layer".to_vec();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": Digest::of(&cfg).as_str(), "size": cfg.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": good.as_str(), "size": body.len()}],
    }))
    .unwrap();
    routes.insert(
        "/v2/evil/app/manifests/2".into(),
        Route {
            content_type: MANIFEST,
            body: manifest,
            truncate_first: false,
        },
    );
    let fake = Fake::start(routes);
    let work = TempDir::new("retry");
    let coracle = Coracle::new(work.path());
    let out = coracle.ok(&["pull", &format!("{}/evil/app:2", fake.host)]);
    assert!(out.starts_with("sha256:"), "{out}");
    let gets = fake
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with(&format!("GET /v2/evil/app/blobs/{good}")))
        .count();
    assert_eq!(gets, 2, "one cut download, one retry");
    assert!(coracle.blob_files().contains(&good.hex().to_string()));
    assert!(coracle.ok(&["image", "fsck"]).starts_with("clean"));
}
