//! Handing a seccomp notify fd to the listener at `linux.seccomp.listenerPath`, as runc does: one
//! message on a stream Unix socket whose data is the container process state (JSON) and whose
//! SCM_RIGHTS carries the fd. The JSON names the fd by position in `fds` ("seccompFd").
//!
//! The runtime connects before anything is made (create: before the state directory; exec:
//! before the fork), so a path that leads nowhere fails with nothing left behind; the init or
//! the exec'd process loads the filter, passes the fd over the parent/child channel, and the
//! runtime sends it here.

use super::NotifyTarget;
use crate::sys::fd;
use crate::{Error, Result};
use serde_json::{json, Value};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

/// The name runc and the runtime-spec give the notify fd in `fds`.
pub const SECCOMP_FD_NAME: &str = "seccompFd";

/// A connection to the listener, made before the container process exists.
pub struct Listener {
    stream: UnixStream,
    metadata: String,
}

impl Listener {
    /// Connect to `listenerPath`; the error is the problem for that field.
    pub fn connect(target: &NotifyTarget) -> std::result::Result<Listener, String> {
        let stream = UnixStream::connect(&target.path)
            .map_err(|e| format!("cannot connect to {}: {e}", target.path.display()))?;
        Ok(Listener {
            stream,
            metadata: target.metadata.clone(),
        })
    }

    /// Send the container process state with the notify fd. `pid` is the process that loaded
    /// the filter (the init, or an exec'd process); `state_json` the container's state.
    pub fn send(&self, pid: libc::pid_t, state_json: &str, notify_fd: &OwnedFd) -> Result<()> {
        let message = process_state(pid, &self.metadata, state_json)?;
        fd::send_with_fd(
            self.stream.as_fd(),
            message.as_bytes(),
            Some(notify_fd.as_fd()),
        )
        .map_err(|e| {
            Error::msg(format!(
                "linux.seccomp.listenerPath: sending the notify fd: {e}"
            ))
        })
    }
}

/// The runtime-spec's "container process state": what a seccomp agent reads.
pub fn process_state(pid: libc::pid_t, metadata: &str, state_json: &str) -> Result<String> {
    let state: Value = serde_json::from_str(state_json)
        .map_err(|e| Error::msg(format!("the container state is not JSON: {e}")))?;
    let mut doc = json!({
        "ociVersion": crate::OCI_VERSION,
        "fds": [SECCOMP_FD_NAME],
        "pid": pid,
        "state": state,
    });
    if !metadata.is_empty() {
        doc["metadata"] = json!(metadata);
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_document_has_runcs_shape() {
        let doc = process_state(42, "meta", r#"{"id":"c1","pid":7,"status":"creating"}"#).unwrap();
        let v: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v["fds"], json!(["seccompFd"]));
        assert_eq!(v["pid"], 42);
        assert_eq!(v["metadata"], "meta");
        assert_eq!(v["state"]["id"], "c1");
        assert_eq!(v["ociVersion"], crate::OCI_VERSION);
        let bare: Value = serde_json::from_str(&process_state(1, "", "{}").unwrap()).unwrap();
        assert!(bare.get("metadata").is_none());
    }
}
