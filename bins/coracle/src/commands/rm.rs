//! `rm [-f] [-v] CONTAINER...`

use super::engine_fail;
use crate::cli::RmArgs;
use engine::container::{ops, record, Engine};

pub fn run(engine: &Engine, args: &RmArgs) -> i32 {
    let mut code = 0;
    for c in &args.containers {
        match record::find(engine, c)
            .and_then(|rec| ops::rm_with_volumes(engine, &rec, args.force, args.volumes))
        {
            Ok(()) => out!("{c}"),
            Err(e) => code = engine_fail(&e, 1),
        }
    }
    code
}
