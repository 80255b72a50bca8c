//! `linux.resources.devices`: the rule list every layout shares, and its v1 form.
//!
//! [`rules`] builds the list with runc's semantics: everything is denied first, then the spec's
//! rules apply in order, then the devices every container gets (null, zero, full, random, urandom,
//! tty, ptmx, the pts range, and mknod of any node) are allowed, as runc appends them.
//!
//! - On v1 the list is written line by line to `devices.deny` / `devices.allow` ([`v1_writes`]);
//!   the kernel keeps the resulting allow/deny state.
//! - On v2 and hybrid hosts the same list becomes an eBPF program attached to the container's
//!   cgroup2 directory (`device_filter`). [`V1List`] models what the kernel makes of the v1
//!   writes, so the program can decide exactly what the v1 controller would.

use std::io;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::{invalid, Plan, Target, Write};

/// The device types a rule can name. The values are the kernel's (`DEVCG_DEV_*`, which the eBPF
/// context also uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DevType {
    Block = 1,
    Char = 2,
    /// Every device; in v1 a rule of this type resets the whole list (see [`V1List::apply`]).
    All = 4,
}

/// Access bits, the kernel's `DEVCG_ACC_*` (and `BPF_DEVCG_ACC_*`) values.
pub(crate) const MKNOD: u8 = 1;
pub(crate) const READ: u8 = 2;
pub(crate) const WRITE: u8 = 4;
pub(crate) const RWM: u8 = MKNOD | READ | WRITE;

/// Where a rule comes from: names the spec field in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The deny-all rule put in front of the spec's rules.
    DenyAll,
    /// `linux.resources.devices[i]`.
    Spec(usize),
    /// runc's default devices, appended after the spec's.
    Default,
}

/// One rule of the list: `allow`/deny `access` on devices of `typ` with `major`:`minor` (`None`
/// is the wildcard `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    pub allow: bool,
    pub typ: DevType,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
    pub source: Source,
}

impl Rule {
    /// The devices-cgroup line: "c 1:3 rwm", "a *:* rwm".
    pub fn line(&self) -> String {
        let typ = match self.typ {
            DevType::Block => 'b',
            DevType::Char => 'c',
            DevType::All => 'a',
        };
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_string(), |v| v.to_string());
        let mut access = String::with_capacity(3);
        for (bit, c) in [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')] {
            if self.access & bit != 0 {
                access.push(c);
            }
        }
        format!("{typ} {}:{} {access}", num(self.major), num(self.minor))
    }

    fn field(&self) -> String {
        match self.source {
            Source::DenyAll => "linux.resources.devices".to_string(),
            Source::Spec(i) => format!("linux.resources.devices[{i}]"),
            Source::Default => "linux.resources.devices (default devices)".to_string(),
        }
    }
}

/// The rules runc allows in every container, after the spec's: (type, major, minor, access).
const DEFAULT_ALLOWED: &[(DevType, Option<u32>, Option<u32>, u8)] = &[
    (DevType::Char, None, None, MKNOD),
    (DevType::Block, None, None, MKNOD),
    (DevType::Char, Some(1), Some(3), RWM), // /dev/null
    (DevType::Char, Some(1), Some(8), RWM), // /dev/random
    (DevType::Char, Some(1), Some(7), RWM), // /dev/full
    (DevType::Char, Some(5), Some(0), RWM), // /dev/tty
    (DevType::Char, Some(1), Some(5), RWM), // /dev/zero
    (DevType::Char, Some(1), Some(9), RWM), // /dev/urandom
    (DevType::Char, Some(5), Some(2), RWM), // /dev/ptmx
    (DevType::Char, Some(136), None, RWM),  // /dev/pts/*
];

/// The full rule list for the spec's `devs`, validated: deny-all (unless the spec's first rule
/// already is one), the spec's rules in order, runc's default devices.
pub(crate) fn rules(devs: &[LinuxDeviceCgroup]) -> io::Result<Vec<Rule>> {
    let mut out = Vec::with_capacity(devs.len() + 1 + DEFAULT_ALLOWED.len());
    for (i, d) in devs.iter().enumerate() {
        let field = format!("linux.resources.devices[{i}]");
        let typ = match d.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => DevType::All,
            LinuxDeviceType::B => DevType::Block,
            LinuxDeviceType::C | LinuxDeviceType::U => DevType::Char,
            LinuxDeviceType::P => {
                return Err(invalid(format!(
                    "{field}.type: \"p\" (a FIFO) is not a device the devices cgroup controls"
                )))
            }
        };
        // The kernel reads numbers as u32 and takes ~0 as "*": stay below it.
        let num = |n: Option<i64>, what: &str| -> io::Result<Option<u32>> {
            match n {
                None | Some(-1) => Ok(None),
                Some(v) if (0..i64::from(u32::MAX)).contains(&v) => Ok(Some(v as u32)),
                Some(v) => Err(invalid(format!(
                    "{field}.{what}: {v} is not a device number"
                ))),
            }
        };
        let access_str = d.access().as_deref().unwrap_or("");
        let mut access = 0;
        for c in access_str.chars() {
            access |= match c {
                'r' => READ,
                'w' => WRITE,
                'm' => MKNOD,
                _ => {
                    return Err(invalid(format!(
                        "{field}.access: {access_str:?} is not a combination of r, w and m"
                    )))
                }
            };
        }
        out.push(Rule {
            allow: d.allow(),
            typ,
            major: num(d.major(), "major")?,
            minor: num(d.minor(), "minor")?,
            access: if access == 0 { RWM } else { access },
            source: Source::Spec(i),
        });
    }
    if !matches!(out.first(), Some(r) if !r.allow && r.typ == DevType::All) {
        out.insert(
            0,
            Rule {
                allow: false,
                typ: DevType::All,
                major: None,
                minor: None,
                access: RWM,
                source: Source::DenyAll,
            },
        );
    }
    out.extend(
        DEFAULT_ALLOWED
            .iter()
            .map(|&(typ, major, minor, access)| Rule {
                allow: true,
                typ,
                major,
                minor,
                access,
                source: Source::Default,
            }),
    );
    Ok(out)
}

/// The v1 writes for `rules`: one line each to `devices.allow` or `devices.deny`.
pub(crate) fn v1_writes(rules: &[Rule], p: &mut Plan) {
    let t = Target::V1("devices");
    for r in rules {
        let file = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        p.push(Write::new(t, file, r.line(), r.field()));
    }
}

/// An exception of a [`V1List`]: a block or char device pattern and the access it grants (in a
/// default-deny list) or refuses (in a default-allow list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exception {
    pub typ: DevType,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

/// What the v1 devices controller makes of a sequence of rule writes: a default (allow or deny
/// everything) and a list of exceptions to it, as the kernel keeps them
/// (`security/device_cgroup.c`, for a cgroup whose parent allows everything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct V1List {
    pub default_allow: bool,
    pub exceptions: Vec<Exception>,
}

impl V1List {
    /// The state after writing `rules` to a fresh cgroup (which allows everything).
    pub fn from_rules(rules: &[Rule]) -> V1List {
        let mut list = V1List {
            default_allow: true,
            exceptions: Vec::new(),
        };
        for r in rules {
            list.apply(r);
        }
        list
    }

    /// One write, as the kernel handles it:
    /// - type `a` (whatever its numbers and access) resets the list to allow or deny everything;
    /// - a rule with the default's own verdict removes its access from the exception with exactly
    ///   the same type and numbers (no pattern matching), dropping it when no access is left;
    /// - a rule with the other verdict adds its access to the exception with exactly the same type
    ///   and numbers, or appends a new exception.
    pub fn apply(&mut self, r: &Rule) {
        if r.typ == DevType::All {
            self.default_allow = r.allow;
            self.exceptions.clear();
            return;
        }
        let same = |e: &Exception| e.typ == r.typ && e.major == r.major && e.minor == r.minor;
        if r.allow == self.default_allow {
            for e in self.exceptions.iter_mut().filter(|e| same(e)) {
                e.access &= !r.access;
            }
            self.exceptions.retain(|e| e.access != 0);
        } else if let Some(e) = self.exceptions.iter_mut().find(|e| same(e)) {
            e.access |= r.access;
        } else {
            self.exceptions.push(Exception {
                typ: r.typ,
                major: r.major,
                minor: r.minor,
                access: r.access,
            });
        }
    }

    /// The kernel's verdict on `access` (one or more bits, as one check: an `open` for reading
    /// and writing asks for both) to device `typ` `major`:`minor`. In a default-deny list one
    /// exception must grant all of `access`; in a default-allow list, any exception refusing part
    /// of it denies.
    #[cfg(test)]
    pub fn allows(&self, typ: DevType, major: u32, minor: u32, access: u8) -> bool {
        let mut covering = self.exceptions.iter().filter(|e| {
            e.typ == typ
                && (e.major.is_none() || e.major == Some(major))
                && (e.minor.is_none() || e.minor == Some(minor))
        });
        if self.default_allow {
            !covering.any(|e| e.access & access != 0)
        } else {
            covering.any(|e| access & !e.access == 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::res;
    use super::*;

    fn lines(json: &str) -> Vec<(bool, String)> {
        let r = res(json);
        rules(r.devices().as_deref().unwrap())
            .unwrap()
            .iter()
            .map(|r| (r.allow, r.line()))
            .collect()
    }

    #[test]
    fn runc_order_deny_all_then_rules_then_defaults() {
        let l = lines(
            r#"{"devices":[
            {"allow":false,"access":"rwm"},
            {"allow":true,"type":"c","major":1,"minor":3,"access":"rw"},
            {"allow":false,"type":"b","major":8,"access":"w"},
            {"allow":true,"type":"u","major":10,"minor":200}
        ]}"#,
        );
        assert_eq!(l[0], (false, "a *:* rwm".into()));
        assert_eq!(l[1], (true, "c 1:3 rw".into()));
        assert_eq!(l[2], (false, "b 8:* w".into()));
        assert_eq!(l[3], (true, "c 10:200 rwm".into()));
        assert_eq!(l[4], (true, "c *:* m".into()));
        assert_eq!(l.last().unwrap(), &(true, "c 136:* rwm".into()));
        assert_eq!(l.len(), 4 + DEFAULT_ALLOWED.len());
        // Without a leading deny-all rule, one is added.
        let l = lines(r#"{"devices":[{"allow":true,"type":"c","major":1,"minor":3}]}"#);
        assert_eq!(l[0], (false, "a *:* rwm".into()));
        assert_eq!(l[1], (true, "c 1:3 rwm".into()));
    }

    #[test]
    fn v1_writes_go_to_allow_and_deny() {
        let r = res(r#"{"devices":[{"allow":true,"type":"b","major":8,"minor":0,"access":"r"}]}"#);
        let mut p = Plan::default();
        v1_writes(&rules(r.devices().as_deref().unwrap()).unwrap(), &mut p);
        let w = super::super::tests::writes(&p);
        let d = Target::V1("devices");
        assert_eq!(w[0], (d, "devices.deny", "a *:* rwm".into()));
        assert_eq!(w[1], (d, "devices.allow", "b 8:0 r".into()));
        assert_eq!(w.len(), 2 + DEFAULT_ALLOWED.len());
    }

    #[test]
    fn bad_rules_name_the_field() {
        let bad = |json: &str| rules(res(json).devices().as_deref().unwrap()).unwrap_err();
        let e = bad(r#"{"devices":[{"allow":true,"access":"rx"}]}"#);
        assert!(
            e.to_string()
                .starts_with("linux.resources.devices[0].access"),
            "{e}"
        );
        let e = bad(r#"{"devices":[{"allow":true},{"allow":true,"type":"p"}]}"#);
        assert!(
            e.to_string().starts_with("linux.resources.devices[1].type"),
            "{e}"
        );
        let e = bad(r#"{"devices":[{"allow":true,"major":-7}]}"#);
        assert!(e.to_string().contains("major"), "{e}");
        let e = bad(r#"{"devices":[{"allow":true,"minor":4294967295}]}"#);
        assert!(e.to_string().contains("minor"), "{e}");
    }

    fn rule(allow: bool, typ: DevType, major: Option<u32>, minor: Option<u32>, access: u8) -> Rule {
        Rule {
            allow,
            typ,
            major,
            minor,
            access,
            source: Source::Default,
        }
    }

    #[test]
    fn v1_list_follows_the_kernel() {
        use DevType::*;
        // Deny all, allow c 1:* r and c 1:3 w: an rw open of 1:3 needs one exception with both.
        let l = V1List::from_rules(&[
            rule(false, All, None, None, RWM),
            rule(true, Char, Some(1), None, READ),
            rule(true, Char, Some(1), Some(3), WRITE),
        ]);
        assert!(!l.default_allow);
        assert!(l.allows(Char, 1, 3, READ));
        assert!(l.allows(Char, 1, 3, WRITE));
        assert!(!l.allows(Char, 1, 3, READ | WRITE));
        assert!(!l.allows(Block, 1, 3, READ));
        // A deny in a default-deny list removes access from the exactly matching exception only.
        let mut l = V1List::from_rules(&[
            rule(false, All, None, None, RWM),
            rule(true, Char, Some(1), None, RWM),
            rule(true, Char, Some(1), Some(3), RWM),
        ]);
        l.apply(&rule(false, Char, Some(1), Some(3), WRITE | MKNOD));
        assert_eq!(l.exceptions[1].access, READ);
        assert!(l.allows(Char, 1, 3, WRITE), "c 1:* still grants it");
        l.apply(&rule(false, Char, Some(1), Some(3), READ));
        assert_eq!(l.exceptions.len(), 1);
        // Allow all, deny c 1:3 w: an rw open is refused (partial match), a read is not.
        let l = V1List::from_rules(&[
            rule(true, All, None, None, RWM),
            rule(false, Char, Some(1), Some(3), WRITE),
        ]);
        assert!(!l.allows(Char, 1, 3, READ | WRITE));
        assert!(l.allows(Char, 1, 3, READ));
        assert!(l.allows(Char, 1, 4, WRITE));
        // Type a ignores numbers and access: "deny a 1:3 r" denies everything.
        let l = V1List::from_rules(&[rule(false, All, Some(1), Some(3), READ)]);
        assert!(!l.default_allow && l.exceptions.is_empty());
        // Allows merge into the exact same exception.
        let l = V1List::from_rules(&[
            rule(false, All, None, None, RWM),
            rule(true, Char, Some(1), Some(3), READ),
            rule(true, Char, Some(1), Some(3), WRITE),
        ]);
        assert_eq!(l.exceptions.len(), 1);
        assert!(l.allows(Char, 1, 3, READ | WRITE));
    }
}
