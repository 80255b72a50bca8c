//! Container networks on the standard CNI plugins, driven by our own implementation of the CNI
//! protocol (no libcni, no daemon).
//!
//! - [`store`]: network definitions (`network create|ls|inspect|rm`), one CNI conflist per network.
//! - [`subnet`]: IPv4 CIDRs, overlap checks against other networks and the host's routes.
//! - [`cni`]: executing plugin binaries (ADD/DEL/CHECK, prevResult chaining, error JSON).
//! - [`netns`]: per-container network namespaces as bind-mounted files (like `ip netns add`).
//! - [`ports`]: `-p [IP:]HOST:CONTAINER[/udp]` parsing and the "port in use" check.
//! - [`files`]: per-container /etc/hosts, /etc/hostname, /etc/resolv.conf.
//! - [`members`]: who is on which network (names for /etc/hosts, `network rm` of a used network).
//! - [`attach`]: [`Networks::attach`] / [`Networks::detach`], the API `run` and `rm` call.
//! - [`record`]: what an attach did, step by step, so detach (or a rollback) undoes exactly that.

pub mod atomic;
pub mod attach;
pub mod cni;
pub mod files;
pub mod members;
pub mod netns;
pub mod ports;
pub mod record;
pub mod store;
pub mod subnet;

pub use attach::{AttachRequest, Attachment, NetworkIp};
pub use ports::{PortMapping, Protocol};
pub use store::NetworkInfo;
pub use subnet::Subnet;

use std::fs::File;
use std::path::{Path, PathBuf};

/// Name of the default network (Docker's name; Podman calls it "podman").
pub const DEFAULT_NETWORK: &str = "bridge";
/// Built-in modes that are not CNI networks.
pub const NONE: &str = "none";
pub const HOST: &str = "host";

/// One clear line per failure; every message names the network, plugin, flag or file involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(String),
    #[error("network {0}: not found")]
    NotFound(String),
    #[error("network {0}: already exists")]
    Exists(String),
    #[error("network {name}: in use by container(s) {users}")]
    InUse { name: String, users: String },
    #[error("network {network}: plugin {plugin}: {msg}")]
    Plugin {
        network: String,
        plugin: String,
        msg: String,
    },
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
}

pub type Result<T> = std::result::Result<T, Error>;

/// Attach a path to an I/O error so the message names the file.
pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |err| Error::Io {
        path: path.to_path_buf(),
        err,
    }
}

/// Where the engine keeps network state and which defaults it uses.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// Persistent state (conflists, IPAM leases, member records): `<state>/networks`.
    pub state_dir: PathBuf,
    /// Volatile state (netns files, per-container files): `<run>/netns`, `<run>/net`.
    pub run_dir: PathBuf,
    /// Directories searched for plugin binaries (CNI_PATH).
    pub cni_path: Vec<PathBuf>,
    /// Subnet and bridge device of the default network.
    pub default_subnet: Subnet,
    pub default_bridge: String,
    /// Prefix of the bridge devices of user networks (a random suffix makes each unique).
    pub bridge_prefix: String,
    /// Where user networks without `--subnet` get a /24 from.
    pub user_pool: Subnet,
}

impl NetworkConfig {
    /// The defaults under a given state and run dir: plugins from Debian's package
    /// (/usr/lib/cni) or the upstream location (/opt/cni/bin), default network 10.88.0.0/16 on
    /// `coracle0`, user networks from 10.89.0.0/16.
    pub fn new(state_dir: impl Into<PathBuf>, run_dir: impl Into<PathBuf>) -> NetworkConfig {
        NetworkConfig {
            state_dir: state_dir.into(),
            run_dir: run_dir.into(),
            cni_path: vec![PathBuf::from("/usr/lib/cni"), PathBuf::from("/opt/cni/bin")],
            default_subnet: Subnet::parse("10.88.0.0/16").expect("valid default"),
            default_bridge: "coracle0".into(),
            bridge_prefix: "cr-".into(),
            user_pool: Subnet::parse("10.89.0.0/16").expect("valid default"),
        }
    }
}

/// The engine's networks: definitions, attachments and their host-side effects.
pub struct Networks {
    pub(crate) cfg: NetworkConfig,
}

impl Networks {
    pub fn new(cfg: NetworkConfig) -> Networks {
        Networks { cfg }
    }

    pub fn config(&self) -> &NetworkConfig {
        &self.cfg
    }

    pub(crate) fn networks_dir(&self) -> PathBuf {
        self.cfg.state_dir.join("networks")
    }

    /// Serialises every change to definitions, members and attachments across processes
    /// (two `coracle` commands at once must not corrupt the state).
    pub(crate) fn lock(&self) -> Result<File> {
        let dir = self.networks_dir();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let path = dir.join(".lock");
        let file = File::create(&path).map_err(io_err(&path))?;
        sys::fd::flock_exclusive(std::os::fd::AsFd::as_fd(&file)).map_err(io_err(&path))?;
        Ok(file)
    }
}
