//! One file per command: clap has parsed the flags; each command calls the runtime library and
//! prints. They return the process exit code.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod update;

use crate::cli::{Cli, Command};
use runtime::container::Runtime;
use runtime::{Error, Result};

pub fn dispatch(cli: &Cli) -> Result<i32> {
    if cli.version {
        print_version();
        return Ok(0);
    }
    let Some(command) = &cli.command else {
        return Err(Error::msg("no command given (try --help)"));
    };
    // The state root is worked out only for the commands that keep state: `spec` and
    // `features` work wherever it would not.
    let rt = || -> Result<Runtime> {
        Ok(Runtime {
            root: runtime::rootless::state_root::state_root(cli.root.as_deref())?,
        })
    };
    match command {
        Command::Spec(args) => spec::run(args),
        Command::Features => features::run(),
        Command::Create(args) => create::run(cli, &rt()?, args),
        Command::Start(args) => start::run(&rt()?, args),
        Command::Run(args) => run::run(cli, &rt()?, args),
        Command::State(args) => state::run(&rt()?, args),
        Command::Exec(args) => exec::run(cli, &rt()?, args),
        Command::Kill(args) => kill::run(&rt()?, args),
        Command::Delete(args) => delete::run(&rt()?, args),
        Command::List(args) => list::run(&rt()?, args),
        Command::Update(args) => update::run(&rt()?, args),
        Command::Pause(args) => pause::pause(&rt()?, args),
        Command::Resume(args) => pause::resume(&rt()?, args),
        Command::Ps(args) => ps::run(&rt()?, args),
        Command::Events(args) => events::run(&rt()?, args),
    }
}

/// runc's version format, line by line: name + version, commit, spec.
fn print_version() {
    println!("coracle-runtime version {}", env!("CARGO_PKG_VERSION"));
    println!(
        "commit: {}",
        option_env!("CORACLE_COMMIT").unwrap_or("unknown")
    );
    println!("spec: {}", runtime::OCI_VERSION);
}

/// `--systemd-cgroup` needs systemd to run this host (sd_booted: /run/systemd/system exists).
fn check_systemd_cgroup(cli: &Cli) -> Result<()> {
    if cli.systemd_cgroup && !runtime::cgroups::systemd::running() {
        return Err(Error::msg(
            "--systemd-cgroup: systemd is not running on this host (no /run/systemd/system)",
        ));
    }
    Ok(())
}
