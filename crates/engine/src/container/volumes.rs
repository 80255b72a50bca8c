//! Volumes: `ROOT/volumes/NAME/_data`, with `ROOT/volumes/NAME/volume.json` (when it was made,
//! and whether it is anonymous: made for `-v /DST`, `--mount type=volume` without a source or
//! an image's VOLUME path, named with 64 random hex digits, as Docker does). Named volumes are
//! made on first use by `-v NAME:DST` (or `volume create`) and kept when containers are removed;
//! anonymous ones go with their container on `rm -v` and `--rm`. A volume is in use while a
//! container record mounts it: `volume rm` refuses it, `prune` leaves it.
//!
//! Every change runs under the records lock (`record::lock`): `create` holds it while it makes
//! a container's volumes and writes its record, so a prune never removes a volume a container
//! being created is about to mount.

use super::record::{self, Lock, Record};
use super::request::Source;
use super::{id, io_err, Engine, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

const META: &str = "volume.json";

/// Docker's label on anonymous volumes (shown by `volume inspect`).
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// `ROOT/volumes/NAME/volume.json`. Volumes made before it existed have none: named.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub anonymous: bool,
    /// The container an anonymous volume was made for.
    #[serde(default)]
    pub container: Option<String>,
}

pub fn dir(engine: &Engine) -> PathBuf {
    engine.root.join("volumes")
}

/// Where a volume's data is (whether or not it exists).
pub fn data_dir(engine: &Engine, name: &str) -> PathBuf {
    dir(engine).join(name).join("_data")
}

fn check_name(name: &str) -> Result<()> {
    id::validate_name(name).map_err(|_| {
        Error::Invalid(format!(
            "volume {name:?}: invalid name (allowed: [a-zA-Z0-9][a-zA-Z0-9_.-]+)"
        ))
    })
}

/// `volume create NAME`: the volume's data dir (an existing volume is kept as it is).
pub fn create(engine: &Engine, name: &str) -> Result<PathBuf> {
    let _lock = record::lock(engine)?;
    ensure(engine, name, &Meta::default()).map(|(data, _)| data)
}

/// The volume `name`, made with `meta` when missing; (its data dir, whether made now).
pub fn ensure(engine: &Engine, name: &str, meta: &Meta) -> Result<(PathBuf, bool)> {
    check_name(name)?;
    let vol = dir(engine).join(name);
    let data = vol.join("_data");
    if data.is_dir() {
        return Ok((data, false));
    }
    std::fs::create_dir_all(&vol).map_err(io_err(&vol))?;
    let meta = Meta {
        created: Some(super::logs::now_nanos()),
        ..meta.clone()
    };
    let path = vol.join(META);
    let tmp = vol.join("volume.json.tmp");
    let json = serde_json::to_vec_pretty(&meta).expect("meta serialises");
    std::fs::write(&tmp, json).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
    std::fs::create_dir(&data).map_err(io_err(&data))?;
    Ok((data, true))
}

/// A new anonymous volume for container `cid`: its name and data dir.
pub fn create_anonymous(engine: &Engine, cid: &str) -> Result<(String, PathBuf)> {
    let name = id::new_id()?;
    let meta = Meta {
        anonymous: true,
        container: Some(cid.to_string()),
        ..Meta::default()
    };
    let (data, _) = ensure(engine, &name, &meta)?;
    Ok((name, data))
}

pub fn meta(engine: &Engine, name: &str) -> Meta {
    std::fs::read(dir(engine).join(name).join(META))
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or_default()
}

pub fn list(engine: &Engine) -> Result<Vec<String>> {
    let d = dir(engine);
    let mut names: Vec<String> = match std::fs::read_dir(&d) {
        Ok(e) => e
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| id::validate_name(n).is_ok())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(io_err(&d)(e)),
    };
    names.sort();
    Ok(names)
}

/// The volumes a container mounts: from its record's mounts, and from its `-v` flags (records
/// written before mounts were recorded).
fn mounted_by(rec: &Record) -> impl Iterator<Item = String> + '_ {
    let flags = rec.request.binds().unwrap_or_default().into_iter();
    let named = flags.filter_map(|b| match b.source {
        Source::Volume(n) => Some(n),
        _ => None,
    });
    rec.mounts
        .iter()
        .filter_map(|m| m.name.clone())
        .chain(named)
}

/// The containers (names) that mount this volume.
pub fn users(engine: &Engine, name: &str) -> Result<Vec<String>> {
    Ok(record::all(engine)?
        .into_iter()
        .filter(|r| mounted_by(r).any(|n| n == name))
        .map(|r| r.name)
        .collect())
}

/// `volume inspect`: Docker's keys, plus the containers using it.
pub fn inspect(engine: &Engine, name: &str) -> Result<serde_json::Value> {
    let data = data_dir(engine, name);
    if id::validate_name(name).is_err() || !data.is_dir() {
        return Err(Error::Invalid(format!("no such volume: {name}")));
    }
    let m = meta(engine, name);
    let labels = if m.anonymous {
        serde_json::json!({ ANONYMOUS_LABEL: "" })
    } else {
        serde_json::json!({})
    };
    Ok(serde_json::json!({
        "Name": name, "Driver": "local", "Scope": "local", "Mountpoint": data,
        "CreatedAt": m.created, "Labels": labels, "Anonymous": m.anonymous,
        "UsedBy": users(engine, name)?,
    }))
}

/// `volume rm NAME`: refused while a container mounts it.
pub fn remove(engine: &Engine, name: &str) -> Result<()> {
    let lock = record::lock(engine)?;
    remove_locked(engine, name, &lock)
}

fn remove_locked(engine: &Engine, name: &str, _lock: &Lock) -> Result<()> {
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
    remove_dir(&path)
}

fn remove_dir(path: &Path) -> Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(path)(e)),
        _ => Ok(()),
    }
}

/// `volume prune [-a]`: unused anonymous volumes (Docker 23+), with `all` unused named ones
/// too; the names removed.
pub fn prune(engine: &Engine, all: bool) -> Result<Vec<String>> {
    let _lock = record::lock(engine)?;
    let used: HashSet<String> = record::all(engine)?
        .iter()
        .flat_map(|r| mounted_by(r).collect::<Vec<_>>())
        .collect();
    let mut removed = vec![];
    for name in list(engine)? {
        if !used.contains(&name) && (all || meta(engine, &name).anonymous) {
            remove_dir(&dir(engine).join(&name))?;
            removed.push(name);
        }
    }
    Ok(removed)
}

/// The anonymous volumes this container made (`rm -v`, `--rm`), unless another container
/// mounts one too; never a volume it named. `rec` is the removed container's record.
pub fn remove_anonymous(engine: &Engine, rec: &Record, lock: &Lock) -> Result<()> {
    remove_own(engine, rec, lock, |m| m.anonymous)
}

/// Every volume this container's create made, named ones included: what a `run` that could
/// not start leaves behind otherwise.
pub fn remove_made(engine: &Engine, rec: &Record, lock: &Lock) -> Result<()> {
    remove_own(engine, rec, lock, |m| m.made)
}

/// The volumes of `rec`'s mounts that `which` picks, unless another container mounts one.
fn remove_own(
    engine: &Engine,
    rec: &Record,
    _lock: &Lock,
    which: impl Fn(&super::mounts::Mount) -> bool,
) -> Result<()> {
    let mut others: Option<HashSet<String>> = None;
    for m in rec.mounts.iter().filter(|m| which(m)) {
        let Some(name) = &m.name else { continue };
        let others = match &mut others {
            Some(o) => o,
            None => others.insert(
                record::all(engine)?
                    .iter()
                    .filter(|r| r.id != rec.id)
                    .flat_map(|r| mounted_by(r).collect::<Vec<_>>())
                    .collect(),
            ),
        };
        if !others.contains(name) && id::validate_name(name).is_ok() {
            remove_dir(&dir(engine).join(name))?;
        }
    }
    Ok(())
}

/// Undo the volumes a failed `create` made (the caller holds the lock; no record names them).
pub fn remove_new(engine: &Engine, names: &[String]) {
    for n in names {
        if id::validate_name(n).is_ok() {
            let _ = remove_dir(&dir(engine).join(n));
        }
    }
}
