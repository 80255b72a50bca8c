//! The command line, Docker/Podman style.
//!
//! Also compiled into the man page generator (examples/man.rs, by path): keep this file free of
//! `crate::` paths and of dependencies other than clap.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "coracle",
    version,
    about = "coracle: containers without a daemon"
)]
pub struct Cli {
    /// The image store (default: the config file's `root`, else /var/lib/coracle as root,
    /// $XDG_DATA_HOME/coracle otherwise).
    #[arg(long, global = true, env = "CORACLE_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// List images.
    Images(LsArgs),
    /// Manage images.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Give an image another name.
    Tag { source: String, target: String },
    /// Remove image references (and then content no image needs).
    Rmi {
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// A root filesystem (directory or tarball, plain/gzip/zstd) -> a one-layer image.
    Import(ImportArgs),
    /// Write images to a docker-archive or oci-archive.
    Save(SaveArgs),
    /// Load images from a docker-archive or oci-archive.
    Load(LoadArgs),
    /// Write an OCI runtime bundle (config.json + rootfs) for an image.
    Bundle(BundleArgs),
    /// Unmount and remove a bundle made by `bundle`.
    Unbundle { dir: PathBuf },
    /// Download an image from a registry into the store.
    Pull(PullArgs),
    /// Upload an image from the store to a registry.
    Push(PushArgs),
    /// Check credentials with a registry and store them (auth.json).
    Login(LoginArgs),
    /// Remove stored credentials for a registry.
    Logout(LogoutArgs),
    /// Create a container and start it (foreground: its output, then its exit code).
    Run(RunArgs),
    /// Create a container (record, rootfs, config) without starting it.
    Create(CreateArgs),
    /// Start created or exited containers.
    Start {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Stop running containers: the image's StopSignal (or SIGTERM), SIGKILL after -t.
    Stop(StopArgs),
    /// Send a signal to running containers.
    Kill(KillArgs),
    /// Remove containers.
    Rm(RmArgs),
    /// List containers.
    Ps(PsArgs),
    /// Show a container's output.
    Logs(LogsArgs),
    /// Wait until containers exit; print their exit codes.
    Wait {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Show containers (or else images) as JSON.
    Inspect {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Run a command in a running container.
    Exec(ExecArgs),
    /// Remove what nothing uses.
    #[command(subcommand)]
    System(SystemCommand),
    /// The processes of a running container (host PID and command line).
    Top { container: String },
    /// Resource use of running containers: CPU, memory, pids (a new reading every second).
    Stats {
        /// Print one reading (CPU over half a second) and exit. Without it: a reading every
        /// second until interrupted, or until every named container has stopped.
        #[arg(long)]
        no_stream: bool,
        /// `table` (default) or `json` (one object per container and reading).
        #[arg(long, default_value = "table")]
        format: String,
        /// Containers (default: every running one).
        containers: Vec<String>,
    },
    /// The engine's state: store, containers, images, volumes, networks (`--format json`).
    Info {
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// Stop, then start containers.
    Restart(StopArgs),
    /// Manage volumes (named and anonymous).
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// Manage networks (CNI bridge networks).
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Print a shell completion script (bash: `source <(coracle completion bash)`).
    Completion {
        #[arg(value_name = "SHELL", value_parser = ShellName)]
        shell: String,
    },
    /// The per-container monitor (started by `start` and `run`; not for users).
    #[command(name = "__monitor", hide = true)]
    Monitor {
        #[arg(long)]
        attach: bool,
        id: String,
    },
}

/// The shells `completion` writes for. Listed (for help and the completion scripts) but not
/// enforced here: the command refuses another name in one line, where clap's error is several.
pub const SHELLS: [&str; 3] = ["bash", "zsh", "fish"];

#[derive(Clone)]
struct ShellName;

impl clap::builder::TypedValueParser for ShellName {
    type Value = String;

    fn parse_ref(
        &self,
        _: &clap::Command,
        _: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        Ok(value.to_string_lossy().into_owned())
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            SHELLS.iter().map(clap::builder::PossibleValue::new),
        ))
    }
}

#[derive(Subcommand)]
pub enum SystemCommand {
    /// Remove stopped containers, user networks no container is on, and store content no
    /// image needs; with --volumes also anonymous volumes no container mounts.
    Prune {
        /// Required: there is no confirmation prompt.
        #[arg(short = 'f', long)]
        force: bool,
        #[arg(long)]
        volumes: bool,
    },
}

#[derive(Subcommand)]
pub enum VolumeCommand {
    /// Create a named volume (`-v NAME:DST` also makes one on first use).
    Create { name: String },
    /// List volumes.
    #[command(alias = "list")]
    Ls {
        /// Only the names.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Show volumes as JSON.
    Inspect {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove volumes (refused while a container names them).
    Rm {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove the anonymous volumes no container mounts (with -a also named ones).
    Prune {
        /// Named volumes too.
        #[arg(short = 'a', long)]
        all: bool,
    },
}

#[derive(Subcommand)]
pub enum NetworkCommand {
    /// Create a bridge network (without --subnet: a free /24 of 10.89.0.0/16).
    Create {
        #[arg(long)]
        subnet: Option<String>,
        name: String,
    },
    /// List networks.
    #[command(alias = "list")]
    Ls {
        /// Only the names.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Show networks as JSON.
    Inspect {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove networks (refused while containers use them).
    Rm {
        #[arg(required = true)]
        names: Vec<String>,
    },
}

/// `create`'s flags (and `run`'s).
#[derive(Args)]
#[command(disable_help_flag = true)]
pub struct CreateArgs {
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
    /// Remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Keep stdin open: a foreground `run` gives ours; `run -d` and `create` get an empty pipe
    /// the monitor holds open until the container stops (nothing attaches to it later).
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// A runc-compatible runtime binary (name in PATH or path) instead of the built-in one
    /// (default: the config file's `runtime`; `coracle`: the built-in one).
    #[arg(long, value_name = "NAME|PATH")]
    pub runtime: Option<String>,
    /// type=bind|volume|tmpfs,source=…,target=…[,readonly][,volume-nocopy][,tmpfs-size=…]
    /// [,tmpfs-mode=…] (a volume without source is anonymous)
    #[arg(long, value_name = "SPEC")]
    pub mount: Vec<String>,
    /// missing (default: pull an image the store lacks), always, never.
    #[arg(long, default_value = "missing")]
    pub pull: String,
    /// A tmpfs at DST (options: size=, mode=, exec, ro, … ; default noexec,nosuid,nodev).
    #[arg(long, value_name = "DST[:OPTIONS]")]
    pub tmpfs: Vec<String>,
    /// no-new-privileges, seccomp=unconfined or seccomp=FILE (an OCI seccomp object).
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// no (default); on-failure[:N]: after a non-zero exit (at most N times); always: after any
    /// exit; unless-stopped: the same as always (no daemon: nothing restarts at boot). Never
    /// after `stop`, `kill` or `rm -f`.
    #[arg(long)]
    pub restart: Option<String>,
    /// Give the container a pty (output then comes as one stream).
    #[arg(short = 't', long)]
    pub tty: bool,
    #[arg(long)]
    pub name: Option<String>,
    /// KEY=VALUE, or KEY to pass the caller's value.
    #[arg(short = 'e', long = "env", value_name = "KEY[=VALUE]")]
    pub env: Vec<String>,
    /// KEY=VALUE lines (blank lines and # comments skipped).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,
    /// USER[:GROUP]: names (from the image's /etc/passwd, /etc/group) or numbers.
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// SRC:DST[:ro|rw|nocopy] (SRC an absolute host path or a volume name), or DST alone for
    /// an anonymous volume.
    #[arg(short = 'v', long = "volume", value_name = "[SRC:]DST[:OPTS]")]
    pub volume: Vec<String>,
    /// none, host, bridge (default, or the config file's `network`) or a network's name
    /// (repeat for more).
    #[arg(long = "network", alias = "net", value_name = "NETWORK")]
    pub network: Vec<String>,
    /// [IP:]HOST:CONTAINER[/udp]
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Memory limit (bytes, or with k, m, g).
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    #[arg(long)]
    pub cpus: Option<String>,
    #[arg(long = "pids-limit", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// Mount the container's root filesystem read-only.
    #[arg(long = "read-only")]
    pub read_only: bool,
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Run a tiny init as PID 1 that runs the command, reaps zombies and forwards signals.
    #[arg(long)]
    pub init: bool,
    /// The log's size limits (json-file's): max-size=SIZE (-1: unlimited), max-file=N.
    /// Defaults: the config file's, else max-size=10m, max-file=3.
    #[arg(long = "log-opt", value_name = "KEY=VALUE")]
    pub log_opt: Vec<String>,
    /// IMAGE [COMMAND [ARG...]]
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true,
          num_args = 1.., value_name = "IMAGE [COMMAND [ARG...]]")]
    pub image_and_cmd: Vec<String>,
}

#[derive(Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Print the container's id and leave it running in the background.
    #[arg(short = 'd', long)]
    pub detach: bool,
    #[command(flatten)]
    pub create: CreateArgs,
}

#[derive(Args)]
#[command(disable_help_flag = true)]
pub struct ExecArgs {
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
    /// Keep stdin open (without it the command reads /dev/null).
    #[arg(short = 'i', long)]
    pub interactive: bool,
    #[arg(short = 't', long)]
    pub tty: bool,
    #[arg(short = 'd', long)]
    pub detach: bool,
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// UID[:GID] (numeric).
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// CONTAINER COMMAND [ARG...]
    #[arg(required = true, num_args = 2.., trailing_var_arg = true, allow_hyphen_values = true,
          value_name = "CONTAINER COMMAND [ARG...]")]
    pub container_and_cmd: Vec<String>,
}

#[derive(Args)]
pub struct StopArgs {
    /// Seconds to wait before SIGKILL (default: the config file's `stop_timeout`, else 10).
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args)]
pub struct KillArgs {
    #[arg(short = 's', long = "signal", default_value = "KILL")]
    pub signal: String,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args)]
pub struct RmArgs {
    /// Kill a running container first.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Also remove the container's anonymous volumes (named volumes stay).
    #[arg(short = 'v', long)]
    pub volumes: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args)]
pub struct PsArgs {
    /// Also containers that are not running.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only ids.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// `table` (default) or `json` (one object per line).
    #[arg(long, default_value = "table")]
    pub format: String,
}

#[derive(Args)]
pub struct LogsArgs {
    /// Keep printing new output until the container exits.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines (`all`: everything).
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Prefix each line with its time.
    #[arg(short = 't', long)]
    pub timestamps: bool,
    pub container: String,
}

#[derive(Subcommand)]
pub enum ImageCommand {
    /// List images.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Show images' manifests and configs as JSON.
    Inspect {
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Remove blobs and unpacked layers no image needs, and leftovers of interrupted writes.
    Prune,
    /// Check the store: every blob re-hashed, every image whole.
    Fsck,
    /// Same as `rmi`.
    Rm {
        #[arg(required = true)]
        images: Vec<String>,
    },
}

#[derive(Args)]
pub struct LsArgs {
    /// `table` (default) or `json`.
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Only image IDs.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct ImportArgs {
    /// A directory or a tar file.
    pub source: PathBuf,
    /// The new image's name.
    pub reference: String,
    /// The image's Cmd (words; repeat the flag for more).
    #[arg(long = "cmd", value_name = "WORD")]
    pub cmd: Vec<String>,
}

#[derive(Args)]
pub struct SaveArgs {
    /// Write to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// docker-archive or oci-archive.
    #[arg(long, default_value = "docker-archive")]
    pub format: String,
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Args)]
pub struct LoadArgs {
    /// Read from FILE instead of stdin.
    #[arg(short, long, value_name = "FILE")]
    pub input: Option<PathBuf>,
}

#[derive(Args)]
pub struct BundleArgs {
    /// auto (overlayfs, else a copy), overlay or copy.
    #[arg(long, default_value = "auto")]
    pub rootfs: String,
    pub image: String,
    /// The bundle directory (absent or empty).
    pub dir: PathBuf,
    /// Replaces the image's Cmd.
    #[arg(last = true)]
    pub cmd: Vec<String>,
}

/// `--tls-verify[=true|false]`, as Podman spells it.
#[derive(Args)]
pub struct TlsArgs {
    /// Require HTTPS with a verified certificate (loopback registries may use plain HTTP).
    #[arg(long = "tls-verify", value_name = "BOOL", default_value_t = true, action = ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub tls_verify: bool,
}

#[derive(Args)]
pub struct PullArgs {
    /// Pick this platform from a multi-platform image (os/arch[/variant]; default: the host's).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Image reference (NAME[:TAG] or NAME@DIGEST).
    pub reference: String,
}

#[derive(Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Image in the store.
    pub reference: String,
    /// Where to push it (default: the image's own reference).
    pub destination: Option<String>,
}

#[derive(Args)]
pub struct LoginArgs {
    #[arg(short, long)]
    pub username: Option<String>,
    #[arg(short, long)]
    pub password: Option<String>,
    /// Read the password from standard input.
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Registry host (e.g. quay.io, localhost:5000).
    pub host: String,
}

#[derive(Args)]
pub struct LogoutArgs {
    /// Registry host.
    pub host: String,
}
