//! A busybox image built offline for the client tests (Podman, Docker): the harness's
//! busybox-static rootfs → an OCI image layout with umoci, which Podman pulls as `oci:DIR:TAG`
//! and which becomes a docker archive (`docker load`) by adding the `manifest.json` Docker reads.
//! No registry, no network, and no skopeo (as root it writes a blob cache under
//! /var/lib/containers).
#![allow(dead_code)] // each client test uses part of it

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{unique_id, Bundle};

/// The name the tests run the image by (fully qualified: no short-name lookup).
pub const NAME: &str = "localhost/coracle-busybox:latest";

/// Why images cannot be built here, if they cannot.
pub fn tools_missing() -> Option<String> {
    (!on_path("umoci")).then(|| "umoci is not installed (apt-get install umoci)".to_string())
}

/// Say why a test is skipped, straight to the process's stderr: libtest captures `eprintln!` of
/// passing tests, and a skip must be seen.
pub fn skip(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {why}");
}

/// Whether `prog` is an executable in one of PATH's directories.
pub fn on_path(prog: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
        .unwrap_or(false)
}

/// An OCI image layout in `/tmp/<unique>/`, tag `latest`: one layer holding the busybox rootfs,
/// `sh` as its command. Removed on Drop.
pub struct Image {
    dir: PathBuf,
}

impl Image {
    pub fn build() -> Image {
        let dir = PathBuf::from(format!("/tmp/{}-image", unique_id()));
        let image = Image { dir };
        let layout = image.dir.join("oci");
        let tagged = format!("{}:latest", layout.display());
        let rootfs = Bundle::busybox();
        tool(
            "umoci",
            &["init", "--layout", layout.to_str().expect("UTF-8 path")],
        );
        tool("umoci", &["new", "--image", &tagged]);
        let src = rootfs.rootfs();
        tool(
            "umoci",
            &[
                "insert",
                "--image",
                &tagged,
                src.to_str().expect("UTF-8"),
                "/",
            ],
        );
        tool(
            "umoci",
            &[
                "config",
                "--image",
                &tagged,
                "--config.cmd",
                "sh",
                "--config.env",
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ],
        );
        image
    }

    fn layout(&self) -> PathBuf {
        self.dir.join("oci")
    }

    /// The layout as Podman's `pull` names it: `oci:DIR:latest`.
    pub fn oci_ref(&self) -> String {
        format!("oci:{}:latest", self.layout().display())
    }

    /// Write the image as a docker archive at `path`, tagged [`NAME`]: the layout's blobs plus
    /// the `manifest.json` of `docker save` (config and layers by their blob paths; Docker
    /// inflates gzip layers itself).
    pub fn to_docker_archive(&self, path: &Path) {
        let layout = self.layout();
        let blob = |digest: &Value| {
            let d = digest.as_str().expect("digest string");
            format!("blobs/{}", d.replacen(':', "/", 1))
        };
        let read = |rel: &str| -> Value {
            let text = fs::read_to_string(layout.join(rel)).expect("read layout file");
            serde_json::from_str(&text).expect("layout JSON")
        };
        let index = read("index.json");
        let manifest = read(&blob(&index["manifests"][0]["digest"]));
        let layers: Vec<String> = manifest["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .map(|l| blob(&l["digest"]))
            .collect();
        let docker = serde_json::json!([{
            "Config": blob(&manifest["config"]["digest"]),
            "RepoTags": [NAME],
            "Layers": layers,
        }]);
        fs::write(layout.join("manifest.json"), docker.to_string()).expect("manifest.json");
        let dest = path.to_str().expect("UTF-8 path");
        let src = layout.to_str().expect("UTF-8 path");
        tool("tar", &["-C", src, "-cf", dest, "manifest.json", "blobs"]);
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Run a tool, panic with its stderr unless it succeeds.
fn tool(prog: &str, args: &[&str]) {
    let out = Command::new(prog)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {prog}: {e}"));
    assert!(
        out.status.success(),
        "{prog} {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
