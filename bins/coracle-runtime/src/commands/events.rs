//! `events [--stats] [--interval 5s] ID`: runc's JSON event lines on stdout; with `--stats` one
//! stats event, otherwise a stream (stats every interval, oom on each OOM kill) that ends when the
//! container stops.

use crate::cli::EventsArgs;
use runtime::container::{self, Runtime};
use runtime::{Context, Error, Result};
use std::io::Write;

pub fn run(rt: &Runtime, args: &EventsArgs) -> Result<i32> {
    let interval = container::parse_interval(&args.interval)
        .map_err(|why| Error::msg(format!("invalid value for --interval: {why}")))?;
    let mut out = std::io::stdout().lock();
    let mut emit = |line: &str| -> Result<()> {
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .context(|| "writing events to stdout")
    };
    if args.stats {
        emit(&container::events_stats(rt, &args.id)?)?;
    } else {
        container::events(rt, &args.id, interval, emit)?;
    }
    Ok(0)
}
