use std::io::Write;

use oci_spec::image::{ImageConfiguration, ImageConfigurationBuilder, RootFsBuilder};

use super::*;

pub(crate) fn config_for(diff_ids: &[Digest]) -> ImageConfiguration {
    ImageConfigurationBuilder::default()
        .architecture(oci_spec::image::Arch::Amd64)
        .os(oci_spec::image::Os::Linux)
        .rootfs(
            RootFsBuilder::default()
                .typ("layers")
                .diff_ids(diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// An image of uncompressed "layers" (any bytes: the store does not look inside).
pub(crate) fn put_test_image(store: &Store, contents: &[&[u8]]) -> Target {
    let layers: Vec<NewLayer> = contents
        .iter()
        .map(|c| NewLayer {
            digest: store.put_blob(c, None).unwrap(),
            size: c.len() as u64,
            media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        })
        .collect();
    let diff_ids: Vec<Digest> = layers.iter().map(|l| l.digest.clone()).collect();
    store.put_image(&config_for(&diff_ids), &layers).unwrap()
}

fn tmp_is_empty(root: &std::path::Path) -> bool {
    std::fs::read_dir(root.join("tmp"))
        .unwrap()
        .next()
        .is_none()
}

#[test]
fn blob_writer_commits_only_matching_content() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let good = Digest::of(b"hello");

    // Right digest and size: published, readable, verified.
    let mut w = store.blob_writer(Some(&good), Some(5)).unwrap();
    w.write_all(b"hello").unwrap();
    assert_eq!(w.commit().unwrap(), good);
    assert_eq!(store.read_blob(&good, Verify::Yes).unwrap(), b"hello");

    // Wrong content for the digest: error, no blob, no temp.
    let other = Digest::of(b"other");
    let mut w = store.blob_writer(Some(&other), None).unwrap();
    w.write_all(b"not other").unwrap();
    assert!(matches!(w.commit(), Err(Error::DigestMismatch { .. })));
    assert!(!store.has_blob(&other));

    // Short content for the size: error.
    let mut w = store.blob_writer(None, Some(10)).unwrap();
    w.write_all(b"short").unwrap();
    assert!(matches!(w.commit(), Err(Error::SizeMismatch { .. })));
    // Longer than the size: the write itself fails.
    let mut w = store.blob_writer(None, Some(2)).unwrap();
    assert!(w.write_all(b"toolong").is_err());
    drop(w);

    // Dropped without commit: nothing left.
    let mut w = store.blob_writer(None, None).unwrap();
    w.write_all(b"abandoned").unwrap();
    drop(w);
    assert!(!store.has_blob(&Digest::of(b"abandoned")));
    assert!(tmp_is_empty(dir.path()));
}

#[test]
fn verify_on_read_catches_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let d = store.put_blob(b"content", None).unwrap();
    std::fs::write(store.blob_path(&d), b"tampered").unwrap();
    assert_eq!(store.read_blob(&d, Verify::No).unwrap(), b"tampered");
    let e = store.read_blob(&d, Verify::Yes).unwrap_err().to_string();
    assert!(e.contains("corrupt"), "{e}");
}

#[test]
fn refs_need_whole_images() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let target = put_test_image(&store, &[b"layer one", b"layer two"]);
    let r = Reference::parse("busybox").unwrap();
    store.set_ref(&r, &target).unwrap();
    let (found, t) = store.resolve("docker.io/library/busybox:latest").unwrap();
    assert_eq!((found.unwrap(), t.clone()), (r.clone(), target.clone()));
    let id = store.image(&t).unwrap().id();
    assert_eq!(store.resolve(&id.hex()[..12]).unwrap().1, target);
    assert!(matches!(
        store.resolve("nothere"),
        Err(Error::ImageNotFound(_))
    ));

    // A manifest whose layer blob is missing cannot be referenced.
    let missing = put_test_image(&store, &[b"gone"]);
    std::fs::remove_file(store.blob_path(&Digest::of(b"gone"))).unwrap();
    let e = store
        .set_ref(&Reference::parse("half").unwrap(), &missing)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing"), "{e}");
    assert_eq!(store.refs().unwrap().len(), 1);

    assert!(store.remove_ref(&r).unwrap());
    assert!(!store.remove_ref(&r).unwrap());
    assert!(store.refs().unwrap().is_empty());
}

#[test]
fn fsck_cleans_temps_and_reports_damage() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let t = put_test_image(&store, &[b"a layer"]);
        store
            .set_ref(&Reference::parse("img").unwrap(), &t)
            .unwrap();
        // A writer that died: a temp file and a temp dir.
        std::fs::write(dir.path().join("tmp/blob-leftover"), b"partial").unwrap();
        std::fs::create_dir(dir.path().join("tmp/layer-leftover")).unwrap();
        assert!(store.fsck().is_err(), "fsck needs the exclusive lock");
    }
    let store = Store::open_exclusive(dir.path()).unwrap();
    let r = store.fsck().unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(
        (r.temps_removed, r.refs_checked, r.blobs_checked),
        (2, 1, 3)
    );
    assert!(tmp_is_empty(dir.path()));

    std::fs::write(store.blob_path(&Digest::of(b"a layer")), b"bit rot").unwrap();
    let r = store.fsck().unwrap();
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(r.problems[0].contains("corrupt"));
    std::fs::remove_file(store.blob_path(&Digest::of(b"a layer"))).unwrap();
    let r = store.fsck().unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("docker.io/library/img:latest") && p.contains("missing")),
        "{:?}",
        r.problems
    );
}

#[test]
fn prune_keeps_referenced_content_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_exclusive(dir.path()).unwrap();
    let keep = put_test_image(&store, &[b"shared", b"kept"]);
    let drop_ = put_test_image(&store, &[b"shared", b"dropped"]);
    store
        .set_ref(&Reference::parse("keep").unwrap(), &keep)
        .unwrap();
    store
        .set_ref(&Reference::parse("drop").unwrap(), &drop_)
        .unwrap();
    store
        .remove_ref(&Reference::parse("drop").unwrap())
        .unwrap();
    std::fs::create_dir(dir.path().join("layers").join(Digest::of(b"orphan").hex())).unwrap();
    let r = store.prune().unwrap();
    // The dropped image's manifest, config and its own layer go; the shared layer stays.
    assert_eq!((r.blobs_removed, r.layers_removed), (3, 1));
    assert!(store.has_blob(&Digest::of(b"shared")) && !store.has_blob(&Digest::of(b"dropped")));
    assert!(store.fsck().unwrap().problems.is_empty());
}

#[test]
fn exclusive_waits_for_shared() {
    let dir = tempfile::tempdir().unwrap();
    let shared = Store::open(dir.path()).unwrap();
    let root = dir.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let _s = Store::open_exclusive(&root).unwrap();
        tx.send(()).unwrap();
    });
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(200))
            .is_err(),
        "exclusive lock taken while shared held"
    );
    drop(shared);
    rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
    t.join().unwrap();
}

#[test]
fn layers_are_unpacked_once_and_shared() {
    use crate::unpack::tests::{tarball, E};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let base = tarball(&[
        E::File("etc/os", b"base", 0o644),
        E::File("bin/x", b"x", 0o755),
    ]);
    let top_a = tarball(&[
        E::File("app", b"a", 0o644),
        E::File("bin/.wh.x", b"", 0o644),
    ]);
    let top_b = tarball(&[E::File("app", b"b", 0o644)]);
    let a = store
        .image(&put_test_image(&store, &[&base, &top_a]))
        .unwrap();
    let b = store
        .image(&put_test_image(&store, &[&base, &top_b]))
        .unwrap();
    let da = store.layer_dirs(&a).unwrap();
    let db = store.layer_dirs(&b).unwrap();
    assert_eq!(da[0], db[0], "the base layer is shared");
    assert_ne!(da[1], db[1]);
    assert_eq!(std::fs::read(da[0].join("etc/os")).unwrap(), b"base");
    assert_eq!(std::fs::read(db[1].join("app")).unwrap(), b"b");
    let wh = std::fs::symlink_metadata(da[1].join("bin/x")).unwrap();
    assert!(
        std::os::unix::fs::FileTypeExt::is_char_device(&wh.file_type()),
        "overlay whiteout"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("layers"))
            .unwrap()
            .count(),
        3
    );
    assert_eq!(store.layer_dirs(&a).unwrap(), da, "unpacked once");
    assert!(tmp_is_empty(dir.path()));

    // A layer whose content does not match its diff ID is refused and leaves nothing.
    let layer = tarball(&[E::File("f", b"1", 0o644)]);
    let blob = store.put_blob(&layer, None).unwrap();
    let nl = NewLayer {
        digest: blob,
        size: layer.len() as u64,
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
    };
    let bad = store
        .put_image(&config_for(&[Digest::of(b"something else")]), &[nl])
        .unwrap();
    let e = store
        .layer_dirs(&store.image(&bad).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("diff ID"), "{e}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("layers"))
            .unwrap()
            .count(),
        3
    );
    assert!(tmp_is_empty(dir.path()));
}

#[test]
fn a_dropped_batch_takes_its_blobs_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let kept = put_test_image(&store, &[b"shared layer"]);
    store
        .set_ref(&Reference::parse("kept").unwrap(), &kept)
        .unwrap();
    {
        let mut batch = Batch::new(&store);
        batch.put_blob(b"new layer", None).unwrap();
        batch.put_blob(b"shared layer", None).unwrap(); // rewritten, but a reference needs it
                                                        // dropped without commit: a failed load
    }
    assert!(!store.has_blob(&Digest::of(b"new layer")));
    assert!(
        store.has_blob(&Digest::of(b"shared layer")),
        "a referenced blob survives"
    );
    let mut batch = Batch::new(&store);
    let d = batch.put_blob(b"layer", None).unwrap();
    let nl = NewLayer {
        digest: d.clone(),
        size: 5,
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
    };
    let cfg = serde_json::to_vec(&config_for(std::slice::from_ref(&d))).unwrap();
    let t = batch.put_image_raw(&cfg, &[nl]).unwrap();
    batch
        .commit(&[(Reference::parse("new").unwrap(), t)])
        .unwrap();
    assert!(store.has_blob(&d), "a committed batch keeps its blobs");
    assert_eq!(store.refs().unwrap().len(), 2);
}
