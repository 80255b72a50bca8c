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
    /// Where container state lives [default: /run/coracle for root, else
    /// $XDG_RUNTIME_DIR/coracle-runtime].
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Write errors (and debug lines) to this file as well.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    #[arg(long = "log-format", global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[arg(long, global = true)]
    pub debug: bool,
    /// Let systemd make the container's cgroup (a transient unit; cgroupsPath "slice:prefix:name").
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    // Not global: `spec` has a `--rootless` switch of its own (runc takes this one before the command).
    /// Skip a cgroup the caller may not create, with a warning (auto: when not root).
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
    /// Run a process in a running container.
    Exec(Box<ExecArgs>),
    /// Send a signal to a container's init (or every process with --all).
    Kill(KillArgs),
    /// Delete a container and everything it holds.
    Delete(DeleteArgs),
    /// List containers.
    List(ListArgs),
    /// Change the resource limits of a live container.
    Update(Box<UpdateArgs>),
    /// Freeze every process of a container.
    Pause(IdArg),
    /// Thaw a paused container.
    Resume(IdArg),
    /// List the processes of a container.
    Ps(PsArgs),
    /// Print a container's statistics and OOM events as JSON lines.
    Events(EventsArgs),
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
pub struct ExecArgs {
    /// An OCI process JSON file (the process flags are then not used).
    #[arg(short = 'p', long)]
    pub process: Option<PathBuf>,
    /// Allocate a pseudo-terminal.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Return once the process has started.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Set an environment variable (K=V), may be repeated.
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// UID[:GID] to run as.
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Working directory in the container.
    #[arg(long)]
    pub cwd: Option<String>,
    /// Add a capability, may be repeated.
    #[arg(short = 'c', long = "cap")]
    pub cap: Vec<String>,
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// The AppArmor profile for the process (replaces the container's).
    #[arg(long)]
    pub apparmor: Option<String>,
    /// The SELinux label for the process (replaces the container's).
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Allow exec into a paused container.
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    pub id: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
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

/// runc's `update` flags; values are parsed (and errors worded) by the runtime library.
#[derive(Args)]
pub struct UpdateArgs {
    /// A JSON file of linux.resources to apply, or - for stdin (flags override its fields).
    #[arg(short = 'r', long)]
    pub resources: Option<String>,
    /// Memory limit in bytes (or with k, m, g…; -1 for unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory reservation (soft limit).
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit (-1 for unlimited swap).
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// CPU shares (relative weight).
    #[arg(long = "cpu-share", visible_alias = "cpu-shares")]
    pub cpu_share: Option<String>,
    /// CFS quota in microseconds per period (-1 for none).
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// CFS period in microseconds.
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<String>,
    /// CFS burst in microseconds.
    #[arg(long = "cpu-burst")]
    pub cpu_burst: Option<String>,
    /// Realtime period in microseconds.
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<String>,
    /// Realtime runtime in microseconds.
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<String>,
    /// CPUs to run on (0-3,5).
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes to use.
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Maximum number of pids (-1 for unlimited).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Block IO weight, 10 to 1000.
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<String>,
    pub id: String,
}

#[derive(Args)]
pub struct PsArgs {
    #[arg(short = 'f', long, value_enum, default_value = "table")]
    pub format: ListFormat,
    pub id: String,
    /// Options for the host's ps (default -ef), table format only.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

#[derive(Args)]
pub struct EventsArgs {
    /// Print one stats event and exit.
    #[arg(long)]
    pub stats: bool,
    /// Time between stats events (Go duration: 5s, 100ms, 1m30s).
    #[arg(long, default_value = "5s")]
    pub interval: String,
    pub id: String,
}
