//! Running a client command (podman, docker) from a test: bounded in time, its output captured
//! through files, because a detached container or a daemon may hold a pipe of ours open.
#![allow(dead_code)] // each client test uses part of it

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common::{unique_id, wait_child};

/// How long one client command may take before the test gives up on it.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Run `cmd` to completion with `stdin`, stdout and stderr going to files in `scratch`.
pub fn run_bounded(mut cmd: Command, stdin: Stdio, scratch: &Path) -> Output {
    let base = scratch.join(format!("out-{}", unique_id()));
    let (o, e) = (base.with_extension("stdout"), base.with_extension("stderr"));
    let mut child = cmd
        .stdin(stdin)
        .stdout(fs::File::create(&o).expect("stdout file"))
        .stderr(fs::File::create(&e).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run {cmd:?}: {err}"));
    let status = wait_child(&mut child, CLIENT_TIMEOUT);
    let out = Output {
        status: status.unwrap_or_else(|| panic!("{cmd:?} did not finish in time")),
        stdout: fs::read(&o).unwrap_or_default(),
        stderr: fs::read(&e).unwrap_or_default(),
    };
    let _ = (fs::remove_file(o), fs::remove_file(e));
    out
}

/// stdout, after asserting (with both outputs shown) that the command exited 0.
pub fn must(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stdout and stderr together, for assertions on what the user saw.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
