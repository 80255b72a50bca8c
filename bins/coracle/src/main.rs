//! `coracle`: the engine's command line (Docker/Podman conventions). Parses flags, calls the
//! image library, prints; every error is one line on stderr and a non-zero exit.

mod cli;
mod commands;
mod progress;
mod root;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let code = match commands::dispatch(&cli) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("coracle: {err}");
            1
        }
    };
    std::process::exit(code);
}
