//! Crash safety: `coracle load` and `coracle import` killed with SIGKILL at a sweep of moments
//! across their run. After every kill `image fsck` must report the store clean (leftover temp
//! files are removed, never problems), `images` must show either nothing or the whole image,
//! and a later run must complete.

mod common;

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{docker_archive, tarball, Entry, Env};

/// Random (incompressible) bytes, so the run takes long enough to be interrupted.
fn random(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut v)
        .unwrap();
    v
}

/// Run `args` once to completion (timed), then `kills` more times, each killed after a delay
/// spread over 1.3 times that (the tail covers runs that finish); check the store after each.
fn sweep(env: &Env, args: &[&str], name: &str, kills: u32) {
    let probe = Env::new();
    let start = Instant::now();
    probe.ok(args);
    let full = start.elapsed();
    let (mut interrupted, mut temps_seen) = (0, 0);
    for i in 0..kills {
        let delay = full.mul_f64(1.3 * f64::from(i) / f64::from(kills))
            + Duration::from_micros(200 * u64::from(i % 5));
        let mut child = env
            .cmd(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay); // the kill moment is what the sweep varies, not a synchronisation
        let _ = child.kill();
        child.wait().unwrap();
        let fsck = env.ok(&["image", "fsck"]);
        assert!(fsck.starts_with("clean:"), "kill at {delay:?}: {fsck}");
        temps_seen += usize::from(!fsck.contains(" 0 leftover temp files"));
        let images = env.images();
        match images.len() {
            0 => interrupted += 1,
            1 => {
                assert_eq!(
                    format!(
                        "{}:{}",
                        images[0]["Repository"].as_str().unwrap(),
                        images[0]["Tag"].as_str().unwrap()
                    ),
                    name
                );
                // A listed image is whole: every blob it names is readable and verified.
                env.ok(&["image", "inspect", name]);
            }
            n => panic!("{n} images after a kill at {delay:?}"),
        }
        if images.len() == 1 {
            // Finished, or killed after the reference was written: whole. Start over.
            env.ok(&["rmi", name]);
        }
    }
    assert!(
        interrupted > 0,
        "no kill landed before the end ({full:?} runs)"
    );
    eprintln!("{name}: full run {full:?}; {interrupted}/{kills} kills before the reference; {temps_seen} left temp files");
    env.ok(args);
    assert_eq!(env.images().len(), 1);
    env.assert_clean();
    // And the image unpacks (its layers are all there and match their diff IDs).
    let bundle = env.path("bundle");
    env.ok(&[
        "bundle",
        "--rootfs",
        "copy",
        name,
        bundle.to_str().unwrap(),
        "--",
        "true",
    ]);
    env.ok(&["unbundle", bundle.to_str().unwrap()]);
}

#[test]
fn load_killed_at_any_moment_leaves_a_clean_store() {
    let env = Env::new();
    let layers: Vec<Vec<u8>> = (0..4)
        .map(|i| tarball(&[Entry::File(&format!("data{i}"), &random(6 << 20))]))
        .collect();
    let archive = env.path("big.tar");
    docker_archive(&archive, "localhost/big:v1", &layers, "");
    let archive = archive.to_str().unwrap().to_string();
    sweep(&env, &["load", "-i", &archive], "localhost/big:v1", 24);
}

#[test]
fn import_killed_at_any_moment_leaves_a_clean_store() {
    let env = Env::new();
    let rootfs = env.path("rootfs");
    std::fs::create_dir_all(rootfs.join("data")).unwrap();
    for i in 0..4 {
        std::fs::write(rootfs.join(format!("data/{i}")), random(4 << 20)).unwrap();
    }
    let src = rootfs.to_str().unwrap().to_string();
    assert!(Path::new(&src).is_dir());
    sweep(
        &env,
        &["import", &src, "localhost/imported:v1"],
        "localhost/imported:v1",
        24,
    );
}
