//! `create [FLAGS] IMAGE [COMMAND [ARG...]]`: prints the new container's id.

use super::engine_fail;
use crate::cli::CreateArgs;
use engine::config::Config;
use engine::container::logs::limits;
use engine::container::request::{parse_mount, read_env_file, MountFlag};
use engine::container::{ops, Engine, Error, Request, Result};

pub fn run(engine: &Engine, args: &CreateArgs, config: &Config) -> i32 {
    let made = request(args, config).and_then(|r| {
        pull_missing(engine, &r.image, &args.pull)?;
        ops::create(engine, &r)
    });
    match made {
        Ok(rec) => {
            out!("{}", rec.id);
            0
        }
        Err(e) => engine_fail(&e, e.exit_code()),
    }
}

/// The flags as the engine's request (`--env-file` lines come before `-e`, as Docker), with
/// the config file's defaults for what they leave out (runtime, network, log options).
pub fn request(a: &CreateArgs, config: &Config) -> Result<Request> {
    let mut env = vec![];
    for f in &a.env_file {
        env.extend(read_env_file(f)?);
    }
    env.extend(a.env.iter().cloned());
    let (mut volumes, mut tmpfs) = (a.volume.clone(), a.tmpfs.clone());
    for m in &a.mount {
        match parse_mount(m)? {
            MountFlag::Volume(v) => volumes.push(v),
            MountFlag::Tmpfs(t) => tmpfs.push(t),
        }
    }
    Ok(Request {
        image: a.image_and_cmd[0].clone(),
        name: a.name.clone(),
        cmd: a.image_and_cmd[1..].to_vec(),
        entrypoint: a.entrypoint.clone(),
        env,
        workdir: a.workdir.clone(),
        user: a.user.clone(),
        volumes,
        networks: if a.network.is_empty() {
            config.network.iter().cloned().collect()
        } else {
            a.network.clone()
        },
        ports: a.publish.clone(),
        hostname: a.hostname.clone(),
        memory: a.memory.clone(),
        cpus: a.cpus.clone(),
        pids_limit: a.pids_limit,
        read_only: a.read_only,
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        auto_remove: a.rm,
        tty: a.tty,
        interactive: a.interactive,
        restart: a.restart.clone(),
        security_opt: a.security_opt.clone(),
        tmpfs,
        runtime: match a.runtime.as_deref() {
            Some(BUILT_IN) => None,
            Some(r) => Some(r.to_string()),
            None => config_runtime(config)?,
        },
        init: a.init,
        log_opt: limits::merge(&config.log_opts(), &a.log_opt),
    })
}

/// `--runtime coracle` (or the config's `runtime = "coracle"`): the built-in runtime, also
/// when the config names another (the engine binary itself is no runc-compatible runtime).
const BUILT_IN: &str = "coracle";

/// The config file's `runtime`, found now so that a missing one is reported against the file.
fn config_runtime(config: &Config) -> Result<Option<String>> {
    let Some(r) = config.runtime.as_ref().filter(|r| *r != BUILT_IN) else {
        return Ok(None);
    };
    match ops::find_runtime(r) {
        Ok(p) => Ok(Some(p.to_string_lossy().into_owned())),
        Err(_) => Err(Error::Invalid(format!(
            "{}: runtime {r:?}: no such executable",
            config
                .runtime_file
                .as_deref()
                .unwrap_or(std::path::Path::new("config"))
                .display()
        ))),
    }
}

/// `--pull missing` (default): an image that is not in the store is pulled first, with the
/// stored credentials (progress on stderr); `always` pulls anyway, `never` refuses. A failed
/// pull is one error.
pub fn pull_missing(engine: &Engine, what: &str, policy: &str) -> Result<()> {
    let store = image::store::Store::open(&engine.root)?;
    let missing = matches!(store.resolve(what), Err(image::Error::ImageNotFound(_)));
    match (policy, missing) {
        ("missing", false) | ("never", false) => return Ok(()),
        ("never", true) => {
            return Err(Error::Invalid(format!(
                "image {what} is not in the store (--pull never)"
            )))
        }
        ("always", _) | ("missing", true) => {}
        (other, _) => {
            return Err(Error::Invalid(format!(
                "--pull {other:?}: expected missing, always or never"
            )))
        }
    }
    drop(store);
    let reference = image::store::Reference::parse(what)?;
    let opts = image::registry::PullOptions {
        platform: None,
        tls_verify: true,
        credentials: image::registry::login::stored_credentials(&reference.domain)
            .map_err(|e| Error::Invalid(e.to_string()))?,
        workers: image::registry::parallel::DEFAULT_WORKERS,
    };
    let store = image::store::Store::open(&engine.root)?;
    let reporter = crate::progress::Reporter::new("Copying");
    image::registry::pull(&reference, &opts, &store, &reporter).map_err(|e| {
        Error::Invalid(format!(
            "image {what} is not in the store and could not be pulled: {e}"
        ))
    })?;
    Ok(())
}
