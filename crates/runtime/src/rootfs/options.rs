//! Mount option strings (`"ro"`, `"rbind"`, `"rslave"`, `"rro"`, `"mode=755"`) turned into what the
//! syscalls take: MS_* flags for mount(2), propagation changes applied afterwards, recursive attributes
//! for mount_setattr(2), and the leftover options as filesystem data. Pure logic, no syscalls.

use crate::sys::mount::{
    MountAttr, MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOEXEC,
    MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSYMFOLLOW, MOUNT_ATTR_RDONLY, MOUNT_ATTR_RELATIME,
    MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME,
};
use libc::c_ulong;

/// The flags a bind remount (MS_REMOUNT|MS_BIND) can change: the per-mount ones. The others (sync,
/// dirsync, mand, iversion, lazytime) belong to the superblock and mean nothing for a bind mount.
pub const PER_MOUNT_FLAGS: c_ulong = libc::MS_RDONLY
    | libc::MS_NOSUID
    | libc::MS_NODEV
    | libc::MS_NOEXEC
    | libc::MS_NOATIME
    | libc::MS_NODIRATIME
    | libc::MS_RELATIME
    | libc::MS_STRICTATIME
    | libc::MS_NOSYMFOLLOW;

/// What one spec mount's `options` ask for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// MS_* flags for mount(2): MS_RDONLY, MS_NOSUID, …, MS_BIND, MS_REC, MS_REMOUNT.
    pub flags: c_ulong,
    /// Flags the options explicitly turned off (`rw`, `suid`, `exec`, …).
    pub cleared: c_ulong,
    /// Propagation changes applied after the mount, in the order given (e.g. `MS_SLAVE | MS_REC`).
    pub propagation: Vec<c_ulong>,
    /// Recursive attributes (`rro`, `rnosuid`, …) for mount_setattr(AT_RECURSIVE) after the mount.
    pub recursive: MountAttr,
    /// Everything else, comma-joined, passed to the filesystem as mount data.
    pub data: String,
}

impl MountOptions {
    pub fn is_bind(&self) -> bool {
        self.flags & libc::MS_BIND != 0
    }

    pub fn is_recursive_bind(&self) -> bool {
        self.flags & (libc::MS_BIND | libc::MS_REC) == libc::MS_BIND | libc::MS_REC
    }

    pub fn is_readonly(&self) -> bool {
        self.flags & libc::MS_RDONLY != 0
    }

    /// Does a bind mount need its second step (a remount, or an attribute change) to apply flags?
    pub fn bind_needs_flags(&self) -> bool {
        self.flags & PER_MOUNT_FLAGS != 0
    }

    pub fn has_recursive_attrs(&self) -> bool {
        self.recursive != MountAttr::default()
    }

    /// The per-mount flags of a bind as mount_setattr attributes: what is set gets set, what was
    /// explicitly cleared gets cleared, and everything else is left as the source had it.
    pub fn bind_attrs(&self) -> MountAttr {
        let mut attr = MountAttr::default();
        for (ms, ma) in [
            (libc::MS_RDONLY, MOUNT_ATTR_RDONLY),
            (libc::MS_NOSUID, MOUNT_ATTR_NOSUID),
            (libc::MS_NODEV, MOUNT_ATTR_NODEV),
            (libc::MS_NOEXEC, MOUNT_ATTR_NOEXEC),
            (libc::MS_NODIRATIME, MOUNT_ATTR_NODIRATIME),
            (libc::MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW),
        ] {
            if self.flags & ms != 0 {
                attr.attr_set |= ma;
            } else if self.cleared & ms != 0 {
                attr.attr_clr |= ma;
            }
        }
        let atime = if self.flags & libc::MS_NOATIME != 0 {
            Some(MOUNT_ATTR_NOATIME)
        } else if self.flags & libc::MS_STRICTATIME != 0 {
            Some(MOUNT_ATTR_STRICTATIME)
        } else if self.flags & libc::MS_RELATIME != 0 {
            Some(MOUNT_ATTR_RELATIME)
        } else {
            None
        };
        if let Some(a) = atime {
            attr.attr_clr |= MOUNT_ATTR__ATIME;
            attr.attr_set |= a;
        }
        attr
    }
}

/// A flag option: `true` sets the flag, `false` clears it.
fn flag_option(opt: &str) -> Option<(bool, c_ulong)> {
    Some(match opt {
        "defaults" => (true, 0),
        "ro" => (true, libc::MS_RDONLY),
        "rw" => (false, libc::MS_RDONLY),
        "nosuid" => (true, libc::MS_NOSUID),
        "suid" => (false, libc::MS_NOSUID),
        "nodev" => (true, libc::MS_NODEV),
        "dev" => (false, libc::MS_NODEV),
        "noexec" => (true, libc::MS_NOEXEC),
        "exec" => (false, libc::MS_NOEXEC),
        "sync" => (true, libc::MS_SYNCHRONOUS),
        "async" => (false, libc::MS_SYNCHRONOUS),
        "dirsync" => (true, libc::MS_DIRSYNC),
        "remount" => (true, libc::MS_REMOUNT),
        "mand" => (true, libc::MS_MANDLOCK),
        "nomand" => (false, libc::MS_MANDLOCK),
        "noatime" => (true, libc::MS_NOATIME),
        "atime" => (false, libc::MS_NOATIME),
        "nodiratime" => (true, libc::MS_NODIRATIME),
        "diratime" => (false, libc::MS_NODIRATIME),
        "relatime" => (true, libc::MS_RELATIME),
        "norelatime" => (false, libc::MS_RELATIME),
        "strictatime" => (true, libc::MS_STRICTATIME),
        "nostrictatime" => (false, libc::MS_STRICTATIME),
        "iversion" => (true, libc::MS_I_VERSION),
        "noiversion" => (false, libc::MS_I_VERSION),
        "lazytime" => (true, libc::MS_LAZYTIME),
        "nolazytime" => (false, libc::MS_LAZYTIME),
        "nosymfollow" => (true, libc::MS_NOSYMFOLLOW),
        "symfollow" => (false, libc::MS_NOSYMFOLLOW),
        "silent" => (true, libc::MS_SILENT),
        "loud" => (false, libc::MS_SILENT),
        "bind" => (true, libc::MS_BIND),
        "rbind" => (true, libc::MS_BIND | libc::MS_REC),
        _ => return None,
    })
}

/// A propagation option, as the flags mount(2) takes to change it.
pub fn propagation_option(opt: &str) -> Option<c_ulong> {
    Some(match opt {
        "private" => libc::MS_PRIVATE,
        "rprivate" => libc::MS_PRIVATE | libc::MS_REC,
        "shared" => libc::MS_SHARED,
        "rshared" => libc::MS_SHARED | libc::MS_REC,
        "slave" => libc::MS_SLAVE,
        "rslave" => libc::MS_SLAVE | libc::MS_REC,
        "unbindable" => libc::MS_UNBINDABLE,
        "runbindable" => libc::MS_UNBINDABLE | libc::MS_REC,
        _ => return None,
    })
}

/// What a recursive attribute option does to a mount_attr.
enum RecAttr {
    Set(u64),
    Clear(u64),
    Atime(u64),
}

fn recursive_option(opt: &str) -> Option<RecAttr> {
    use RecAttr::*;
    Some(match opt {
        "rro" => Set(MOUNT_ATTR_RDONLY),
        "rrw" => Clear(MOUNT_ATTR_RDONLY),
        "rnosuid" => Set(MOUNT_ATTR_NOSUID),
        "rsuid" => Clear(MOUNT_ATTR_NOSUID),
        "rnodev" => Set(MOUNT_ATTR_NODEV),
        "rdev" => Clear(MOUNT_ATTR_NODEV),
        "rnoexec" => Set(MOUNT_ATTR_NOEXEC),
        "rexec" => Clear(MOUNT_ATTR_NOEXEC),
        "rnodiratime" => Set(MOUNT_ATTR_NODIRATIME),
        "rdiratime" => Clear(MOUNT_ATTR_NODIRATIME),
        "rnosymfollow" => Set(MOUNT_ATTR_NOSYMFOLLOW),
        "rsymfollow" => Clear(MOUNT_ATTR_NOSYMFOLLOW),
        "rnoatime" => Atime(MOUNT_ATTR_NOATIME),
        "rstrictatime" | "rnorelatime" => Atime(MOUNT_ATTR_STRICTATIME),
        "rrelatime" | "ratime" => Atime(MOUNT_ATTR_RELATIME),
        _ => return None,
    })
}

/// Options coracle accepts and deliberately ignores: runc's `tmpcopyup` extension (copying the
/// image's content into a tmpfs) is not implemented.
fn ignored_option(opt: &str) -> bool {
    matches!(opt, "tmpcopyup" | "notmpcopyup")
}

/// Parse a spec mount's options. Later options override earlier ones, as with mount(8).
/// Errors name the offending option.
pub fn parse(options: &[String]) -> Result<MountOptions, String> {
    let mut out = MountOptions::default();
    let mut data: Vec<&str> = Vec::new();
    for opt in options {
        let opt = opt.as_str();
        if let Some((set, flag)) = flag_option(opt) {
            if set {
                out.flags |= flag;
                out.cleared &= !flag;
            } else {
                out.flags &= !flag;
                out.cleared |= flag;
            }
        } else if let Some(p) = propagation_option(opt) {
            out.propagation.push(p);
        } else if let Some(r) = recursive_option(opt) {
            let a = &mut out.recursive;
            match r {
                RecAttr::Set(f) => {
                    a.attr_set |= f;
                    a.attr_clr &= !f;
                }
                RecAttr::Clear(f) => {
                    a.attr_clr |= f;
                    a.attr_set &= !f;
                }
                RecAttr::Atime(v) => {
                    a.attr_clr |= MOUNT_ATTR__ATIME;
                    a.attr_set = (a.attr_set & !MOUNT_ATTR__ATIME) | v;
                }
            }
        } else if matches!(opt, "idmap" | "ridmap") {
            return Err(format!(
                "option {opt:?}: id-mapped mounts are not supported"
            ));
        } else if ignored_option(opt) || opt.is_empty() {
        } else {
            data.push(opt);
        }
    }
    out.data = data.join(",");
    Ok(out)
}

/// `linux.rootfsPropagation` as mount(2) flags; empty or absent means runc's default, rslave.
pub fn root_propagation(value: Option<&str>) -> Result<c_ulong, String> {
    match value {
        None | Some("") => Ok(libc::MS_SLAVE | libc::MS_REC),
        Some(v) => propagation_option(v).ok_or_else(|| {
            format!(
                "{v:?} is not a propagation mode (private, rprivate, slave, rslave, shared, \
                 rshared, unbindable, runbindable)"
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(opts: &[&str]) -> MountOptions {
        parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn flags_and_data() {
        let o = p(&["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert_eq!(o.flags, libc::MS_NOSUID | libc::MS_STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        assert!(o.propagation.is_empty());
        assert!(!o.is_bind());

        let o = p(&[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ]);
        assert_eq!(o.flags, libc::MS_NOSUID | libc::MS_NOEXEC);
        assert_eq!(o.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    }

    #[test]
    fn later_options_win() {
        let o = p(&["ro", "rw"]);
        assert_eq!(o.flags, 0);
        assert_eq!(o.cleared, libc::MS_RDONLY);
        let o = p(&["rw", "ro"]);
        assert_eq!(o.flags, libc::MS_RDONLY);
        assert_eq!(o.cleared, 0);
        let o = p(&["nodev", "dev", "exec", "noexec", "suid", "async", "sync"]);
        assert_eq!(o.flags, libc::MS_NOEXEC | libc::MS_SYNCHRONOUS);
    }

    #[test]
    fn every_flag_option() {
        let o = p(&[
            "dirsync",
            "remount",
            "mand",
            "noatime",
            "nodiratime",
            "relatime",
            "iversion",
            "nosymfollow",
        ]);
        assert_eq!(
            o.flags,
            libc::MS_DIRSYNC
                | libc::MS_REMOUNT
                | libc::MS_MANDLOCK
                | libc::MS_NOATIME
                | libc::MS_NODIRATIME
                | libc::MS_RELATIME
                | libc::MS_I_VERSION
                | libc::MS_NOSYMFOLLOW
        );
        let o = p(&[
            "iversion",
            "noiversion",
            "relatime",
            "norelatime",
            "atime",
            "diratime",
        ]);
        assert_eq!(o.flags, 0);
        assert_eq!(o.data, "");
        let o = p(&["defaults", "tmpcopyup"]);
        assert_eq!(o, MountOptions::default());
    }

    #[test]
    fn bind_and_propagation() {
        let o = p(&["rbind", "ro", "rprivate", "unbindable"]);
        assert!(o.is_bind() && o.is_recursive_bind() && o.is_readonly());
        assert!(o.bind_needs_flags());
        assert_eq!(
            o.propagation,
            vec![libc::MS_PRIVATE | libc::MS_REC, libc::MS_UNBINDABLE]
        );
        let o = p(&[
            "bind",
            "shared",
            "rslave",
            "slave",
            "rshared",
            "private",
            "runbindable",
        ]);
        assert!(o.is_bind() && !o.is_recursive_bind());
        assert!(!o.bind_needs_flags());
        assert_eq!(o.propagation.len(), 6);
        assert_eq!(o.propagation[1], libc::MS_SLAVE | libc::MS_REC);
        // Superblock flags alone need no remount of a bind.
        assert!(!p(&["bind", "sync", "mand"]).bind_needs_flags());
    }

    #[test]
    fn bind_attrs_only_touch_what_is_asked() {
        let a = p(&["bind", "ro", "nosuid", "exec"]).bind_attrs();
        assert_eq!(a.attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID);
        assert_eq!(a.attr_clr, MOUNT_ATTR_NOEXEC);
        let a = p(&["rbind", "noatime"]).bind_attrs();
        assert_eq!(a.attr_set, MOUNT_ATTR_NOATIME);
        assert_eq!(a.attr_clr, MOUNT_ATTR__ATIME);
    }

    #[test]
    fn recursive_attributes() {
        let o = p(&["rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnoatime"]);
        assert_eq!(
            o.recursive.attr_set,
            MOUNT_ATTR_RDONLY
                | MOUNT_ATTR_NOSUID
                | MOUNT_ATTR_NODEV
                | MOUNT_ATTR_NOEXEC
                | MOUNT_ATTR_NOATIME
        );
        assert_eq!(o.recursive.attr_clr, MOUNT_ATTR__ATIME);
        assert!(o.has_recursive_attrs());
        assert_eq!(o.flags, libc::MS_BIND | libc::MS_REC);
        let o = p(&["rro", "rrw", "rnoatime", "rstrictatime"]);
        assert_eq!(o.recursive.attr_set, MOUNT_ATTR_STRICTATIME);
        assert_eq!(o.recursive.attr_clr, MOUNT_ATTR_RDONLY | MOUNT_ATTR__ATIME);
        assert!(!p(&["ro"]).has_recursive_attrs());
    }

    #[test]
    fn idmap_is_refused() {
        let err = parse(&["bind".into(), "idmap".into()]).unwrap_err();
        assert!(err.contains("idmap"), "{err}");
    }

    #[test]
    fn rootfs_propagation() {
        assert_eq!(root_propagation(None), Ok(libc::MS_SLAVE | libc::MS_REC));
        assert_eq!(
            root_propagation(Some("")),
            Ok(libc::MS_SLAVE | libc::MS_REC)
        );
        assert_eq!(root_propagation(Some("private")), Ok(libc::MS_PRIVATE));
        assert_eq!(
            root_propagation(Some("rshared")),
            Ok(libc::MS_SHARED | libc::MS_REC)
        );
        assert!(root_propagation(Some("bogus"))
            .unwrap_err()
            .contains("bogus"));
    }
}
