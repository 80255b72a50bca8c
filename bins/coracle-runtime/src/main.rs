//! coracle-runtime: an OCI runtime with runc's command line. Parses flags, calls the runtime library,
//! prints; every error is one line on stderr (and in --log, in the format containerd reads).

mod cli;
mod commands;
mod log;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let logger = log::Logger::new(cli.log.as_deref(), cli.log_format, cli.debug);
    let code = match commands::dispatch(&cli) {
        Ok(code) => code,
        Err(err) => {
            logger.error(&err.to_string());
            1
        }
    };
    std::process::exit(code);
}
