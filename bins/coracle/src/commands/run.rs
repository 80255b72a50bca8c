//! `run [-d] [FLAGS] IMAGE [COMMAND [ARG...]]`: create, then start through a monitor. In the
//! foreground the monitor copies the output to our stdout/stderr and we exit with the
//! container's code; a container that cannot start is removed again (125/126/127).

use super::{create, engine_fail, monitor_command};
use crate::cli::RunArgs;
use engine::config::Config;
use engine::container::{ops, record, Engine, Error};

pub fn run(engine: &Engine, args: &RunArgs, config: &Config) -> i32 {
    if args.detach && args.create.interactive {
        let e = Error::Invalid("-i with -d: not supported yet (nothing could attach later)".into());
        return engine_fail(&e, 125);
    }
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
    let stdin = args.create.interactive;
    match ops::start(
        &rec,
        monitor_command(engine, &rec.id, attach),
        attach,
        stdin,
    ) {
        Ok(child) => {
            if args.detach {
                out!("{}", rec.id);
                return 0;
            }
            let raw = args.create.tty && args.create.interactive;
            ops::wait_foreground(engine, &rec, child, raw)
        }
        Err(e) => {
            if let Ok(lock) = record::lock(engine) {
                let _ = ops::remove_with_volumes(engine, &rec.id, &lock);
            }
            engine_fail(&e, e.exit_code())
        }
    }
}
