//! `update`: change the resource limits of a live container (runc's `update`).
//!
//! The new resources are a `LinuxResources` JSON document (a file, or stdin as containerd sends
//! it) and/or runc's flags; a flag overrides the document's field (runc ignores the flags when a
//! document is given; nobody passes both, and overriding is the least surprising reading). Values
//! are parsed as runc parses them: sizes as plain bytes or with binary suffixes (`32m`, `1.5GiB`,
//! `-1` for unlimited), cpu values as integers, cpusets as lists of ranges.

use super::Runtime;
use crate::state::{self, ContainerDir, Status};
use crate::{Context, Error, Result};
use oci_spec::runtime::LinuxResources;
use serde_json::{Map, Value};

/// runc's `update` flags, as typed (each parsed by [`update_resources`], whose errors name the flag).
#[derive(Debug, Clone, Default)]
pub struct UpdateFlags {
    pub memory: Option<String>,
    pub memory_reservation: Option<String>,
    pub memory_swap: Option<String>,
    pub cpu_share: Option<String>,
    pub cpu_quota: Option<String>,
    pub cpu_period: Option<String>,
    pub cpu_burst: Option<String>,
    pub cpu_rt_period: Option<String>,
    pub cpu_rt_runtime: Option<String>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<String>,
    pub blkio_weight: Option<String>,
}

/// The resources to apply: `document` (the JSON text of `--resources`, named `source` in errors)
/// with every given flag set over it.
pub fn update_resources(
    document: Option<(&[u8], &str)>,
    flags: &UpdateFlags,
) -> Result<LinuxResources> {
    let mut doc = match document {
        Some((text, source)) => serde_json::from_slice::<Value>(text)
            .map_err(|e| Error::msg(format!("{source}: invalid JSON: {e}")))?,
        None => Value::Object(Map::new()),
    };
    if !doc.is_object() {
        return Err(Error::msg(format!(
            "{}: expected a JSON object (linux.resources)",
            document.map_or("--resources", |d| d.1)
        )));
    }
    let mut set = |section: &str, key: &str, value: Value| {
        let obj = doc.as_object_mut().expect("checked above");
        let sec = obj
            .entry(section)
            .or_insert_with(|| Value::Object(Map::new()));
        if !sec.is_object() {
            *sec = Value::Object(Map::new());
        }
        sec.as_object_mut()
            .expect("just made an object")
            .insert(key.into(), value);
    };
    let f = flags;
    let memory = [
        ("memory", "limit", &f.memory),
        ("memory-reservation", "reservation", &f.memory_reservation),
        ("memory-swap", "swap", &f.memory_swap),
    ];
    for (flag, key, v) in memory {
        if let Some(v) = v {
            set("memory", key, flag_value(flag, parse_size(v))?.into());
        }
    }
    // runc: an unlimited memory limit without a swap setting makes swap unlimited too.
    if f.memory.as_deref().is_some_and(|m| m.trim() == "-1") && f.memory_swap.is_none() {
        set("memory", "swap", (-1).into());
    }
    let unsigned = [
        ("cpu-share", "shares", &f.cpu_share),
        ("cpu-period", "period", &f.cpu_period),
        ("cpu-burst", "burst", &f.cpu_burst),
        ("cpu-rt-period", "realtimePeriod", &f.cpu_rt_period),
    ];
    for (flag, key, v) in unsigned {
        if let Some(v) = v {
            set("cpu", key, flag_value(flag, parse_u64(v))?.into());
        }
    }
    let signed = [
        ("cpu-quota", "quota", &f.cpu_quota),
        ("cpu-rt-runtime", "realtimeRuntime", &f.cpu_rt_runtime),
    ];
    for (flag, key, v) in signed {
        if let Some(v) = v {
            set("cpu", key, flag_value(flag, parse_i64(v))?.into());
        }
    }
    for (flag, key, v) in [
        ("cpuset-cpus", "cpus", &f.cpuset_cpus),
        ("cpuset-mems", "mems", &f.cpuset_mems),
    ] {
        if let Some(v) = v {
            flag_value(flag, parse_cpuset(v))?;
            set("cpu", key, v.trim().into());
        }
    }
    if let Some(v) = &f.pids_limit {
        set(
            "pids",
            "limit",
            flag_value("pids-limit", parse_i64(v))?.into(),
        );
    }
    if let Some(v) = &f.blkio_weight {
        let w = flag_value("blkio-weight", parse_blkio_weight(v))?;
        set("blockIO", "weight", w.into());
    }
    let source = document.map_or("--resources", |d| d.1);
    let text = doc.to_string();
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let (field, problem) = crate::spec::describe_parse_error(&e);
        Error::msg(format!("{source}: {field}: {problem}"))
    })
}

fn flag_value<T>(flag: &str, r: std::result::Result<T, String>) -> Result<T> {
    r.map_err(|why| Error::msg(format!("invalid value for --{flag}: {why}")))
}

/// Apply `resources` to container `id`'s cgroup. A stopped container has none to change.
pub fn update(rt: &Runtime, id: &str, resources: &LinuxResources) -> Result<()> {
    let dir = ContainerDir::open(&rt.root, id)?;
    let st = dir.load()?;
    if state::status(&dir, &st) == Status::Stopped {
        return Err(Error::msg(format!(
            "cannot update container {id}: it is stopped"
        )));
    }
    st.cgroup()
        .ok_or_else(|| st.no_cgroup("update"))?
        .update(resources)
        .context(|| format!("updating container {id}"))
}

/// A size as runc reads it (docker's `RAMInBytes`): `-1` (unlimited), or a number, optionally
/// with a fraction, then an optional space and a binary unit `k m g t p` (any case), optionally
/// followed by `i` and/or `b`: `1048576`, `32m`, `32MiB`, `1.5g`, `512 KB`.
pub fn parse_size(s: &str) -> std::result::Result<i64, String> {
    let t = s.trim();
    if t == "-1" {
        return Ok(-1);
    }
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(end);
    let bad = || format!("{s:?} is not a size (bytes, or a number with k, m, g, t or p)");
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') || num.matches('.').count() > 1
    {
        return Err(bad());
    }
    let unit = unit.strip_prefix(' ').unwrap_or(unit).to_ascii_lowercase();
    let mut rest = unit.as_str();
    let shift = match rest.chars().next() {
        Some('k') => 10,
        Some('m') => 20,
        Some('g') => 30,
        Some('t') => 40,
        Some('p') => 50,
        _ => 0,
    };
    if shift > 0 {
        rest = &rest[1..];
        rest = rest.strip_prefix('i').unwrap_or(rest);
    }
    rest = rest.strip_prefix('b').unwrap_or(rest);
    if !rest.is_empty() {
        return Err(bad());
    }
    let value = if num.contains('.') {
        let f: f64 = num.parse().map_err(|_| bad())?;
        f * (1u64 << shift) as f64
    } else {
        let n: u64 = num.parse().map_err(|_| bad())?;
        return n
            .checked_mul(1u64 << shift)
            .and_then(|v| i64::try_from(v).ok())
            .ok_or_else(|| format!("{s:?} is too large"));
    };
    if value >= i64::MAX as f64 {
        return Err(format!("{s:?} is too large"));
    }
    Ok(value as i64)
}

/// An unsigned integer (cpu shares, periods, burst).
pub fn parse_u64(s: &str) -> std::result::Result<u64, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a non-negative integer"))
}

/// A signed integer (cpu quota, -1 for none; realtime runtime; pids limit, -1 or 0 for none).
pub fn parse_i64(s: &str) -> std::result::Result<i64, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{s:?} is not an integer"))
}

/// The blkio weight: 10 to 1000 (runc's range), or 0 for "leave it".
pub fn parse_blkio_weight(s: &str) -> std::result::Result<u16, String> {
    match s.trim().parse::<u16>() {
        Ok(w) if w == 0 || (10..=1000).contains(&w) => Ok(w),
        _ => Err(format!("{s:?} is not a weight from 10 to 1000")),
    }
}

/// A cpuset list as the kernel takes it: `0`, `0-3`, `0,2,4-7`.
pub fn parse_cpuset(s: &str) -> std::result::Result<(), String> {
    let bad = || format!("{s:?} is not a list of CPUs or nodes like 0-3,5");
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    for part in t.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if a > b {
            return Err(bad());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_size("-1"), Ok(-1));
        assert_eq!(parse_size("32m"), Ok(32 << 20));
        assert_eq!(parse_size("32M"), Ok(32 << 20));
        assert_eq!(parse_size("32MiB"), Ok(32 << 20));
        assert_eq!(parse_size("32mb"), Ok(32 << 20));
        assert_eq!(parse_size("512 k"), Ok(512 << 10));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size("2t"), Ok(2 << 40));
        assert_eq!(parse_size("7b"), Ok(7));
        for bad in [
            "",
            "m",
            "-2",
            "32x",
            "1.2.3m",
            ".5m",
            "32mm",
            "3 2m",
            "99999999p",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn cpu_values() {
        assert_eq!(parse_u64("1024"), Ok(1024));
        assert!(parse_u64("-1").is_err());
        assert!(parse_u64("1k").is_err());
        assert_eq!(parse_i64("-1"), Ok(-1));
        assert_eq!(parse_i64("20000"), Ok(20000));
        assert!(parse_i64("0.2").is_err());
        assert_eq!(parse_blkio_weight("500"), Ok(500));
        assert_eq!(parse_blkio_weight("0"), Ok(0));
        assert!(parse_blkio_weight("5").is_err());
        assert!(parse_blkio_weight("1001").is_err());
        for good in ["0", "0-1", "0,2,4-7", " 1 "] {
            assert!(parse_cpuset(good).is_ok(), "{good:?} refused");
        }
        for bad in ["", "a", "3-1", "0,", "0--1", "-1"] {
            assert!(parse_cpuset(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn flags_over_the_document() {
        let doc = br#"{"memory":{"limit":1000,"reservation":500},"pids":{"limit":5}}"#;
        let flags = UpdateFlags {
            memory: Some("32m".into()),
            cpu_quota: Some("20000".into()),
            cpu_period: Some("100000".into()),
            cpuset_cpus: Some("0".into()),
            ..Default::default()
        };
        let r = update_resources(Some((doc, "stdin")), &flags).unwrap();
        let m = r.memory().as_ref().unwrap();
        assert_eq!(m.limit(), Some(32 << 20));
        assert_eq!(m.reservation(), Some(500));
        assert_eq!(m.swap(), None);
        let c = r.cpu().as_ref().unwrap();
        assert_eq!(c.quota(), Some(20000));
        assert_eq!(c.period(), Some(100_000));
        assert_eq!(c.cpus().as_deref(), Some("0"));
        assert_eq!(r.pids().as_ref().unwrap().limit(), 5);
    }

    #[test]
    fn unlimited_memory_unlimits_swap() {
        let flags = UpdateFlags {
            memory: Some("-1".into()),
            ..Default::default()
        };
        let r = update_resources(None, &flags).unwrap();
        assert_eq!(r.memory().as_ref().unwrap().swap(), Some(-1));
    }

    #[test]
    fn errors_name_the_flag_or_field() {
        let flags = UpdateFlags {
            pids_limit: Some("ten".into()),
            ..Default::default()
        };
        let e = update_resources(None, &flags).unwrap_err().to_string();
        assert!(e.contains("--pids-limit"), "{e}");
        let e = update_resources(
            Some((br#"{"memory":{"limit":"x"}}"#, "r.json")),
            &UpdateFlags::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("r.json: memory.limit:"), "{e}");
        let e = update_resources(Some((b"[1]", "-")), &UpdateFlags::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected a JSON object"), "{e}");
    }
}
