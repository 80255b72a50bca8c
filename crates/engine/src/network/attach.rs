//! Attaching a container to its networks and detaching it: the API `run` and `rm` call.
//!
//! `attach` creates the container's network namespace (with `lo` up), runs
//! each network's plugin list (interfaces eth0, eth1, … in the order given), and writes
//! /etc/hosts, /etc/hostname, /etc/resolv.conf. Every step is first recorded in
//! `<run>/net/<id>/network.json` (with the exact plugin lists and results used), so `detach`
//! undoes exactly what was done — also after a failed or interrupted attach.
//! Published ports go to the first network only (one DNAT target per host port).

use super::cni::{Cni, Invocation};
use super::files::{self, HostEntry};
use super::record::{Joined, Record};
use super::{
    io_err, members, netns, Error, Networks, PortMapping, Result, DEFAULT_NETWORK, HOST, NONE,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::Ipv4Addr;
use std::path::PathBuf;

pub struct AttachRequest<'a> {
    pub container_id: &'a str,
    /// The container's name: what peers on a user network resolve through /etc/hosts.
    pub name: &'a str,
    /// `--hostname`; defaults to the first 12 characters of the id (Docker's choice).
    pub hostname: Option<&'a str>,
    /// `--network` values: `none`, `host`, or network names; empty means the default network.
    pub networks: &'a [String],
    pub ports: &'a [PortMapping],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkIp {
    pub network: String,
    pub ifname: String,
    pub ip: Ipv4Addr,
}

/// What the runtime config needs: the netns to join (None: host network) and the files to
/// bind-mount.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub netns_path: Option<PathBuf>,
    pub ips: Vec<NetworkIp>,
    pub hosts: PathBuf,
    pub hostname: PathBuf,
    pub resolv_conf: PathBuf,
}

#[derive(Debug)]
enum Mode {
    None,
    Host,
    Bridge(Vec<String>),
}

impl Networks {
    fn cni(&self) -> Cni<'_> {
        Cni {
            path: &self.cfg.cni_path,
        }
    }

    /// Attach a container: on error nothing it started is left on the host.
    pub fn attach(&self, req: &AttachRequest<'_>) -> Result<Attachment> {
        validate_id(req.container_id)?;
        let mode = mode(req.networks)?;
        if !req.ports.is_empty() && !matches!(mode, Mode::Bridge(_)) {
            return Err(Error::Invalid(
                "-p: publishing ports needs a bridge network (not none or host)".into(),
            ));
        }
        let _lock = self.lock()?;
        let dir = self.container_dir(req.container_id);
        if dir.exists() {
            return Err(Error::Invalid(format!(
                "container {}: already attached to its networks",
                req.container_id
            )));
        }
        let lists = match &mode {
            Mode::Bridge(names) => self.lists(names)?,
            _ => vec![],
        };
        self.check_ports(req.ports)?;
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let mut rec = Record {
            id: req.container_id.into(),
            name: req.name.into(),
            hostname: req
                .hostname
                .map(String::from)
                .unwrap_or_else(|| req.container_id.chars().take(12).collect()),
            netns: None,
            networks: vec![],
            ports: req.ports.to_vec(),
        };
        match self.build(&mut rec, &mode, lists) {
            Ok(a) => Ok(a),
            Err(e) => match self.teardown(&rec) {
                Ok(()) => Err(e),
                Err(c) => Err(Error::Invalid(format!("{e} (cleanup also failed: {c})"))),
            },
        }
    }

    /// Undo `attach` (idempotent): plugin DEL in reverse order (veth, iptables rules, IPAM
    /// lease), the netns, the files, and this container's lines in its peers' /etc/hosts.
    pub fn detach(&self, container_id: &str) -> Result<()> {
        validate_id(container_id)?;
        let _lock = self.lock()?;
        match self.read_record(container_id)? {
            Some(rec) => self.teardown(&rec),
            None => netns::remove(&self.netns_path(container_id)),
        }
    }

    /// CNI CHECK of every network the container is on.
    pub fn check(&self, container_id: &str) -> Result<()> {
        validate_id(container_id)?;
        let _lock = self.lock()?;
        let rec = self
            .read_record(container_id)?
            .ok_or_else(|| Error::Invalid(format!("container {container_id}: not attached")))?;
        let ns = rec.netns.clone().unwrap_or_default();
        for (i, j) in rec.networks.iter().enumerate() {
            let pm = if i == 0 {
                ports_cni(&rec.ports)
            } else {
                vec![]
            };
            let inv = Invocation {
                container_id: &rec.id,
                netns: &ns,
                ifname: &j.ifname,
                port_mappings: &pm,
            };
            self.cni()
                .check_list(&j.list, &inv, j.result.as_ref().unwrap_or(&Value::Null))?;
        }
        Ok(())
    }

    fn lists(&self, names: &[String]) -> Result<Vec<(String, Value)>> {
        names
            .iter()
            .map(|n| {
                if n == DEFAULT_NETWORK {
                    self.ensure_default()?;
                }
                Ok((n.clone(), self.load(n)?))
            })
            .collect()
    }

    /// A host port must be free on the host and not published by another of our containers
    /// (DNAT rules do not hold a socket, so binding alone would not see those).
    fn check_ports(&self, ports: &[PortMapping]) -> Result<()> {
        for (i, p) in ports.iter().enumerate() {
            if ports[..i].iter().any(|q| q.collides(p)) {
                return Err(Error::Invalid(format!(
                    "-p {p}: host port {} is given twice",
                    p.host_port
                )));
            }
        }
        let others = self.all_records()?;
        for p in ports {
            if let Some(r) = others
                .iter()
                .find(|r| r.ports.iter().any(|q| q.collides(p)))
            {
                return Err(Error::Invalid(format!(
                    "-p {p}: host port {} is already published by container {}",
                    p.host_port, r.name
                )));
            }
            p.check_free().map_err(Error::Invalid)?;
        }
        Ok(())
    }

    fn build(
        &self,
        rec: &mut Record,
        mode: &Mode,
        lists: Vec<(String, Value)>,
    ) -> Result<Attachment> {
        let dir = self.container_dir(&rec.id);
        self.save_record(rec)?;
        if !matches!(mode, Mode::Host) {
            let path = self.netns_path(&rec.id);
            rec.netns = Some(path.clone());
            self.save_record(rec)?;
            netns::create(&path)?;
        }
        for (i, (network, list)) in lists.into_iter().enumerate() {
            self.join(rec, i, network, list)?;
        }
        let ips: Vec<NetworkIp> = rec
            .networks
            .iter()
            .filter_map(|j| {
                Some(NetworkIp {
                    network: j.network.clone(),
                    ifname: j.ifname.clone(),
                    ip: j.ip?,
                })
            })
            .collect();
        let (hosts, hostname, resolv) = (
            dir.join("hosts"),
            dir.join("hostname"),
            dir.join("resolv.conf"),
        );
        if matches!(mode, Mode::Host) {
            files::write_new(
                &hosts,
                &std::fs::read_to_string("/etc/hosts").unwrap_or_default(),
            )?;
            let host_name =
                std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
            files::write_new(&hostname, &host_name)?;
        } else {
            files::write_new(&hostname, &format!("{}\n", rec.hostname))?;
            files::write_new(&hosts, &self.hosts_for(rec)?)?;
        }
        files::write_new(&resolv, &files::resolv_conf(&files::host_resolv_conf()))?;
        for j in &rec.networks {
            let ip = j.ip.ok_or_else(|| {
                Error::Invalid(format!(
                    "network {}: the plugins returned no IPv4 address",
                    j.network
                ))
            })?;
            members::add(
                self,
                &j.network,
                members::Member {
                    id: rec.id.clone(),
                    name: rec.name.clone(),
                    ip,
                    hosts_file: hosts.clone(),
                },
            )?;
            self.refresh_peers(&j.network, &rec.id)?;
        }
        Ok(Attachment {
            netns_path: rec.netns.clone(),
            ips,
            hosts,
            hostname,
            resolv_conf: resolv,
        })
    }

    /// ADD one network's list as interface `eth<index>`.
    fn join(&self, rec: &mut Record, index: usize, network: String, list: Value) -> Result<()> {
        let pm = if index == 0 {
            ports_cni(&rec.ports)
        } else {
            vec![]
        };
        let joined = self.run_add(rec, network, format!("eth{index}"), list, &pm);
        rec.networks.push(joined?);
        self.save_record(rec)
    }

    /// Run one list's ADD. The record names the list (with `ran` unknown) before the ADD, and
    /// the returned entry — in `Err` too — says how far it got, so teardown DELs exactly that.
    fn run_add(
        &self,
        rec: &mut Record,
        network: String,
        ifname: String,
        list: Value,
        pm: &[Value],
    ) -> std::result::Result<Joined, Error> {
        let mut joined = Joined {
            network,
            ifname,
            list,
            result: None,
            ip: None,
            ran: None,
        };
        let mut pending = rec.clone();
        pending.networks.push(joined.clone());
        self.save_record(&pending)?;
        let ns = rec.netns.clone().unwrap_or_default();
        let inv = Invocation {
            container_id: &rec.id,
            netns: &ns,
            ifname: &joined.ifname,
            port_mappings: pm,
        };
        match self.cni().add_list(&joined.list, &inv) {
            Ok(result) => {
                joined.ran = joined.list["plugins"].as_array().map(Vec::len);
                joined.ip = first_ipv4(&result);
                joined.result = Some(result);
                Ok(joined)
            }
            Err(p) => {
                joined.ran = Some(p.ran);
                rec.networks.push(joined);
                Err(p.error)
            }
        }
    }

    fn teardown(&self, rec: &Record) -> Result<()> {
        let mut first: Option<Error> = None;
        let mut keep = |r: Result<()>| {
            if let Err(e) = r {
                first.get_or_insert(e);
            }
        };
        let ns = rec.netns.clone().unwrap_or_default();
        for (i, j) in rec.networks.iter().enumerate().rev() {
            let pm = if i == 0 {
                ports_cni(&rec.ports)
            } else {
                vec![]
            };
            let inv = Invocation {
                container_id: &rec.id,
                netns: &ns,
                ifname: &j.ifname,
                port_mappings: &pm,
            };
            keep(self.cni().del_list(&j.list, &inv, j.result.as_ref(), j.ran));
            keep(members::remove(self, &j.network, &rec.id));
        }
        if let Some(path) = &rec.netns {
            keep(netns::remove(path));
        }
        for j in &rec.networks {
            keep(self.refresh_peers(&j.network, &rec.id));
        }
        let dir = self.container_dir(&rec.id);
        keep(
            std::fs::remove_dir_all(&dir)
                .or_else(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
                .map_err(io_err(&dir)),
        );
        first.map_or(Ok(()), Err)
    }

    /// A container's /etc/hosts: itself, then every other member of its networks by name.
    fn hosts_for(&self, rec: &Record) -> Result<String> {
        let mut entries = Vec::new();
        if let Some(ip) = rec.networks.iter().find_map(|j| j.ip) {
            let mut names = vec![rec.hostname.clone()];
            if !rec.name.is_empty() && rec.name != rec.hostname {
                names.push(rec.name.clone());
            }
            entries.push(HostEntry { ip, names });
        }
        for j in &rec.networks {
            for m in members::read(self, &j.network)? {
                if m.id != rec.id
                    && !m.name.is_empty()
                    && !entries.iter().any(|e| e.names.contains(&m.name))
                {
                    entries.push(HostEntry {
                        ip: m.ip,
                        names: vec![m.name],
                    });
                }
            }
        }
        Ok(files::hosts_text(&entries))
    }

    /// Rewrite the /etc/hosts of every member of `network` except `changed`.
    fn refresh_peers(&self, network: &str, changed: &str) -> Result<()> {
        for m in members::read(self, network)? {
            if m.id == changed {
                continue;
            }
            if let Some(peer) = self.read_record(&m.id)? {
                files::rewrite_in_place(&m.hosts_file, &self.hosts_for(&peer)?)?;
            }
        }
        Ok(())
    }
}

fn mode(networks: &[String]) -> Result<Mode> {
    let special = |n: &str| n == NONE || n == HOST;
    match networks {
        [] => Ok(Mode::Bridge(vec![DEFAULT_NETWORK.into()])),
        [n] if n == NONE => Ok(Mode::None),
        [n] if n == HOST => Ok(Mode::Host),
        ns if ns.iter().any(|n| special(n)) => Err(Error::Invalid(format!(
            "--network {}: none and host cannot be combined with other networks",
            ns.join(",")
        ))),
        ns => {
            for (i, n) in ns.iter().enumerate() {
                super::store::validate_name(n)?;
                if ns[..i].contains(n) {
                    return Err(Error::Invalid(format!("--network {n}: given twice")));
                }
            }
            Ok(Mode::Bridge(ns.to_vec()))
        }
    }
}

fn ports_cni(ports: &[PortMapping]) -> Vec<Value> {
    ports.iter().map(PortMapping::to_cni).collect()
}

/// The first IPv4 address of a CNI result (`ips[].address` is CIDR notation).
fn first_ipv4(result: &Value) -> Option<Ipv4Addr> {
    result["ips"]
        .as_array()?
        .iter()
        .find_map(|ip| ip["address"].as_str()?.split('/').next()?.parse().ok())
}

fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && !id.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!("invalid container id {id:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn modes() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(matches!(mode(&[]).unwrap(), Mode::Bridge(n) if n == ["bridge"]));
        assert!(matches!(mode(&s(&["none"])).unwrap(), Mode::None));
        assert!(matches!(mode(&s(&["host"])).unwrap(), Mode::Host));
        assert!(mode(&s(&["host", "a"]))
            .unwrap_err()
            .to_string()
            .contains("cannot be combined"));
        assert!(mode(&s(&["a", "a"]))
            .unwrap_err()
            .to_string()
            .contains("given twice"));
        assert!(validate_id("../x").is_err() && validate_id("abc-1").is_ok());
    }

    #[test]
    fn result_ip() {
        let r = json!({"ips": [{"address": "10.89.0.5/24", "gateway": "10.89.0.1"}]});
        assert_eq!(first_ipv4(&r), Some(Ipv4Addr::new(10, 89, 0, 5)));
        assert_eq!(first_ipv4(&json!({})), None);
    }
}
