//! `top CONTAINER`: the container's processes (its cgroup's pids) with their command lines,
//! read from /proc (no `ps` binary needed).

use super::engine_fail;
use engine::container::{record, Engine, Error, Status};

pub fn run(engine: &Engine, name: &str) -> i32 {
    let rec = match record::find(engine, name) {
        Ok(r) => r,
        Err(e) => return engine_fail(&e, 1),
    };
    if rec.status() != Status::Running {
        return engine_fail(
            &Error::Conflict(format!("container {}: is not running", rec.name)),
            1,
        );
    }
    let mut pids = match engine.driver(&rec).pids(&rec.id) {
        Ok(p) => p,
        Err(e) => return engine_fail(&e, 1),
    };
    pids.sort_unstable();
    out!("{:<10}CMD", "PID");
    for pid in pids {
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmd: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        out!("{:<10}{}", pid, cmd.join(" "));
    }
    0
}
