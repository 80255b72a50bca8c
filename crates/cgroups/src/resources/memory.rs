//! `linux.resources.memory`.
//!
//! v1: `memory.limit_in_bytes`, `memory.soft_limit_in_bytes` (reservation), `memory.memsw.limit_in_bytes`
//! (swap: the OCI value is memory+swap, as in v1), `memory.swappiness`, `memory.oom_control`
//! (disableOOMKiller), `memory.kmem.tcp.limit_in_bytes` (kernelTCP). `kernel` is ignored, as runc
//! does: kernels since 5.4 ignore kernel-memory limits.
//! v2: `memory.max`, `memory.low`, `memory.swap.max` = swap − limit (runc's conversion);
//! swappiness, disableOOMKiller and the kernel limits have no v2 file and are ignored, as runc does.
//!
//! A value of 0 means "not set" (as in runc); -1 means unlimited.

use std::io;

use oci_spec::runtime::LinuxMemory;

use super::{invalid, v2_limit, Plan, Step, Target, Write};

const F: &str = "linux.resources.memory";

pub(super) fn plan(m: &LinuxMemory, v2: bool, p: &mut Plan) -> io::Result<()> {
    let limit = m.limit().filter(|&v| v != 0);
    let swap = m.swap().filter(|&v| v != 0);
    let reservation = m.reservation().filter(|&v| v != 0);
    for (name, v) in [
        ("limit", limit),
        ("swap", swap),
        ("reservation", reservation),
    ] {
        if let Some(v) = v {
            if v < -1 {
                return Err(invalid(format!(
                    "{F}.{name}: {v} is not a byte count or -1"
                )));
            }
        }
    }
    if v2 {
        return plan_v2(m, limit, swap, reservation, p);
    }
    let t = Target::V1("memory");
    let lim = |v: i64| {
        Write::new(
            t,
            "memory.limit_in_bytes",
            v.to_string(),
            format!("{F}.limit"),
        )
    };
    let sw = |v: i64| {
        Write::new(
            t,
            "memory.memsw.limit_in_bytes",
            v.to_string(),
            format!("{F}.swap"),
        )
    };
    match (limit, swap) {
        (Some(l), Some(s)) => {
            if s != -1 && l != -1 && s < l {
                return Err(invalid(format!(
                    "{F}.swap: {s} is below {F}.limit {l} (swap is memory+swap)"
                )));
            }
            p.steps.push(Step::Pair(lim(l), sw(s)));
        }
        // Unlimited memory with swap not given: unlimited swap too (else the old memsw limit
        // would still cap memory).
        (Some(-1), None) => p.steps.push(Step::Pair(sw(-1), lim(-1))),
        (Some(l), None) => p.push(lim(l)),
        (None, Some(s)) => p.push(sw(s)),
        (None, None) => {}
    }
    if let Some(r) = reservation {
        p.push(Write::new(
            t,
            "memory.soft_limit_in_bytes",
            r.to_string(),
            format!("{F}.reservation"),
        ));
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(invalid(format!("{F}.swappiness: {s} is above 100")));
        }
        p.push(Write::new(
            t,
            "memory.swappiness",
            s.to_string(),
            format!("{F}.swappiness"),
        ));
    }
    if m.disable_oom_killer() == Some(true) {
        p.push(Write::new(
            t,
            "memory.oom_control",
            "1",
            format!("{F}.disableOOMKiller"),
        ));
    }
    if let Some(k) = m.kernel_tcp().filter(|&v| v != 0) {
        p.push(Write::new(
            t,
            "memory.kmem.tcp.limit_in_bytes",
            k.to_string(),
            format!("{F}.kernelTCP"),
        ));
    }
    Ok(())
}

fn plan_v2(
    _m: &LinuxMemory,
    limit: Option<i64>,
    swap: Option<i64>,
    reservation: Option<i64>,
    p: &mut Plan,
) -> io::Result<()> {
    let t = Target::V2;
    if let Some(s) = swap_v2(limit, swap)? {
        p.push(Write::new(
            t,
            "memory.swap.max",
            v2_limit(s),
            format!("{F}.swap"),
        ));
    }
    if let Some(l) = limit {
        p.push(Write::new(
            t,
            "memory.max",
            v2_limit(l),
            format!("{F}.limit"),
        ));
    }
    if let Some(r) = reservation {
        p.push(Write::new(
            t,
            "memory.low",
            v2_limit(r),
            format!("{F}.reservation"),
        ));
    }
    Ok(())
}

/// The v2 `memory.swap.max` for the OCI (v1-style memory+swap) `swap`: swap − limit; -1 stays
/// unlimited; unlimited memory with no swap given means unlimited swap too.
pub(crate) fn swap_v2(limit: Option<i64>, swap: Option<i64>) -> io::Result<Option<i64>> {
    match (limit, swap) {
        (Some(-1), None) => Ok(Some(-1)),
        (_, None) => Ok(None),
        (_, Some(-1)) => Ok(Some(-1)),
        (None | Some(-1), Some(_)) => Err(invalid(format!(
            "{F}.swap: a swap limit needs {F}.limit too (on cgroup v2 swap is set as swap − limit)"
        ))),
        (Some(l), Some(s)) if s < l => Err(invalid(format!(
            "{F}.swap: {s} is below {F}.limit {l} (swap is memory+swap)"
        ))),
        (Some(l), Some(s)) => Ok(Some(s - l)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{res, writes};
    use super::super::{plan as plan_all, Step, Target};
    use super::*;

    #[test]
    fn v1_files() {
        let p = plan_all(
            &res(
                r#"{"memory":{"limit":33554432,"swap":67108864,"reservation":1000,
                "swappiness":10,"disableOOMKiller":true,"kernel":5,"kernelTCP":4096}}"#,
            ),
            false,
        )
        .unwrap();
        assert!(matches!(p.steps[0], Step::Pair(..)));
        let m = Target::V1("memory");
        assert_eq!(
            writes(&p),
            vec![
                (m, "memory.limit_in_bytes", "33554432".into()),
                (m, "memory.memsw.limit_in_bytes", "67108864".into()),
                (m, "memory.soft_limit_in_bytes", "1000".into()),
                (m, "memory.swappiness", "10".into()),
                (m, "memory.oom_control", "1".into()),
                (m, "memory.kmem.tcp.limit_in_bytes", "4096".into()),
            ]
        );
    }

    #[test]
    fn zero_is_unset_and_unlimited_memory_frees_swap() {
        let p = plan_all(&res(r#"{"memory":{"limit":0,"swap":0}}"#), false).unwrap();
        assert!(p.steps.is_empty());
        let p = plan_all(&res(r#"{"memory":{"limit":-1}}"#), false).unwrap();
        let m = Target::V1("memory");
        assert_eq!(
            writes(&p),
            vec![
                (m, "memory.memsw.limit_in_bytes", "-1".into()),
                (m, "memory.limit_in_bytes", "-1".into()),
            ]
        );
    }

    #[test]
    fn v2_mapping() {
        let p = plan_all(
            &res(
                r#"{"memory":{"limit":100,"swap":300,"reservation":50,"swappiness":10,
                "disableOOMKiller":true}}"#,
            ),
            true,
        )
        .unwrap();
        let v = Target::V2;
        assert_eq!(
            writes(&p),
            vec![
                (v, "memory.swap.max", "200".into()),
                (v, "memory.max", "100".into()),
                (v, "memory.low", "50".into()),
            ]
        );
        let p = plan_all(&res(r#"{"memory":{"limit":-1}}"#), true).unwrap();
        assert_eq!(
            writes(&p),
            vec![
                (v, "memory.swap.max", "max".into()),
                (v, "memory.max", "max".into())
            ]
        );
    }

    #[test]
    fn swap_conversion_and_errors() {
        assert_eq!(swap_v2(Some(10), Some(10)).unwrap(), Some(0));
        assert_eq!(swap_v2(Some(10), Some(-1)).unwrap(), Some(-1));
        assert_eq!(swap_v2(Some(10), None).unwrap(), None);
        assert!(swap_v2(None, Some(10))
            .unwrap_err()
            .to_string()
            .contains("memory.limit"));
        assert!(swap_v2(Some(20), Some(10)).is_err());
        let e = plan_all(&res(r#"{"memory":{"limit":20,"swap":10}}"#), false).unwrap_err();
        assert!(
            e.to_string().starts_with("linux.resources.memory.swap:"),
            "{e}"
        );
        let e = plan_all(&res(r#"{"memory":{"swappiness":101}}"#), false).unwrap_err();
        assert!(e.to_string().contains("swappiness"), "{e}");
        assert!(plan_all(&res(r#"{"memory":{"limit":-2}}"#), false).is_err());
    }
}
