//! Log size limits: Docker's json-file options, `--log-opt max-size=10m --log-opt max-file=3`.
//!
//! `max-size` is read as Docker reads it (decimal units: `100k` = 100 000 bytes; `Ki`/`Mi`/…
//! are binary); `-1` means unlimited. `max-file` counts every file kept, `ctr.log` included.
//! Without either (flag or config file), a log is capped at 10m in 3 files: Docker's json-file
//! keeps everything by default, but on a device a chatty container would fill the disk, which
//! costs more than old log lines (Docker's own `local` driver caps too, at 20m x 5).

use crate::container::{Error, Result};

/// The default of `max-size` (and the config's `log_max_size`).
pub const DEFAULT_MAX_SIZE: u64 = 10_000_000;
/// The default of `max-file` (and the config's `log_max_files`).
pub const DEFAULT_MAX_FILE: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one file before a rotation; None: unlimited (never rotated).
    pub max_size: Option<u64>,
    /// Files kept in all (the current one and max_file - 1 rotated ones).
    pub max_file: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_size: Some(DEFAULT_MAX_SIZE),
            max_file: DEFAULT_MAX_FILE,
        }
    }
}

impl Limits {
    /// `--log-opt` values in order (a later value of a key wins) over the defaults.
    pub fn from_opts(opts: &[String]) -> Result<Limits> {
        let mut l = Limits::default();
        for o in opts {
            let bad = |why: String| Error::Invalid(format!("--log-opt {o:?}: {why}"));
            match o.split_once('=') {
                Some(("max-size", v)) => l.max_size = parse_size(v).map_err(bad)?,
                Some(("max-file", v)) => l.max_file = parse_max_file(v).map_err(bad)?,
                Some((k, _)) => {
                    return Err(bad(format!(
                        "unknown option {k:?} (expected max-size or max-file)"
                    )))
                }
                None => return Err(bad("expected KEY=VALUE (max-size=10m, max-file=3)".into())),
            }
        }
        Ok(l)
    }
}

/// `--log-opt` values over defaults (the config's): one entry per key, the flag's when given,
/// defaults first. Entries without `=` are kept for `from_opts` to refuse.
pub fn merge(defaults: &[String], flags: &[String]) -> Vec<String> {
    let key = |o: &String| o.split_once('=').map(|(k, _)| k.to_string());
    let mut out: Vec<String> = defaults
        .iter()
        .filter(|d| !flags.iter().any(|f| key(f).is_some() && key(f) == key(d)))
        .cloned()
        .collect();
    for f in flags {
        // The last flag of a key wins: drop an earlier one.
        if let Some(k) = key(f) {
            out.retain(|o| key(o).as_deref() != Some(k.as_str()));
        }
        out.push(f.clone());
    }
    out
}

/// `10m`, `1.5g`, `512k`, `100000`, `64Mi` -> bytes; `-1` -> None (unlimited).
pub fn parse_size(s: &str) -> std::result::Result<Option<u64>, String> {
    let t = s.trim();
    if t == "-1" {
        return Ok(None);
    }
    let bad = || {
        format!("size {s:?}: expected a positive number of bytes with an optional k, m, g, t (or -1 for unlimited)")
    };
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(end);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let (letter, binary) = match unit.strip_suffix('i') {
        Some(l) if !l.is_empty() => (l, true),
        _ => (unit, false),
    };
    let power = match letter {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        _ => return Err(bad()),
    };
    let base: f64 = if binary { 1024.0 } else { 1000.0 };
    let bytes = (n * base.powi(power)).round();
    if !(1.0..=u64::MAX as f64).contains(&bytes) {
        return Err(bad());
    }
    Ok(Some(bytes as u64))
}

/// `max-file`: at least 1 (1: the log is started afresh when full).
pub fn parse_max_file(s: &str) -> std::result::Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "max-file {s:?}: expected a whole number, at least 1"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100k"), Ok(Some(100_000)));
        assert_eq!(parse_size("10m"), Ok(Some(10_000_000)));
        assert_eq!(parse_size("10MB"), Ok(Some(10_000_000)));
        assert_eq!(parse_size("1.5g"), Ok(Some(1_500_000_000)));
        assert_eq!(parse_size("64Mi"), Ok(Some(64 << 20)));
        assert_eq!(parse_size("512"), Ok(Some(512)));
        assert_eq!(parse_size("-1"), Ok(None));
        for bad in ["", "0", "k", "10x", "-5", "1..2m", "ten"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_max_file("3"), Ok(3));
        assert!(parse_max_file("0").is_err());
        assert!(parse_max_file("x").is_err());
    }

    #[test]
    fn options() {
        let o = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let l = Limits::from_opts(&o(&["max-size=100k", "max-file=2"])).unwrap();
        assert_eq!(
            l,
            Limits {
                max_size: Some(100_000),
                max_file: 2
            }
        );
        assert_eq!(Limits::from_opts(&[]).unwrap(), Limits::default());
        let e = Limits::from_opts(&o(&["compress=true"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--log-opt \"compress=true\": unknown option"),
            "{e}"
        );
        assert!(Limits::from_opts(&o(&["max-size"])).is_err());
        assert!(Limits::from_opts(&o(&["max-file=0"])).is_err());
        let m = merge(
            &o(&["max-size=10m", "max-file=3"]),
            &o(&["max-file=5", "max-file=2"]),
        );
        assert_eq!(m, o(&["max-size=10m", "max-file=2"]));
        assert_eq!(
            merge(&o(&["max-size=1m"]), &o(&["bogus"])),
            o(&["max-size=1m", "bogus"])
        );
    }
}
