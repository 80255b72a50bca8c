//! `run [-d] [FLAGS] IMAGE [COMMAND [ARG...]]`: create, then start through a monitor. In the
//! foreground the monitor copies the output to our stdout/stderr and we exit with the
//! container's code; a container that cannot start is removed again (125/126/127).

use super::{create, engine_fail, monitor_command};
use crate::cli::RunArgs;
use engine::config::Config;
use engine::container::{ops, record, Engine};

pub fn run(engine: &Engine, args: &RunArgs, config: &Config) -> i32 {
    let req = match create::request(&args.create, config) {
        Ok(r) => r,
        Err(e) => return engine_fail(&e, e.exit_code()),
    };
    let rec = match create::pull_missing(engine, &req.image, &args.create.pull)
        .and_then(|_| ops::create(engine, &req))
    {
        Ok(r) => r,
        Err(e) => return engine_fail(&e, e.exit_code()),
    };
    let attach = !args.detach;
    // Detached, `-i` is the monitor's held pipe (the record says so), not our stdin.
    let stdin = args.create.interactive && attach;
    let proxy = attach.then(|| ops::SignalProxy::new(args.create.tty && stdin));
    match ops::start(
        &rec,
        monitor_command(engine, &rec.id, attach),
        attach,
        stdin,
    ) {
        Ok(child) => {
            let Some(proxy) = proxy else {
                out!("{}", rec.id);
                return 0;
            };
            proxy.wait(engine, &rec, child)
        }
        Err(e) => {
            if let Ok(lock) = record::lock(engine) {
                let _ = ops::remove_failed_run(engine, &rec.id, &lock);
            }
            engine_fail(&e, e.exit_code())
        }
    }
}
