//! `stats --no-stream [CONTAINER...]`: CPU % (two cgroup readings 500 ms apart), memory use
//! and limit, pids. Streaming is not done yet: without --no-stream it is refused.

use super::engine_fail;
use engine::container::{record, Engine, Error, Record, Status};
use std::time::{Duration, Instant};

pub fn run(engine: &Engine, no_stream: bool, names: &[String]) -> i32 {
    if !no_stream {
        let e = Error::Invalid("stats: only --no-stream is supported yet".into());
        return engine_fail(&e, 1);
    }
    let recs: Vec<Record> = if names.is_empty() {
        match record::all(engine) {
            Ok(all) => all
                .into_iter()
                .filter(|r| r.status() == Status::Running)
                .collect(),
            Err(e) => return engine_fail(&e, 1),
        }
    } else {
        let mut v = vec![];
        for n in names {
            match record::find(engine, n) {
                Ok(r) if r.status() == Status::Running => v.push(r),
                Ok(r) => {
                    let e = Error::Conflict(format!("container {}: is not running", r.name));
                    return engine_fail(&e, 1);
                }
                Err(e) => return engine_fail(&e, 1),
            }
        }
        v
    };
    let read = |r: &Record| engine.driver(r).stats(&r.id).ok();
    let first: Vec<_> = recs.iter().map(|r| (read(r), Instant::now())).collect();
    if !recs.is_empty() {
        std::thread::sleep(Duration::from_millis(500));
    }
    out!(
        "{:<14}{:<24}{:<9}{:<24}{:<9}PIDS",
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %"
    );
    for (r, (before, t0)) in recs.iter().zip(first) {
        let Some(now) = read(r) else { continue };
        let d = &now["data"];
        let cpu = |v: &serde_json::Value| v["data"]["cpu"]["usage"]["total"].as_u64().unwrap_or(0);
        let wall = t0.elapsed().as_nanos().max(1) as f64;
        let pct = before.map_or(0.0, |b| {
            cpu(&now).saturating_sub(cpu(&b)) as f64 / wall * 100.0
        });
        let usage = d["memory"]["usage"]["usage"].as_u64().unwrap_or(0);
        let limit = d["memory"]["usage"]["limit"].as_u64().unwrap_or(0);
        let mem_pct = if limit > 0 {
            usage as f64 / limit as f64 * 100.0
        } else {
            0.0
        };
        out!(
            "{:<14}{:<24}{:<9}{:<24}{:<9}{}",
            r.short_id(),
            r.name,
            format!("{pct:.2}%"),
            format!("{} / {}", human(usage), human(limit)),
            format!("{mem_pct:.2}%"),
            d["pids"]["current"].as_u64().unwrap_or(0)
        );
    }
    0
}

/// Bytes as Docker shows them (KiB, MiB, GiB).
fn human(b: u64) -> String {
    let f = b as f64;
    match b {
        0..=1023 => format!("{b}B"),
        1024..=1_048_575 => format!("{:.1}KiB", f / 1024.0),
        1_048_576..=1_073_741_823 => format!("{:.1}MiB", f / 1_048_576.0),
        _ => format!("{:.2}GiB", f / 1_073_741_824.0),
    }
}
