//! The image commands on a private store: import, list, inspect, tag, rmi, prune, fsck, and
//! bad input refused with one line and nothing left in the store.

mod common;

use common::{busybox_rootfs, docker_archive_with_diff_ids, sha256_hex, tarball, Entry, Env};

#[test]
fn import_list_tag_rmi_prune() {
    let env = Env::new();
    let rootfs = env.import_busybox("busybox");
    let images = env.images();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0]["Repository"], "docker.io/library/busybox");
    assert_eq!(images[0]["Tag"], "latest");
    let id = images[0]["Id"].as_str().unwrap().to_string();

    // The same rootfs as a gzip tarball made by GNU tar.
    let tgz = env.path("rootfs.tar.gz");
    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&tgz)
        .arg("-C")
        .arg(&rootfs)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    env.ok(&[
        std::path::Path::new("import"),
        &tgz,
        std::path::Path::new("localhost/from-tar:v1"),
    ]);
    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["image", "inspect", "localhost/from-tar:v1"])).unwrap();
    assert_eq!(inspect[0]["RepoTags"][0], "localhost/from-tar:v1");
    assert_eq!(
        inspect[0]["Config"]["rootfs"]["diff_ids"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    env.ok(&["tag", "busybox", "busybox:copy"]);
    env.ok(&["tag", &id[7..19], "other/name:v2"]);
    let names: Vec<String> = env
        .images()
        .iter()
        .map(|i| {
            format!(
                "{}:{}",
                i["Repository"].as_str().unwrap(),
                i["Tag"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "docker.io/library/busybox:copy",
            "docker.io/library/busybox:latest",
            "docker.io/other/name:v2",
            "localhost/from-tar:v1"
        ]
    );
    let blobs = env.blob_count();

    // Removing one of three names frees nothing; removing the image by ID frees its blobs.
    let out = env.ok(&["rmi", "busybox:copy"]);
    assert!(
        out.contains("Untagged: docker.io/library/busybox:copy"),
        "{out}"
    );
    assert_eq!(env.blob_count(), blobs);
    env.ok(&["rmi", &id]);
    assert_eq!(env.images().len(), 1);
    assert!(env.blob_count() < blobs);
    env.assert_clean();
    env.ok(&["image", "rm", "localhost/from-tar:v1"]);
    assert!(env.images().is_empty());
    assert_eq!(env.blob_count(), 0);
    assert!(env.ok(&["image", "prune"]).starts_with("Deleted 0 blobs"));
    env.assert_clean();
}

#[test]
fn bad_input_is_one_line_and_leaves_nothing() {
    let env = Env::new();
    env.import_busybox("busybox");
    let blobs = env.blob_count();
    let garbage = env.path("garbage");
    std::fs::write(&garbage, vec![b'x'; 4096]).unwrap();
    let hostile = env.path("hostile.tar");
    std::fs::write(
        &hostile,
        tarball(&[Entry::File("ok", b"1"), Entry::File("../escaped", b"x")]),
    )
    .unwrap();
    let missing = env.path("missing");
    let lying = env.path("lying.tar");
    let layer = tarball(&[Entry::File("f", b"real")]);
    docker_archive_with_diff_ids(
        &lying,
        "liar:v1",
        &[layer],
        &[sha256_hex(b"something else")],
        "",
    );
    let g = garbage.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["import", g, "x"], "garbage"),
        (vec!["import", hostile.to_str().unwrap(), "x"], "../escaped"),
        (vec!["import", missing.to_str().unwrap(), "x"], "missing"),
        (vec!["import", g, "Bad/Name"], "Bad/Name"),
        (vec!["load", "-i", g], "garbage"),
        (vec!["load", "-i", missing.to_str().unwrap()], "missing"),
        (vec!["load", "-i", lying.to_str().unwrap()], "layer0.tar"),
        (vec!["save", "--format", "tarball", "busybox"], "--format"),
        (
            vec!["save", "-o", "/nonexistent-dir/x.tar", "busybox"],
            "/nonexistent-dir",
        ),
        (vec!["save", "nothere"], "nothere"),
        (vec!["tag", "busybox", "UPPER"], "UPPER"),
        (vec!["tag", "nothere", "x"], "nothere"),
        (vec!["rmi", "busybox", "nothere"], "nothere"),
        (vec!["images", "--format", "yaml"], "--format"),
        (
            vec!["bundle", "--rootfs", "zfs", "busybox", "/tmp/x"],
            "--rootfs",
        ),
    ];
    for (args, named) in cases {
        let line = env.fails(&args);
        assert!(line.contains(named), "{args:?}: {line}");
    }
    // Usage errors (unknown flags) exit 125, like docker.
    assert_eq!(env.output(&["images", "--bogus"]).status.code(), Some(125));
    assert_eq!(
        env.images().len(),
        1,
        "rmi with a bad argument removed nothing"
    );
    assert_eq!(env.blob_count(), blobs, "failed commands left blobs");
    assert!(
        std::fs::read_dir(env.root().join("tmp"))
            .unwrap()
            .next()
            .is_none(),
        "temp files left"
    );
    assert!(!std::path::Path::new("/nonexistent-dir").exists());
    env.assert_clean();
}

#[test]
fn parallel_writers_share_one_store() {
    let env = Env::new();
    let rootfs = env.path("rootfs");
    busybox_rootfs(&rootfs);
    let children: Vec<_> = (0..4)
        .map(|i| {
            env.cmd(&[
                std::path::Path::new("import"),
                &rootfs,
                std::path::Path::new(&format!("img{i}")),
            ])
            .spawn()
            .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    // prune and fsck take the lock exclusively while the imports hold it shared: all four are whole.
    assert_eq!(env.images().len(), 4);
    env.ok(&["image", "prune"]);
    assert_eq!(env.images().len(), 4);
    env.assert_clean();
}

#[test]
fn root_from_the_environment() {
    let env = Env::new();
    let rootfs = env.path("rootfs");
    busybox_rootfs(&rootfs);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coracle"))
        .env("CORACLE_ROOT", env.root())
        .arg("import")
        .arg(&rootfs)
        .arg("viaenv")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.images()[0]["Repository"], "docker.io/library/viaenv");
}
