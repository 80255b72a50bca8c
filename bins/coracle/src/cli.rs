//! The command line, Docker/Podman style.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "coracle",
    version,
    about = "coracle: containers without a daemon (image commands)"
)]
pub struct Cli {
    /// The image store (default: /var/lib/coracle as root, $XDG_DATA_HOME/coracle otherwise).
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
