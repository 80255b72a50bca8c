//! Crash safety of pull: `coracle pull` is killed with SIGKILL at a sweep of moments
//! through a pull; after each kill `image fsck` is clean and no half image is listed, and a
//! second pull completes.

mod registry_support;

use image::store::{Reference, Store};
use registry_support::{oci, skopeo_copy, Coracle, Registry, TempDir};
use std::time::Instant;

/// `coracle image fsck` is clean, `coracle images` lists only whole images (every blob of
/// each is in the store); returns whether `reference` is listed.
fn check_store(coracle: &Coracle, reference: &Reference, when: &str) -> bool {
    let fsck = coracle.run(&["image", "fsck"]);
    let report = String::from_utf8_lossy(&fsck.stdout);
    assert!(
        fsck.status.success() && report.starts_with("clean"),
        "{when}: fsck: {report}"
    );
    let listed: serde_json::Value =
        serde_json::from_str(&coracle.ok(&["images", "--format", "json"])).unwrap();
    let store = Store::open(&coracle.root).unwrap();
    for (r, t) in store.refs().unwrap() {
        let image = store
            .image(&t)
            .unwrap_or_else(|e| panic!("{when}: {r} listed but not loadable: {e}"));
        for b in image.blobs() {
            assert!(store.has_blob(&b), "{when}: {r} listed without blob {b}");
        }
    }
    listed.as_array().unwrap().iter().any(|row| {
        row["Repository"].as_str() == Some(&reference.name())
            && row["Tag"].as_str() == reference.tag.as_deref()
    })
}

#[test]
fn sigkill_during_pull_leaves_a_clean_store() {
    let reg = Registry::start();
    let work = TempDir::new("crash");
    let layout = work.path().join("layout");
    let built = oci::write_big_image(&layout, "crash", 3, 5);
    oci::write_layout(&layout, "big", &[&built]);
    let reference = reg.reference("crash/big:1");
    skopeo_copy(
        &format!("oci:{}:big", layout.display()),
        &format!("docker://{reference}"),
        false,
    );
    let parsed = Reference::parse(&reference).unwrap();

    // How long a whole pull takes here, to spread the kills over it.
    let scratch = TempDir::new("crash-timing");
    let timing = Coracle::new(scratch.path());
    let start = Instant::now();
    timing.ok(&["pull", &reference]);
    let full = start.elapsed();

    // Each kill lands on a fresh store (so every moment of a first pull is hit), then a second
    // pull into that store must complete.
    let steps = 12u32;
    let mut completed_early = 0;
    for i in 0..steps {
        let delay = full * i / steps;
        let home = TempDir::new("crash-step");
        let coracle = Coracle::new(home.path());
        let mut child = coracle
            .cmd()
            .args(["pull", &reference])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The delay is where the kill lands, not a synchronisation.
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        let when = format!("kill after {delay:?}");
        let listed = check_store(&coracle, &parsed, &when);
        if status.success() {
            completed_early += 1;
            assert!(listed, "{when}: a pull that finished lists its image");
        }
        let out = coracle.ok(&["pull", &reference]);
        assert!(
            out.contains(built.manifest.as_str()),
            "{when}: second pull: {out}"
        );
        assert!(
            check_store(&coracle, &parsed, &format!("{when}, second pull")),
            "{when}: the second pull lists the image"
        );
    }
    eprintln!("full pull {full:?}; {completed_early}/{steps} pulls finished before their kill");
}
