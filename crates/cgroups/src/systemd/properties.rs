//! The unit properties StartTransientUnit gets: the unit itself (as runc sends them) and the
//! resource limits systemd knows, so that systemd's own view of the unit agrees with the cgroup
//! files (a `daemon-reload` re-applies systemd's view). Every spec limit is still written to the
//! cgroup files afterwards by the resources code: these properties are not the enforcement.

use std::io;

use oci_spec::runtime::LinuxResources;

use super::dbus::Value;
use super::path::UnitPath;
use crate::resources::{cpu, memory};

pub type Property = (&'static str, Value);

/// systemd's "infinity" for the u64 limits.
const INFINITY: u64 = u64::MAX;

/// The unit's own properties: a scope gets its slice, the init's pid and delegation; a slice unit
/// only wants its parent (the init is then moved in by writing cgroup.procs).
pub fn unit(path: &UnitPath, id: &str, pid: u32, v2: bool) -> Vec<Property> {
    let mut p: Vec<Property> = vec![("Description", Value::Str(format!("coracle container {id}")))];
    if path.is_slice() {
        p.push(("Wants", Value::Strs(vec![path.slice.clone()])));
    } else {
        p.push(("Slice", Value::Str(path.slice.clone())));
        p.push(("Delegate", Value::Bool(true)));
        p.push(("PIDs", Value::U32s(vec![pid])));
    }
    p.push(("DefaultDependencies", Value::Bool(false)));
    p.push(("MemoryAccounting", Value::Bool(true)));
    p.push(("CPUAccounting", Value::Bool(true)));
    p.push(("TasksAccounting", Value::Bool(true)));
    if v2 {
        p.push(("IOAccounting", Value::Bool(true)));
    }
    p
}

/// The resource properties for `r` (cgroup v2 names when `v2`, else the v1 ones systemd has).
pub fn resources(r: &LinuxResources, v2: bool) -> io::Result<Vec<Property>> {
    let mut p = Vec::new();
    let limit = |v: i64| if v < 0 { INFINITY } else { v as u64 };
    if let Some(m) = r.memory() {
        if let Some(l) = m.limit() {
            p.push((
                if v2 { "MemoryMax" } else { "MemoryLimit" },
                Value::U64(limit(l)),
            ));
        }
        if v2 {
            if let Some(low) = m.reservation() {
                p.push(("MemoryLow", Value::U64(limit(low))));
            }
            if let Some(swap) = memory::swap_v2(m.limit(), m.swap())? {
                p.push(("MemorySwapMax", Value::U64(limit(swap))));
            }
        }
    }
    // No pids limit in the spec means none at all: not systemd's DefaultTasksMax (15% of the
    // kernel's pid_max), which would be a limit the config never asked for.
    let tasks = r.pids().map(|p| p.limit()).filter(|&l| l > 0);
    p.push(("TasksMax", Value::U64(tasks.map_or(INFINITY, |l| l as u64))));
    if let Some(c) = r.cpu() {
        if let Some(shares) = c.shares().filter(|&s| s != 0) {
            p.push(if v2 {
                ("CPUWeight", Value::U64(cpu::shares_to_weight(shares)))
            } else {
                ("CPUShares", Value::U64(shares))
            });
        }
        let period = c.period().filter(|&v| v != 0).unwrap_or(100_000);
        match c.quota().filter(|&q| q != 0) {
            Some(q) if q > 0 => {
                p.push(("CPUQuotaPerSecUSec", Value::U64(quota_per_sec(q, period))));
                if v2 {
                    p.push(("CPUQuotaPeriodUSec", Value::U64(period)));
                }
            }
            Some(_) => p.push(("CPUQuotaPerSecUSec", Value::U64(INFINITY))),
            None => {}
        }
        if v2 {
            let field = "linux.resources.cpu";
            if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
                let mask = cpu_mask(cpus).map_err(|e| bad(&format!("{field}.cpus"), cpus, &e))?;
                p.push(("AllowedCPUs", Value::Bytes(mask)));
            }
            if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
                let mask = cpu_mask(mems).map_err(|e| bad(&format!("{field}.mems"), mems, &e))?;
                p.push(("AllowedMemoryNodes", Value::Bytes(mask)));
            }
        }
    }
    Ok(p)
}

fn bad(field: &str, value: &str, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{field}: {value:?}: {why}"),
    )
}

/// systemd takes the quota as CPU time per second, in steps of 10 ms (1% of a CPU): rounded up,
/// as runc does, so the unit never allows less than the spec.
fn quota_per_sec(quota: i64, period: u64) -> u64 {
    let per_sec = (quota as u64).saturating_mul(1_000_000) / period.max(1);
    per_sec.div_ceil(10_000) * 10_000
}

/// A cpu list ("0-3,6") → systemd's bitmask bytes (bit n of byte n/8 for cpu n).
fn cpu_mask(list: &str) -> Result<Vec<u8>, String> {
    let mut mask = Vec::new();
    for part in list.split(',').map(str::trim) {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let num = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| format!("{part:?} is not a number or range"))
        };
        let (lo, hi) = (num(lo)?, num(hi)?);
        if lo > hi || hi >= 8192 {
            return Err(format!("{part:?} is not a valid range"));
        }
        for n in lo..=hi {
            if mask.len() <= n / 8 {
                mask.resize(n / 8 + 1, 0);
            }
            mask[n / 8] |= 1 << (n % 8);
        }
    }
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::tests::res;

    fn get<'a>(p: &'a [Property], name: &str) -> Option<&'a Value> {
        p.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    #[test]
    fn scope_and_slice_units() {
        let scope = UnitPath::parse("system.slice:coracle:x", "x").unwrap();
        let p = unit(&scope, "x", 42, true);
        assert_eq!(get(&p, "PIDs"), Some(&Value::U32s(vec![42])));
        assert_eq!(get(&p, "Delegate"), Some(&Value::Bool(true)));
        assert_eq!(get(&p, "Slice"), Some(&Value::Str("system.slice".into())));
        let slice = UnitPath::parse("system.slice::system-x.slice", "x").unwrap();
        let p = unit(&slice, "x", 42, true);
        assert_eq!(get(&p, "PIDs"), None, "systemd refuses PIDs on slices");
        assert_eq!(
            get(&p, "Wants"),
            Some(&Value::Strs(vec!["system.slice".into()]))
        );
    }

    #[test]
    fn v2_limits() {
        let r = res(
            r#"{"memory":{"limit":33554432,"swap":67108864,"reservation":1024},
            "pids":{"limit":10},
            "cpu":{"shares":1024,"quota":20000,"period":100000,"cpus":"0-2,9","mems":"0"}}"#,
        );
        let p = resources(&r, true).unwrap();
        assert_eq!(get(&p, "MemoryMax"), Some(&Value::U64(33554432)));
        assert_eq!(get(&p, "MemorySwapMax"), Some(&Value::U64(33554432)));
        assert_eq!(get(&p, "MemoryLow"), Some(&Value::U64(1024)));
        assert_eq!(get(&p, "TasksMax"), Some(&Value::U64(10)));
        assert_eq!(get(&p, "CPUWeight"), Some(&Value::U64(39)));
        assert_eq!(get(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(200_000)));
        assert_eq!(get(&p, "CPUQuotaPeriodUSec"), Some(&Value::U64(100_000)));
        assert_eq!(
            get(&p, "AllowedCPUs"),
            Some(&Value::Bytes(vec![0b0000_0111, 0b0000_0010]))
        );
        assert_eq!(get(&p, "AllowedMemoryNodes"), Some(&Value::Bytes(vec![1])));
    }

    #[test]
    fn unlimited_and_v1_names() {
        let r =
            res(r#"{"memory":{"limit":-1},"pids":{"limit":-1},"cpu":{"quota":-1,"shares":512}}"#);
        let p = resources(&r, false).unwrap();
        assert_eq!(get(&p, "MemoryLimit"), Some(&Value::U64(u64::MAX)));
        assert_eq!(get(&p, "TasksMax"), Some(&Value::U64(u64::MAX)));
        assert_eq!(get(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(u64::MAX)));
        assert_eq!(get(&p, "CPUShares"), Some(&Value::U64(512)));
        assert_eq!(get(&p, "MemoryMax"), None);
        let none = resources(&LinuxResources::default(), true).unwrap();
        assert_eq!(
            none,
            vec![("TasksMax", Value::U64(u64::MAX))],
            "only TasksMax"
        );
    }

    #[test]
    fn quota_rounds_up_to_ten_ms() {
        assert_eq!(quota_per_sec(20_000, 100_000), 200_000);
        assert_eq!(quota_per_sec(1, 100_000), 10_000);
        assert_eq!(quota_per_sec(150_000, 1_000_000), 150_000);
    }

    #[test]
    fn bad_cpu_lists_name_the_field() {
        let r = res(r#"{"cpu":{"cpus":"0-x"}}"#);
        let e = resources(&r, true).unwrap_err().to_string();
        assert!(e.starts_with("linux.resources.cpu.cpus: "), "{e}");
    }
}
