//! The parent/child protocol: small typed messages over a SOCK_SEQPACKET pair. Every step of the init
//! that can fail sends its error back, so the caller prints the child's real error, not "EOF".

use crate::sys::fd;
use crate::{Context, Error, Result};
use std::os::fd::{AsFd, OwnedFd};

/// One message between the runtime (parent) and the container's init (child).
#[derive(Debug, PartialEq, Eq)]
pub enum Msg {
    /// Parent → child: the uid/gid maps of the new user namespace are written (or, in a joined one,
    /// the exec fifo is given to its root).
    Mapped,
    /// Parent → child: the init is in its cgroup (sent only when a cgroup namespace must be made after).
    CgroupJoined,
    /// Child → parent: namespaces and mounts are ready; run the prestart/createRuntime hooks now.
    RunHooks,
    /// Parent → child: those hooks are done; the text is the state JSON for the container's own hooks.
    HooksDone(String),
    /// Child → parent: the pty master is attached (runs in the foreground with a terminal).
    Terminal,
    /// Child → parent: the seccomp filter is loaded; the attached fd is its listener (for
    /// `linux.seccomp.listenerPath`).
    SeccompFd,
    /// Child → parent: the container is created; the init is about to park on the exec fifo.
    Ready,
    /// Child → parent: setup failed; the text is the whole error line.
    Error(String),
}

impl Msg {
    fn encode(&self) -> Vec<u8> {
        let (tag, text) = match self {
            Msg::Mapped => (b'M', ""),
            Msg::CgroupJoined => (b'C', ""),
            Msg::RunHooks => (b'H', ""),
            Msg::HooksDone(s) => (b'D', s.as_str()),
            Msg::Terminal => (b'T', ""),
            Msg::SeccompFd => (b'S', ""),
            Msg::Ready => (b'R', ""),
            Msg::Error(e) => (b'E', e.as_str()),
        };
        let mut buf = Vec::with_capacity(1 + text.len());
        buf.push(tag);
        buf.extend_from_slice(text.as_bytes());
        buf
    }

    fn decode(buf: &[u8]) -> Option<Msg> {
        let (&tag, rest) = buf.split_first()?;
        Some(match tag {
            b'M' => Msg::Mapped,
            b'C' => Msg::CgroupJoined,
            b'H' => Msg::RunHooks,
            b'D' => Msg::HooksDone(String::from_utf8_lossy(rest).into_owned()),
            b'T' => Msg::Terminal,
            b'S' => Msg::SeccompFd,
            b'R' => Msg::Ready,
            b'E' => Msg::Error(String::from_utf8_lossy(rest).into_owned()),
            _ => return None,
        })
    }
}

/// One end of the socket pair.
pub struct Channel(OwnedFd);

/// A connected pair: (parent's end, child's end).
pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = fd::seqpacket_pair().context(|| "creating the init socket pair")?;
    Ok((Channel(a), Channel(b)))
}

impl Channel {
    pub fn send(&self, msg: &Msg) -> Result<()> {
        fd::send_with_fd(self.0.as_fd(), &msg.encode(), None).context(|| format!("sending {msg:?}"))
    }

    /// Send a message with a file descriptor attached (SCM_RIGHTS).
    pub fn send_fd(&self, msg: &Msg, attached: &OwnedFd) -> Result<()> {
        fd::send_with_fd(self.0.as_fd(), &msg.encode(), Some(attached.as_fd()))
            .context(|| format!("sending {msg:?}"))
    }

    /// Pass a seccomp listener fd to the parent and close our copy: it must not reach the
    /// container's process (a preserved fd number could otherwise keep it past exec), and a
    /// profile that denies close leaves it open, which is an error here.
    pub fn pass_seccomp_fd(&self, listener: OwnedFd) -> Result<()> {
        self.send_fd(&Msg::SeccompFd, &listener)?;
        crate::sys::seccomp::close_checked(listener)
            .context(|| "closing the seccomp listener fd after passing it on")
    }

    /// Receive the next message; EOF (the other side exited) is an error.
    pub fn recv(&self) -> Result<(Msg, Option<OwnedFd>)> {
        self.recv_or_eof()?
            .ok_or_else(|| Error::msg("container init exited before it was ready"))
    }

    /// Receive the next message, or None at EOF (the other side exited or exec'd: its end is
    /// close-on-exec).
    pub fn recv_or_eof(&self) -> Result<Option<(Msg, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; 8192];
        let (n, attached) = fd::recv_with_fd(self.0.as_fd(), &mut buf)
            .context(|| "reading from the init socket")?;
        if n == 0 {
            return Ok(None);
        }
        let msg = Msg::decode(&buf[..n])
            .ok_or_else(|| Error::msg("container init sent a malformed message"))?;
        Ok(Some((msg, attached)))
    }

    /// Receive and require `want`; the other side's error is passed through.
    pub fn expect(&self, want: Msg) -> Result<()> {
        match self.recv()?.0 {
            m if m == want => Ok(()),
            other => Err(unexpected(other, &format!("{want:?}"))),
        }
    }
}

/// The error for a message that was not the one the protocol expects next.
pub fn unexpected(got: Msg, want: &str) -> Error {
    match got {
        Msg::Error(e) => Error::Msg(e),
        other => Error::msg(format!(
            "container init protocol: expected {want}, got {other:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let all = [
            Msg::Mapped,
            Msg::CgroupJoined,
            Msg::RunHooks,
            Msg::HooksDone("{}".into()),
            Msg::Terminal,
            Msg::SeccompFd,
            Msg::Ready,
            Msg::Error("mounts[2] (/x): denied".into()),
        ];
        for m in all {
            assert_eq!(Msg::decode(&m.encode()), Some(m));
        }
        assert_eq!(Msg::decode(b""), None);
        assert_eq!(Msg::decode(b"?"), None);
    }

    #[test]
    fn errors_and_eof_cross_the_socket() {
        let (a, b) = pair().unwrap();
        b.send(&Msg::Error("boom".into())).unwrap();
        assert_eq!(a.expect(Msg::Ready).unwrap_err().to_string(), "boom");
        drop(b);
        assert!(a
            .recv()
            .unwrap_err()
            .to_string()
            .contains("exited before it was ready"));
    }
}
