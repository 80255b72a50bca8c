//! Who is on a network: `<state>/networks/members/<network>.json`, a list of containers with
//! their name, address and /etc/hosts file, so that a joining container's name can be added to
//! the others' /etc/hosts (and removed when it leaves), and `network rm` can refuse a used network.
//! Callers hold the network lock.

use super::{atomic, io_err, Networks, Result};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub ip: Ipv4Addr,
    pub hosts_file: PathBuf,
}

fn path(nets: &Networks, network: &str) -> PathBuf {
    nets.networks_dir()
        .join("members")
        .join(format!("{network}.json"))
}

pub fn read(nets: &Networks, network: &str) -> Result<Vec<Member>> {
    let p = path(nets, network);
    match std::fs::read(&p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(io_err(&p)(e)),
        Ok(text) => serde_json::from_slice(&text)
            .map_err(|e| super::Error::Invalid(format!("{}: {e}", p.display()))),
    }
}

fn write(nets: &Networks, network: &str, members: &[Member]) -> Result<()> {
    let p = path(nets, network);
    if members.is_empty() {
        return remove_all(nets, network);
    }
    atomic::write(&p, &serde_json::to_vec_pretty(members).expect("json"))
}

pub fn add(nets: &Networks, network: &str, member: Member) -> Result<()> {
    let mut all = read(nets, network)?;
    all.retain(|m| m.id != member.id);
    all.push(member);
    write(nets, network, &all)
}

pub fn remove(nets: &Networks, network: &str, id: &str) -> Result<()> {
    let mut all = read(nets, network)?;
    all.retain(|m| m.id != id);
    write(nets, network, &all)
}

pub fn remove_all(nets: &Networks, network: &str) -> Result<()> {
    let p = path(nets, network);
    match std::fs::remove_file(&p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&p)(e)),
        _ => Ok(()),
    }
}
