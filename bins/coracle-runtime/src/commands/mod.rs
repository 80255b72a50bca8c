//! One file per command: parse is done by clap, each command calls the runtime library and prints.

mod features;
mod spec;

use crate::cli::{Cli, Command};
use runtime::Result;

pub fn dispatch(cli: &Cli) -> Result<i32> {
    if cli.version {
        print_version();
        return Ok(0);
    }
    let Some(command) = &cli.command else {
        return Err(runtime::Error::msg("no command given (try --help)"));
    };
    match command {
        Command::Spec(args) => spec::run(args),
        Command::Features => features::run(),
        _ => Err(runtime::Error::msg("not implemented yet")),
    }
}

/// runc's version format, line by line: name + version, commit, spec.
fn print_version() {
    println!("coracle-runtime version {}", env!("CARGO_PKG_VERSION"));
    println!(
        "commit: {}",
        option_env!("CORACLE_COMMIT").unwrap_or("unknown")
    );
    println!("spec: {}", runtime::OCI_VERSION);
}
