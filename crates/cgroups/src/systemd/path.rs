//! `linux.cgroupsPath` for the systemd driver: `slice:prefix:name` → a unit and its cgroup path.
//!
//! runc's rules:
//! - an empty cgroupsPath is `system.slice:coracle:<id>` (runc uses the prefix "runc");
//! - an empty slice is `system.slice`;
//! - a name ending in `.slice` asks for a slice unit of that name (its parent is implied by the
//!   name: it must be the given slice); otherwise the unit is the scope `prefix-name.scope`;
//! - a slice's cgroup is its expansion: `machine-foo.slice` → `/machine.slice/machine-foo.slice`
//!   (`-.slice` is the root), and a scope's cgroup is the slice's plus `/<unit>`.

use std::io;

/// The unit a container gets from systemd, and where its cgroup will be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitPath {
    /// The parent slice (`system.slice`).
    pub slice: String,
    /// The unit's name: `prefix-name.scope`, or a `*.slice` name.
    pub unit: String,
    /// The unit's cgroup, absolute from each hierarchy's root.
    pub cgroup: String,
}

impl UnitPath {
    pub fn is_slice(&self) -> bool {
        self.unit.ends_with(".slice")
    }

    /// Parse `cgroups_path` (the spec's linux.cgroupsPath) for container `id`.
    pub fn parse(cgroups_path: &str, id: &str) -> io::Result<UnitPath> {
        let bad = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "linux.cgroupsPath {cgroups_path:?}: {why} (the systemd driver wants \
                     \"slice:prefix:name\", e.g. \"system.slice:coracle:{id}\")"
                ),
            )
        };
        let owned;
        let (slice, prefix, name) = if cgroups_path.is_empty() {
            owned = format!("system.slice:coracle:{id}");
            split3(&owned).expect("three parts")
        } else {
            split3(cgroups_path).ok_or_else(|| bad("not three ':'-separated parts"))?
        };
        let slice = if slice.is_empty() {
            "system.slice"
        } else {
            slice
        };
        let slice_dir = expand_slice(slice).map_err(|why| bad(&why))?;
        if name.is_empty() {
            return Err(bad("the name part is empty"));
        }
        let (unit, cgroup) = if name.ends_with(".slice") {
            let dir = expand_slice(name).map_err(|why| bad(&why))?;
            let parent = dir.rsplit_once('/').map_or("", |(p, _)| p);
            if parent != slice_dir.trim_end_matches('/') {
                return Err(bad(&format!(
                    "the slice unit {name:?} belongs below {:?}, not in {slice:?}",
                    if parent.is_empty() { "/" } else { parent }
                )));
            }
            (name.to_string(), dir)
        } else {
            if prefix.is_empty() {
                return Err(bad("the prefix part is empty"));
            }
            let unit = format!("{prefix}-{name}.scope");
            let base = slice_dir.trim_end_matches('/');
            let cgroup = format!("{base}/{unit}");
            (unit, cgroup)
        };
        check_unit_name(&unit).map_err(|why| bad(&why))?;
        Ok(UnitPath {
            slice: slice.to_string(),
            unit,
            cgroup,
        })
    }
}

fn split3(s: &str) -> Option<(&str, &str, &str)> {
    let mut it = s.split(':');
    let parts = (it.next()?, it.next()?, it.next()?);
    it.next().is_none().then_some(parts)
}

/// A slice name → its cgroup path: `a-b-c.slice` → `/a.slice/a-b.slice/a-b-c.slice`; `-.slice`
/// → `/`. The error says what is wrong with the name.
pub fn expand_slice(slice: &str) -> Result<String, String> {
    let Some(base) = slice.strip_suffix(".slice") else {
        return Err(format!("{slice:?} is not a slice name (*.slice)"));
    };
    if base == "-" {
        return Ok("/".to_string());
    }
    if base.is_empty() || base.contains('/') {
        return Err(format!("{slice:?} is not a valid slice name"));
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in base.split('-') {
        if part.is_empty() {
            return Err(format!(
                "{slice:?} is not a valid slice name (empty part between '-')"
            ));
        }
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push('/');
        path.push_str(&prefix);
        path.push_str(".slice");
    }
    check_unit_name(slice)?;
    Ok(path)
}

/// systemd's unit name characters and length.
fn check_unit_name(unit: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c);
    if unit.len() > 255 {
        return Err(format!("unit name {unit:?} is longer than 255 bytes"));
    }
    if let Some(c) = unit.chars().find(|&c| !ok(c)) {
        return Err(format!(
            "unit name {unit:?} has {c:?}, which systemd refuses"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: &str) -> UnitPath {
        UnitPath::parse(p, "c1").unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    fn err(p: &str) -> String {
        let e = UnitPath::parse(p, "c1").expect_err(p).to_string();
        assert!(e.starts_with("linux.cgroupsPath "), "{e}");
        assert!(!e.contains('\n'), "{e}");
        e
    }

    #[test]
    fn expansion() {
        assert_eq!(expand_slice("-.slice").unwrap(), "/");
        assert_eq!(expand_slice("system.slice").unwrap(), "/system.slice");
        assert_eq!(
            expand_slice("machine-foo-bar.slice").unwrap(),
            "/machine.slice/machine-foo.slice/machine-foo-bar.slice"
        );
        for bad in [
            "foo",
            ".slice",
            "a--b.slice",
            "-a.slice",
            "a-.slice",
            "a/b.slice",
        ] {
            assert!(expand_slice(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes() {
        let u = parse("system.slice:coracle:c1");
        assert_eq!(u.unit, "coracle-c1.scope");
        assert_eq!(u.cgroup, "/system.slice/coracle-c1.scope");
        assert!(!u.is_slice());
        let u = parse(":docker:abc");
        assert_eq!(u.slice, "system.slice", "empty slice is system.slice");
        assert_eq!(u.cgroup, "/system.slice/docker-abc.scope");
        let u = parse("machine-foo.slice:p:x");
        assert_eq!(u.cgroup, "/machine.slice/machine-foo.slice/p-x.scope");
        let u = parse("-.slice:p:x");
        assert_eq!(u.cgroup, "/p-x.scope");
        assert_eq!(parse("").cgroup, "/system.slice/coracle-c1.scope");
    }

    #[test]
    fn slice_units() {
        let u = parse("system.slice:ignored:system-pod1.slice");
        assert!(u.is_slice());
        assert_eq!(u.unit, "system-pod1.slice");
        assert_eq!(u.cgroup, "/system.slice/system-pod1.slice");
        let u = parse("-.slice::top.slice");
        assert_eq!(u.cgroup, "/top.slice");
        let e = err("system.slice:p:other-x.slice");
        assert!(e.contains("belongs below \"/other.slice\""), "{e}");
    }

    #[test]
    fn bad_values_name_the_field() {
        err("/abs/path");
        err("a:b");
        err("a:b:c:d");
        err("system:p:x");
        err("system.slice:p:");
        err("system.slice::x");
        err("system.slice:p:x y");
        err("a--b.slice:p:x");
        err(&format!("system.slice:p:{}", "x".repeat(250)));
    }
}
