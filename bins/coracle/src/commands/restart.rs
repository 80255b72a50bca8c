//! `restart [-t N] CONTAINER...`: `stop`, then `start`.

use super::{engine_fail, monitor_command};
use crate::cli::StopArgs;
use engine::container::{ops, record, Engine};
use std::time::Duration;

pub fn run(engine: &Engine, args: &StopArgs, default_time: u64) -> i32 {
    let mut code = 0;
    for c in &args.containers {
        let t = Duration::from_secs(args.time.unwrap_or(default_time));
        let done = record::find(engine, c)
            .and_then(|rec| ops::stop(engine, &rec, t))
            .and_then(|()| record::find(engine, c))
            .and_then(|rec| {
                ops::start(&rec, monitor_command(engine, &rec.id, false), false, false)
            });
        match done {
            Ok(_) => out!("{c}"),
            Err(e) => code = engine_fail(&e, 1),
        }
    }
    code
}
