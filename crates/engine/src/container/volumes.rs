//! Named volumes: `ROOT/volumes/NAME/_data`, made on first use by `-v NAME:DST` (or `volume
//! create`), kept when containers are removed; `volume rm` refuses one a container names.

use super::request::Source;
use super::{id, io_err, record, Engine, Error, Result};
use std::path::PathBuf;

pub fn dir(engine: &Engine) -> PathBuf {
    engine.root.join("volumes")
}

pub fn create(engine: &Engine, name: &str) -> Result<PathBuf> {
    id::validate_name(name).map_err(|_| {
        Error::Invalid(format!(
            "volume {name:?}: invalid name (allowed: [a-zA-Z0-9][a-zA-Z0-9_.-]+)"
        ))
    })?;
    let data = dir(engine).join(name).join("_data");
    std::fs::create_dir_all(&data).map_err(io_err(&data))?;
    Ok(data)
}

pub fn list(engine: &Engine) -> Result<Vec<String>> {
    let d = dir(engine);
    let mut names: Vec<String> = match std::fs::read_dir(&d) {
        Ok(e) => e
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(io_err(&d)(e)),
    };
    names.sort();
    Ok(names)
}

/// The containers (names) whose `-v` names this volume.
pub fn users(engine: &Engine, name: &str) -> Result<Vec<String>> {
    Ok(record::all(engine)?
        .into_iter()
        .filter(|r| {
            r.request.binds().is_ok_and(|bs| {
                bs.iter()
                    .any(|b| b.source == Source::Volume(name.to_string()))
            })
        })
        .map(|r| r.name)
        .collect())
}

pub fn remove(engine: &Engine, name: &str) -> Result<()> {
    let _lock = record::lock(engine)?;
    let path = dir(engine).join(name);
    if id::validate_name(name).is_err() || !path.is_dir() {
        return Err(Error::Invalid(format!("no such volume: {name}")));
    }
    let users = users(engine, name)?;
    if !users.is_empty() {
        return Err(Error::Conflict(format!(
            "volume {name}: in use by container(s) {}",
            users.join(", ")
        )));
    }
    std::fs::remove_dir_all(&path).map_err(io_err(&path))
}

/// `volume prune`: every volume no container names; the names removed.
pub fn prune(engine: &Engine) -> Result<Vec<String>> {
    let mut removed = vec![];
    for name in list(engine)? {
        if users(engine, &name)?.is_empty() {
            remove(engine, &name)?;
            removed.push(name);
        }
    }
    Ok(removed)
}
