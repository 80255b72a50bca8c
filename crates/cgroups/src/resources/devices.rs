//! `linux.resources.devices` on v1: the `devices.allow` / `devices.deny` lists, with runc's
//! semantics: everything is denied first (`a` to devices.deny), then the spec's rules are applied in
//! order, then the devices every container gets (null, zero, full, random, urandom, tty, ptmx, the
//! pts range, and mknod of any node) are allowed, as runc appends them.
//!
//! cgroup v2 controls devices with an eBPF program attached to the cgroup; that needs the bpf(2)
//! system call, which this crate does not make yet: on v2 the rules are not enforced (the runtime
//! still creates only the devices the spec lists).

use std::io;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::{invalid, Plan, Target, Write};

/// The rules runc allows in every container, after the spec's: (type, major, minor, access).
const DEFAULT_ALLOWED: &[(char, Option<i64>, Option<i64>, &str)] = &[
    ('c', None, None, "m"),
    ('b', None, None, "m"),
    ('c', Some(1), Some(3), "rwm"), // /dev/null
    ('c', Some(1), Some(8), "rwm"), // /dev/random
    ('c', Some(1), Some(7), "rwm"), // /dev/full
    ('c', Some(5), Some(0), "rwm"), // /dev/tty
    ('c', Some(1), Some(5), "rwm"), // /dev/zero
    ('c', Some(1), Some(9), "rwm"), // /dev/urandom
    ('c', Some(5), Some(2), "rwm"), // /dev/ptmx
    ('c', Some(136), None, "rwm"),  // /dev/pts/*
];

/// The devices-cgroup line for one rule: "c 1:3 rwm", "a *:* rwm".
pub(crate) fn rule_line(
    i: usize,
    typ: char,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> io::Result<String> {
    let field = format!("linux.resources.devices[{i}]");
    let num = |n: Option<i64>, what: &str| -> io::Result<String> {
        match n {
            None | Some(-1) => Ok("*".to_string()),
            Some(v) if v >= 0 => Ok(v.to_string()),
            Some(v) => Err(invalid(format!(
                "{field}.{what}: {v} is not a device number"
            ))),
        }
    };
    let access = if access.is_empty() { "rwm" } else { access };
    if !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err(invalid(format!(
            "{field}.access: {access:?} is not a combination of r, w and m"
        )));
    }
    Ok(format!(
        "{typ} {}:{} {access}",
        num(major, "major")?,
        num(minor, "minor")?
    ))
}

pub(super) fn plan(devs: &[LinuxDeviceCgroup], v2: bool, p: &mut Plan) -> io::Result<()> {
    // Validate on every layout, write only on v1.
    let mut lines = Vec::with_capacity(devs.len());
    for (i, d) in devs.iter().enumerate() {
        let typ = match d.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => 'a',
            LinuxDeviceType::B => 'b',
            LinuxDeviceType::C | LinuxDeviceType::U => 'c',
            LinuxDeviceType::P => {
                return Err(invalid(format!(
                    "linux.resources.devices[{i}].type: \"p\" (a FIFO) is not a device the \
                     devices cgroup controls"
                )))
            }
        };
        let line = rule_line(
            i,
            typ,
            d.major(),
            d.minor(),
            d.access().as_deref().unwrap_or(""),
        )?;
        lines.push((d.allow(), line));
    }
    if v2 {
        return Ok(());
    }
    let t = Target::V1("devices");
    let field = "linux.resources.devices";
    // Deny everything first, unless the spec's first rule already does.
    if !matches!(lines.first(), Some((false, l)) if l.starts_with("a *:* ")) {
        p.push(Write::new(t, "devices.deny", "a", field));
    }
    for (i, (allow, line)) in lines.into_iter().enumerate() {
        let file = if allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        p.push(Write::new(t, file, line, format!("{field}[{i}]")));
    }
    for &(typ, major, minor, access) in DEFAULT_ALLOWED {
        let line = rule_line(0, typ, major, minor, access)?;
        p.push(Write::new(
            t,
            "devices.allow",
            line,
            format!("{field} (default devices)"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{res, writes};
    use super::super::{plan as plan_all, Target};
    use super::*;

    #[test]
    fn runc_order_deny_all_then_rules_then_defaults() {
        let r = res(r#"{"devices":[
            {"allow":false,"access":"rwm"},
            {"allow":true,"type":"c","major":1,"minor":3,"access":"rw"},
            {"allow":false,"type":"b","major":8,"access":"w"},
            {"allow":true,"type":"u","major":10,"minor":200}
        ]}"#);
        let p = plan_all(&r, false).unwrap();
        let w = writes(&p);
        let d = Target::V1("devices");
        assert_eq!(w[0], (d, "devices.deny", "a *:* rwm".into()));
        assert_eq!(w[1], (d, "devices.allow", "c 1:3 rw".into()));
        assert_eq!(w[2], (d, "devices.deny", "b 8:* w".into()));
        assert_eq!(w[3], (d, "devices.allow", "c 10:200 rwm".into()));
        assert_eq!(w[4], (d, "devices.allow", "c *:* m".into()));
        assert_eq!(
            w.last().unwrap(),
            &(d, "devices.allow", "c 136:* rwm".into())
        );
        assert_eq!(w.len(), 4 + DEFAULT_ALLOWED.len());
        // Without a leading deny-all rule, one is added.
        let p = plan_all(
            &res(r#"{"devices":[{"allow":true,"type":"c","major":1,"minor":3}]}"#),
            false,
        )
        .unwrap();
        let w = writes(&p);
        assert_eq!(w[0], (d, "devices.deny", "a".into()));
        assert_eq!(w[1], (d, "devices.allow", "c 1:3 rwm".into()));
        // v2: validated, nothing written.
        assert!(plan_all(&r, true).unwrap().steps.is_empty());
    }

    #[test]
    fn bad_rules_name_the_field() {
        let e = plan_all(&res(r#"{"devices":[{"allow":true,"access":"rx"}]}"#), false).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("linux.resources.devices[0].access"),
            "{e}"
        );
        let e = plan_all(
            &res(r#"{"devices":[{"allow":true},{"allow":true,"type":"p"}]}"#),
            true,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("linux.resources.devices[1].type"),
            "{e}"
        );
        let e = plan_all(&res(r#"{"devices":[{"allow":true,"major":-7}]}"#), false).unwrap_err();
        assert!(e.to_string().contains("major"), "{e}");
    }
}
