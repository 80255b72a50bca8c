//! `run/create --init`: a tiny init as the container's pid 1 that runs the command as its
//! child, reaps every zombie and forwards signals (Docker's `--init`, tini's behaviour).
//!
//! The init is the `coracle` binary itself (one binary to ship), entered before any argument
//! parsing when it runs under the name [`NAME`] ([`is_init`], checked first thing in `main`):
//! the process then touches only [`pid1`]'s few pages.
//!
//! The container never gets the host's binary (CVE-2019-5736: a handle on it would let the
//! container rewrite it, and the runtime refuses to exec its own inode anyway): [`copy`] keeps
//! one read-only copy per coracle build in the store, `ROOT/init/coracle-init-<size>-<mtime>`,
//! made atomically on first use and shared by every container; [`spec`] bind-mounts it
//! read-only, nosuid, nodev at [`CONTAINER_PATH`] and makes the process args
//! `[CONTAINER_PATH, "--", entrypoint + cmd…]`. `system prune` removes copies of other builds
//! that no container names.
//!
//! Why `/dev/coracle-init` (Docker uses /sbin/docker-init): /dev is the container's own tmpfs,
//! made fresh by the runtime, so the mount point is made there and nothing is written into the
//! image's root filesystem (no trace in its upper layer, works with `--read-only` and with
//! images without /sbin, never hides a file of the image). A `-v`/`--tmpfs` on /dev itself is
//! refused with `--init` (the mount point would be made in that mount, e.g. a host directory).
//!
//! The init must run in any image, so the shipped coracle is linked statically; a dynamically
//! linked (development) build works only in images that have its loader ([`interp`]: `create`
//! refuses the others with one line).

pub mod copy;
pub mod interp;
pub mod pid1;
pub mod spec;

use crate::container::{io_err, record, Engine, Result};
use std::ffi::OsStr;
use std::path::Path;

/// The name the init runs under (the last component of its argv[0]).
pub const NAME: &str = "coracle-init";
/// Where the copy is bind-mounted in the container (and the process's argv[0]).
pub const CONTAINER_PATH: &str = "/dev/coracle-init";

/// Whether this process was started as the init (argv[0] names [`NAME`]).
pub fn is_init(argv0: &OsStr) -> bool {
    Path::new(argv0).file_name() == Some(OsStr::new(NAME))
}

/// The store's copy for a new `--init` container (made on first use). The caller holds the
/// records lock.
pub fn install(engine: &Engine) -> Result<std::path::PathBuf> {
    let dir = engine.root.join(copy::DIR);
    copy::install(&engine.root).map_err(|e| {
        crate::container::Error::Invalid(format!(
            "--init: making the init's copy in {}: {e}",
            dir.display()
        ))
    })
}

/// Refuse an image the init cannot run in: a dynamically linked coracle (a development build)
/// needs its loader in the container's root filesystem.
pub fn check_runs_in(copy: &Path, rootfs: &Path) -> Result<()> {
    let interp = interp::interpreter(copy).map_err(io_err(copy))?;
    match interp {
        Some(loader) if !interp::exists_in_root(rootfs, &loader) => {
            Err(crate::container::Error::Invalid(format!(
                "--init: this coracle is dynamically linked and the image has no {loader} \
                 to run it as the init: use a statically linked coracle \
                 (built with -C target-feature=+crt-static)"
            )))
        }
        _ => Ok(()),
    }
}

/// `system prune`: the copies of other coracle builds that no container's config.json
/// mounts (and leftovers of interrupted copies); the names removed. Under the records lock, so
/// no `create` is making or naming a copy meanwhile.
pub fn prune(engine: &Engine) -> Result<Vec<String>> {
    let _lock = record::lock(engine)?;
    let dir = engine.root.join(copy::DIR);
    let mut keep = vec![copy::current_name().map_err(io_err(Path::new("/proc/self/exe")))?];
    for rec in record::all(engine)? {
        let cfg = engine.container_dir(&rec.id).join("bundle/config.json");
        let Ok(s) = crate::container::spec::load(&cfg) else {
            continue;
        };
        if let Some(name) = spec::copy_of(&s).and_then(|p| p.file_name().map(|n| n.to_owned())) {
            keep.push(name.to_string_lossy().into_owned());
        }
    }
    copy::prune(&dir, &keep).map_err(io_err(&dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_init_name_enters_the_init() {
        assert!(is_init(OsStr::new("/dev/coracle-init")));
        assert!(is_init(OsStr::new("coracle-init")));
        assert!(!is_init(OsStr::new("/usr/bin/coracle")));
        assert!(!is_init(OsStr::new(
            "/var/lib/coracle/init/coracle-init-1-2"
        )));
        assert!(!is_init(OsStr::new("")));
    }
}
