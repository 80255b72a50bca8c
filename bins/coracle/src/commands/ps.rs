//! `ps [-a] [-q] [--format table|json]`

use super::engine_fail;
use crate::cli::PsArgs;
use engine::container::{logs, record, Engine, Record, Status};
use serde_json::json;

pub fn run(engine: &Engine, args: &PsArgs) -> i32 {
    if args.format != "table" && args.format != "json" {
        let e = engine::container::Error::Invalid(format!(
            "--format {:?}: expected table or json",
            args.format
        ));
        return engine_fail(&e, 1);
    }
    let all = match record::all(engine) {
        Ok(a) => a,
        Err(e) => return engine_fail(&e, 1),
    };
    let shown: Vec<&Record> = all
        .iter()
        .filter(|r| args.all || r.status() == Status::Running)
        .collect();
    if args.quiet {
        for r in shown {
            out!("{}", r.short_id());
        }
    } else if args.format == "json" {
        for r in shown {
            out!("{}", row(r));
        }
    } else {
        table(&shown);
    }
    0
}

/// Columns as wide as their widest cell, three spaces apart (Docker's tabwriter layout).
fn table(shown: &[&Record]) {
    const KEYS: [&str; 7] = [
        "ID",
        "Image",
        "Command",
        "RunningFor",
        "Status",
        "Ports",
        "Names",
    ];
    let mut rows = vec![[
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ]
    .map(String::from)];
    for r in shown {
        let v = row(r);
        rows.push(KEYS.map(|k| v[k].as_str().unwrap_or_default().to_string()));
    }
    let widths: Vec<usize> = (0..KEYS.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}", w = widths[c] + 3));
            }
        }
        out!("{}", line.trim_end());
    }
}

/// Docker's `ps --format json` keys.
fn row(r: &Record) -> serde_json::Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let ago = |t: &Option<String>| {
        t.as_deref()
            .and_then(logs::parse_secs)
            .map(|s| logs::human_duration(now - s))
    };
    let status = match r.status() {
        Status::Running if r.is_restarting() => match ago(&r.finished_at) {
            Some(d) => format!("Restarting ({}) {d} ago", r.exit_code),
            None => format!("Restarting ({})", r.exit_code),
        },
        Status::Running => match ago(&r.started_at) {
            Some(d) => format!("Up {d}"),
            None => "Up".into(),
        },
        Status::Created => "Created".to_string(),
        Status::Exited => match ago(&r.finished_at) {
            Some(d) => format!("Exited ({}) {d} ago", r.exit_code),
            None => format!("Exited ({})", r.exit_code),
        },
    };
    let created = ago(&Some(r.created.clone())).map_or_else(String::new, |d| format!("{d} ago"));
    let mut cmd = format!("\"{}\"", r.args.join(" "));
    if cmd.len() > 22 {
        cmd = format!("{}…\"", &cmd[..cmd.floor_char_boundary(20)]);
    }
    json!({
        "ID": r.short_id(),
        "Names": r.name,
        "Image": r.image,
        "Command": cmd,
        "CreatedAt": r.created,
        "RunningFor": created,
        "State": state(r),
        "Status": status,
        "Ports": r.request.ports.join(", "),
    })
}

/// Docker's state word: a container waiting to restart is "restarting".
pub fn state(r: &Record) -> &'static str {
    if r.is_restarting() {
        "restarting"
    } else {
        r.status().as_str()
    }
}
