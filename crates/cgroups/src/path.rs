//! From the spec's `linux.cgroupsPath` to the one cgroup path used on every hierarchy.
//!
//! - **empty**: `/<id>`, directly below each hierarchy's root (crun's choice; runc puts it below the
//!   caller's own cgroup instead). The path then does not depend on who runs the runtime, so
//!   `delete` from another process (a new shim) finds the same cgroup.
//! - **absolute** (`/a/b`): relative to each hierarchy's root.
//! - **relative** (`a/b`): below the runtime's own cgroup, as `/proc/self/cgroup` shows it on the
//!   unified (`0::`) line, or the `name=systemd` line on a v1 host, or else its first line. It is
//!   resolved once, at create, to an absolute path, and that same path is used on every hierarchy
//!   (runc resolves it per hierarchy; one path keeps the recorded state a single string).
//!
//! `.` and empty components are dropped; `..` is refused (it could leave the intended subtree), and
//! so is a path that is the root cgroup itself. A `slice:prefix:name` path is refused with a clear
//! error here: it is the systemd driver's (`--systemd-cgroup`, see the `systemd` module).

use std::io;

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The absolute cgroup path for `cgroups_path` and container `id`. `own` yields the runtime's own
/// cgroup text (`/proc/self/cgroup`), read only for a relative path.
pub(crate) fn resolve(
    cgroups_path: &str,
    id: &str,
    own: impl FnOnce() -> io::Result<String>,
) -> io::Result<String> {
    if cgroups_path.is_empty() {
        if id.is_empty() || id.contains('/') || id == "." || id == ".." {
            return Err(invalid(format!(
                "container id {id:?} cannot name a cgroup (linux.cgroupsPath is empty)"
            )));
        }
        return Ok(format!("/{id}"));
    }
    if !cgroups_path.starts_with('/') && cgroups_path.split(':').count() == 3 {
        return Err(invalid(format!(
            "linux.cgroupsPath {cgroups_path:?} is a systemd slice:prefix:name path: give \
             --systemd-cgroup, or a cgroupfs path"
        )));
    }
    let full = if cgroups_path.starts_with('/') {
        normalize(cgroups_path)?
    } else {
        let text = own()?;
        let base = crate::mountinfo::own_cgroup(&text).ok_or_else(|| {
            invalid(format!(
                "linux.cgroupsPath {cgroups_path:?} is relative but /proc/self/cgroup names no cgroup"
            ))
        })?;
        normalize(&format!("{base}/{cgroups_path}"))?
    };
    if full == "/" {
        return Err(invalid(format!(
            "linux.cgroupsPath {cgroups_path:?} is the root cgroup; a container needs its own"
        )));
    }
    Ok(full)
}

/// `/a//./b/` → `/a/b`; `..` is an error.
fn normalize(path: &str) -> io::Result<String> {
    let mut out = String::with_capacity(path.len() + 1);
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(invalid(format!(
                    "linux.cgroupsPath {path:?} contains \"..\""
                )))
            }
            p => {
                out.push('/');
                out.push_str(p);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_own() -> io::Result<String> {
        panic!("own cgroup read for a path that does not need it")
    }

    #[test]
    fn default_is_slash_id() {
        assert_eq!(resolve("", "web", no_own).unwrap(), "/web");
        assert!(resolve("", "", no_own).is_err());
        assert!(resolve("", "a/b", no_own).is_err());
    }

    #[test]
    fn absolute_is_normalized() {
        assert_eq!(resolve("/a//b/./c/", "x", no_own).unwrap(), "/a/b/c");
        let e = resolve("/a/../b", "x", no_own).unwrap_err();
        assert!(e.to_string().contains("\"..\""), "{e}");
        assert!(resolve("/", "x", no_own).is_err());
        assert!(resolve("//.", "x", no_own).is_err());
    }

    #[test]
    fn relative_is_below_own_cgroup() {
        let own = || Ok("9:name=systemd:/s\n0::/user.slice/me\n".to_string());
        assert_eq!(resolve("a/b", "x", own).unwrap(), "/user.slice/me/a/b");
        let root = || Ok("0::/\n".to_string());
        assert_eq!(resolve("c", "x", root).unwrap(), "/c");
        let none = || Ok(String::new());
        assert!(resolve("c", "x", none).is_err());
    }

    #[test]
    fn systemd_paths_are_refused() {
        let e = resolve("system.slice:coracle:abc", "abc", no_own).unwrap_err();
        assert!(e.to_string().contains("systemd"), "{e}");
    }
}
