//! `create [FLAGS] IMAGE [COMMAND [ARG...]]`: prints the new container's id.

use super::engine_fail;
use crate::cli::CreateArgs;
use engine::container::request::{parse_mount, read_env_file, MountFlag};
use engine::container::{ops, Engine, Error, Request, Result};

pub fn run(engine: &Engine, args: &CreateArgs) -> i32 {
    let made = request(args).and_then(|r| {
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

/// The flags as the engine's request (`--env-file` lines come before `-e`, as Docker).
pub fn request(a: &CreateArgs) -> Result<Request> {
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
        networks: a.network.clone(),
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
        runtime: a.runtime.clone(),
        init: a.init,
    })
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
