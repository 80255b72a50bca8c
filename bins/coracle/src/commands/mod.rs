//! One file per command.

mod login;
mod logout;
mod pull;
mod push;

use crate::cli::{Cli, Command};

pub type Result<T> = std::result::Result<T, String>;

pub fn dispatch(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Pull(a) => pull::run(cli, a),
        Command::Push(a) => push::run(cli, a),
        Command::Login(a) => login::run(a),
        Command::Logout(a) => logout::run(a),
    }
}
