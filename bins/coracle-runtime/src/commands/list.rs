//! `list [-f table|json] [-q]`: runc's table columns, or a JSON array of states.

use crate::cli::{ListArgs, ListFormat};
use runtime::container::{self, Runtime};
use runtime::Result;

pub fn run(rt: &Runtime, args: &ListArgs) -> Result<i32> {
    let states: Vec<serde_json::Value> = container::list(rt)?
        .iter()
        .filter_map(|s| serde_json::from_str(s).ok())
        .map(|mut s: serde_json::Value| {
            // runc's `list` (not `state`) names the owner of the container's state directory.
            let dir = rt.root.join(s["id"].as_str().unwrap_or_default());
            if let Ok(m) = std::fs::metadata(&dir) {
                s["owner"] = user_name(std::os::unix::fs::MetadataExt::uid(&m)).into();
            }
            s
        })
        .collect();
    let field = |s: &serde_json::Value, k: &str| match &s[k] {
        serde_json::Value::String(v) => v.clone(),
        other => other.to_string(),
    };
    if args.quiet {
        for s in &states {
            println!("{}", field(s, "id"));
        }
        return Ok(0);
    }
    match args.format {
        ListFormat::Json => println!("{}", serde_json::Value::Array(states)),
        ListFormat::Table => {
            let rows: Vec<[String; 6]> = states
                .iter()
                .map(|s| ["id", "pid", "status", "bundle", "created", "owner"].map(|k| field(s, k)))
                .collect();
            print_table(["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], &rows);
        }
    }
    Ok(0)
}

/// The host's name for `uid` (/etc/passwd), or `#UID` as runc prints an unknown one.
fn user_name(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2] == uid.to_string())
        .map_or_else(|| format!("#{uid}"), |f| f[0].to_string())
}

/// Columns padded to their widest cell plus three spaces, like runc's tabwriter output.
fn print_table(header: [&str; 6], rows: &[[String; 6]]) {
    let mut width = header.map(str::len);
    for row in rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: [&str; 6]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = width[i] + 3));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header);
    for row in rows {
        line(row.each_ref().map(String::as_str));
    }
}
