//! Network definitions: each user network (and the default one) is a CNI network configuration
//! list at `<state>/networks/<name>.conflist`, written atomically; that file is the only record
//! of a network, so `inspect` reads the subnet and bridge back from it.

use super::{
    atomic, io_err, members, subnet, Error, Networks, Result, Subnet, DEFAULT_NETWORK, HOST, NONE,
};
use serde::Serialize;
use serde_json::{json, Value};
use std::io::Read;
use std::path::PathBuf;

/// CNI spec version of our lists: Debian 12's plugins (1.1.1) support 1.0.0.
pub const CNI_VERSION: &str = "1.0.0";

#[derive(Debug, Clone, Serialize)]
pub struct NetworkInfo {
    pub name: String,
    /// "bridge" for CNI networks, "null"/"host" for the built-in modes (Docker's names).
    pub driver: String,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub bridge: Option<String>,
    /// Container ids attached to this network.
    pub containers: Vec<String>,
    /// The CNI network configuration list (absent for none/host).
    pub config: Option<Value>,
}

impl Networks {
    fn conflist_path(&self, name: &str) -> PathBuf {
        self.networks_dir().join(format!("{name}.conflist"))
    }

    /// `network create NAME [--subnet CIDR]`: a bridge network with its own bridge device.
    pub fn create(&self, name: &str, subnet: Option<&str>) -> Result<NetworkInfo> {
        validate_name(name)?;
        if [NONE, HOST, DEFAULT_NETWORK].contains(&name) {
            return Err(Error::Invalid(format!(
                "network {name}: is a built-in network name"
            )));
        }
        let _lock = self.lock()?;
        if self.conflist_path(name).exists() {
            return Err(Error::Exists(name.into()));
        }
        let subnet = match subnet {
            Some(s) => {
                let s = Subnet::parse(s).map_err(|e| Error::Invalid(format!("--subnet {e}")))?;
                self.check_subnet_free(&s)
                    .map_err(|e| Error::Invalid(format!("--subnet {s}: {e}")))?;
                s
            }
            None => self.pick_subnet()?,
        };
        let bridge = self.new_bridge_name()?;
        self.write_conflist(name, &bridge, &subnet)?;
        self.inspect_locked(name)
    }

    /// The default network, created on first use from the configured subnet and bridge.
    pub(crate) fn ensure_default(&self) -> Result<()> {
        if !self.conflist_path(DEFAULT_NETWORK).exists() {
            let (br, net) = (self.cfg.default_bridge.clone(), self.cfg.default_subnet);
            self.write_conflist(DEFAULT_NETWORK, &br, &net)?;
        }
        Ok(())
    }

    fn write_conflist(&self, name: &str, bridge: &str, subnet: &Subnet) -> Result<()> {
        let list = conflist(name, bridge, subnet, &self.ipam_dir());
        let text = serde_json::to_vec_pretty(&list).expect("json");
        atomic::write(&self.conflist_path(name), &text)
    }

    /// host-local keeps its leases here (one file per leased IP, named by the IP).
    pub fn ipam_dir(&self) -> PathBuf {
        self.networks_dir().join("ipam")
    }

    /// `network inspect NAME`.
    pub fn inspect(&self, name: &str) -> Result<NetworkInfo> {
        let _lock = self.lock()?;
        if name == DEFAULT_NETWORK {
            self.ensure_default()?;
        }
        self.inspect_locked(name)
    }

    fn inspect_locked(&self, name: &str) -> Result<NetworkInfo> {
        let containers =
            || members::read(self, name).map(|m| m.into_iter().map(|m| m.id).collect());
        match name {
            NONE | HOST => Ok(NetworkInfo {
                name: name.into(),
                driver: if name == NONE { "null" } else { "host" }.into(),
                subnet: None,
                gateway: None,
                bridge: None,
                containers: vec![],
                config: None,
            }),
            _ => {
                let list = self.load(name)?;
                let bridge = &list["plugins"][0];
                let range = &bridge["ipam"]["ranges"][0][0];
                let text = |v: &Value| v.as_str().map(String::from);
                Ok(NetworkInfo {
                    name: name.into(),
                    driver: "bridge".into(),
                    subnet: text(&range["subnet"]),
                    gateway: text(&range["gateway"]),
                    bridge: text(&bridge["bridge"]),
                    containers: containers()?,
                    config: Some(list),
                })
            }
        }
    }

    /// The stored configuration list of a network.
    pub fn load(&self, name: &str) -> Result<Value> {
        validate_name(name)?;
        let path = self.conflist_path(name);
        let text = match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(name.into()))
            }
            r => r.map_err(io_err(&path))?,
        };
        serde_json::from_slice(&text)
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
    }

    /// `network ls`: the built-in modes, the default network, then user networks by name.
    pub fn list(&self) -> Result<Vec<NetworkInfo>> {
        let _lock = self.lock()?;
        self.ensure_default()?;
        let mut names = self.stored_names()?;
        names.sort();
        names.retain(|n| n != DEFAULT_NETWORK);
        let mut out = Vec::new();
        for name in [DEFAULT_NETWORK, HOST, NONE]
            .into_iter()
            .map(String::from)
            .chain(names)
        {
            out.push(self.inspect_locked(&name)?);
        }
        Ok(out)
    }

    fn stored_names(&self) -> Result<Vec<String>> {
        let dir = self.networks_dir();
        let entries = std::fs::read_dir(&dir).map_err(io_err(&dir))?;
        Ok(entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".conflist")
                    .map(String::from)
            })
            .collect())
    }

    /// `network rm NAME`: refused while a container uses it; deletes the bridge device too
    /// (the bridge plugin never removes bridges).
    pub fn remove(&self, name: &str) -> Result<()> {
        validate_name(name)?;
        if [NONE, HOST, DEFAULT_NETWORK].contains(&name) {
            return Err(Error::Invalid(format!(
                "network {name}: is a built-in network and cannot be removed"
            )));
        }
        let _lock = self.lock()?;
        let info = self.inspect_locked(name)?;
        if !info.containers.is_empty() {
            return Err(Error::InUse {
                name: name.into(),
                users: info.containers.join(", "),
            });
        }
        if let Some(br) = &info.bridge {
            delete_link(br).map_err(|e| {
                Error::Invalid(format!("network {name}: deleting bridge {br}: {e}"))
            })?;
        }
        let path = self.conflist_path(name);
        std::fs::remove_file(&path).map_err(io_err(&path))?;
        members::remove_all(self, name)?;
        let lease_dir = self.ipam_dir().join(name);
        let _ = std::fs::remove_dir_all(lease_dir);
        Ok(())
    }

    /// Subnets taken by stored networks.
    fn used_subnets(&self) -> Result<Vec<Subnet>> {
        let mut out = vec![self.cfg.default_subnet];
        for name in self.stored_names()? {
            let list = self.load(&name)?;
            if let Some(s) = list["plugins"][0]["ipam"]["ranges"][0][0]["subnet"].as_str() {
                out.extend(Subnet::parse(s).ok());
            }
        }
        Ok(out)
    }

    fn check_subnet_free(&self, s: &Subnet) -> std::result::Result<(), String> {
        if let Some(u) = self
            .used_subnets()
            .map_err(|e| e.to_string())?
            .iter()
            .find(|u| u.overlaps(s))
        {
            return Err(format!("overlaps the subnet {u} of another network"));
        }
        if let Some(r) = subnet::host_routes().iter().find(|r| r.overlaps(s)) {
            return Err(format!("overlaps the host route {r}"));
        }
        Ok(())
    }

    /// The first /24 of the user pool that no network and no host route uses.
    fn pick_subnet(&self) -> Result<Subnet> {
        let pool = self.cfg.user_pool;
        (0..256)
            .filter_map(|i| pool.nth(24, i))
            .find(|s| self.check_subnet_free(s).is_ok())
            .ok_or_else(|| Error::Invalid(format!("no free /24 left in {pool}: pass --subnet")))
    }

    /// `<prefix><random hex>`, at most 15 bytes (IFNAMSIZ), unused by any link or network.
    fn new_bridge_name(&self) -> Result<String> {
        let room = 15usize.saturating_sub(self.cfg.bridge_prefix.len()).min(10);
        for _ in 0..16 {
            let name = format!("{}{}", self.cfg.bridge_prefix, &random_hex()?[..room]);
            let taken = std::path::Path::new("/sys/class/net").join(&name).exists()
                || self.stored_names()?.iter().any(|n| {
                    self.load(n)
                        .map(|l| l["plugins"][0]["bridge"] == name.as_str())
                        .unwrap_or(false)
                });
            if !taken {
                return Ok(name);
            }
        }
        Err(Error::Invalid("could not find a free bridge name".into()))
    }
}

/// The list: bridge (gateway, masquerading, host-local IPAM), portmap, firewall.
pub fn conflist(name: &str, bridge: &str, subnet: &Subnet, ipam_dir: &std::path::Path) -> Value {
    json!({
        "cniVersion": CNI_VERSION,
        "name": name,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": true,
                "ipMasq": true,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{ "subnet": subnet.to_string(), "gateway": subnet.gateway().to_string() }]],
                    "routes": [{ "dst": "0.0.0.0/0" }],
                    "dataDir": ipam_dir,
                }
            },
            { "type": "portmap", "capabilities": { "portMappings": true } },
            { "type": "firewall", "backend": "iptables" }
        ]
    })
}

/// Docker's rule: a letter or digit, then letters, digits, `_`, `.`, `-`; we also cap the length
/// because the name becomes a file name.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "invalid network name {name:?}: use letters, digits, '_', '.', '-' (max 64, starting with a letter or digit)"
        )))
    }
}

pub(crate) fn random_hex() -> Result<String> {
    let path = std::path::Path::new("/dev/urandom");
    let mut buf = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(io_err(path))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// `ip link delete DEV`; a missing device is fine (no container ever created the bridge).
fn delete_link(dev: &str) -> std::result::Result<(), String> {
    if !std::path::Path::new("/sys/class/net").join(dev).exists() {
        return Ok(());
    }
    let out = std::process::Command::new("ip")
        .args(["link", "delete", dev])
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("my-net.1_a").is_ok());
        for bad in ["", "-x", "a/b", "../x", "a b", &"x".repeat(65)] {
            assert!(validate_name(bad)
                .unwrap_err()
                .to_string()
                .contains("invalid network name"));
        }
    }

    #[test]
    fn conflist_shape() {
        let s = Subnet::parse("10.89.1.0/24").unwrap();
        let l = conflist("n", "cr-abc", &s, std::path::Path::new("/x"));
        assert_eq!(l["cniVersion"], "1.0.0");
        let types: Vec<_> = l["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["type"].clone())
            .collect();
        assert_eq!(types, ["bridge", "portmap", "firewall"]);
        assert_eq!(
            l["plugins"][0]["ipam"]["ranges"][0][0]["gateway"],
            "10.89.1.1"
        );
    }
}
