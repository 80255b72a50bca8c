//! The container record: `ROOT/containers/ID/config.json`, written atomically (temp + rename),
//! and the store-wide lock (`ROOT/containers/.lock`) that every change to records takes, so two
//! `coracle` commands never corrupt them or give two containers one name.
//!
//! The status is stored by the monitor (created → running → exited) and checked against the
//! monitor's life: a record that says running whose monitor is gone (killed) reads as exited.

use super::request::Request;
use super::{id, io_err, Engine, Error, Result};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};

const RECORD: &str = "config.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Exited,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub name: String,
    /// The image as the user named it, and its id.
    pub image: String,
    pub image_id: String,
    pub created: String,
    pub request: Request,
    /// The process's argv as it will run (entrypoint + cmd after the flags).
    pub args: Vec<String>,
    pub status: Status,
    /// Host pid of the container's init while it runs.
    #[serde(default)]
    pub pid: i32,
    /// The monitor (pid and start time, so a reused pid is not taken for it).
    #[serde(default)]
    pub monitor_pid: i32,
    #[serde(default)]
    pub monitor_start: u64,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub exit_code: i32,
    #[serde(default)]
    pub oom_killed: bool,
    /// Why the last start failed, or what went wrong in the monitor.
    #[serde(default)]
    pub error: String,
    /// Restarts done by the restart policy since the last `start`.
    #[serde(default)]
    pub restart_count: u32,
    /// Set by `stop` and `rm -f`: the exit that follows is not a failure to restart from.
    #[serde(default)]
    pub stopping: bool,
    /// Set by the monitor while it waits to start the container again (its restart policy).
    #[serde(default)]
    pub restarting: bool,
    /// Binds and volumes as resolved at create (anonymous volumes named).
    #[serde(default)]
    pub mounts: Vec<super::mounts::Mount>,
    /// The networks' addresses while running (`network NAME ifname IP`).
    #[serde(default)]
    pub ips: Vec<crate::network::NetworkIp>,
}

impl Record {
    /// The status as it is: running only while the monitor lives.
    pub fn status(&self) -> Status {
        if self.status == Status::Running && !self.monitor_alive() {
            Status::Exited
        } else {
            self.status
        }
    }

    /// Between two runs of its restart policy: Docker's "restarting" (a kind of running).
    pub fn is_restarting(&self) -> bool {
        self.restarting && self.status() == Status::Running
    }

    pub fn monitor_alive(&self) -> bool {
        self.monitor_pid > 0
            && sys::process::process_start_time(self.monitor_pid) == Some(self.monitor_start)
            && sys::process::process_state(self.monitor_pid).is_some_and(|s| s != 'Z')
    }

    pub fn short_id(&self) -> &str {
        id::short(&self.id)
    }
}

/// The exclusive lock over all records, held while a command reads-modifies-writes them.
pub struct Lock(#[allow(dead_code)] File);

pub fn lock(engine: &Engine) -> Result<Lock> {
    let dir = engine.containers_dir();
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let path = dir.join(".lock");
    let f = File::create(&path).map_err(io_err(&path))?;
    sys::fd::flock_exclusive(std::os::fd::AsFd::as_fd(&f)).map_err(io_err(&path))?;
    Ok(Lock(f))
}

pub fn path(engine: &Engine, id: &str) -> PathBuf {
    engine.container_dir(id).join(RECORD)
}

pub fn load(engine: &Engine, id: &str) -> Result<Record> {
    let p = path(engine, id);
    let data = match std::fs::read(&p) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NoSuchContainer(id.into()))
        }
        Err(e) => return Err(io_err(&p)(e)),
    };
    serde_json::from_slice(&data).map_err(|e| Error::Invalid(format!("{}: {e}", p.display())))
}

/// Write the record atomically (the caller holds the lock).
pub fn save(engine: &Engine, rec: &Record, _lock: &Lock) -> Result<()> {
    let p = path(engine, &rec.id);
    let tmp = p.with_extension("json.tmp");
    let json = serde_json::to_vec_pretty(rec).expect("record serialises");
    std::fs::write(&tmp, json).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &p).map_err(io_err(&p))
}

/// Every record (directories without one are containers being created or removed: skipped).
pub fn all(engine: &Engine) -> Result<Vec<Record>> {
    let dir = engine.containers_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(io_err(&dir)(e)),
    };
    let mut out = vec![];
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if id::is_full_id(&name) {
            match load(engine, &name) {
                Ok(r) => out.push(r),
                Err(Error::NoSuchContainer(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    out.sort_by(|a, b| b.created.cmp(&a.created));
    Ok(out)
}

/// A container by full id, name, or unique id prefix (Docker's order).
pub fn find(engine: &Engine, what: &str) -> Result<Record> {
    if id::is_full_id(what) && path(engine, what).exists() {
        return load(engine, what);
    }
    let all = all(engine)?;
    if let Some(r) = all.iter().find(|r| r.name == what) {
        return Ok(r.clone());
    }
    let hex = !what.is_empty() && what.bytes().all(|c| c.is_ascii_hexdigit());
    let matches: Vec<&Record> = all
        .iter()
        .filter(|r| hex && r.id.starts_with(what))
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::NoSuchContainer(what.into())),
        _ => Err(Error::Invalid(format!(
            "{what}: ambiguous container id prefix"
        ))),
    }
}

pub fn exists_dir(p: &Path) -> bool {
    p.symlink_metadata().is_ok()
}
