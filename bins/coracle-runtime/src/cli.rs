//! The command line, with runc's names and flags.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "coracle-runtime",
    about = "Run OCI containers (runc-compatible)",
    disable_version_flag = true
)]
pub struct Cli {
    /// Where container state lives.
    #[arg(long, global = true, default_value = "/run/coracle")]
    pub root: PathBuf,
    /// Write errors (and debug lines) to this file as well.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    #[arg(long = "log-format", global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[arg(long, global = true)]
    pub debug: bool,
    /// Manage cgroups through systemd (not supported yet: a clear error).
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    // Not global: `spec` has a `--rootless` switch of its own (runc takes this one before the command).
    #[arg(long, value_enum, default_value = "auto")]
    pub rootless: Rootless,
    /// Print the version (runc's format).
    #[arg(short = 'v', long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Rootless {
    Auto,
    True,
    False,
}

#[derive(Subcommand)]
pub enum Command {
    /// Write a default config.json into the bundle.
    Spec(SpecArgs),
    /// Create a container; its init waits for `start`.
    Create(CreateArgs),
    /// Start a created container.
    Start(IdArg),
    /// Create and start a container, and wait for it unless --detach.
    Run(RunArgs),
    /// Print a container's state as JSON.
    State(IdArg),
    /// Send a signal to a container's init (or every process with --all).
    Kill(KillArgs),
    /// Delete a container and everything it holds.
    Delete(DeleteArgs),
    /// List containers.
    List(ListArgs),
    /// Print what this runtime supports, as JSON.
    Features,
}

#[derive(Args)]
pub struct SpecArgs {
    #[arg(long)]
    pub rootless: bool,
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
}

#[derive(Args)]
pub struct IdArg {
    pub id: String,
}

#[derive(Args)]
pub struct CreateArgs {
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    pub id: String,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Keep the container's state after it exits.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Args)]
pub struct KillArgs {
    #[arg(short = 'a', long)]
    pub all: bool,
    pub id: String,
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

#[derive(Args)]
pub struct DeleteArgs {
    #[arg(short = 'f', long)]
    pub force: bool,
    pub id: String,
}

#[derive(Args)]
pub struct ListArgs {
    #[arg(short = 'f', long, value_enum, default_value = "table")]
    pub format: ListFormat,
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}
