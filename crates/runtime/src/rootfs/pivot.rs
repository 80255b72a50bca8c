//! Entering the root: pivot_root(".", ".") and detaching the old root stacked under it, as runc does
//! (no directory for the old root is needed in the image), or with `--no-pivot` moving the rootfs onto
//! / and chrooting, after detaching the host's proc and sysfs mounts that would stay reachable.

use crate::sys::mount as sys;
use crate::{Context, Result};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

pub fn pivot(rootfs: &Path) -> Result<()> {
    let old = sys::openat(None, Path::new("/"), libc::O_PATH | libc::O_DIRECTORY, 0)
        .context(|| "opening the old root /")?;
    sys::chdir(rootfs).context(|| format!("entering the rootfs {}", rootfs.display()))?;
    // The new root goes on /, the old one ends up mounted on top of it (at ".").
    sys::pivot_root(Path::new("."), Path::new("."))
        .context(|| format!("pivot_root into {}", rootfs.display()))?;
    sys::fchdir(old.as_fd()).context(|| "entering the old root")?;
    // Make sure the unmount below cannot propagate back to the host.
    sys::mount(
        None,
        Path::new("."),
        None,
        libc::MS_SLAVE | libc::MS_REC,
        None,
    )
    .context(|| "making the old root rslave")?;
    sys::umount2(Path::new("."), libc::MNT_DETACH).context(|| "detaching the old root")?;
    sys::chdir(Path::new("/")).context(|| "chdir to the new /")
}

pub fn move_root(rootfs: &Path) -> Result<()> {
    for point in host_proc_sys_mounts(rootfs)? {
        // A process that escapes the chroot must not find the host's full proc or sysfs (runc hides
        // them the same way); rslave first so the detach does not propagate to the host.
        let _ = sys::mount(None, &point, None, libc::MS_SLAVE | libc::MS_REC, None);
        match sys::umount2(&point, libc::MNT_DETACH) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::EPERM)) => {
                sys::mount(Some(Path::new("tmpfs")), &point, Some("tmpfs"), 0, None)
                    .context(|| format!("covering {}", point.display()))?
            }
            r => r.context(|| format!("detaching {}", point.display()))?,
        }
    }
    sys::chdir(rootfs).context(|| format!("entering the rootfs {}", rootfs.display()))?;
    sys::mount(Some(rootfs), Path::new("/"), None, libc::MS_MOVE, None)
        .context(|| format!("moving the rootfs {} onto /", rootfs.display()))?;
    sys::chroot(Path::new(".")).context(|| "chroot into the rootfs")?;
    sys::chdir(Path::new("/")).context(|| "chdir to the new /")
}

/// Mount points of proc and sysfs filesystems outside `rootfs`, deepest last.
fn host_proc_sys_mounts(rootfs: &Path) -> Result<Vec<PathBuf>> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .context(|| "reading /proc/self/mountinfo")?;
    let mut out: Vec<PathBuf> = info
        .lines()
        .filter_map(parse_mountinfo_line)
        .filter(|(_, fs)| *fs == "proc" || *fs == "sysfs")
        .map(|(point, _)| point)
        .filter(|p| !p.starts_with(rootfs))
        .collect();
    // Deepest first: detaching a parent takes its children along, and they would then fail.
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    Ok(out)
}

/// (mount point, fs type) of one /proc/self/mountinfo line.
fn parse_mountinfo_line(line: &str) -> Option<(PathBuf, &str)> {
    let mut fields = line.split(' ');
    let point = fields.nth(4)?;
    let fs = fields.skip_while(|f| *f != "-").nth(1)?;
    Some((PathBuf::from(unescape(point)), fs))
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines() {
        let l = "22 27 0:21 / /proc rw,relatime - proc proc rw";
        assert_eq!(
            parse_mountinfo_line(l),
            Some((PathBuf::from("/proc"), "proc"))
        );
        let l = "41 31 0:38 / /a\\040b rw,relatime shared:5 - cgroup2 cgroup2 rw";
        assert_eq!(
            parse_mountinfo_line(l),
            Some((PathBuf::from("/a b"), "cgroup2"))
        );
        assert_eq!(unescape("x\\134y\\011"), "x\\y\t");
        assert_eq!(unescape("tail\\04"), "tail\\04");
    }
}
