//! The store's copy of the init: `ROOT/init/coracle-init-<size>-<mtime>`, one per coracle
//! build, shared by every `--init` container.
//!
//! A copy, never the running binary's own inode (CVE-2019-5736): the container must not get a
//! handle on the host's binary. Named after the size and modification time of the binary that
//! made it (a stat, no hashing on the start path), so an upgraded coracle makes a new copy and
//! containers still naming the old one keep it until `system prune`. Made atomically: written
//! to a temp file beside it, synced, mode 0555, renamed into place, the directory synced. Callers
//! hold the records lock (`create`, `prune`), so no temp file of a live writer is ever pruned.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Under the store root.
pub const DIR: &str = "init";
const TEMP_PREFIX: &str = ".tmp-";

/// The copy of the running binary for `root`'s containers: the existing one, or a new one.
pub fn install(root: &Path) -> io::Result<PathBuf> {
    install_from(&root.join(DIR), Path::new("/proc/self/exe"))
}

/// The copy of `source` in `dir` (made when missing).
pub fn install_from(dir: &Path, source: &Path) -> io::Result<PathBuf> {
    let mut src = File::open(source)?;
    let meta = src.metadata()?;
    let target = dir.join(name_for(&meta));
    // Reused as it is; a file of another size (a torn copy of an older, broken coracle) is
    // replaced.
    if std::fs::metadata(&target).is_ok_and(|m| m.is_file() && m.len() == meta.len()) {
        return Ok(target);
    }
    std::fs::create_dir_all(dir)?;
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(
        "{TEMP_PREFIX}{}-{seq}-{}",
        std::process::id(),
        target.file_name().unwrap_or_default().to_string_lossy()
    ));
    let written = (|| {
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o500)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)?;
        let n = io::copy(&mut src, &mut out)?;
        if n != meta.len() {
            return Err(io::Error::other(format!(
                "{}: copied {n} of {} bytes",
                source.display(),
                meta.len()
            )));
        }
        // Read-only for everyone (root in the container still has DAC override: the
        // read-only bind mount is what stops writes there).
        out.set_permissions(std::fs::Permissions::from_mode(0o555))?;
        out.sync_all()?;
        std::fs::rename(&tmp, &target)?;
        File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map(|_| target)
}

/// `coracle-init-<size>-<mtime seconds><nanoseconds>` of the binary.
fn name_for(meta: &std::fs::Metadata) -> String {
    format!(
        "{}-{}-{}{:09}",
        super::NAME,
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec()
    )
}

/// The name the running binary's copy has (kept by [`prune`] whatever uses it).
pub fn current_name() -> io::Result<String> {
    Ok(name_for(&std::fs::metadata("/proc/self/exe")?))
}

/// Remove from `dir` every copy but `keep` (file names) and every temp file; the names
/// removed. A missing `dir` is nothing to prune.
pub fn prune(dir: &Path, keep: &[String]) -> io::Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let mut removed = vec![];
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let ours = name.starts_with(TEMP_PREFIX) || name.starts_with(super::NAME);
        if ours && !keep.contains(&name) {
            std::fs::remove_file(dir.join(&name))?;
            removed.push(name);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(dir: &Path, content: &[u8]) -> PathBuf {
        let p = dir.join("coracle");
        std::fs::write(&p, content).unwrap();
        p
    }

    #[test]
    fn one_read_only_copy_made_once_and_reused() {
        let t = tempfile::tempdir().unwrap();
        let src = source(t.path(), b"\x7fELF binary");
        let dir = t.path().join("init");
        let a = install_from(&dir, &src).unwrap();
        let b = install_from(&dir, &src).unwrap();
        assert_eq!(a, b);
        assert_eq!(std::fs::read(&a).unwrap(), b"\x7fELF binary");
        let m = std::fs::metadata(&a).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o555);
        assert_ne!(m.ino(), std::fs::metadata(&src).unwrap().ino(), "a copy");
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "no temp file left");
    }

    #[test]
    fn concurrent_installs_agree_on_one_whole_copy() {
        let t = tempfile::tempdir().unwrap();
        let content = vec![7u8; 1 << 20];
        let src = source(t.path(), &content);
        let dir = t.path().join("init");
        let paths: Vec<PathBuf> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| s.spawn(|| install_from(&dir, &src).unwrap()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(paths.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(std::fs::read(&paths[0]).unwrap(), content);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[test]
    fn a_changed_binary_gets_a_new_copy_and_prune_keeps_only_what_is_named() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("init");
        let old = install_from(&dir, &source(t.path(), b"old")).unwrap();
        let new = install_from(&dir, &source(t.path(), b"newer")).unwrap();
        assert_ne!(old, new);
        std::fs::write(dir.join(".tmp-1-coracle-init-x"), b"torn").unwrap();
        std::fs::write(dir.join("unrelated"), b"kept").unwrap();
        let keep = [new.file_name().unwrap().to_string_lossy().into_owned()];
        let mut removed = prune(&dir, &keep).unwrap();
        removed.sort();
        assert_eq!(
            removed,
            [
                ".tmp-1-coracle-init-x".to_string(),
                old.file_name().unwrap().to_string_lossy().into_owned()
            ]
        );
        assert!(new.exists() && dir.join("unrelated").exists());
        assert_eq!(
            prune(&t.path().join("none"), &[]).unwrap(),
            Vec::<String>::new()
        );
    }
}
