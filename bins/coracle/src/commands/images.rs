//! `images` / `image ls [--format json] [-q]`: one row per reference.

use std::path::Path;

use super::usage;
use crate::cli::LsArgs;
use image::store::Store;
use image::Result;

pub fn run(root: &Path, args: &LsArgs) -> Result<i32> {
    if args.format != "table" && args.format != "json" {
        return Err(usage(format!(
            "--format {:?}: expected table or json",
            args.format
        )));
    }
    let store = Store::open(root)?;
    let mut rows = Vec::new();
    for (r, t) in store.refs()? {
        let img = store.image(&t)?;
        rows.push(serde_json::json!({
            "Repository": r.name(),
            "Tag": r.tag.clone().unwrap_or_else(|| "<none>".into()),
            "Digest": t.digest.to_string(),
            "Id": img.id().to_string(),
            "Created": img.config.created().clone().unwrap_or_default(),
            "Size": img.size(),
        }));
    }
    if args.quiet {
        let mut seen = std::collections::HashSet::new();
        for row in &rows {
            let id = &row["Id"].as_str().unwrap_or_default()[7..19];
            if seen.insert(id.to_string()) {
                out!("{id}");
            }
        }
    } else if args.format == "json" {
        out!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("rows serialise")
        );
    } else {
        out!(
            "{:<40} {:<16} {:<14} {:<22} {:>10}",
            "REPOSITORY",
            "TAG",
            "IMAGE ID",
            "CREATED",
            "SIZE"
        );
        for row in &rows {
            let s = |k: &str| row[k].as_str().unwrap_or_default().to_string();
            let size = row["Size"].as_u64().unwrap_or(0);
            out!(
                "{:<40} {:<16} {:<14} {:<22} {:>10}",
                s("Repository"),
                s("Tag"),
                &s("Id")[7..19],
                s("Created"),
                human(size)
            );
        }
    }
    Ok(0)
}

fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} kB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}
