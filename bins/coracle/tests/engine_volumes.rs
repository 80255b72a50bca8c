//! Volumes beyond named ones: the image's VOLUME paths and `-v /DST` get anonymous volumes,
//! a new volume is filled with the image's content at its path (copy-up), `rm -v`, `run --rm`
//! and `volume prune` remove anonymous volumes, and bad volume specs leave nothing behind.
//! Root, real containers through the runtime crate (`--network none`).

mod common;
mod engine_support;

use engine_support::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

/// An image whose config has `Volumes` /seeded (content: a file owned 1234:4321 mode 0640, a
/// symlink, a subdir; the dir itself 1234:4321 0750) and /empty (nothing in the image). (The
/// layer writer stores hard links as copies: copy_up's unit tests cover those.)
const VOL_IMAGE: &str = "engine-test/volumes:1";

fn volume_image(env: &TestEnv) {
    let seeded = env.path("busybox-rootfs").join("seeded");
    std::fs::create_dir_all(seeded.join("sub")).unwrap();
    std::fs::write(seeded.join("f"), "from-image\n").unwrap();
    std::fs::write(seeded.join("sub/g"), "deeper\n").unwrap();
    std::fs::write(seeded.join("f2"), "from-image\n").unwrap();
    std::os::unix::fs::symlink("f", seeded.join("link")).unwrap();
    for (p, mode) in [(seeded.join("f"), 0o640), (seeded.clone(), 0o750)] {
        std::os::unix::fs::chown(&p, Some(1234), Some(4321)).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    load_busybox_with_config(
        env,
        VOL_IMAGE,
        serde_json::json!({ "Cmd": ["sh"], "Volumes": { "/seeded": {}, "/empty/": {} } }),
    );
}

/// The volumes of the store, by name.
fn volumes(env: &TestEnv) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(env.root().join("volumes"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn data(env: &TestEnv, name: &str) -> PathBuf {
    env.root().join("volumes").join(name).join("_data")
}

/// `inspect`'s Mounts as (Destination -> entry).
fn mounts(env: &TestEnv, name: &str) -> std::collections::BTreeMap<String, serde_json::Value> {
    inspect(env, name)["Mounts"]
        .as_array()
        .expect("Mounts is a list")
        .iter()
        .map(|m| (m["Destination"].as_str().unwrap().to_string(), m.clone()))
        .collect()
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| c.is_ascii_hexdigit())
}

#[test]
fn image_volumes_get_anonymous_volumes_that_survive_restart_rm_keeps_them_rm_v_removes_them() {
    let env = env();
    volume_image(&env);
    let script = "echo run >> /empty/log; cat /seeded/link; busybox readlink /seeded/link";
    let id = env
        .ok(&[
            "create",
            "--name",
            "imgvol",
            "--network",
            "none",
            VOL_IMAGE,
            "sh",
            "-c",
            script,
        ])
        .trim()
        .to_string();
    let m = mounts(&env, "imgvol");
    assert_eq!(m.len(), 2, "{m:?}");
    for dst in ["/empty", "/seeded"] {
        let v = &m[dst];
        assert_eq!(v["Type"], "volume");
        assert_eq!(v["RW"], true);
        let name = v["Name"].as_str().unwrap();
        assert!(is_hex64(name), "{name}");
        assert_eq!(
            v["Source"].as_str().unwrap(),
            data(&env, name).to_str().unwrap()
        );
        let vi: serde_json::Value =
            serde_json::from_str(&env.ok(&["volume", "inspect", name])).unwrap();
        assert_eq!(vi[0]["Labels"]["com.docker.volume.anonymous"], "");
        assert_eq!(vi[0]["UsedBy"][0], "imgvol");
    }
    let (empty, seeded) = (
        m["/empty"]["Name"].as_str().unwrap().to_string(),
        m["/seeded"]["Name"].as_str().unwrap().to_string(),
    );
    let ls = env.ok(&["volume", "ls"]);
    assert!(ls.contains(&empty) && ls.contains(&seeded), "{ls}");

    // Copy-up: content, owners, modes, the symlink and the hard link, as in the image.
    let s = data(&env, &seeded);
    assert_eq!(
        std::fs::read_to_string(s.join("f")).unwrap(),
        "from-image\n"
    );
    assert_eq!(
        std::fs::read_to_string(s.join("sub/g")).unwrap(),
        "deeper\n"
    );
    let (f, d) = (s.join("f").metadata().unwrap(), s.metadata().unwrap());
    assert_eq!((f.uid(), f.gid(), f.mode() & 0o7777), (1234, 4321, 0o640));
    assert_eq!((d.uid(), d.gid(), d.mode() & 0o7777), (1234, 4321, 0o750));
    assert_eq!(
        std::fs::read_to_string(s.join("f2")).unwrap(),
        "from-image\n"
    );
    assert_eq!(
        std::fs::read_link(s.join("link")).unwrap(),
        PathBuf::from("f")
    );
    assert_eq!(std::fs::read_dir(data(&env, &empty)).unwrap().count(), 0);

    // The volume's data survives a second start of the same container.
    env.ok(&["start", &id]);
    assert_eq!(env.ok(&["wait", &id]).trim(), "0");
    env.ok(&["start", &id]);
    assert_eq!(env.ok(&["wait", &id]).trim(), "0");
    assert_eq!(
        std::fs::read_to_string(data(&env, &empty).join("log")).unwrap(),
        "run\nrun\n"
    );
    assert_eq!(logs(&env, "imgvol"), "from-image\nf\nfrom-image\nf\n");

    // `rm` keeps anonymous volumes (Docker); `rm -v` of another container removes its own.
    env.ok(&["rm", "imgvol"]);
    assert_gone(&env, &id);
    assert_eq!(volumes(&env), {
        let mut v = vec![empty.clone(), seeded.clone()];
        v.sort();
        v
    });
    let other = env
        .ok(&[
            "create",
            "--network",
            "none",
            "-v",
            "named1:/n",
            VOL_IMAGE,
            "true",
        ])
        .trim()
        .to_string();
    assert_eq!(
        volumes(&env).len(),
        5,
        "two more anonymous and the named one"
    );
    env.ok(&["rm", "-v", &other]);
    assert_gone(&env, &other);
    let mut want = vec![empty.clone(), seeded.clone(), "named1".to_string()];
    want.sort();
    assert_eq!(volumes(&env), want, "rm -v: its anonymous volumes only");

    // `volume prune`: unused anonymous volumes only; `-a` named ones too.
    let user = env
        .ok(&[
            "create",
            "--network",
            "none",
            "-v",
            &format!("{empty}:/again"),
            IMAGE,
            "true",
        ])
        .trim()
        .to_string();
    assert_eq!(env.ok(&["volume", "prune"]).trim(), seeded);
    assert_eq!(
        volumes(&env),
        vec![empty.clone(), "named1".to_string()].tap_sort()
    );
    env.ok(&["rm", "-v", &user]);
    assert!(
        volumes(&env).contains(&empty),
        "rm -v never removes a volume it named"
    );
    let mut pruned: Vec<String> = env
        .ok(&["volume", "prune", "-a"])
        .lines()
        .map(String::from)
        .collect();
    pruned.sort();
    assert_eq!(pruned, vec![empty, "named1".to_string()].tap_sort());
    assert!(volumes(&env).is_empty());
    assert_store_empty(&env);
}

trait TapSort {
    fn tap_sort(self) -> Self;
}

impl TapSort for Vec<String> {
    fn tap_sort(mut self) -> Self {
        self.sort();
        self
    }
}

#[test]
fn dash_v_path_and_mount_without_source_are_anonymous_and_run_rm_removes_them() {
    let env = env();
    // A container with no volumes touches no volume state at all.
    env.ok(&["run", "--rm", "--network", "none", IMAGE, "true"]);
    assert!(!env.root().join("volumes").exists());

    let id = env
        .ok(&[
            "create",
            "--network",
            "none",
            "-v",
            "/data",
            "--mount",
            "type=volume,target=/m,readonly",
            "-v",
            "/opts:ro",
            IMAGE,
            "true",
        ])
        .trim()
        .to_string();
    let m = mounts(&env, &id);
    assert_eq!(m.keys().collect::<Vec<_>>(), ["/data", "/m", "/opts"]);
    assert_eq!(
        m.values()
            .map(|v| v["RW"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [true, false, false]
    );
    for v in m.values() {
        assert_eq!(v["Type"], "volume");
        assert!(is_hex64(v["Name"].as_str().unwrap()), "{v}");
    }
    assert_eq!(volumes(&env).len(), 3);
    env.ok(&["rm", "-v", &id]);
    assert!(volumes(&env).is_empty());

    let out = env.output(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "/data",
        IMAGE,
        "sh",
        "-c",
        "echo x > /data/f && cat /data/f && grep -c ' /data ' /proc/mounts",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "x\n1\n");
    assert!(
        volumes(&env).is_empty(),
        "run --rm left {:?}",
        volumes(&env)
    );
    // A detached --rm container: its monitor removes the volume when it exits.
    let id = env
        .ok(&[
            "run",
            "-d",
            "--rm",
            "--network",
            "none",
            "-v",
            "/d",
            IMAGE,
            "true",
        ])
        .trim()
        .to_string();
    env.ok(&["wait", &id]);
    wait_until("the --rm container and its volume gone", || {
        ids(&env).is_empty() && volumes(&env).is_empty()
    });
    assert_store_empty(&env);
}

#[test]
fn a_new_named_volume_is_filled_from_the_image_once_and_nocopy_skips_it() {
    let env = env();
    let run = |args: &[&str]| {
        let mut a = vec!["run", "--rm", "--network", "none"];
        a.extend_from_slice(args);
        let out = env.output(&a);
        assert_eq!(code(&out), 0, "{a:?}: {}", stderr(&out));
        stdout(&out)
    };
    let passwd = std::fs::read_to_string(env.path("busybox-rootfs/etc/passwd")).unwrap();
    assert_eq!(
        run(&["-v", "etcvol:/etc", IMAGE, "cat", "/etc/passwd"]),
        passwd
    );
    assert_eq!(
        std::fs::read_to_string(data(&env, "etcvol").join("passwd")).unwrap(),
        passwd
    );
    // Not empty any more: the next container sees the volume as it was left.
    run(&[
        "-v",
        "etcvol:/etc",
        IMAGE,
        "sh",
        "-c",
        "echo changed > /etc/passwd",
    ]);
    assert_eq!(
        run(&["-v", "etcvol:/etc", IMAGE, "cat", "/etc/passwd"]),
        "changed\n"
    );
    // `volume create` then first use: empty, so filled too (Docker).
    env.ok(&["volume", "create", "made"]);
    let bin = run(&["-v", "made:/bin:ro", IMAGE, "ls", "/bin"]);
    assert_eq!(bin.lines().count(), 11, "busybox and its links: {bin}");
    // nocopy (-v) and volume-nocopy (--mount): the image's files stay out.
    let ls = "ls /etc | grep -c passwd; true";
    assert_eq!(
        run(&["-v", "bare:/etc:nocopy", IMAGE, "sh", "-c", ls]),
        "0\n"
    );
    let m = "type=volume,src=bare2,dst=/etc,volume-nocopy";
    assert_eq!(run(&["--mount", m, IMAGE, "sh", "-c", ls]), "0\n");
    assert!(!data(&env, "bare2").join("passwd").exists());
    // Named volumes outlive --rm.
    assert_eq!(volumes(&env), ["bare", "bare2", "etcvol", "made"]);
    assert_store_empty(&env);
}

#[test]
fn bad_volume_specs_are_one_error_line_exit_125_and_leave_nothing() {
    let env = env();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-v", "rel/dir:/x"], "-v"),
        (vec!["-v", "vol:"], "-v"),
        (vec!["-v", ""], "-v"),
        (vec!["-v", "/data:bogus"], "bogus"),
        (vec!["-v", "/tmp:/x:nocopy"], "nocopy"),
        (
            vec!["-v", "/a", "-v", "vol:/a/"],
            "duplicate mount point /a",
        ),
        (
            vec!["-v", "/a", "--tmpfs", "/a"],
            "duplicate mount point /a",
        ),
        (vec!["--mount", "type=volume,target="], "target"),
        (
            vec!["--mount", "type=volume,dst=/x,volume-nocopy=maybe"],
            "volume-nocopy",
        ),
        (
            vec!["--mount", "type=bind,src=/tmp,dst=/x,volume-nocopy"],
            "volume-nocopy",
        ),
    ];
    for (flags, what) in cases {
        let mut args = vec!["run", "--rm", "--network", "none"];
        args.extend_from_slice(&flags);
        args.extend_from_slice(&[IMAGE, "true"]);
        let out = env.output(&args);
        assert_one_error(&out, 125, what);
        assert!(ids(&env).is_empty(), "{args:?} left a container");
        assert!(
            volumes(&env).is_empty(),
            "{args:?} left {:?}",
            volumes(&env)
        );
    }
    // A container that cannot start is removed with its anonymous volume.
    let out = env.output(&[
        "run",
        "--network",
        "none",
        "-v",
        "/anon",
        IMAGE,
        "/no/such/cmd",
    ]);
    assert_eq!(code(&out), 127, "{}", stderr(&out));
    assert!(ids(&env).is_empty());
    assert!(volumes(&env).is_empty(), "left {:?}", volumes(&env));
    assert_store_empty(&env);
}
