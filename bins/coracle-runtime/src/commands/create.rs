//! `create [-b DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--preserve-fds N] ID`

use crate::cli::{Cli, CreateArgs, Rootless};
use runtime::container::{self, CreateOptions, Runtime};
use runtime::Result;

pub fn run(cli: &Cli, rt: &Runtime, args: &CreateArgs) -> Result<i32> {
    super::check_systemd_cgroup(cli)?;
    container::create(rt, &args.id, &options(cli, args))?;
    Ok(0)
}

pub fn options(cli: &Cli, args: &CreateArgs) -> CreateOptions {
    CreateOptions {
        bundle: args.bundle.clone(),
        pid_file: args.pid_file.clone(),
        console_socket: args.console_socket.clone(),
        no_pivot: args.no_pivot,
        no_new_keyring: args.no_new_keyring,
        preserve_fds: args.preserve_fds,
        systemd_cgroup: cli.systemd_cgroup,
        rootless: match cli.rootless {
            Rootless::Auto => None,
            Rootless::True => Some(true),
            Rootless::False => Some(false),
        },
    }
}
