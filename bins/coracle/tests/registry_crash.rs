//! Crash safety of pull: `coracle pull` is killed with SIGKILL at a sweep of moments
//! through a pull; after each kill the store's fsck is clean and no half image is listed,
//! and a last pull completes.

mod registry_support;

use image::store::{Reference, Store};
use registry_support::{oci, skopeo_copy, Coracle, Registry, TempDir};
use std::time::Instant;

/// fsck is clean and every listed image is whole; returns whether `reference` is listed.
fn check_store(coracle: &Coracle, reference: &Reference, when: &str) -> bool {
    let store = Store::open_exclusive(&coracle.root).unwrap();
    let report = store.fsck().unwrap();
    assert!(
        report.problems.is_empty(),
        "{when}: fsck: {:?}",
        report.problems
    );
    let refs = store.refs().unwrap();
    for (r, t) in &refs {
        let image = store
            .image(t)
            .unwrap_or_else(|e| panic!("{when}: {r} listed but not loadable: {e}"));
        for b in image.blobs() {
            assert!(store.has_blob(&b), "{when}: {r} listed without blob {b}");
        }
    }
    refs.iter().any(|(r, _)| r == reference)
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

    let coracle = Coracle::new(work.path());
    let steps = 12u32;
    let mut completed_early = 0;
    for i in 0..steps {
        let delay = full * i / steps;
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
        let listed = check_store(&coracle, &parsed, &format!("kill after {delay:?}"));
        if status.success() {
            completed_early += 1;
            assert!(listed, "a pull that finished lists its image");
        }
    }
    eprintln!("full pull {full:?}; {completed_early}/{steps} pulls finished before their kill");

    let out = coracle.ok(&["pull", &reference]);
    assert!(out.contains(built.manifest.as_str()));
    assert!(
        check_store(&coracle, &parsed, "after the last pull"),
        "the last pull lists the image"
    );
}
