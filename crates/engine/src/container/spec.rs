//! The flags of `create`/`run` applied to the bundle's config.json (edited as JSON: the image
//! crate wrote it from the image config; we only change what a flag asks for), and the
//! per-start network settings (netns path, /etc/hosts & co. bind mounts).

use super::mounts::{depth, Mount};
use super::request::{cap_name, cpu_quota, Request};
use super::seccomp::{default_profile, Seccomp};
use super::{io_err, Error, Result};
use crate::network::Attachment;
use serde_json::{json, Value};
use std::path::Path;

/// Docker's default capability set (runc's template keeps only three).
const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

pub fn load(path: &Path) -> Result<Value> {
    let data = std::fs::read(path).map_err(io_err(path))?;
    serde_json::from_slice(&data).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
}

pub fn save(path: &Path, spec: &Value) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    let data = serde_json::to_vec_pretty(spec).expect("spec serialises");
    std::fs::write(&tmp, data).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// Apply the request to a freshly written config.json. `hostname` is the container's;
/// `mounts` its binds and volumes (resolved by [`super::mounts::prepare`]).
pub fn apply(spec: &mut Value, req: &Request, hostname: &str, mounts: &[Mount]) -> Result<()> {
    spec["hostname"] = json!(hostname);
    let p = &mut spec["process"];
    if let Some(ep) = &req.entrypoint {
        let mut args = vec![ep.clone()];
        args.extend(req.cmd.iter().cloned());
        p["args"] = json!(args);
    }
    let mut env: Vec<String> = serde_json::from_value(p["env"].clone()).unwrap_or_default();
    set_env(&mut env, &format!("HOSTNAME={hostname}"));
    for e in &req.env {
        match e.split_once('=') {
            Some(_) => set_env(&mut env, e),
            // `-e KEY`: the caller's value, or nothing when the caller has none (Docker).
            None => {
                if let Ok(v) = std::env::var(e) {
                    set_env(&mut env, &format!("{e}={v}"));
                }
            }
        }
    }
    if req.tty {
        p["terminal"] = json!(true);
        if !env.iter().any(|e| e.starts_with("TERM=")) {
            env.push("TERM=xterm".into());
        }
    }
    p["env"] = json!(env);
    if let Some(w) = &req.workdir {
        p["cwd"] = json!(w);
    }
    let caps = capabilities(req)?;
    p["capabilities"] = json!({ "bounding": caps, "effective": caps, "permitted": caps });
    let security = req.security()?;
    if security.no_new_privileges {
        p["noNewPrivileges"] = json!(true);
    }
    if let Some(profile) = security.apparmor {
        p["apparmorProfile"] = json!(profile);
    }
    match security.seccomp {
        Seccomp::Default => spec["linux"]["seccomp"] = default_profile(&caps),
        Seccomp::Profile(profile) => spec["linux"]["seccomp"] = profile,
        Seccomp::Unconfined => {
            if let Some(linux) = spec["linux"].as_object_mut() {
                linux.remove("seccomp");
            }
        }
    }
    if req.read_only {
        spec["root"]["readonly"] = json!(true);
    }
    let mut user: Vec<Value> = mounts
        .iter()
        .map(|m| {
            let mode = if m.rw { "rw" } else { "ro" };
            json!({ "destination": m.destination, "type": "bind", "source": m.source,
                    "options": ["rbind", "rprivate", mode] })
        })
        .collect();
    for (dst, options) in req.tmpfs_mounts()? {
        user.push(
            json!({ "destination": dst, "type": "tmpfs", "source": "tmpfs", "options": options }),
        );
    }
    // Parents before what is mounted inside them (a stable sort: otherwise as given).
    user.sort_by_key(|m| depth(m["destination"].as_str().unwrap_or_default()));
    for m in user {
        push_mount(spec, m);
    }
    resources(spec, req)
}

fn set_env(env: &mut Vec<String>, kv: &str) {
    let key = kv.split('=').next().unwrap_or(kv);
    env.retain(|e| e.split('=').next() != Some(key));
    env.push(kv.into());
}

/// The capability names the container holds: Docker's defaults with `--cap-add`/`--cap-drop`.
fn capabilities(req: &Request) -> Result<Vec<String>> {
    let mut caps: Vec<String> = DEFAULT_CAPS.iter().map(|c| c.to_string()).collect();
    for c in &req.cap_drop {
        let name = cap_name(c)?;
        caps.retain(|x| name != "ALL" && *x != name);
    }
    for c in &req.cap_add {
        let name = cap_name(c)?;
        // Every capability we hold ourselves: one the sandbox took from us could not be given.
        let names = if name == "ALL" {
            runtime::features::grantable_capabilities()
        } else {
            vec![name]
        };
        for name in names {
            if !caps.contains(&name) {
                caps.push(name);
            }
        }
    }
    Ok(caps)
}

fn resources(spec: &mut Value, req: &Request) -> Result<()> {
    let r = &mut spec["linux"]["resources"];
    if let Some(m) = &req.memory {
        let v =
            runtime::container::parse_size(m).map_err(|e| Error::Invalid(format!("-m: {e}")))?;
        r["memory"] = json!({ "limit": v });
    }
    if let Some(c) = &req.cpus {
        r["cpu"] = json!({ "quota": cpu_quota(c)?, "period": 100_000 });
    }
    if let Some(p) = req.pids_limit {
        r["pids"] = json!({ "limit": p });
    }
    Ok(())
}

fn push_mount(spec: &mut Value, m: Value) {
    let dst = m["destination"].clone();
    if !spec["mounts"].is_array() {
        spec["mounts"] = json!([]);
    }
    let mounts = spec["mounts"].as_array_mut().expect("array");
    mounts.retain(|x| x["destination"] != dst);
    mounts.push(m);
}

/// The network settings of one start: join the attachment's netns (or stay in the host's), and
/// bind-mount its /etc/hosts, /etc/hostname and /etc/resolv.conf.
pub fn apply_network(spec: &mut Value, att: &Attachment) {
    if let Some(nss) = spec["linux"]["namespaces"].as_array_mut() {
        nss.retain(|n| n["type"] != "network");
        if let Some(p) = &att.netns_path {
            nss.push(json!({ "type": "network", "path": p }));
        }
    }
    for (dst, src) in [
        ("/etc/hosts", &att.hosts),
        ("/etc/hostname", &att.hostname),
        ("/etc/resolv.conf", &att.resolv_conf),
    ] {
        push_mount(
            spec,
            json!({ "destination": dst, "type": "bind", "source": src,
                    "options": ["rbind", "rprivate", "rw"] }),
        );
    }
}

/// The image's StopSignal (recorded by the bundle writer as an annotation), else SIGTERM.
pub fn stop_signal(spec: &Value) -> String {
    spec["annotations"]["org.opencontainers.image.stopSignal"]
        .as_str()
        .unwrap_or("SIGTERM")
        .to_string()
}
