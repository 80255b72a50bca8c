//! `start CONTAINER...`: each through a new monitor; prints each name given.

use super::{engine_fail, monitor_command};
use engine::container::{ops, record, Engine};

pub fn run(engine: &Engine, containers: &[String]) -> i32 {
    let mut code = 0;
    for c in containers {
        let started = record::find(engine, c).and_then(|rec| {
            ops::start(&rec, monitor_command(engine, &rec.id, false), false, false)
        });
        match started {
            Ok(_) => out!("{c}"),
            Err(e) => code = engine_fail(&e, 1),
        }
    }
    code
}
