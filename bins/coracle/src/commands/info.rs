//! `info [--format json]`: where the state is and how much of it there is.

use super::engine_fail;
use engine::container::{record, volumes, Engine, Error, Status};

pub fn run(engine: &Engine, format: &str) -> i32 {
    if format != "table" && format != "json" {
        let e = Error::Invalid(format!("--format {format:?}: expected table or json"));
        return engine_fail(&e, 1);
    }
    let all = match record::all(engine) {
        Ok(a) => a,
        Err(e) => return engine_fail(&e, 1),
    };
    let count = |s: Status| all.iter().filter(|r| r.status() == s).count();
    let images = image::store::Store::open(&engine.root)
        .and_then(|s| s.refs())
        .map_or(0, |r| r.len());
    let networks = engine.networks().list().map_or(0, |n| n.len());
    let volumes = volumes::list(engine).map_or(0, |v| v.len());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let v = serde_json::json!({
        "Root": engine.root,
        "Containers": all.len(),
        "ContainersRunning": count(Status::Running),
        "ContainersStopped": count(Status::Exited),
        "ContainersCreated": count(Status::Created),
        "Images": images,
        "Volumes": volumes,
        "Networks": networks,
        "DefaultRuntime": "coracle (in process)",
        "KernelVersion": kernel.trim(),
        "ServerVersion": env!("CARGO_PKG_VERSION"),
    });
    if format == "json" {
        out!("{v}");
        return 0;
    }
    for (k, val) in v.as_object().expect("object") {
        let shown = val.as_str().map_or_else(|| val.to_string(), String::from);
        out!("{k}: {shown}");
    }
    0
}
