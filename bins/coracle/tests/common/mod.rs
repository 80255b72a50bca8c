//! Helpers for the `coracle` integration tests: a private store per test (`--root` under a temp
//! dir), the binary under test, a busybox-static rootfs, and tarballs built byte by byte.
#![allow(dead_code)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The config file every command of a test reads unless the test names another.
const EMPTY_CONFIG: &str = "empty-config.toml";

/// One test's world: a temp dir holding its store (`root/`) and whatever files it makes.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let env = Env {
            dir: tempfile::Builder::new()
                .prefix("coracle-img-test-")
                .tempdir()
                .unwrap(),
        };
        std::fs::write(env.path(EMPTY_CONFIG), "").unwrap();
        env
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn cmd<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut c = Command::new(coracle_bin());
        // The test's own (empty) config file, never the host's /etc/coracle/coracle.toml.
        c.env("CORACLE_CONFIG", self.path(EMPTY_CONFIG));
        c.arg("--root").arg(self.root()).args(args);
        c
    }

    pub fn output<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Run, assert success, return stdout.
    pub fn ok<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> String {
        let out = self.output(args);
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        assert!(
            out.status.success(),
            "coracle {shown:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run, assert failure with exactly one line on stderr; return that line.
    pub fn fails<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> String {
        let out = self.output(args);
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        assert!(!out.status.success(), "coracle {shown:?} succeeded");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            err.lines().count(),
            1,
            "coracle {shown:?}: not one error line: {err}"
        );
        err.trim_end().to_string()
    }

    /// `images --format json`.
    pub fn images(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.ok(&["images", "--format", "json"])).unwrap()
    }

    /// `image fsck` passes and reports the store clean.
    pub fn assert_clean(&self) {
        let out = self.ok(&["image", "fsck"]);
        assert!(out.starts_with("clean:"), "{out}");
    }

    /// Blob files in the store.
    pub fn blob_count(&self) -> usize {
        std::fs::read_dir(self.root().join("blobs/sha256")).map_or(0, |d| d.count())
    }

    /// A busybox-static rootfs at `name`, imported as `reference`.
    pub fn import_busybox(&self, reference: &str) -> PathBuf {
        let rootfs = self.path("busybox-rootfs");
        if !rootfs.exists() {
            busybox_rootfs(&rootfs);
        }
        self.ok(&[
            Path::new("import"),
            &rootfs,
            Path::new(reference),
            Path::new("--cmd"),
            Path::new("sh"),
        ]);
        rootfs
    }
}

/// The `coracle` under test: the one cargo built, or `$CORACLE_TEST_ENGINE` (a static copy
/// in the cgroup v2 guest of `tests/v2/run.sh --engine`, where cargo's path does not exist).
pub fn coracle_bin() -> PathBuf {
    std::env::var_os("CORACLE_TEST_ENGINE").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_coracle")),
        PathBuf::from,
    )
}

/// Whatever a failed test left mounted under its dir (bundles) is detached, so the temp dir
/// can go.
impl Drop for Env {
    fn drop(&mut self) {
        let prefix = format!("{}/", self.dir.path().display());
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut points: Vec<&str> = info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| p.starts_with(&prefix))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = Command::new("umount").arg("-l").arg(p).status();
        }
    }
}

/// A minimal root: /bin/busybox with applet links, /etc/passwd and /etc/group (root and a
/// `daemon` user 1:1 who is also in group `extra` 4242), /tmp (1777).
pub fn busybox_rootfs(dir: &Path) {
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    std::fs::set_permissions(
        dir.join("tmp"),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    std::fs::copy("/bin/busybox", dir.join("bin/busybox")).unwrap();
    for applet in [
        "sh", "ls", "cat", "id", "echo", "true", "stat", "mount", "touch", "sleep",
    ] {
        symlink("busybox", dir.join("bin").join(applet)).unwrap();
    }
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("etc/group"),
        "root:x:0:\ndaemon:x:1:\nextra:x:4242:daemon\n",
    )
    .unwrap();
}

/// target/debug/coracle-runtime (built by `cargo test --workspace` / `cargo build -p coracle-runtime`).
pub fn runtime_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_coracle")).with_file_name("coracle-runtime");
    assert!(
        bin.exists(),
        "{} is missing: cargo build -p coracle-runtime",
        bin.display()
    );
    bin
}

/// A unique container id for runtimes.
pub fn unique_id() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "coracle-img-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A tar entry written raw (names the tar crate's builder would refuse).
pub enum Entry<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
}

pub fn tarball(entries: &[Entry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let (kind, name, link, data): (tar::EntryType, &str, &str, &[u8]) = match e {
            Entry::File(n, d) => (tar::EntryType::Regular, n, "", d),
            Entry::Dir(n) => (tar::EntryType::Directory, n, "", b""),
            Entry::Symlink(n, t) => (tar::EntryType::Symlink, n, t, b""),
            Entry::Hardlink(n, t) => (tar::EntryType::Link, n, t, b""),
        };
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_size(data.len() as u64);
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

/// sha256 of `data` in hex, by coreutils' sha256sum (an independent check of our hashing).
pub fn sha256_hex(data: &[u8]) -> String {
    let mut c = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(c.stdin.as_mut().unwrap(), data).unwrap();
    drop(c.stdin.take());
    let out = c.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

/// A docker-archive holding one image with these (uncompressed) layers, tagged `tag`.
pub fn docker_archive(path: &Path, tag: &str, layers: &[Vec<u8>], config_extra: &str) {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256_hex(l)).collect();
    docker_archive_with_diff_ids(path, tag, layers, &diff_ids, config_extra)
}

/// Like [`docker_archive`], with the config's diff IDs (hex) given (to make a lying archive).
pub fn docker_archive_with_diff_ids(
    path: &Path,
    tag: &str,
    layers: &[Vec<u8>],
    diff_ids: &[String],
    config_extra: &str,
) {
    let diff_ids: Vec<String> = diff_ids.iter().map(|d| format!("\"sha256:{d}\"")).collect();
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["sh"]{config_extra}}},"rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
        diff_ids.join(",")
    );
    let config_name = format!("{}.json", sha256_hex(config.as_bytes()));
    let layer_names: Vec<String> = layers
        .iter()
        .enumerate()
        .map(|(i, _)| format!("\"layer{i}.tar\""))
        .collect();
    let manifest = format!(
        r#"[{{"Config":"{config_name}","RepoTags":["{tag}"],"Layers":[{}]}}]"#,
        layer_names.join(",")
    );
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    };
    add(&config_name, config.as_bytes());
    for (i, l) in layers.iter().enumerate() {
        add(&format!("layer{i}.tar"), l);
    }
    add("manifest.json", manifest.as_bytes());
    b.finish().unwrap();
}
