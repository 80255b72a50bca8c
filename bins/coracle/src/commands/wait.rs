//! `wait CONTAINER...`: blocks until each has exited, prints its exit code.

use super::engine_fail;
use engine::container::{ops, record, Engine};

pub fn run(engine: &Engine, containers: &[String]) -> i32 {
    let mut code = 0;
    for c in containers {
        match record::find(engine, c).and_then(|rec| ops::wait(engine, &rec)) {
            Ok(exit) => out!("{exit}"),
            Err(e) => code = engine_fail(&e, 1),
        }
    }
    code
}
