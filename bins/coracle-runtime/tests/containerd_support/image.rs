//! Images for containerd without a registry: the harness's busybox-static rootfs becomes an OCI
//! image with umoci, and skopeo turns it into a docker archive that `ctr image import` takes as
//! is. Two tags: `busybox` (cmd `sh`) and `pause` (`sleep infinity`, the CRI sandbox image).
//!
//! Built once per test process into `CARGO_TARGET_TMPDIR/containerd-images` (a build product
//! like the test binaries, replaced by the next test process, never left in /tmp).

use crate::common::Bundle;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The name `ctr` and CRI know the busybox image by.
pub const BUSYBOX: &str = "coracle.test/busybox:latest";
/// The CRI sandbox ("pause") image: busybox whose entrypoint sleeps forever.
pub const PAUSE: &str = "coracle.test/pause:latest";

/// The docker archives of [`BUSYBOX`] and [`PAUSE`].
pub struct Archives {
    pub busybox: PathBuf,
    pub pause: PathBuf,
}

/// Build the archives (once per test process).
pub fn archives() -> &'static Archives {
    static ARCHIVES: OnceLock<Archives> = OnceLock::new();
    ARCHIVES.get_or_init(build)
}

fn build() -> Archives {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("containerd-images");
    let work = PathBuf::from(format!("{}.{}", out.display(), std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("create image work dir");
    let layout = work.join("oci");
    let image = |tag: &str| format!("{}:{tag}", layout.display());
    let unpacked = work.join("bundle");

    tool("umoci", &["init", "--layout", s(&layout)]);
    tool("umoci", &["new", "--image", &image("busybox")]);
    tool(
        "umoci",
        &["unpack", "--image", &image("busybox"), s(&unpacked)],
    );
    // The harness's rootfs: busybox-static and its applet links, /etc/passwd and /etc/group.
    let rootfs = Bundle::busybox();
    let copy = format!("{}/.", rootfs.rootfs().display());
    tool("cp", &["-a", &copy, s(&unpacked.join("rootfs"))]);
    tool(
        "umoci",
        &["repack", "--image", &image("busybox"), s(&unpacked)],
    );
    let path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    tool(
        "umoci",
        &[
            "config",
            "--image",
            &image("busybox"),
            "--config.cmd",
            "sh",
            "--config.env",
            path,
        ],
    );
    tool(
        "umoci",
        &[
            "config",
            "--image",
            &image("busybox"),
            "--tag",
            "pause",
            "--config.entrypoint",
            "/bin/sleep",
            "--config.cmd",
            "infinity",
        ],
    );
    for (tag, name) in [("busybox", BUSYBOX), ("pause", PAUSE)] {
        let archive = format!("docker-archive:{}/{tag}.tar:{name}", work.display());
        tool(
            "skopeo",
            &["copy", &format!("oci:{}", image(tag)), &archive],
        );
    }
    let _ = std::fs::remove_dir_all(&layout);
    let _ = std::fs::remove_dir_all(&unpacked);
    let _ = std::fs::remove_dir_all(&out);
    std::fs::rename(&work, &out).expect("move the image archives in place");
    Archives {
        busybox: out.join("busybox.tar"),
        pause: out.join("pause.tar"),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Run a build tool; panic with its output (and the package to install) if it fails.
fn tool(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {program} ({e}): apt-get install umoci skopeo (scripts/packages.txt)"
            )
        });
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
