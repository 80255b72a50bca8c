//! `linux.resources.cpu`: the cpu controller (shares, quota/period, burst, idle, realtime) and the
//! cpuset controller (cpus, mems).
//!
//! v1: `cpu.shares`, `cpu.cfs_period_us` + `cpu.cfs_quota_us`, `cpu.cfs_burst_us`, `cpu.idle`,
//! `cpu.rt_period_us` + `cpu.rt_runtime_us`, `cpuset.cpus`, `cpuset.mems`.
//! v2: `cpu.weight` (from shares, runc's formula), `cpu.max` ("quota period", "max" when unlimited),
//! `cpu.max.burst`, `cpu.idle`, `cpuset.cpus`, `cpuset.mems`; realtime has no v2 file: an error.
//!
//! 0 means "not set" for shares, quota, period and the realtime values (as in runc); a quota of -1
//! is unlimited.

use std::io;

use oci_spec::runtime::LinuxCpu;

use super::{invalid, Plan, Step, Target, Write};

const F: &str = "linux.resources.cpu";

pub(super) fn plan_cpuset(c: &LinuxCpu, v2: bool, p: &mut Plan) {
    let t = if v2 { Target::V2 } else { Target::V1("cpuset") };
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        p.push(Write::new(t, "cpuset.cpus", cpus, format!("{F}.cpus")));
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        p.push(Write::new(t, "cpuset.mems", mems, format!("{F}.mems")));
    }
}

/// cpu.shares (v1, 2..262144) → cpu.weight (v2, 1..10000), as runc and crun map it.
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// The v2 cpu.max line: "quota period", with "max" for no quota; None when neither is set.
pub(crate) fn cpu_max(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    let quota = quota.filter(|&q| q != 0);
    let period = period.filter(|&p| p != 0);
    if quota.is_none() && period.is_none() {
        return None;
    }
    let mut s = match quota {
        Some(q) if q > 0 => q.to_string(),
        _ => "max".to_string(),
    };
    if let Some(p) = period {
        s.push(' ');
        s.push_str(&p.to_string());
    }
    Some(s)
}

pub(super) fn plan(c: &LinuxCpu, v2: bool, p: &mut Plan) -> io::Result<()> {
    let shares = c.shares().filter(|&s| s != 0);
    let quota = c.quota().filter(|&q| q != 0);
    let period = c.period().filter(|&v| v != 0);
    if let Some(q) = quota {
        if q < -1 {
            return Err(invalid(format!(
                "{F}.quota: {q} is neither a time in µs nor -1"
            )));
        }
    }
    let rt_runtime = c.realtime_runtime().filter(|&v| v != 0);
    let rt_period = c.realtime_period().filter(|&v| v != 0);
    if v2 {
        let t = Target::V2;
        if let Some(s) = shares {
            p.push(Write::new(
                t,
                "cpu.weight",
                shares_to_weight(s).to_string(),
                format!("{F}.shares"),
            ));
        }
        if let Some(max) = cpu_max(quota, period) {
            let field = if quota.is_some() { "quota" } else { "period" };
            p.push(Write::new(t, "cpu.max", max, format!("{F}.{field}")));
        }
        if let Some(b) = c.burst() {
            p.push(Write::new(
                t,
                "cpu.max.burst",
                b.to_string(),
                format!("{F}.burst"),
            ));
        }
        if let Some(i) = c.idle() {
            p.push(Write::new(
                t,
                "cpu.idle",
                i.to_string(),
                format!("{F}.idle"),
            ));
        }
        if rt_runtime.is_some() || rt_period.is_some() {
            return Err(invalid(format!(
                "{F}.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime CPU limits"
            )));
        }
        return Ok(());
    }
    let t = Target::V1("cpu");
    if let Some(s) = shares {
        p.push(Write::new(
            t,
            "cpu.shares",
            s.to_string(),
            format!("{F}.shares"),
        ));
    }
    let per = |v: u64| Write::new(t, "cpu.cfs_period_us", v.to_string(), format!("{F}.period"));
    let quo = |v: i64| Write::new(t, "cpu.cfs_quota_us", v.to_string(), format!("{F}.quota"));
    match (period, quota) {
        (Some(pe), Some(q)) => p.steps.push(Step::Pair(per(pe), quo(q))),
        (Some(pe), None) => p.push(per(pe)),
        (None, Some(q)) => p.push(quo(q)),
        (None, None) => {}
    }
    if let Some(b) = c.burst() {
        p.push(Write::new(
            t,
            "cpu.cfs_burst_us",
            b.to_string(),
            format!("{F}.burst"),
        ));
    }
    if let Some(i) = c.idle() {
        p.push(Write::new(
            t,
            "cpu.idle",
            i.to_string(),
            format!("{F}.idle"),
        ));
    }
    let rp = |v: u64| {
        Write::new(
            t,
            "cpu.rt_period_us",
            v.to_string(),
            format!("{F}.realtimePeriod"),
        )
    };
    let rr = |v: i64| {
        Write::new(
            t,
            "cpu.rt_runtime_us",
            v.to_string(),
            format!("{F}.realtimeRuntime"),
        )
    };
    match (rt_period, rt_runtime) {
        (Some(pe), Some(r)) => p.steps.push(Step::Pair(rp(pe), rr(r))),
        (Some(pe), None) => p.push(rp(pe)),
        (None, Some(r)) => p.push(rr(r)),
        (None, None) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{res, writes};
    use super::super::{plan as plan_all, Target};
    use super::*;

    #[test]
    fn shares_map_to_weight_like_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1), 1);
        assert_eq!(shares_to_weight(1 << 30), 10_000);
    }

    #[test]
    fn cpu_max_lines() {
        assert_eq!(
            cpu_max(Some(20000), Some(100000)).as_deref(),
            Some("20000 100000")
        );
        assert_eq!(
            cpu_max(Some(-1), Some(100000)).as_deref(),
            Some("max 100000")
        );
        assert_eq!(cpu_max(None, Some(50000)).as_deref(), Some("max 50000"));
        assert_eq!(cpu_max(Some(5000), None).as_deref(), Some("5000"));
        assert_eq!(cpu_max(Some(0), Some(0)), None);
    }

    #[test]
    fn v1_and_v2_files() {
        let r = res(
            r#"{"cpu":{"shares":512,"quota":20000,"period":100000,"burst":1000,
            "idle":0,"cpus":"0","mems":"0"}}"#,
        );
        let c = Target::V1("cpu");
        let s = Target::V1("cpuset");
        assert_eq!(
            writes(&plan_all(&r, false).unwrap()),
            vec![
                (s, "cpuset.cpus", "0".into()),
                (s, "cpuset.mems", "0".into()),
                (c, "cpu.shares", "512".into()),
                (c, "cpu.cfs_period_us", "100000".into()),
                (c, "cpu.cfs_quota_us", "20000".into()),
                (c, "cpu.cfs_burst_us", "1000".into()),
                (c, "cpu.idle", "0".into()),
            ]
        );
        let v = Target::V2;
        assert_eq!(
            writes(&plan_all(&r, true).unwrap()),
            vec![
                (v, "cpuset.cpus", "0".into()),
                (v, "cpuset.mems", "0".into()),
                (v, "cpu.weight", "20".into()),
                (v, "cpu.max", "20000 100000".into()),
                (v, "cpu.max.burst", "1000".into()),
                (v, "cpu.idle", "0".into()),
            ]
        );
    }

    #[test]
    fn realtime() {
        let r = res(r#"{"cpu":{"realtimeRuntime":950000,"realtimePeriod":1000000}}"#);
        let c = Target::V1("cpu");
        assert_eq!(
            writes(&plan_all(&r, false).unwrap()),
            vec![
                (c, "cpu.rt_period_us", "1000000".into()),
                (c, "cpu.rt_runtime_us", "950000".into()),
            ]
        );
        let e = plan_all(&r, true).unwrap_err();
        assert!(e.to_string().contains("realtime"), "{e}");
        assert!(plan_all(&res(r#"{"cpu":{"quota":-5}}"#), false).is_err());
    }
}
