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
mod fsck;
mod images;
mod import;
mod inspect;
mod load;
mod login;
mod logout;
mod prune;
mod pull;
mod push;
mod rmi;
mod save;
mod tag;

use crate::cli::{Cli, Command, ImageCommand};
use image::store::{self, Image, Reference, Store};
use image::{Error, Result};

pub fn dispatch(cli: &Cli) -> Result<i32> {
    let root = cli.root.clone().unwrap_or_else(store::default_root);
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
    }
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
