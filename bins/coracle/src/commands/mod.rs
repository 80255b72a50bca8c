//! One file per command: clap has parsed the flags; each command opens the store, calls the
//! image library and prints. They return the process exit code.

/// println! that ends the process quietly when stdout is a closed pipe (`coracle images | head`).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($t)*).is_err() {
            std::process::exit(141);
        }
    }};
}

mod bundle;
mod completion;
mod container_inspect;
mod create;
mod exec;
mod fsck;
mod images;
mod import;
mod info;
mod inspect;
mod kill;
mod load;
mod login;
mod logout;
mod logs;
mod network;
mod prune;
mod ps;
mod pull;
mod push;
mod restart;
mod rm;
mod rmi;
mod run;
mod save;
mod start;
mod stats;
mod stop;
mod system;
mod tag;
mod top;
mod volume;
mod wait;

use crate::cli::{Cli, Command, ImageCommand};
use engine::config::Config;
use engine::container::{monitor, Engine};
use image::store::{self, Image, Reference, Store};
use image::{Error, Result};

pub fn dispatch(cli: &Cli) -> Result<i32> {
    // The monitor works from the container's record alone (its root is passed to it).
    let config = match &cli.command {
        Command::Monitor { .. } => Config::default(),
        _ => match Config::load() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("coracle: {e}");
                return Ok(125);
            }
        },
    };
    // --root, else $CORACLE_ROOT (clap merges the two), else the config's, else the default.
    let root = cli
        .root
        .clone()
        .or_else(|| config.root.clone())
        .unwrap_or_else(store::default_root);
    match &cli.command {
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => images::run(&root, a),
        Command::Image(ImageCommand::Inspect { images }) => inspect::run(&root, images),
        Command::Image(ImageCommand::Prune) => prune::run(&root),
        Command::Image(ImageCommand::Fsck) => fsck::run(&root),
        Command::Rmi { images } | Command::Image(ImageCommand::Rm { images }) => {
            rmi::run(&root, images)
        }
        Command::Tag { source, target } => tag::run(&root, source, target),
        Command::Import(a) => import::run(&root, a),
        Command::Save(a) => save::run(&root, a),
        Command::Load(a) => load::run(&root, a),
        Command::Bundle(a) => bundle::run(&root, a),
        Command::Unbundle { dir } => bundle::remove(dir),
        Command::Pull(a) => pull::run(&root, a),
        Command::Push(a) => push::run(&root, a),
        Command::Login(a) => login::run(a),
        Command::Logout(a) => logout::run(a),
        Command::Run(a) => Ok(run::run(&Engine::new(root), a, &config)),
        Command::Create(a) => Ok(create::run(&Engine::new(root), a, &config)),
        Command::Start { containers } => Ok(start::run(&Engine::new(root), containers)),
        Command::Stop(a) => Ok(stop::run(&Engine::new(root), a, config.stop_timeout())),
        Command::Kill(a) => Ok(kill::run(&Engine::new(root), a)),
        Command::Rm(a) => Ok(rm::run(&Engine::new(root), a)),
        Command::Ps(a) => Ok(ps::run(&Engine::new(root), a)),
        Command::Logs(a) => Ok(logs::run(&Engine::new(root), a)),
        Command::Wait { containers } => Ok(wait::run(&Engine::new(root), containers)),
        Command::Inspect { names } => Ok(container_inspect::run(&Engine::new(&root), &root, names)),
        Command::Exec(a) => Ok(exec::run(&Engine::new(root), a)),
        Command::System(c) => Ok(system::run(&Engine::new(root), c)),
        Command::Top { container } => Ok(top::run(&Engine::new(root), container)),
        Command::Stats {
            no_stream,
            format,
            containers,
        } => Ok(stats::run(
            &Engine::new(root),
            *no_stream,
            format,
            containers,
        )),
        Command::Completion { shell } => Ok(completion::run(shell)),
        Command::Info { format } => Ok(info::run(&Engine::new(root), format, &config)),
        Command::Restart(a) => Ok(restart::run(&Engine::new(root), a, config.stop_timeout())),
        Command::Volume(c) => Ok(volume::run(&Engine::new(root), c)),
        Command::Network(c) => Ok(network::run(&Engine::new(root), c)),
        Command::Monitor { attach, id } => Ok(monitor::main(&Engine::new(root), id, *attach)),
    }
}

/// Print a container command's error as the one line `coracle: …`; return `code`.
pub fn engine_fail(e: &engine::container::Error, code: i32) -> i32 {
    eprintln!("coracle: {e}");
    code
}

/// The command line of a container's monitor: this binary, `__monitor`.
pub fn monitor_command(engine: &Engine, id: &str, attach: bool) -> std::process::Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| "/proc/self/exe".into());
    let mut c = std::process::Command::new(exe);
    c.arg("--root").arg(&engine.root).arg("__monitor");
    if attach {
        c.arg("--attach");
    }
    c.arg(id);
    c
}

/// Resolve an image argument to its reference (if named by one) and loaded image.
pub fn find(store: &Store, what: &str) -> Result<(Option<Reference>, Image)> {
    let (r, target) = store.resolve(what)?;
    Ok((r, store.image(&target)?))
}

/// Parse a reference argument, naming it in the error.
pub fn parse_ref(arg: &str) -> Result<Reference> {
    Reference::parse(arg)
}

pub fn usage(msg: impl Into<String>) -> Error {
    Error::Other(msg.into())
}
