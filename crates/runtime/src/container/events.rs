//! `events`: runc's JSON event lines for a container: `{"type":"stats","id":…,"data":{…}}` with the
//! cgroup's usage statistics, and `{"type":"oom","id":…}` for every OOM kill in its cgroup.
//!
//! The loop sleeps in poll(2) on three things: a pidfd of the init (the container stopped: the
//! stream ends), the cgroup's OOM watch (an eventfd on v1, inotify on v2; see
//! `cgroups::OomWatch`) and the timeout of the next stats tick. OOM events come from the kill
//! counter, compared at every wake-up and once more at the end, so none is missed or doubled.

use super::Runtime;
use crate::state::{self, ContainerDir, Status};
use crate::sys::{fd, process};
use crate::{Context, Error, Result};
use serde_json::{json, Map, Value};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// One `stats` event line for container `id` (runc's `events --stats`).
pub fn events_stats(rt: &Runtime, id: &str) -> Result<String> {
    let (_, cgroup) = open_running(rt, id)?;
    stats_line(id, &cgroup)
}

/// Emit a stats event every `interval` and an oom event per OOM kill, until the container stops
/// (or `emit` fails, e.g. the reader went away).
pub fn events(
    rt: &Runtime,
    id: &str,
    interval: Duration,
    mut emit: impl FnMut(&str) -> Result<()>,
) -> Result<()> {
    let (st, cgroup) = open_running(rt, id)?;
    let pidfd = process::pidfd_open(st.pid)
        .context(|| format!("watching container {id} (pid {})", st.pid))?;
    // The pid may have been reused between the status check and pidfd_open.
    if !state::init_alive(&st) {
        return Err(not_running(id));
    }
    let oom = cgroup
        .oom_watch()
        .context(|| format!("watching container {id} for OOM kills"))?;
    let mut seen = oom.as_ref().map_or(0, |w| w.kills().unwrap_or(0));
    let mut report_ooms = |emit: &mut dyn FnMut(&str) -> Result<()>| -> Result<()> {
        let Some(w) = &oom else { return Ok(()) };
        w.drain();
        let now = w.kills().unwrap_or(seen);
        for _ in seen..now {
            emit(&event_line("oom", id, None))?;
        }
        seen = seen.max(now);
        Ok(())
    };
    let mut next = Instant::now() + interval;
    loop {
        let wait = next.saturating_duration_since(Instant::now());
        let timeout = i32::try_from(wait.as_millis().max(1)).unwrap_or(i32::MAX);
        let mut fds = vec![pidfd.as_fd()];
        let oom_fd = oom.as_ref().map(|w| w.fd());
        fds.extend(oom_fd);
        let ready = fd::poll_readable(&fds, timeout).context(|| "waiting for events")?;
        report_ooms(&mut emit)?;
        if ready.as_ref().is_some_and(|r| r[0] != 0) {
            return Ok(());
        }
        if Instant::now() >= next {
            match stats_line(id, &cgroup) {
                Ok(line) => emit(&line)?,
                // The container may be stopping: the pidfd tells at the next turn.
                Err(e) => eprintln!("coracle-runtime: warning: {e}"),
            }
            next += interval;
            if next < Instant::now() {
                next = Instant::now() + interval;
            }
        }
    }
}

fn not_running(id: &str) -> Error {
    Error::msg(format!("container {id} is not running"))
}

fn open_running(rt: &Runtime, id: &str) -> Result<(state::State, cgroups::Cgroup)> {
    let dir = ContainerDir::peek(&rt.root, id)?;
    let st = dir.load()?;
    if state::status(&dir, &st) == Status::Stopped {
        return Err(not_running(id));
    }
    let cgroup = st.cgroup().ok_or_else(|| st.no_cgroup("events"))?;
    Ok((st, cgroup))
}

fn stats_line(id: &str, cgroup: &cgroups::Cgroup) -> Result<String> {
    let s = cgroup
        .stats()
        .context(|| format!("reading the statistics of container {id}"))?;
    Ok(event_line("stats", id, Some(&stats_json(&s))))
}

/// `{"type":…,"id":…,"data":…}` in runc's key order (serde_json's maps would sort the keys).
fn event_line(kind: &str, id: &str, data: Option<&Value>) -> String {
    let mut line = format!(
        "{{\"type\":{},\"id\":{}",
        Value::from(kind),
        Value::from(id)
    );
    if let Some(d) = data {
        line.push_str(&format!(",\"data\":{d}"));
    }
    line.push('}');
    line
}

/// `cgroups::Stats` in runc's field names; zero values of runc's `omitempty` fields are left out,
/// as Go's encoder does.
pub fn stats_json(s: &cgroups::Stats) -> Value {
    fn put(m: &mut Map<String, Value>, key: &str, v: u64) {
        if v != 0 {
            m.insert(key.into(), v.into());
        }
    }
    let mut usage = Map::new();
    put(&mut usage, "total", s.cpu.usage_total);
    if !s.cpu.percpu.is_empty() {
        usage.insert("percpu".into(), s.cpu.percpu.clone().into());
    }
    usage.insert("kernel".into(), s.cpu.usage_kernel.into());
    usage.insert("user".into(), s.cpu.usage_user.into());
    let mut throttling = Map::new();
    put(&mut throttling, "periods", s.cpu.periods);
    put(&mut throttling, "throttledPeriods", s.cpu.throttled_periods);
    put(&mut throttling, "throttledTime", s.cpu.throttled_time);
    let entry = |e: &cgroups::MemoryEntry| {
        let mut m = Map::new();
        m.insert("limit".into(), e.limit.into());
        put(&mut m, "usage", e.usage);
        put(&mut m, "max", e.max);
        m.insert("failcnt".into(), e.failcnt.into());
        Value::Object(m)
    };
    let mut memory = Map::new();
    put(&mut memory, "cache", s.memory.cache);
    memory.insert("usage".into(), entry(&s.memory.usage));
    memory.insert("swap".into(), entry(&s.memory.swap));
    let none = cgroups::MemoryEntry::default();
    memory.insert("kernel".into(), entry(&none));
    memory.insert("kernelTCP".into(), entry(&none));
    if !s.memory.raw.is_empty() {
        let raw: Map<String, Value> = s
            .memory
            .raw
            .iter()
            .map(|(k, v)| (k.clone(), (*v).into()))
            .collect();
        memory.insert("raw".into(), raw.into());
    }
    let mut pids = Map::new();
    put(&mut pids, "current", s.pids.current);
    put(&mut pids, "limit", s.pids.limit);
    json!({
        "cpu": {"usage": usage, "throttling": throttling},
        "memory": memory,
        "pids": pids,
        "blkio": {},
        "hugetlb": {},
    })
}

/// A duration as Go writes it (runc's `--interval`): a sequence of numbers with units `ns`,
/// `us` (or `µs`), `ms`, `s`, `m`, `h`, e.g. `5s`, `100ms`, `1m30s`, `1.5s`. It must be positive.
pub fn parse_interval(s: &str) -> std::result::Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration like 5s, 100ms or 1m30s");
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let value: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * scale;
        rest = &rest[u..];
    }
    if total <= 0.0 || !total.is_finite() || total > 1e9 {
        return Err(format!("{s:?}: the interval must be positive"));
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_interval("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_interval("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_interval("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_interval("250us"), Ok(Duration::from_micros(250)));
        for bad in ["", "5", "s", "5x", "0s", "-1s", "1..5s"] {
            assert!(parse_interval(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn envelope_in_runcs_order() {
        assert_eq!(
            event_line("oom", "a\"b", None),
            r#"{"type":"oom","id":"a\"b"}"#
        );
        assert_eq!(
            event_line("stats", "x", Some(&json!({"pids": {}}))),
            r#"{"type":"stats","id":"x","data":{"pids":{}}}"#
        );
    }

    #[test]
    fn runc_field_names() {
        let mut s = cgroups::Stats::default();
        s.cpu.usage_total = 10;
        s.cpu.percpu = vec![4, 6];
        s.cpu.throttled_periods = 2;
        s.memory.usage.usage = 4096;
        s.memory.usage.limit = 1 << 25;
        s.memory.raw = vec![("rss".into(), 4096)];
        s.pids.current = 3;
        let v = stats_json(&s);
        assert_eq!(v["cpu"]["usage"]["total"], 10);
        assert_eq!(v["cpu"]["usage"]["percpu"], json!([4, 6]));
        assert_eq!(v["cpu"]["usage"]["kernel"], 0);
        assert_eq!(v["cpu"]["throttling"]["throttledPeriods"], 2);
        assert!(v["cpu"]["throttling"].get("periods").is_none());
        assert_eq!(v["memory"]["usage"]["usage"], 4096);
        assert_eq!(v["memory"]["usage"]["limit"], 1 << 25);
        assert_eq!(v["memory"]["usage"]["failcnt"], 0);
        assert!(v["memory"]["usage"].get("max").is_none());
        assert_eq!(v["memory"]["raw"]["rss"], 4096);
        assert_eq!(v["pids"]["current"], 3);
        assert!(v["pids"].get("limit").is_none());
    }
}
