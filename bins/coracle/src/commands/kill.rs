//! `kill [-s SIGNAL] CONTAINER...` (default SIGKILL).

use super::engine_fail;
use crate::cli::KillArgs;
use engine::container::{ops, record, Engine};

pub fn run(engine: &Engine, args: &KillArgs) -> i32 {
    let mut code = 0;
    for c in &args.containers {
        match record::find(engine, c).and_then(|rec| ops::kill(engine, &rec, &args.signal)) {
            Ok(()) => out!("{c}"),
            Err(e) => code = engine_fail(&e, 1),
        }
    }
    code
}
