//! `coracle`: the engine's command line (Docker/Podman conventions). Parses, calls the image
//! library, prints; every error is one line on stderr. Exit codes: 0 ok, 1 failure, 125 usage.

mod cli;
mod commands;
mod progress;

use clap::Parser;

fn main() {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) if e.use_stderr() => {
            let msg = e.render().to_string();
            eprint!("{msg}");
            std::process::exit(125);
        }
        Err(e) => {
            let _ = e.print();
            std::process::exit(0);
        }
    };
    let code = match commands::dispatch(&cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("coracle: {err}");
            1
        }
    };
    std::process::exit(code);
}
