//! Containers without a daemon: every command works from the records on disk.
//!
//! - [`id`]: 64-hex ids, generated and user names.
//! - [`record`]: `ROOT/containers/ID/config.json`, the store-wide lock, lookup by id/prefix/name.
//! - [`request`]: what `create`/`run` were asked for (flags), validated before anything exists.
//! - [`spec`]: those flags applied to the bundle's config.json.
//! - [`logs`]: Docker's json-file log lines (write, read, follow).
//! - [`monitor`]: the per-container process that is the container's parent.
//! - [`ops`]: create, start, stop, kill, rm, wait.
//! - [`driver`]: the runtime crate in process, or a runc-compatible binary.
//! - [`exec_process`]: the process object `exec` hands a binary.
//! - [`restart`]: the `--restart` policies.
//! - [`volumes`]: named and anonymous volumes.
//! - [`mounts`]: a container's binds and volumes, resolved at create (image VOLUME paths too).
//! - [`copy_up`]: a new volume filled with the image's content at its path.

pub mod copy_up;
pub mod driver;
pub mod exec_process;
pub mod id;
pub mod logs;
pub mod monitor;
pub mod mounts;
pub mod ops;
pub mod record;
pub mod request;
pub mod restart;
pub mod seccomp;
pub mod security_opt;
pub mod spec;
pub mod volumes;

pub use record::{Record, Status};
pub use request::Request;

use std::path::{Path, PathBuf};

/// Docker's exit codes for `run`: the engine failed (125), the command cannot be executed
/// (126), the command was not found (127).
pub const EXIT_ENGINE: i32 = 125;
pub const EXIT_CANNOT_EXEC: i32 = 126;
pub const EXIT_NOT_FOUND: i32 = 127;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags or input, phrased for the user (naming the flag).
    #[error("{0}")]
    Invalid(String),
    #[error("no such container: {0}")]
    NoSuchContainer(String),
    #[error("{0}")]
    Conflict(String),
    /// The container's command could not be started: the exit code (126/127) and why.
    #[error("{msg}")]
    Exec { code: i32, msg: String },
    #[error(transparent)]
    Image(#[from] image::Error),
    #[error(transparent)]
    Runtime(#[from] runtime::Error),
    #[error(transparent)]
    Network(#[from] crate::network::Error),
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
}

impl Error {
    /// The exit code `run`/`create`/`start` end with for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Exec { code, .. } => *code,
            _ => EXIT_ENGINE,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |err| Error::Io {
        path: path.to_path_buf(),
        err,
    }
}

/// Where everything of the engine lives, all under the store root (`--root`).
#[derive(Debug, Clone)]
pub struct Engine {
    pub root: PathBuf,
}

impl Engine {
    pub fn new(root: impl Into<PathBuf>) -> Engine {
        Engine { root: root.into() }
    }

    /// `ROOT/containers`: one directory per container, and the lock.
    pub fn containers_dir(&self) -> PathBuf {
        self.root.join("containers")
    }

    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.containers_dir().join(id)
    }

    /// The runtime crate's state root (`ROOT/runtime`): the runtime's own records by id.
    pub fn runtime(&self) -> runtime::container::Runtime {
        runtime::container::Runtime {
            root: self.root.join("runtime"),
        }
    }

    /// How this container's runtime is driven (`--runtime`, else the runtime crate).
    pub fn driver(&self, rec: &Record) -> driver::Driver {
        driver::Driver::new(self, rec.request.runtime.as_deref())
    }

    /// The engine's networks: definitions in `ROOT/networks`, per-container netns and files
    /// in `ROOT/run`.
    pub fn networks(&self) -> crate::network::Networks {
        crate::network::Networks::new(crate::network::NetworkConfig::new(
            &self.root,
            self.root.join("run"),
        ))
    }
}
