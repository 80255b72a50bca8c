//! `run [-b DIR] [-d] [--pid-file F] [--keep] [--no-pivot] [--preserve-fds N] ID`: exits with the
//! container's exit code.

use crate::cli::{Cli, RunArgs};
use runtime::container::{self, Runtime};
use runtime::Result;

pub fn run(cli: &Cli, rt: &Runtime, args: &RunArgs) -> Result<i32> {
    super::check_systemd_cgroup(cli)?;
    let opts = super::create::options(cli, &args.create);
    container::run(rt, &args.create.id, &opts, args.detach, args.keep)
}
