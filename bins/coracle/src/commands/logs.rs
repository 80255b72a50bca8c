//! `logs [-f] [--tail N] [-t] CONTAINER`: stdout lines to stdout, stderr lines to stderr.

use super::engine_fail;
use crate::cli::LogsArgs;
use engine::container::logs::{Line, Reader};
use engine::container::{monitor, record, Engine, Error};
use std::io::Write;
use std::time::Duration;

pub fn run(engine: &Engine, args: &LogsArgs) -> i32 {
    let tail = match args.tail.as_str() {
        "all" => None,
        n => match n.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => {
                let e = Error::Invalid(format!("--tail {n:?}: expected a number or all"));
                return engine_fail(&e, 1);
            }
        },
    };
    let rec = match record::find(engine, &args.container) {
        Ok(r) => r,
        Err(e) => return engine_fail(&e, 1),
    };
    let path = engine.container_dir(&rec.id).join(monitor::LOG);
    let mut reader = match Reader::open(&path) {
        Ok(r) => r,
        Err(e) => return engine_fail(&e, 1),
    };
    let mut lines = reader.read_available();
    if let Some(n) = tail {
        lines.drain(..lines.len().saturating_sub(n));
    }
    print(&lines, args.timestamps);
    if !args.follow {
        return 0;
    }
    // Following: new lines until the monitor (which writes the log) is gone. Reading a
    // growing file has no "readable" event, so this looks again every 50 ms.
    let mut warned = false;
    loop {
        let done = record::load(engine, &rec.id).map_or(true, |r| !r.monitor_alive());
        print(&reader.read_available(), args.timestamps);
        if reader.lost && !warned {
            // The writer waited for us, then deleted a rotated file we had not read.
            eprintln!("coracle: logs: fell behind the log's rotation (max-file): lines were lost");
            warned = true;
        }
        if done {
            return 0;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn print(lines: &[Line], timestamps: bool) {
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    for l in lines {
        let w: &mut dyn Write = if l.stream == "stderr" {
            &mut err
        } else {
            &mut out
        };
        let r = if timestamps {
            write!(w, "{} {}", l.time, l.log)
        } else {
            w.write_all(l.log.as_bytes())
        };
        if r.is_err() {
            std::process::exit(141);
        }
    }
    let _ = out.flush();
}
