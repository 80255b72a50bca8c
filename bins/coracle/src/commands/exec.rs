//! `exec [-i] [-t] [-d] [-e K=V] [-u UID[:GID]] [-w DIR] CONTAINER COMMAND [ARG...]`: the
//! container's runtime runs the process with our stdio (its pty relayed with -t); exits with
//! the process's code (126/127 when it cannot be run, as Docker).

use super::engine_fail;
use crate::cli::ExecArgs;
use engine::container::driver::Exec;
use engine::container::{record, Engine, Error, Status};

pub fn run(engine: &Engine, a: &ExecArgs) -> i32 {
    let (name, args) = (&a.container_and_cmd[0], &a.container_and_cmd[1..]);
    let rec = match record::find(engine, name) {
        Ok(r) => r,
        Err(e) => return engine_fail(&e, 1),
    };
    if rec.status() != Status::Running {
        let e = Error::Conflict(format!("container {}: is not running", rec.name));
        return engine_fail(&e, 1);
    }
    if a.tty && a.detach {
        let e = Error::Invalid("exec -t with -d: not supported yet".into());
        return engine_fail(&e, 125);
    }
    let req = Exec {
        args: args.to_vec(),
        tty: a.tty,
        detach: a.detach,
        env: a.env.clone(),
        user: a.user.clone(),
        cwd: a.workdir.clone(),
        stdin: a.interactive,
    };
    match engine.driver(&rec).exec(&rec.id, &req) {
        Ok(code) => code,
        Err(e) => {
            let msg = e.to_string();
            let code = if msg.contains("not found") {
                127
            } else if msg.contains("no such executable") || msg.contains("permission denied") {
                126
            } else {
                125
            };
            engine_fail(&e, code)
        }
    }
}
