//! `start`: release a created container's init from the exec fifo, wait until it has exec'd the
//! user's process (or tell why it could not), then run the poststart hooks.

use super::Runtime;
use crate::state::{self, ContainerDir, Status};
use crate::sys::{fd, process};
use crate::{hooks, Context, Error, Result};
use std::fs::OpenOptions;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;

pub fn start(rt: &Runtime, id: &str) -> Result<()> {
    let dir = ContainerDir::open(&rt.root, id)?;
    let st = dir.load()?;
    match state::status(&dir, &st) {
        Status::Created => {}
        other => {
            return Err(Error::msg(format!(
                "cannot start container {id}: it is {}",
                other.as_str()
            )))
        }
    }
    let released = release(&dir, &st);
    let _ = std::fs::remove_file(dir.fifo());
    released?;
    if let Some(h) = st.hooks.as_ref().and_then(|h| h.poststart().as_ref()) {
        let json = state::public_json(&st, Status::Running);
        // The spec: a failing poststart hook is a warning; the container runs on.
        if let Err(e) = hooks::run("poststart", h, json.as_bytes()) {
            eprintln!("coracle-runtime: warning: {e}");
        }
    }
    Ok(())
}

/// Open the fifo for reading (which lets the parked init go on) and read until it closes: "0" alone
/// means the exec succeeded (the fifo is close-on-exec); anything after it is the init's error.
fn release(dir: &ContainerDir, st: &state::State) -> Result<()> {
    // The pidfd first: once the fifo is open the init runs the user's program, which may exit
    // and be reaped by its parent (conmon, the shim) before a pidfd could be had.
    let pidfd =
        process::pidfd_open(st.pid).context(|| format!("watching the init (pid {})", st.pid))?;
    let fifo = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(dir.fifo())
        .context(|| format!("opening {}", dir.fifo().display()))?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let ready = fd::poll_readable(&[fifo.as_fd(), pidfd.as_fd()], -1)
            .context(|| "waiting for the init")?;
        let ready = ready.unwrap_or_default();
        if ready.first().is_some_and(|r| *r != 0) {
            match fd::read(fifo.as_fd(), &mut buf) {
                // poll reports a fifo without data only after a writer came and went: EOF.
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e).context(|| "reading the exec fifo"),
            }
        } else if ready.get(1).is_some_and(|r| *r != 0) {
            // The init exited; whatever it wrote is still in the fifo.
            while let Ok(n @ 1..) = fd::read(fifo.as_fd(), &mut buf) {
                got.extend_from_slice(&buf[..n]);
            }
            break;
        }
    }
    match got.split_first() {
        Some((b'0', [])) => Ok(()),
        Some((b'0', err)) => Err(Error::msg(String::from_utf8_lossy(err).into_owned())),
        _ => Err(Error::msg("container init exited before it was started")),
    }
}
