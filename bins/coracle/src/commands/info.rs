//! `info [--format json]`: where the state is and how much of it there is.

use super::engine_fail;
use engine::config::Config;
use engine::container::{record, volumes, Engine, Error, Status};

pub fn run(engine: &Engine, format: &str, config: &Config) -> i32 {
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
        "DefaultRuntime": config.runtime.as_deref().unwrap_or("coracle (in process)"),
        "ConfigFiles": config.files,
        "KernelVersion": kernel.trim(),
        "ServerVersion": env!("CARGO_PKG_VERSION"),
    });
    if format == "json" {
        out!("{v}");
        return 0;
    }
    for (k, val) in v.as_object().expect("object") {
        let shown = match val {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(a) if a.is_empty() => "(none)".into(),
            serde_json::Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), String::from))
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        };
        out!("{k}: {shown}");
    }
    0
}
