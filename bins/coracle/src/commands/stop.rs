//! `stop [-t N] CONTAINER...`: StopSignal (or SIGTERM), SIGKILL after N seconds (default
//! 10, or the config file's `stop_timeout`).

use super::engine_fail;
use crate::cli::StopArgs;
use engine::container::{ops, record, Engine};
use std::time::Duration;

pub fn run(engine: &Engine, args: &StopArgs, default_time: u64) -> i32 {
    let mut code = 0;
    for c in &args.containers {
        let t = Duration::from_secs(args.time.unwrap_or(default_time));
        match record::find(engine, c).and_then(|rec| ops::stop(engine, &rec, t)) {
            Ok(()) => out!("{c}"),
            Err(e) => code = engine_fail(&e, 1),
        }
    }
    code
}
