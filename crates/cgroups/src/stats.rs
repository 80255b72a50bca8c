//! Usage statistics for runc's `events --stats`: memory, cpu and pids, from the v1 controllers or
//! the unified hierarchy. A controller the cgroup lacks leaves its numbers at zero.

use std::io;
use std::path::Path;

use crate::fsutil::read;

/// One memory counter set, as runc reports it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemoryEntry {
    /// Bytes in use now.
    pub usage: u64,
    /// Highest usage seen (0 where the kernel does not keep it).
    pub max: u64,
    /// Times the limit was hit (v1).
    pub failcnt: u64,
    /// The limit in bytes (`u64::MAX` or the kernel's huge value when unlimited).
    pub limit: u64,
}

/// Memory statistics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemoryStats {
    /// Page cache bytes.
    pub cache: u64,
    pub usage: MemoryEntry,
    /// Memory+swap on v1; swap plus memory on v2 (the same meaning).
    pub swap: MemoryEntry,
    /// Processes killed by the OOM killer in this cgroup so far (watch it for OOM events).
    pub oom_kills: u64,
    /// Every line of memory.stat.
    pub raw: Vec<(String, u64)>,
}

/// CPU statistics; times in nanoseconds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CpuStats {
    pub usage_total: u64,
    pub usage_user: u64,
    pub usage_kernel: u64,
    /// Per-CPU total usage (v1 cpuacct only).
    pub percpu: Vec<u64>,
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time: u64,
}

/// Pids statistics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PidsStats {
    pub current: u64,
    /// 0 when unlimited (as runc reports it).
    pub limit: u64,
}

/// A cgroup's statistics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    pub cpu: CpuStats,
    pub memory: MemoryStats,
    pub pids: PidsStats,
}

/// Read `dir/file`; a missing file (controller or kernel feature absent) is None.
fn opt(dir: &Path, file: &str) -> io::Result<Option<String>> {
    match read(&dir.join(file)) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A number, with "max" as `u64::MAX`.
fn num(s: &str) -> u64 {
    let s = s.trim();
    if s == "max" {
        u64::MAX
    } else {
        s.parse().unwrap_or(0)
    }
}

fn opt_num(dir: &Path, file: &str) -> io::Result<u64> {
    Ok(opt(dir, file)?.map_or(0, |s| num(&s)))
}

/// "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control).
pub(crate) fn keyed(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

fn get(kv: &[(String, u64)], key: &str) -> u64 {
    kv.iter().find(|(k, _)| k == key).map_or(0, |(_, v)| *v)
}

/// USER_HZ ticks (cpuacct.stat) to nanoseconds; USER_HZ is 100 on Linux.
const NS_PER_TICK: u64 = 10_000_000;

pub(crate) fn memory_v1(dir: &Path, out: &mut MemoryStats) -> io::Result<()> {
    let entry = |prefix: &str| -> io::Result<MemoryEntry> {
        Ok(MemoryEntry {
            usage: opt_num(dir, &format!("{prefix}.usage_in_bytes"))?,
            max: opt_num(dir, &format!("{prefix}.max_usage_in_bytes"))?,
            failcnt: opt_num(dir, &format!("{prefix}.failcnt"))?,
            limit: opt_num(dir, &format!("{prefix}.limit_in_bytes"))?,
        })
    };
    out.usage = entry("memory")?;
    out.swap = entry("memory.memsw")?;
    if let Some(s) = opt(dir, "memory.stat")? {
        out.raw = keyed(&s);
        out.cache = get(&out.raw, "total_cache").max(get(&out.raw, "cache"));
    }
    if let Some(s) = opt(dir, "memory.oom_control")? {
        out.oom_kills = get(&keyed(&s), "oom_kill");
    }
    Ok(())
}

pub(crate) fn memory_v2(dir: &Path, out: &mut MemoryStats) -> io::Result<()> {
    out.usage = MemoryEntry {
        usage: opt_num(dir, "memory.current")?,
        max: opt_num(dir, "memory.peak")?,
        failcnt: 0,
        limit: opt(dir, "memory.max")?.map_or(u64::MAX, |s| num(&s)),
    };
    let swap_current = opt_num(dir, "memory.swap.current")?;
    let swap_max = opt(dir, "memory.swap.max")?.map_or(u64::MAX, |s| num(&s));
    out.swap = MemoryEntry {
        usage: swap_current.saturating_add(out.usage.usage),
        max: 0,
        failcnt: 0,
        limit: swap_max.saturating_add(out.usage.limit),
    };
    if let Some(s) = opt(dir, "memory.stat")? {
        out.raw = keyed(&s);
        out.cache = get(&out.raw, "file");
    }
    if let Some(s) = opt(dir, "memory.events")? {
        out.oom_kills = get(&keyed(&s), "oom_kill");
    }
    Ok(())
}

pub(crate) fn cpuacct_v1(dir: &Path, out: &mut CpuStats) -> io::Result<()> {
    out.usage_total = opt_num(dir, "cpuacct.usage")?;
    if let Some(s) = opt(dir, "cpuacct.usage_percpu")? {
        out.percpu = s.split_whitespace().map(num).collect();
    }
    if let Some(s) = opt(dir, "cpuacct.stat")? {
        let kv = keyed(&s);
        out.usage_user = get(&kv, "user") * NS_PER_TICK;
        out.usage_kernel = get(&kv, "system") * NS_PER_TICK;
    }
    Ok(())
}

/// cpu.stat: v1 throttling counters (ns) or v2 usage and throttling (µs).
pub(crate) fn cpu_stat(dir: &Path, v2: bool, out: &mut CpuStats) -> io::Result<()> {
    let Some(s) = opt(dir, "cpu.stat")? else {
        return Ok(());
    };
    let kv = keyed(&s);
    out.periods = get(&kv, "nr_periods");
    out.throttled_periods = get(&kv, "nr_throttled");
    if v2 {
        out.usage_total = get(&kv, "usage_usec") * 1000;
        out.usage_user = get(&kv, "user_usec") * 1000;
        out.usage_kernel = get(&kv, "system_usec") * 1000;
        out.throttled_time = get(&kv, "throttled_usec") * 1000;
    } else {
        out.throttled_time = get(&kv, "throttled_time");
    }
    Ok(())
}

pub(crate) fn pids(dir: &Path, out: &mut PidsStats) -> io::Result<()> {
    out.current = opt_num(dir, "pids.current")?;
    out.limit = match opt_num(dir, "pids.max")? {
        u64::MAX => 0,
        n => n,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing() {
        assert_eq!(num("max\n"), u64::MAX);
        assert_eq!(num("42"), 42);
        let kv = keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
        assert_eq!(get(&kv, "oom_kill"), 3);
        assert_eq!(get(&kv, "nope"), 0);
    }
}
