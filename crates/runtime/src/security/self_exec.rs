//! CVE-2019-5736: the container must never run the runtime's own binary. Until it execs, the init
//! is a fork of the runtime, so inside the container `/proc/self/exe` (or `/proc/1/exe`, or a
//! symlink or a `#!` line naming them) is the host's runtime binary; exec'd there it would become a
//! container process whose `/proc/<pid>/exe` lets the container open the host file and, once the
//! runtime exits, rewrite it.
//!
//! Defence (see docs/ARCHITECTURE.md, "Security"): the program is opened and compared (device and
//! inode) with the runtime binary, `#!` lines are followed here rather than by the kernel (each
//! interpreter opened and compared too), and the final ELF is exec'd through the very descriptor
//! that was checked (`execveat`, close-on-exec, so the kernel will not follow a `#!` itself).
//! Nothing is re-read by path between the check and the exec. So that the process keeps the name
//! (comm) an exec by path would give it, the exec goes through a symlink named like the program in
//! a directory of the state dir (out of the container's reach) pointing at `/proc/self/fd/N`.

use crate::sys::process;
use crate::{Context, Error, Result};
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The kernel follows at most this many `#!` interpreters (BINPRM_MAX_RECURSION).
const MAX_SCRIPT_DEPTH: usize = 4;
/// The kernel reads this much of a script for its `#!` line (BINPRM_BUF_SIZE).
const SHEBANG_MAX: usize = 256;

/// Device and inode of the runtime binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeBinary {
    dev: u64,
    ino: u64,
}

impl RuntimeBinary {
    /// The binary this process runs (read through the host's /proc, before the pivot).
    pub fn current() -> Result<RuntimeBinary> {
        let m = std::fs::metadata("/proc/self/exe").context(|| "stat /proc/self/exe")?;
        Ok(RuntimeBinary {
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

/// The directory, next to the exec fifo, where the init makes its exec symlink.
pub fn exec_dir_path(fifo: &Path) -> PathBuf {
    fifo.with_file_name("exec")
}

/// Made by `create` with the state dir: 0711, writable only by its owner (the runtime's user, or
/// the user namespace's root: the init makes its symlink there before it drops to the process's
/// user), searchable by the process's user (who execs through it).
pub fn make_exec_dir(fifo: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = exec_dir_path(fifo);
    std::fs::create_dir(&dir)
        .and_then(|_| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)))
        .context(|| format!("creating {}", dir.display()))
}

/// Opened by the init before the pivot and held (close-on-exec) until the exec.
pub fn open_exec_dir(fifo: &Path) -> Result<File> {
    open_dir(&exec_dir_path(fifo))
}

/// Open a link directory (O_PATH) for [`link`] and [`exec`].
pub fn open_dir(dir: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .context(|| format!("opening {}", dir.display()))
}

/// The link directory of one `exec`: its own directory under the exec dir, so that concurrent
/// execs of programs with the same name never replace each other's link. Made by the runtime
/// before the fork with the exec dir's owner (the container's root, who makes the link) and
/// removed when dropped, once the process has exec'd or failed.
pub struct ExecLinkDir {
    path: PathBuf,
}

impl ExecLinkDir {
    pub fn make(fifo: &Path) -> Result<ExecLinkDir> {
        use std::os::unix::fs::PermissionsExt;
        let parent = exec_dir_path(fifo);
        let path = parent.join(format!("exec-{}", std::process::id()));
        let owner = std::fs::metadata(&parent).context(|| format!("stat {}", parent.display()))?;
        // One named after our pid can only be left by a killed runtime that had the same pid.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path)
            .and_then(|_| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o711)))
            .and_then(|_| std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())))
            .context(|| format!("creating {}", path.display()))?;
        Ok(ExecLinkDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ExecLinkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Make `exec_dir/NAME -> /proc/self/fd/N` (NAME: the program's file name, N: the checked fd),
/// while the init may still write `exec_dir`; returns NAME for [`exec`].
pub fn link(program: &Path, target: &Checked, exec_dir: &File) -> Result<CString> {
    let name = program
        .file_name()
        .map(|n| n.as_bytes().to_vec())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| b"exe".to_vec());
    let name = CString::new(name)
        .map_err(|_| Error::msg(format!("{} contains a NUL byte", program.display())))?;
    let link = format!("/proc/self/fd/{}", target.file.as_raw_fd());
    process::symlinkat_replace(&link, exec_dir.as_fd(), &name)
        .context(|| format!("exec {}: making the exec link", program.display()))?;
    Ok(name)
}

/// Exec the checked file as `program` would have been exec'd (same argv, same process name),
/// through the link [`link`] made. Returns only on failure.
pub fn exec(
    program: &Path,
    target: &Checked,
    exec_dir: &File,
    name: &CString,
    env: &[CString],
) -> Error {
    let e = process::execveat(exec_dir.as_fd(), name, &target.args, env);
    if target.unreadable && e.raw_os_error() == Some(libc::ENOENT) {
        return Error::msg(format!(
            "exec {}: a script the user cannot read cannot be run",
            program.display()
        ));
    }
    Error::msg(format!("exec {}: {e}", program.display()))
}

/// What to exec: the checked file (open, close-on-exec) and the argv the kernel would have built.
pub struct Checked {
    pub file: File,
    pub args: Vec<CString>,
    /// The file could not be read (execute-only): the kernel refuses it if it is a script.
    pub unreadable: bool,
}

/// Open `program` (resolved in the container, relative to the cwd) for exec, following `#!` lines
/// the way the kernel does; refuse the runtime's own binary anywhere on the way.
pub fn check(program: &Path, args: Vec<CString>, runtime: RuntimeBinary) -> Result<Checked> {
    let mut path = program.to_path_buf();
    let mut args = args;
    for _ in 0..=MAX_SCRIPT_DEPTH {
        let (file, readable) = open_for_exec(&path)?;
        let m = file
            .metadata()
            .context(|| format!("exec: stat {}", path.display()))?;
        if (m.dev(), m.ino()) == (runtime.dev, runtime.ino) {
            return Err(Error::msg(format!(
                "exec {}: refusing to run the runtime's own binary in the container (CVE-2019-5736)",
                path.display()
            )));
        }
        let shebang = if readable { read_shebang(&file) } else { None };
        match shebang {
            Some((interp, arg)) => {
                // The kernel's argv for a script: interpreter, its one optional argument, the
                // script's path as exec'd, then the original arguments after argv[0].
                let mut next = vec![cstring(interp.as_os_str())?];
                if let Some(a) = arg {
                    next.push(cstring(&a)?);
                }
                next.push(cstring(path.as_os_str())?);
                next.extend(args.into_iter().skip(1));
                args = next;
                path = interp;
            }
            None => {
                return Ok(Checked {
                    file,
                    args,
                    unreadable: !readable,
                })
            }
        }
    }
    Err(Error::msg(format!(
        "exec {}: too many levels of #! interpreters",
        program.display()
    )))
}

fn cstring(s: &OsStr) -> Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| Error::msg(format!("{s:?} contains a NUL byte")))
}

/// Open read-only (to see a `#!` line); a file the user may execute but not read is opened O_PATH.
fn open_for_exec(path: &Path) -> Result<(File, bool)> {
    let open = |flags: i32, read: bool| {
        std::fs::OpenOptions::new()
            .read(read)
            .custom_flags(flags | libc::O_CLOEXEC)
            .open(path)
    };
    match open(0, true) {
        Ok(f) => Ok((f, true)),
        Err(e) if e.raw_os_error() == Some(libc::EACCES) => open(libc::O_PATH, true)
            .map(|f| (f, false))
            .context(|| format!("exec {}", path.display())),
        Err(e) => Err(e).context(|| format!("exec {}", path.display())),
    }
}

/// Parse a `#!` line as the kernel does: interpreter up to the first blank, then at most one
/// argument (the rest of the line, trimmed).
fn read_shebang(file: &File) -> Option<(PathBuf, Option<std::ffi::OsString>)> {
    let mut buf = [0u8; SHEBANG_MAX];
    let n = file.read_at(&mut buf, 0).ok()?;
    parse_shebang(&buf[..n])
}

fn parse_shebang(buf: &[u8]) -> Option<(PathBuf, Option<std::ffi::OsString>)> {
    let rest = buf.strip_prefix(b"#!")?;
    let line = rest.split(|&b| b == b'\n').next().unwrap_or(rest);
    let line = line.split(|&b| b == 0).next().unwrap_or(line);
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = line.iter().position(|b| !blank(b))?;
    let line = &line[start..];
    let end = line.iter().position(blank).unwrap_or(line.len());
    let interp = PathBuf::from(OsStr::from_bytes(&line[..end]));
    let arg = line[end..]
        .iter()
        .position(|b| !blank(b))
        .map(|s| &line[end + s..])
        .map(|a| {
            let trimmed = a.len() - a.iter().rev().take_while(|b| blank(b)).count();
            std::ffi::OsString::from(OsStr::from_bytes(&a[..trimmed]))
        });
    Some((interp, arg))
}

#[cfg(test)]
mod tests {
    use super::parse_shebang;
    use std::path::PathBuf;

    #[test]
    fn shebang_lines_parse_like_the_kernel() {
        let p = |s: &[u8]| {
            parse_shebang(s).map(|(i, a)| (i, a.map(|a| a.to_string_lossy().into_owned())))
        };
        assert_eq!(
            p(b"#!/bin/sh\necho"),
            Some((PathBuf::from("/bin/sh"), None))
        );
        assert_eq!(
            p(b"#! /bin/sh  -e -x \t\nrest"),
            Some((PathBuf::from("/bin/sh"), Some("-e -x".into())))
        );
        assert_eq!(
            p(b"#!/proc/self/exe"),
            Some((PathBuf::from("/proc/self/exe"), None))
        );
        assert_eq!(p(b"#!   \n"), None);
        assert_eq!(p(b"\x7fELF"), None);
    }
}
