//! Container operations, one file each. Every operation takes the runtime's global options and a
//! container id; state lives under `--root`/ID.

mod create;
mod delete;
mod kill;
mod list;
mod run;
mod start;

pub use create::{create, CreateOptions};
pub use delete::delete;
pub use kill::{kill, parse_signal};
pub use list::{list, state};
pub use run::run;
pub use start::start;

use std::path::PathBuf;

/// Options that every command shares (runc's global flags).
#[derive(Debug, Clone)]
pub struct Runtime {
    /// State directory root (`--root`).
    pub root: PathBuf,
}
