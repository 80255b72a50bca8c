//! Can the init run in this image? A statically linked coracle (the shipped build) runs in any
//! image. A dynamically linked one (a development build) needs its ELF interpreter (the
//! dynamic loader) in the container's root, or its exec fails with a bare ENOENT: `create`
//! refuses that with one clear line instead.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

const PT_INTERP: u32 = 3;

/// The ELF interpreter a binary asks for (PT_INTERP), or None when it has none (static) or is
/// not a 64-bit little-endian ELF (nothing we could check).
pub fn interpreter(binary: &Path) -> io::Result<Option<String>> {
    let mut f = File::open(binary)?;
    let mut eh = Vec::with_capacity(64);
    (&mut f).take(64).read_to_end(&mut eh)?;
    if eh.len() < 64 || &eh[..4] != b"\x7fELF" || eh[4] != 2 || eh[5] != 1 {
        return Ok(None);
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8"));
    let (phoff, phentsize, phnum) = (u64_at(&eh, 0x20), u16_at(&eh, 0x36), u16_at(&eh, 0x38));
    if phentsize < 56 {
        return Ok(None);
    }
    let mut ph = vec![0u8; phentsize as usize];
    for i in 0..u64::from(phnum) {
        f.seek(SeekFrom::Start(phoff + i * u64::from(phentsize)))?;
        f.read_exact(&mut ph)?;
        if u32::from_le_bytes(ph[..4].try_into().expect("4")) != PT_INTERP {
            continue;
        }
        let (offset, size) = (u64_at(&ph, 8), u64_at(&ph, 32).min(4096));
        let mut path = vec![0u8; size as usize];
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(&mut path)?;
        let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
        return Ok(Some(String::from_utf8_lossy(&path[..end]).into_owned()));
    }
    Ok(None)
}

/// Whether `path` names a file inside `root` as the container will see it: symlinks are
/// followed with absolute targets taken inside `root`, never on the host.
pub fn exists_in_root(root: &Path, path: &str) -> bool {
    let mut pending: Vec<String> = path.split('/').rev().map(String::from).collect();
    let mut cur = PathBuf::new();
    let mut links = 0;
    while let Some(c) = pending.pop() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                cur.pop();
                continue;
            }
            _ => {}
        }
        let next = cur.join(&c);
        let Ok(meta) = std::fs::symlink_metadata(root.join(&next)) else {
            return false;
        };
        if !meta.file_type().is_symlink() {
            cur = next;
            continue;
        }
        links += 1;
        let Ok(target) = std::fs::read_link(root.join(&next)) else {
            return false;
        };
        if links > 40 {
            return false;
        }
        if target.is_absolute() {
            cur = PathBuf::new();
        }
        let target = target.to_string_lossy().into_owned();
        pending.extend(target.split('/').rev().map(String::from));
    }
    std::fs::metadata(root.join(&cur)).is_ok_and(|m| m.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_dynamic_binary_names_its_loader() {
        // The test binary itself is linked like coracle's development builds.
        let me = std::env::current_exe().unwrap();
        let got = interpreter(&me).unwrap();
        let linked_static = cfg!(target_feature = "crt-static");
        assert_eq!(got.is_none(), linked_static, "{got:?}");
        if let Some(p) = got {
            assert!(p.starts_with('/') && p.contains("ld"), "{p}");
        }
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("script"), b"#!/bin/sh\n").unwrap();
        assert_eq!(interpreter(&t.path().join("script")).unwrap(), None);
    }

    #[test]
    fn links_resolve_inside_the_root_never_on_the_host() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir_all(root.join("lib/x86_64")).unwrap();
        std::fs::create_dir_all(root.join("lib64")).unwrap();
        std::fs::write(root.join("lib/x86_64/ld.so"), b"elf").unwrap();
        symlink("/lib/x86_64/ld.so", root.join("lib64/ld-abs")).unwrap();
        symlink("../lib/x86_64/ld.so", root.join("lib64/ld-rel")).unwrap();
        // Exists on every host, not in this root.
        symlink("/bin/sh", root.join("lib64/host")).unwrap();
        symlink("loop", root.join("lib64/loop")).unwrap();
        assert!(exists_in_root(root, "/lib/x86_64/ld.so"));
        assert!(exists_in_root(root, "/lib64/ld-abs"));
        assert!(exists_in_root(root, "/lib64/ld-rel"));
        assert!(exists_in_root(root, "/../../lib64/ld-rel"));
        assert!(!exists_in_root(root, "/lib64/host"));
        assert!(!exists_in_root(root, "/lib64/loop"));
        assert!(!exists_in_root(root, "/lib64/missing"));
        assert!(!exists_in_root(root, "/lib64"), "a directory is no loader");
    }
}
