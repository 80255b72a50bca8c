//! `coracle`: the engine's command line (Docker/Podman conventions). Parses, calls the image
//! and engine libraries, prints; every error is one line on stderr. Exit codes: 0 ok, 1
//! failure, 125 usage; `run`/`create`: 125 engine error, 126/127 the command cannot be
//! run / is not found, else the container's own code.

mod cli;
mod commands;
mod progress;

use clap::Parser;

fn main() {
    // `--init`'s pid 1 (this binary's store copy, run as /dev/coracle-init): before anything
    // else, so the init touches only its own few pages.
    let mut argv = std::env::args_os();
    if argv.next().is_some_and(|a0| engine::init::is_init(&a0)) {
        std::process::exit(engine::init::pid1::main(argv));
    }
    // A container's monitor after its exec into the relay: straight to the loop, no parsing
    // (what this process touches is what it keeps resident for the container's life).
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(engine::container::monitor::RELAY_ARG) {
        std::process::exit(engine::container::monitor::relay_main(&args[2..]));
    }
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
