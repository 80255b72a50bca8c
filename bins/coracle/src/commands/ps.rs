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
        out!(
            "{:<14}{:<22}{:<24}{:<20}{:<28}{:<24}NAMES",
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS"
        );
        for r in shown {
            let v = row(r);
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            out!(
                "{:<14}{:<22}{:<24}{:<20}{:<28}{:<24}{}",
                s("ID"),
                s("Image"),
                s("Command"),
                s("RunningFor"),
                s("Status"),
                s("Ports"),
                s("Names")
            );
        }
    }
    0
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
        "State": r.status().as_str(),
        "Status": status,
        "Ports": r.request.ports.join(", "),
    })
}
