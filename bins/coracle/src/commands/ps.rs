//! `ps [-a] [-q] [--format table|json]`

use super::engine_fail;
use crate::cli::PsArgs;
use engine::container::{record, Engine, Record, Status};
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
            "{:<14}{:<22}{:<24}{:<32}{:<16}{:<24}NAMES",
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
                "{:<14}{:<22}{:<24}{:<32}{:<16}{:<24}{}",
                s("ID"),
                s("Image"),
                s("Command"),
                s("CreatedAt"),
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
    let status = match r.status() {
        Status::Running => "Up".to_string(),
        Status::Created => "Created".to_string(),
        Status::Exited => format!("Exited ({})", r.exit_code),
    };
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
        "State": r.status().as_str(),
        "Status": status,
        "Ports": r.request.ports.join(", "),
    })
}
