//! Layers built here, byte by byte where a hostile one needs it (the tar crate's builder refuses
//! `..` and absolute names, which is exactly what these tests must send).

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use super::*;

pub(crate) enum E<'a> {
    File(&'a str, &'a [u8], u32),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    Char(&'a str, u32, u32),
    Fifo(&'a str),
    Xattr(&'a str, &'a [u8], &'a str, &'a [u8]),
}

fn raw_header(kind: tar::EntryType, name: &str, link: &str, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(1_000_000_000);
    h.set_uid(1234);
    h.set_gid(5678);
    let old = h.as_old_mut();
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_cksum();
    h
}

pub(crate) fn tarball(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        use tar::EntryType as T;
        match e {
            E::File(n, data, mode) => b
                .append(
                    &raw_header(T::Regular, n, "", *mode, data.len() as u64),
                    *data,
                )
                .unwrap(),
            E::Dir(n) => b
                .append(&raw_header(T::Directory, n, "", 0o755, 0), &[][..])
                .unwrap(),
            E::Symlink(n, t) => b
                .append(&raw_header(T::Symlink, n, t, 0o777, 0), &[][..])
                .unwrap(),
            E::Hardlink(n, t) => b
                .append(&raw_header(T::Link, n, t, 0o644, 0), &[][..])
                .unwrap(),
            E::Char(n, ma, mi) => {
                let mut h = raw_header(T::Char, n, "", 0o620, 0);
                h.set_device_major(*ma).unwrap();
                h.set_device_minor(*mi).unwrap();
                h.set_cksum();
                b.append(&h, &[][..]).unwrap()
            }
            E::Fifo(n) => b
                .append(&raw_header(T::Fifo, n, "", 0o600, 0), &[][..])
                .unwrap(),
            E::Xattr(n, data, key, value) => {
                let k = format!("SCHILY.xattr.{key}");
                b.append_pax_extensions([(k.as_str(), *value)]).unwrap();
                b.append(
                    &raw_header(T::Regular, n, "", 0o644, data.len() as u64),
                    *data,
                )
                .unwrap()
            }
        }
    }
    b.into_inner().unwrap()
}

fn apply(target: &Path, layer: &[u8], whiteouts: Whiteouts) -> Result<Digest> {
    apply_layer(
        layer,
        target,
        &Options {
            whiteouts,
            lowers: Vec::new(),
        },
    )
}

#[test]
fn applies_every_kind_of_entry() {
    let dir = tempfile::tempdir().unwrap();
    let layer = tarball(&[
        E::Dir("./"),
        E::Dir("./bin/"),
        E::File("bin/tool", b"#!/bin/sh\n", 0o4755),
        E::Symlink("bin/sh", "tool"),
        E::Hardlink("bin/tool2", "bin/tool"),
        E::File("deep/implicit/parent", b"x", 0o600),
        E::Char("null", 1, 3),
        E::Fifo("pipe"),
        E::Xattr("attr", b"data", "user.coracle", b"yes"),
    ]);
    let diff_id = apply(dir.path(), &layer, Whiteouts::Apply).unwrap();
    assert_eq!(diff_id, Digest::of(&layer));
    let p = dir.path();
    let tool = std::fs::metadata(p.join("bin/tool")).unwrap();
    assert_eq!(
        tool.permissions().mode() & 0o7777,
        0o4755,
        "setuid kept after chown"
    );
    assert_eq!(
        (tool.uid(), tool.gid(), tool.mtime()),
        (1234, 5678, 1_000_000_000)
    );
    assert_eq!(
        std::fs::read_link(p.join("bin/sh")).unwrap(),
        Path::new("tool")
    );
    assert_eq!(
        std::fs::metadata(p.join("bin/tool2")).unwrap().ino(),
        tool.ino()
    );
    let null = std::fs::metadata(p.join("null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(
        (null.rdev(), null.permissions().mode() & 0o777),
        (rustix::fs::makedev(1, 3), 0o620)
    );
    assert!(std::fs::metadata(p.join("pipe"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(rustix_getxattr(&p.join("attr"), "user.coracle"), b"yes");
    assert_eq!(
        std::fs::metadata(p.join("bin")).unwrap().mtime(),
        1_000_000_000,
        "dir mtime set after its children"
    );
    assert_eq!(std::fs::read(p.join("deep/implicit/parent")).unwrap(), b"x");
}

fn rustix_getxattr(p: &Path, name: &str) -> Vec<u8> {
    let mut buf = vec![0u8; 64];
    let n = rustix::fs::getxattr(p, name, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn whiteouts_delete_lower_content() {
    let dir = tempfile::tempdir().unwrap();
    let lower = tarball(&[
        E::File("a/b", b"1", 0o644),
        E::File("a/c", b"2", 0o644),
        E::File("d/old", b"3", 0o644),
    ]);
    apply(dir.path(), &lower, Whiteouts::Apply).unwrap();
    let upper = tarball(&[
        E::File("a/.wh.b", b"", 0o644),
        E::Dir("d/"),
        E::File("d/new", b"4", 0o644),
        E::File("d/.wh..wh..opq", b"", 0o644),
        E::File("a/.wh.absent", b"", 0o644),
    ]);
    apply(dir.path(), &upper, Whiteouts::Apply).unwrap();
    let p = dir.path();
    assert!(!p.join("a/b").exists() && p.join("a/c").exists());
    assert!(!p.join("d/old").exists(), "opaque dir hides lower content");
    assert!(
        p.join("d/new").exists(),
        "opaque dir keeps this layer's content"
    );
    assert!(!p.join("a/.wh.b").exists());
}

#[test]
fn overlay_form_of_whiteouts() {
    let dir = tempfile::tempdir().unwrap();
    let layer = tarball(&[
        E::Dir("d/"),
        E::File("d/.wh..wh..opq", b"", 0o644),
        E::File(".wh.gone", b"", 0o644),
    ]);
    apply(dir.path(), &layer, Whiteouts::Overlay).unwrap();
    let wh = std::fs::metadata(dir.path().join("gone")).unwrap();
    assert!(wh.file_type().is_char_device() && wh.rdev() == 0);
    assert_eq!(
        rustix_getxattr(&dir.path().join("d"), "trusted.overlay.opaque"),
        b"y"
    );
}

#[test]
fn hardlink_to_a_lower_layer_becomes_a_copy() {
    let dir = tempfile::tempdir().unwrap();
    let (lower, upper) = (dir.path().join("lower"), dir.path().join("upper"));
    std::fs::create_dir_all(&lower).unwrap();
    std::fs::create_dir_all(&upper).unwrap();
    apply(
        &lower,
        &tarball(&[E::File("bin/busybox", b"elf", 0o755)]),
        Whiteouts::Overlay,
    )
    .unwrap();
    let opts = Options {
        whiteouts: Whiteouts::Overlay,
        lowers: vec![lower.clone()],
    };
    apply_layer(
        &tarball(&[E::Hardlink("bin/ls", "bin/busybox")])[..],
        &upper,
        &opts,
    )
    .unwrap();
    assert_eq!(std::fs::read(upper.join("bin/ls")).unwrap(), b"elf");
    assert_eq!(
        std::fs::metadata(upper.join("bin/ls"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o755
    );
}

#[test]
fn compressed_layers_have_the_uncompressed_diff_id() {
    use std::io::Write;
    let layer = tarball(&[E::File("f", b"content", 0o644)]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&layer).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::stream::encode_all(&layer[..], 3).unwrap();
    for blob in [gz, zst] {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            apply(dir.path(), &blob, Whiteouts::Apply).unwrap(),
            Digest::of(&layer)
        );
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"content");
    }
}

/// Each hostile layer is refused with an error naming its entry, and nothing appears outside.
#[test]
fn hostile_layers_are_refused() {
    let cases: Vec<(&str, Vec<E>)> = vec![
        ("../escaped", vec![E::File("../escaped", b"x", 0o644)]),
        (
            "a/../../escaped",
            vec![E::Dir("a/"), E::File("a/../../escaped", b"x", 0o644)],
        ),
        ("/abs/escaped", vec![E::File("/abs/escaped", b"x", 0o644)]),
        (
            "link/escaped",
            vec![
                E::Symlink("link", "../outside"),
                E::File("link/escaped", b"x", 0o644),
            ],
        ),
        (
            "abslink/escaped",
            vec![
                E::Symlink("abslink", "OUTSIDE"),
                E::File("abslink/escaped", b"x", 0o644),
            ],
        ),
        (
            "link/sub/",
            vec![E::Symlink("link", "../outside"), E::Dir("link/sub/")],
        ),
        ("hl", vec![E::Hardlink("hl", "../outside/secret")]),
        ("hl2", vec![E::Hardlink("hl2", "/etc/passwd")]),
        (
            "hl3",
            vec![
                E::Symlink("l", "../outside"),
                E::Hardlink("hl3", "l/secret"),
            ],
        ),
        (".wh...", vec![E::File(".wh...", b"", 0o644)]),
        (
            "sub/.wh...",
            vec![E::Dir("sub/"), E::File("sub/.wh...", b"", 0o644)],
        ),
        (
            "link/.wh.secret",
            vec![
                E::Symlink("link", "../outside"),
                E::File("link/.wh.secret", b"", 0o644),
            ],
        ),
        (
            "link/.wh..wh..opq",
            vec![
                E::Symlink("link", "../outside"),
                E::File("link/.wh..wh..opq", b"", 0o644),
            ],
        ),
    ];
    for whiteouts in [Whiteouts::Apply, Whiteouts::Overlay] {
        for (entry, entries) in &cases {
            let dir = tempfile::tempdir().unwrap();
            let (target, outside) = (dir.path().join("target"), dir.path().join("outside"));
            std::fs::create_dir_all(&target).unwrap();
            std::fs::create_dir_all(&outside).unwrap();
            std::fs::write(outside.join("secret"), b"s").unwrap();
            let fixed: Vec<E> = entries
                .iter()
                .map(|e| match e {
                    E::Symlink(n, "OUTSIDE") => {
                        E::Symlink(n, Box::leak(outside.display().to_string().into_boxed_str()))
                    }
                    E::File(a, b, c) => E::File(a, b, *c),
                    E::Dir(a) => E::Dir(a),
                    E::Symlink(a, b) => E::Symlink(a, b),
                    E::Hardlink(a, b) => E::Hardlink(a, b),
                    _ => unreachable!(),
                })
                .collect();
            let err = apply(&target, &tarball(&fixed), whiteouts).expect_err(entry);
            match &err {
                Error::UnsafeEntry { entry: named, .. } => assert_eq!(named, entry, "{err}"),
                other => panic!("{entry}: expected a refusal, got {other}"),
            }
            let mut left: Vec<_> = std::fs::read_dir(&outside)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            left.sort();
            assert_eq!(
                left,
                vec![std::ffi::OsString::from("secret")],
                "{entry}: outside changed"
            );
            assert_eq!(std::fs::read(outside.join("secret")).unwrap(), b"s");
            assert_eq!(
                std::fs::metadata(outside.join("secret")).unwrap().nlink(),
                1,
                "{entry}: linked"
            );
            let top: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(top.len(), 2, "{entry}: wrote next to the target: {top:?}");
        }
    }
}

/// A cached parent must not outlive its directory: a dir replaced by a symlink is refused as a
/// parent afterwards, and a dir removed by a whiteout is made anew.
#[test]
fn replaced_parents_are_walked_again() {
    let dir = tempfile::tempdir().unwrap();
    let (target, outside) = (dir.path().join("t"), dir.path().join("outside"));
    std::fs::create_dir_all(&target).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let layer = tarball(&[
        E::Dir("a/"),
        E::File("a/f", b"1", 0o644),
        E::Symlink("a", "../outside"),
        E::File("a/g", b"2", 0o644),
    ]);
    let err = apply(&target, &layer, Whiteouts::Apply).unwrap_err();
    assert!(
        matches!(&err, Error::UnsafeEntry { entry, .. } if entry == "a/g"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);

    let target2 = dir.path().join("t2");
    std::fs::create_dir_all(&target2).unwrap();
    let layer = tarball(&[
        E::File("d/x", b"1", 0o644),
        E::File(".wh.d", b"", 0o644),
        E::File("d/y", b"2", 0o644),
    ]);
    apply(&target2, &layer, Whiteouts::Apply).unwrap();
    assert!(!target2.join("d/x").exists() && target2.join("d/y").exists());
}
