//! File operations on cgroup filesystems, each error naming the file and what was tried.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// An error with a message naming the file (and value, field…), keeping the original error (and
/// so its errno) as its source.
#[derive(Debug)]
struct Context {
    msg: String,
    source: io::Error,
}

impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Context {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// `e` with the one-line message `msg` (which should include `e`'s own text).
pub(crate) fn with_msg(e: io::Error, msg: String) -> io::Error {
    io::Error::new(e.kind(), Context { msg, source: e })
}

/// The errno behind `e`, also through [`with_msg`] wrappers.
pub(crate) fn errno(e: &io::Error) -> Option<i32> {
    e.raw_os_error().or_else(|| {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<Context>())
            .and_then(|c| errno(&c.source))
    })
}

/// An error that names the file (and the value, for writes).
pub(crate) fn err_at(what: &str, path: &Path, e: io::Error) -> io::Error {
    let msg = format!("{what} {}: {e}", path.display());
    with_msg(e, msg)
}

/// Write `value` to the existing control file `path` (one open, one write).
pub(crate) fn write(path: &Path, value: &str) -> io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| err_at("open", path, e))?;
    f.write_all(value.as_bytes()).map_err(|e| {
        let msg = format!("write {value:?} to {}: {e}", path.display());
        with_msg(e, msg)
    })
}

/// Read the control file `path` (trailing newline removed).
pub(crate) fn read(path: &Path) -> io::Result<String> {
    let mut s = String::new();
    fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut s))
        .map_err(|e| err_at("read", path, e))?;
    let len = s.trim_end_matches('\n').len();
    s.truncate(len);
    Ok(s)
}

/// The pids listed in `dir/cgroup.procs`.
pub(crate) fn procs(dir: &Path) -> io::Result<Vec<i32>> {
    let text = read(&dir.join("cgroup.procs"))?;
    Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// The pids in `dir` and every cgroup below it.
pub(crate) fn procs_recursive(dir: &Path, out: &mut Vec<i32>) -> io::Result<()> {
    out.extend(procs(dir)?);
    for child in child_cgroups(dir)? {
        procs_recursive(&child, out)?;
    }
    Ok(())
}

/// The child cgroups (subdirectories) of `dir`.
pub(crate) fn child_cgroups(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| err_at("list", dir, e))? {
        let entry = entry.map_err(|e| err_at("list", dir, e))?;
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            out.push(entry.path());
        }
    }
    Ok(out)
}

/// `mkdir -p dir`, never above `top` (the hierarchy's mount point). Returns how many directories it
/// made: 0 if `dir` existed, 1 for the leaf alone, more when parents were missing.
pub(crate) fn mkdir_p(dir: &Path, top: &Path) -> io::Result<usize> {
    match fs::create_dir(dir) {
        Ok(()) => return Ok(1),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(0),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(err_at("create cgroup", dir, e)),
    }
    // Parents are missing: make them top-down. Another runtime may be making or removing the same
    // parents at the same moment, so a vanished parent is retried a few times.
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|p| *p != top && !p.exists())
        .collect();
    let mut made = 0;
    for p in missing.iter().rev() {
        let mut tries = 0;
        loop {
            match fs::create_dir(p) {
                Ok(()) => {
                    made += 1;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound && tries < 3 => {
                    tries += 1;
                    if let Some(parent) = p.parent() {
                        mkdir_p(parent, top)?;
                    }
                }
                Err(e) => return Err(err_at("create cgroup", p, e)),
            }
        }
    }
    Ok(made)
}

/// How long `remove` waits for exiting processes to leave a cgroup.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// When a `remove` started now must give up waiting for processes to drain.
pub(crate) fn drain_deadline() -> Instant {
    Instant::now() + DRAIN_TIMEOUT
}

/// Remove the cgroup `dir` and every cgroup below it. A cgroup that still lists processes (they are
/// exiting: killed but not yet gone) is retried, polling `cgroup.procs`, until `deadline`.
/// A missing `dir` is not an error.
pub(crate) fn remove_tree(dir: &Path, deadline: Instant) -> io::Result<()> {
    match child_cgroups(dir) {
        Ok(children) => {
            for child in children {
                remove_tree(&child, deadline)?;
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    let mut pause = Duration::from_micros(50);
    let mut was_empty = false;
    loop {
        let e = match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => e,
            Err(e) => return Err(err_at("remove cgroup", dir, e)),
        };
        let pids = procs(dir).unwrap_or_default();
        if Instant::now() > deadline {
            if pids.is_empty() {
                return Err(err_at("remove cgroup", dir, e));
            }
            return Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                format!(
                    "remove cgroup {}: processes {pids:?} still in it after waiting {DRAIN_TIMEOUT:?}",
                    dir.display()
                ),
            ));
        }
        // cgroup.procs just became empty: retry at once; otherwise poll again after a short pause.
        if !pids.is_empty() || was_empty {
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(5));
        }
        was_empty = pids.is_empty();
    }
}

/// Remove up to `count` ancestors of `dir` (below the mount point), nearest first, stopping at the
/// first one that is not empty.
pub(crate) fn remove_parents(dir: &Path, count: usize) {
    for parent in dir.ancestors().skip(1).take(count) {
        if fs::remove_dir(parent).is_err() {
            break;
        }
    }
}
