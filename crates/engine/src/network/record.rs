//! The record of one container's attachment, `<run>/net/<id>/network.json`: every step of
//! `attach` is written here before it runs (with the exact plugin list used and how far its ADD
//! got), so `detach` — or the rollback of a failed attach — undoes exactly what was done.

use super::{io_err, Error, Networks, PortMapping, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// One network joined (or being joined) by a container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Joined {
    pub(crate) network: String,
    pub(crate) ifname: String,
    pub(crate) list: Value,
    pub(crate) result: Option<Value>,
    pub(crate) ip: Option<Ipv4Addr>,
    /// Plugins of `list` that ran ADD; None while it runs (a crash then DELs them all).
    pub(crate) ran: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) hostname: String,
    pub(crate) netns: Option<PathBuf>,
    pub(crate) networks: Vec<Joined>,
    pub(crate) ports: Vec<PortMapping>,
}

impl Networks {
    pub(crate) fn container_dir(&self, id: &str) -> PathBuf {
        self.cfg.run_dir.join("net").join(id)
    }

    pub(crate) fn netns_path(&self, id: &str) -> PathBuf {
        self.cfg.run_dir.join("netns").join(id)
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("network.json")
    }

    pub(crate) fn save_record(&self, rec: &Record) -> Result<()> {
        super::atomic::write(
            &self.record_path(&rec.id),
            &serde_json::to_vec_pretty(rec).expect("json"),
        )
    }

    pub(crate) fn read_record(&self, id: &str) -> Result<Option<Record>> {
        let p = self.record_path(id);
        match std::fs::read(&p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&p)(e)),
            Ok(t) => serde_json::from_slice(&t)
                .map(Some)
                .map_err(|e| Error::Invalid(format!("{}: {e}", p.display()))),
        }
    }

    pub(crate) fn all_records(&self) -> Result<Vec<Record>> {
        let dir = self.cfg.run_dir.join("net");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(vec![]);
        };
        let mut out = Vec::new();
        for e in entries.flatten() {
            if let Some(r) = e
                .file_name()
                .to_str()
                .map(|id| self.read_record(id))
                .transpose()?
                .flatten()
            {
                out.push(r);
            }
        }
        Ok(out)
    }
}
