//! The per-thread LSM attribute files under /proc (attr/exec, attr/keycreate, attr/apparmor/exec).
//! The kernel lets a thread write only its own attributes, so they are opened through
//! /proc/thread-self (the init is single-threaded; /proc/self on kernels before 3.17).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;

/// An attribute file opened for writing (close-on-exec: it never reaches the container).
pub struct AttrFile {
    file: File,
    /// The name used in errors, e.g. "attr/apparmor/exec".
    pub name: String,
}

/// Open `/proc/thread-self/attr/NAME` (or `/proc/self/attr/NAME` when thread-self is missing).
pub fn open(name: &str) -> io::Result<AttrFile> {
    let open = |base: &str| {
        OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(format!("{base}/attr/{name}"))
    };
    let file = match open("/proc/thread-self") {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) && !thread_self_exists() => {
            open("/proc/self")?
        }
        r => r?,
    };
    Ok(AttrFile {
        file,
        name: format!("attr/{name}"),
    })
}

fn thread_self_exists() -> bool {
    std::path::Path::new("/proc/thread-self").exists()
}

impl AttrFile {
    /// One write(2) of `value`, as the kernel wants (it parses the whole buffer of one call).
    pub fn write(&mut self, value: &str) -> io::Result<()> {
        let n = self.file.write(value.as_bytes())?;
        if n != value.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short write to {} ({n} of {})", self.name, value.len()),
            ));
        }
        Ok(())
    }
}
