//! The command line: global flags and one subcommand per operation.

use clap::{ArgAction, Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "coracle", version, about = "coracle: daemonless containers")]
pub struct Cli {
    /// The image store (default: $CORACLE_ROOT, else /var/lib/coracle for root, else
    /// $XDG_DATA_HOME/coracle)
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Download an image from a registry into the store
    Pull(PullArgs),
    /// Upload an image from the store to a registry
    Push(PushArgs),
    /// Check and store credentials for a registry
    Login(LoginArgs),
    /// Remove stored credentials for a registry
    Logout(LogoutArgs),
}

/// `--tls-verify[=true|false]`, as Podman spells it.
#[derive(Args, Debug)]
pub struct TlsArgs {
    /// Require HTTPS with a verified certificate (loopback registries may use plain HTTP)
    #[arg(long = "tls-verify", value_name = "BOOL", default_value_t = true, action = ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub tls_verify: bool,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Pick this platform from a multi-platform image (os/arch[/variant]; default: the host's)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Image reference (NAME[:TAG] or NAME@DIGEST)
    pub reference: String,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Image in the store
    pub reference: String,
    /// Where to push it (default: the image's own reference)
    pub destination: Option<String>,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    #[arg(short, long)]
    pub username: Option<String>,
    #[arg(short, long)]
    pub password: Option<String>,
    /// Read the password from standard input
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Registry host (e.g. quay.io, localhost:5000)
    pub host: String,
}

#[derive(Args, Debug)]
pub struct LogoutArgs {
    /// Registry host
    pub host: String,
}
