//! `inspect NAME...`: containers as JSON (Docker's main keys); a name that is no container is
//! looked up as an image (`image inspect`).

use super::engine_fail;
use engine::container::{record, Engine, Error, Record, Status};
use serde_json::json;
use std::path::Path;

pub fn run(engine: &Engine, root: &Path, names: &[String]) -> i32 {
    let mut recs = vec![];
    for n in names {
        match record::find(engine, n) {
            Ok(r) => recs.push(r),
            Err(Error::NoSuchContainer(_)) if recs.is_empty() && names.len() == 1 => {
                return match super::inspect::run(root, names) {
                    Ok(c) => c,
                    Err(_) => engine_fail(&Error::Invalid(format!("no such object: {n}")), 1),
                };
            }
            Err(e) => return engine_fail(&e, 1),
        }
    }
    let all: Vec<serde_json::Value> = recs.iter().map(|r| object(engine, r)).collect();
    out!("{}", serde_json::to_string_pretty(&all).expect("json"));
    0
}

/// Docker's `HostConfig.LogConfig` with the limits in force (sizes in bytes, -1 unlimited).
fn log_config(q: &engine::container::Request) -> serde_json::Value {
    let l = q.log_limits().unwrap_or_default();
    let size = l
        .max_size
        .map_or_else(|| "-1".to_string(), |s| s.to_string());
    json!({
        "Type": "json-file",
        "Config": { "max-size": size, "max-file": l.max_file.to_string() },
    })
}

fn object(engine: &Engine, r: &Record) -> serde_json::Value {
    let st = r.status();
    let q = &r.request;
    json!({
        "Id": r.id,
        "Name": format!("/{}", r.name),
        "Created": r.created,
        "Path": r.args.first(),
        "Args": r.args.get(1..).unwrap_or_default(),
        "State": {
            "Status": super::ps::state(r),
            "Running": st == Status::Running,
            "Pid": if st == Status::Running { r.pid } else { 0 },
            "ExitCode": r.exit_code,
            "OOMKilled": r.oom_killed,
            "Error": r.error,
            "Restarting": r.is_restarting(),
            "StartedAt": r.started_at,
            "FinishedAt": r.finished_at,
        },
        "Image": r.image_id,
        "RestartCount": r.restart_count,
        "Config": {
            "Image": r.image,
            "Hostname": q.hostname.clone().unwrap_or_else(|| r.short_id().into()),
            "Env": q.env,
            "Cmd": q.cmd,
            "Entrypoint": q.entrypoint,
            "WorkingDir": q.workdir,
            "User": q.user,
        },
        "HostConfig": {
            "AutoRemove": q.auto_remove,
            "RestartPolicy": q.restart_policy().ok().map(|p| json!({
                "Name": p.name(),
                "MaximumRetryCount": p.max_retries(),
            })),
            "Binds": q.volumes,
            "NetworkMode": q.networks.first().map_or("bridge", |n| n.as_str()),
            "PortBindings": q.ports,
            "Memory": q.memory,
            "NanoCpus": q.cpus,
            "PidsLimit": q.pids_limit,
            "ReadonlyRootfs": q.read_only,
            "CapAdd": q.cap_add,
            "CapDrop": q.cap_drop,
            "Init": q.init,
            "Runtime": q.runtime.as_deref().unwrap_or("coracle"),
            "LogConfig": log_config(q),
        },
        "Mounts": r.mounts.iter().map(|m| m.to_docker()).collect::<Vec<_>>(),
        "NetworkSettings": { "Networks": r.ips },
        "LogPath": engine.container_dir(&r.id).join(engine::container::monitor::LOG),
    })
}
