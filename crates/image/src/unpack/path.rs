//! Entry paths: a layer path is a list of plain components below the target. Absolute paths
//! and `..` are refused (a well-formed layer never needs them); `.` and empty components are
//! dropped, so `./a//b/` is `a/b`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use crate::error::{Error, Result};

/// A validated relative path, as components; empty for the target itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EntryPath(pub Vec<Vec<u8>>);

impl EntryPath {
    pub fn parse(raw: &[u8]) -> Result<EntryPath> {
        let shown = || String::from_utf8_lossy(raw).into_owned();
        if raw.starts_with(b"/") {
            return Err(Error::UnsafeEntry {
                entry: shown(),
                reason: "absolute path".into(),
            });
        }
        if raw.contains(&0) {
            return Err(Error::UnsafeEntry {
                entry: shown(),
                reason: "NUL byte in path".into(),
            });
        }
        let mut comps = Vec::new();
        for c in raw.split(|&b| b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => {
                    return Err(Error::UnsafeEntry {
                        entry: shown(),
                        reason: "path contains \"..\"".into(),
                    })
                }
                c => comps.push(c.to_vec()),
            }
        }
        Ok(EntryPath(comps))
    }

    /// Parent components and the last one; None for the target itself.
    pub fn split(&self) -> Option<(&[Vec<u8>], &OsStr)> {
        let (last, parent) = self.0.split_last()?;
        Some((parent, OsStr::from_bytes(last)))
    }

    pub fn join(&self, name: &[u8]) -> EntryPath {
        let mut v = self.0.clone();
        v.push(name.to_vec());
        EntryPath(v)
    }
}

impl std::fmt::Display for EntryPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        write!(f, "{}", parts.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_refuses() {
        assert_eq!(
            EntryPath::parse(b"./a//b/./c/").unwrap().to_string(),
            "a/b/c"
        );
        assert!(EntryPath::parse(b"./").unwrap().split().is_none());
        for bad in [&b"/etc/passwd"[..], b"../x", b"a/../../x", b"a/..", b"a\0b"] {
            assert!(
                EntryPath::parse(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
