//! `kill [--all] ID [SIGNAL]`: SIGNAL by name (KILL, SIGKILL) or number; SIGTERM by default.

use crate::cli::KillArgs;
use runtime::container::{self, Runtime};
use runtime::Result;

pub fn run(rt: &Runtime, args: &KillArgs) -> Result<i32> {
    let signal = container::parse_signal(&args.signal)?;
    container::kill(rt, &args.id, signal, args.all)?;
    Ok(0)
}
