//! save/load interoperability with skopeo and podman, both formats, both directions: they read what
//! coracle saves (and agree on the digests), coracle loads what they write.

mod common;

use std::process::Command;

use common::Env;

fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo is installed (scripts/packages.txt)");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn inspect_digest(env: &Env, image: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["image", "inspect", image])).unwrap();
    v[0]["Digest"].as_str().unwrap().to_string()
}

#[test]
fn oci_archive_round_trip_with_skopeo() {
    let env = Env::new();
    env.import_busybox("localhost/bb:v1");
    let ours = env.path("ours.tar");
    let ours_s = ours.to_str().unwrap();
    env.ok(&[
        "save",
        "--format",
        "oci-archive",
        "-o",
        ours_s,
        "localhost/bb:v1",
    ]);

    // skopeo reads it by the reference name and sees the same manifest digest.
    let raw: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        &format!("oci-archive:{ours_s}:localhost/bb:v1"),
    ]))
    .unwrap();
    assert_eq!(
        raw["Digest"].as_str().unwrap(),
        inspect_digest(&env, "localhost/bb:v1")
    );

    // skopeo re-writes it under another name; coracle loads that.
    let theirs = env.path("theirs.tar");
    let theirs_s = theirs.to_str().unwrap();
    skopeo(&[
        "copy",
        &format!("oci-archive:{ours_s}:localhost/bb:v1"),
        &format!("oci-archive:{theirs_s}:localhost/copied:v2"),
    ]);
    let out = env.ok(&["load", "-i", theirs_s]);
    assert!(out.contains("Loaded image: localhost/copied:v2"), "{out}");
    assert_eq!(
        inspect_digest(&env, "localhost/copied:v2"),
        inspect_digest(&env, "localhost/bb:v1"),
        "same manifest bytes"
    );
    env.assert_clean();
}

#[test]
fn docker_archive_round_trip_with_skopeo() {
    let env = Env::new();
    env.import_busybox("busybox:1");
    let ours = env.path("ours.tar");
    let ours_s = ours.to_str().unwrap();
    env.ok(&["save", "-o", ours_s, "busybox:1"]);
    let raw: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", &format!("docker-archive:{ours_s}")])).unwrap();
    let id: serde_json::Value =
        serde_json::from_str(&env.ok(&["image", "inspect", "busybox:1"])).unwrap();
    let layers = raw["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(
        layers[0], id[0]["Config"]["rootfs"]["diff_ids"][0],
        "uncompressed layer in the archive"
    );

    // skopeo converts to an OCI archive and back to a docker archive; coracle loads both,
    // and the image ID (the config digest) survives every hop.
    let oci = env.path("via.oci.tar");
    let back = env.path("back.tar");
    skopeo(&[
        "copy",
        &format!("docker-archive:{ours_s}"),
        &format!("oci-archive:{}:localhost/via-oci:v1", oci.display()),
    ]);
    skopeo(&[
        "copy",
        &format!("oci-archive:{}:localhost/via-oci:v1", oci.display()),
        &format!("docker-archive:{}:localhost/back:v1", back.display()),
    ]);
    env.ok(&["load", "-i", oci.to_str().unwrap()]);
    env.ok(&["load", "-i", back.to_str().unwrap()]);
    let ids: Vec<String> = env
        .images()
        .iter()
        .map(|i| i["Id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");

    // And from stdin.
    let env2 = Env::new();
    let out = env2
        .cmd(&["load"])
        .stdin(std::fs::File::open(&back).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env2.images()[0]["Repository"], "localhost/back");
    env.assert_clean();
    env2.assert_clean();
}

/// Podman with a store of the test's own (vfs: no overlay mounts to undo), removed afterwards.
fn podman(env: &Env, args: &[&str]) -> String {
    let (root, run, tmp) = (
        env.path("podman"),
        env.path("podman-run"),
        env.path("podman-tmp"),
    );
    let out = Command::new("podman")
        .args([
            "--root",
            root.to_str().unwrap(),
            "--runroot",
            run.to_str().unwrap(),
        ])
        .args(["--tmpdir", tmp.to_str().unwrap(), "--storage-driver", "vfs"])
        .args(args)
        .output()
        .expect("podman is installed (scripts/packages.txt)");
    assert!(
        out.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn podman_loads_what_coracle_saves_and_back() {
    if Command::new("podman").arg("--version").output().is_err() {
        eprintln!("SKIPPED: podman is not installed");
        return;
    }
    let env = Env::new();
    env.import_busybox("localhost/bb:v1");
    let id = env.images()[0]["Id"].as_str().unwrap().to_string();
    for format in ["docker-archive", "oci-archive"] {
        let ours = env.path(&format!("ours-{format}.tar"));
        env.ok(&[
            "save",
            "--format",
            format,
            "-o",
            ours.to_str().unwrap(),
            "localhost/bb:v1",
        ]);
        let loaded = podman(&env, &["load", "-i", ours.to_str().unwrap()]);
        assert!(loaded.contains("localhost/bb:v1"), "{format}: {loaded}");
        // Podman's image ID is the config digest: the same image.
        let theirs = podman(
            &env,
            &["image", "inspect", "--format", "{{.Id}}", "localhost/bb:v1"],
        );
        assert_eq!(format!("sha256:{}", theirs.trim()), id, "{format}");
        podman(&env, &["rmi", "localhost/bb:v1"]);
    }
    // And back: podman saves, coracle loads the same image under podman's name.
    let ours = env.path("again.tar");
    env.ok(&["save", "-o", ours.to_str().unwrap(), "localhost/bb:v1"]);
    podman(&env, &["load", "-i", ours.to_str().unwrap()]);
    podman(
        &env,
        &["tag", "localhost/bb:v1", "localhost/from-podman:v2"],
    );
    let back = env.path("from-podman.tar");
    podman(
        &env,
        &[
            "save",
            "--format",
            "docker-archive",
            "-o",
            back.to_str().unwrap(),
            "localhost/from-podman:v2",
        ],
    );
    let out = env.ok(&["load", "-i", back.to_str().unwrap()]);
    assert!(out.contains("localhost/from-podman:v2"), "{out}");
    let ids: Vec<String> = env
        .images()
        .iter()
        .map(|i| i["Id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.iter().all(|i| *i == id), "{ids:?}");
    podman(&env, &["rmi", "-a", "-f"]);
    env.assert_clean();
}
