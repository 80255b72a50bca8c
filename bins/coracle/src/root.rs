//! Where the image store is: `--root`, else $CORACLE_ROOT, else /var/lib/coracle for root,
//! else $XDG_DATA_HOME/coracle (~/.local/share/coracle).

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

pub fn store_root(flag: Option<&PathBuf>) -> Result<PathBuf, String> {
    if let Some(p) = flag {
        return Ok(p.clone());
    }
    if let Some(p) = std::env::var_os("CORACLE_ROOT").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    // /proc/self belongs to the effective user: no libc call needed to ask who we are.
    let uid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0);
    if uid == 0 {
        return Ok(PathBuf::from("/var/lib/coracle"));
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("XDG_DATA_HOME")
        .or_else(|| env("HOME").map(|h| h.join(".local/share")))
        .map(|d| d.join("coracle"))
        .ok_or_else(|| {
            "no store: give --root or set CORACLE_ROOT, XDG_DATA_HOME or HOME".to_string()
        })
}
