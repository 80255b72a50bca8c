//! `exec [--process FILE] [-t] [-d] [-e K=V]... [-u UID[:GID]] [--cwd DIR] [--cap CAP]...
//! [--no-new-privs] [--apparmor P] [--process-label L] [--pid-file F] [--console-socket S] [--preserve-fds N] [--ignore-paused] ID
//! [ARGS...]`: exits with the process's exit code (0 with --detach).

use crate::cli::{Cli, ExecArgs};
use runtime::container::{self, ExecOptions, Runtime};
use runtime::Result;

pub fn run(cli: &Cli, rt: &Runtime, a: &ExecArgs) -> Result<i32> {
    super::check_systemd_cgroup(cli)?;
    let opts = ExecOptions {
        process: a.process.clone(),
        args: a.args.clone(),
        tty: a.tty,
        detach: a.detach,
        env: a.env.clone(),
        user: a.user.clone(),
        cwd: a.cwd.clone(),
        caps: a.cap.clone(),
        no_new_privs: a.no_new_privs,
        apparmor: a.apparmor.clone(),
        process_label: a.process_label.clone(),
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        preserve_fds: a.preserve_fds,
        ignore_paused: a.ignore_paused,
    };
    container::exec(rt, &a.id, &opts)
}
