//! Container operations, one file each. Every operation takes the runtime's global options and a
//! container id; state lives under `--root`/ID.

mod create;
mod delete;
mod events;
mod exec;
mod kill;
mod list;
mod pause;
mod pidns_members;
mod ps;
mod run;
mod start;
mod systemd_unit;
mod update;

pub use create::{create, CreateOptions};
pub use delete::delete;
pub use events::{events, events_stats, parse_interval, stats_json};
pub use exec::{exec, parse_uid_gid, process_from_flags, ExecOptions};
pub use kill::{kill, parse_signal};
pub use list::{list, state};
pub use pause::{pause, resume};
pub use ps::{ps_pids, ps_table};
pub use run::run;
pub use start::start;
pub use update::{
    parse_blkio_weight, parse_cpuset, parse_i64, parse_size, parse_u64, update, update_resources,
    UpdateFlags,
};

use std::path::PathBuf;

/// Options that every command shares (runc's global flags).
#[derive(Debug, Clone)]
pub struct Runtime {
    /// State directory root (`--root`).
    pub root: PathBuf,
}
