//! `system prune -f [--volumes]`: stopped containers (everything of theirs), user networks no
//! container is on, store content no image needs, and with --volumes the unused anonymous
//! volumes (Docker 23+; `volume prune -a` takes named ones too).

use super::engine_fail;
use crate::cli::SystemCommand;
use engine::container::{ops, record, volumes, Engine, Error, Status};
use engine::network::{DEFAULT_NETWORK, HOST, NONE};

pub fn run(engine: &Engine, cmd: &SystemCommand) -> i32 {
    let SystemCommand::Prune {
        force,
        volumes: with_volumes,
    } = cmd;
    if !force {
        let e = Error::Invalid("system prune: give -f (there is no confirmation prompt)".into());
        return engine_fail(&e, 1);
    }
    match prune(engine, *with_volumes) {
        Ok(()) => 0,
        Err(e) => engine_fail(&e, 1),
    }
}

fn prune(engine: &Engine, with_volumes: bool) -> engine::container::Result<()> {
    for rec in record::all(engine)? {
        if rec.status() != Status::Running {
            ops::rm(engine, &rec, false)?;
            out!("Deleted container: {}", rec.id);
        }
    }
    let nets = engine.networks();
    for n in nets.list()? {
        let builtin = [NONE, HOST, DEFAULT_NETWORK].contains(&n.name.as_str());
        if !builtin && n.containers.is_empty() {
            nets.remove(&n.name)?;
            out!("Deleted network: {}", n.name);
        }
    }
    if with_volumes {
        for v in volumes::prune(engine, false)? {
            out!("Deleted volume: {v}");
        }
    }
    let store = image::store::Store::open_exclusive(&engine.root)?;
    let report = store.prune()?;
    out!(
        "Reclaimed from the store: {} blobs, {} layers, {} bytes",
        report.blobs_removed,
        report.layers_removed,
        report.bytes_removed
    );
    Ok(())
}
