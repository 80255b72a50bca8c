//! `stats [--no-stream] [--format table|json] [CONTAINER...]`: per container, CPU % (the
//! cgroup's CPU time over the wall time between two readings), memory use and limit, pids.
//!
//! As `docker stats`: without --no-stream a new reading every second until interrupted; with
//! containers named, until every one of them has stopped (a stopped one leaves the table), then
//! exit 0. Without names: every running container, listed again at each reading. On a terminal
//! each reading redraws the screen; otherwise the readings follow one another, each table
//! starting with its header line (JSON: one object per container and reading, Docker's keys).
//! Errors (a bad --format, an unknown or stopped container, a record that cannot be read) are
//! one line, exit 125 (Podman's code for every `stats` error).

use super::engine_fail;
use engine::container::{record, Engine, Error, Record, Status};
use serde_json::json;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const FIRST_WINDOW: Duration = Duration::from_millis(500);
const PERIOD: Duration = Duration::from_secs(1);

/// One reading of a container's cgroup.
#[derive(Clone, Copy)]
struct Sample {
    at: Instant,
    cpu_ns: u64,
    mem: u64,
    limit: u64,
    pids: u64,
}

/// One line of a reading: the container as the user named it (else its short id), two samples.
struct Row {
    label: String,
    id: String,
    name: String,
    cpu_pct: f64,
    now: Sample,
}

/// Which containers: all running ones, or those named (label as given, full id).
enum Targets {
    All,
    Named(Vec<(String, String)>),
}

pub fn run(engine: &Engine, no_stream: bool, format: &str, names: &[String]) -> i32 {
    let json = match format {
        "table" => false,
        "json" => true,
        other => {
            let e = Error::Invalid(format!("--format {other:?}: expected table or json"));
            return engine_fail(&e, 125);
        }
    };
    let targets = match resolve(engine, names) {
        Ok(t) => t,
        Err(e) => return engine_fail(&e, 125),
    };
    let redraw = !no_stream && std::io::stdout().is_terminal();
    let mut before: HashMap<String, Sample> = HashMap::new();
    let mut window = FIRST_WINDOW;
    loop {
        let shown = match running(engine, &targets) {
            Ok(s) => s,
            Err(e) => return engine_fail(&e, 125),
        };
        if shown.is_empty() && matches!(targets, Targets::Named(_)) {
            return 0;
        }
        before.retain(|id, _| shown.iter().any(|(_, r)| &r.id == id));
        for (_, r) in &shown {
            if !before.contains_key(&r.id) {
                if let Some(s) = sample(engine, r) {
                    before.insert(r.id.clone(), s);
                }
            }
        }
        // Nothing to measure for --no-stream: no wait. A stream keeps its pace even when empty.
        if !shown.is_empty() || !no_stream {
            std::thread::sleep(window);
        }
        let rows = readings(engine, &shown, &mut before);
        print(&rows, json, redraw);
        if no_stream {
            return 0;
        }
        window = PERIOD;
    }
}

/// The named containers, each running now; or all.
fn resolve(engine: &Engine, names: &[String]) -> Result<Targets, Error> {
    if names.is_empty() {
        return Ok(Targets::All);
    }
    let mut v = vec![];
    for n in names {
        let r = record::find(engine, n)?;
        if r.status() != Status::Running {
            return Err(Error::Conflict(format!(
                "container {}: is not running",
                r.name
            )));
        }
        v.push((n.clone(), r.id));
    }
    Ok(Targets::Named(v))
}

/// The targets that are running at this reading, with their labels (a removed one is stopped).
fn running(engine: &Engine, targets: &Targets) -> Result<Vec<(String, Record)>, Error> {
    let is_running = |r: &Record| r.status() == Status::Running;
    match targets {
        Targets::All => Ok(record::all(engine)?
            .into_iter()
            .filter(is_running)
            .map(|r| (r.short_id().to_string(), r))
            .collect()),
        Targets::Named(named) => {
            let mut v = vec![];
            for (label, id) in named {
                match record::load(engine, id) {
                    Ok(r) if is_running(&r) => v.push((label.clone(), r)),
                    Ok(_) | Err(Error::NoSuchContainer(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(v)
        }
    }
}

/// A second sample of each container against its first; the new one becomes the next first.
/// A container that cannot be read (it stopped just now) has no row.
fn readings(
    engine: &Engine,
    shown: &[(String, Record)],
    before: &mut HashMap<String, Sample>,
) -> Vec<Row> {
    let mut rows = vec![];
    for (label, r) in shown {
        let Some(now) = sample(engine, r) else {
            continue;
        };
        if let Some(b) = before.insert(r.id.clone(), now) {
            let wall = now.at.duration_since(b.at).as_nanos().max(1) as f64;
            rows.push(Row {
                label: label.clone(),
                id: r.short_id().to_string(),
                name: r.name.clone(),
                cpu_pct: now.cpu_ns.saturating_sub(b.cpu_ns) as f64 / wall * 100.0,
                now,
            });
        }
    }
    rows
}

/// The runtime's stats event (cgroup files), as numbers. On a hybrid host the runtime joins a v1
/// controller only when a limit needs it, so a container without `--pids-limit` has no pids
/// counter: its processes are then counted from its cgroup's members; nor a memory cgroup
/// without `-m`: its memory is then the sum of its processes' shares. Without a memory limit
/// the limit shown is the host's memory, as Docker shows it.
fn sample(engine: &Engine, r: &Record) -> Option<Sample> {
    let at = Instant::now();
    let driver = engine.driver(r);
    let v = driver.stats(&r.id).ok()?;
    let d = &v["data"];
    let n = |x: &serde_json::Value| x.as_u64().unwrap_or(0);
    let (mut pids, mut mem) = (n(&d["pids"]["current"]), n(&d["memory"]["usage"]["usage"]));
    // The cgroup's members, read once, only when a counter is missing.
    if pids == 0 || mem == 0 {
        let members = driver.pids(&r.id).unwrap_or_default();
        if pids == 0 {
            pids = members.len() as u64;
        }
        if mem == 0 {
            mem = members.iter().map(|&p| proportional_memory(p)).sum();
        }
    }
    let mut limit = n(&d["memory"]["usage"]["limit"]);
    if let Some(host) = host_memory().filter(|&h| limit == 0 || limit > h) {
        limit = host;
    }
    Some(Sample {
        at,
        cpu_ns: n(&d["cpu"]["usage"]["total"]),
        mem,
        limit,
        pids,
    })
}

/// A process's share of the memory it maps (Pss of /proc/PID/smaps_rollup: pages shared with
/// other processes counted in part), in bytes; 0 for a process that is gone.
fn proportional_memory(pid: i32) -> u64 {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    rollup
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// MemTotal of /proc/meminfo, in bytes.
fn host_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib = info.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    let kib: u64 = kib.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// One reading as a table or JSON lines, written at once. On a terminal Docker's redraw: cursor
/// home, each line erased to its end, the rest of the screen cleared.
fn print(rows: &[Row], json: bool, redraw: bool) {
    let mut text = String::new();
    if json {
        for r in rows {
            text.push_str(&format!("{}\n", r.json()));
        }
    } else {
        text.push_str(&line(
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "PIDS",
        ));
        for r in rows {
            let c = r.cells();
            text.push_str(&line(&c[0], &c[1], &c[2], &c[3], &c[4], &c[5]));
        }
    }
    if redraw {
        text = format!("\x1b[H{}\x1b[J", text.replace('\n', "\x1b[K\n"));
    }
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .is_err()
    {
        std::process::exit(141);
    }
}

fn line(id: &str, name: &str, cpu: &str, mem: &str, mem_pct: &str, pids: &str) -> String {
    format!("{id:<14}{name:<24}{cpu:<9}{mem:<24}{mem_pct:<9}{pids}\n")
}

impl Row {
    /// ID, name, CPU %, usage / limit, memory %, pids: as Docker prints them.
    fn cells(&self) -> [String; 6] {
        let s = &self.now;
        let mem_pct = if s.limit > 0 {
            s.mem as f64 / s.limit as f64 * 100.0
        } else {
            0.0
        };
        [
            self.id.clone(),
            self.name.clone(),
            format!("{:.2}%", self.cpu_pct),
            format!("{} / {}", human(s.mem), human(s.limit)),
            format!("{mem_pct:.2}%"),
            s.pids.to_string(),
        ]
    }

    /// Docker's `stats --format json` keys (those coracle measures).
    fn json(&self) -> serde_json::Value {
        let [id, name, cpu, mem, mem_pct, pids] = self.cells();
        json!({
            "Container": self.label, "ID": id, "Name": name, "CPUPerc": cpu,
            "MemUsage": mem, "MemPerc": mem_pct, "PIDs": pids,
        })
    }
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
