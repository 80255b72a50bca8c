//! `--restart`: whether the monitor starts a container again after it exits.
//!
//! - `no` (default): never.
//! - `on-failure[:N]`: after a non-zero exit, at most N times (unlimited without N).
//! - `always`: after any exit.
//! - `unless-stopped`: the same as `always` here. Docker tells them apart only when its daemon
//!   starts (after a reboot): it starts `always` containers again, even stopped ones, and
//!   `unless-stopped` ones only if they were not stopped. coracle has no daemon and starts
//!   nothing at boot, so while the monitor lives both restart after every exit, and neither
//!   comes back after a reboot.
//!
//! Under every policy an exit the user asked for (`stop`, `kill`, `rm -f`: the record's
//! `stopping`) ends the restarts for good, as Docker does for a manually stopped container.

use super::{Error, Result};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    No,
    OnFailure(Option<u32>),
    Always,
    UnlessStopped,
}

impl Policy {
    /// The `--restart` value (None: `no`).
    pub fn parse(value: Option<&str>) -> Result<Policy> {
        let Some(r) = value else {
            return Ok(Policy::No);
        };
        let bad = || {
            Error::Invalid(format!(
                "--restart {r:?}: expected no, on-failure[:N], always or unless-stopped"
            ))
        };
        match r.split_once(':') {
            None => match r {
                "no" => Ok(Policy::No),
                "on-failure" => Ok(Policy::OnFailure(None)),
                "always" => Ok(Policy::Always),
                "unless-stopped" => Ok(Policy::UnlessStopped),
                _ => Err(bad()),
            },
            Some(("on-failure", n)) => n
                .parse()
                .map(|n| Policy::OnFailure(Some(n)))
                .map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    /// Whether the container starts again after exiting with `code`, `done` restarts so far,
    /// unless the user stopped it.
    pub fn restarts(self, code: i32, done: u32) -> bool {
        match self {
            Policy::No => false,
            Policy::OnFailure(max) => code != 0 && max.is_none_or(|m| done < m),
            Policy::Always | Policy::UnlessStopped => true,
        }
    }

    /// Docker's `HostConfig.RestartPolicy` name and `MaximumRetryCount`.
    pub fn name(self) -> &'static str {
        match self {
            Policy::No => "no",
            Policy::OnFailure(_) => "on-failure",
            Policy::Always => "always",
            Policy::UnlessStopped => "unless-stopped",
        }
    }

    pub fn max_retries(self) -> u32 {
        match self {
            Policy::OnFailure(Some(n)) => n,
            _ => 0,
        }
    }
}

/// The wait before restart number `n` (1-based): Docker's 100 ms, doubling, here capped at
/// 1.6 s (Docker goes on to a minute, and resets after 10 s of running).
pub fn delay(n: u32) -> Duration {
    Duration::from_millis(100u64 << n.saturating_sub(1).min(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_policy_and_refuses_the_rest() {
        assert_eq!(Policy::parse(None).unwrap(), Policy::No);
        assert_eq!(Policy::parse(Some("no")).unwrap(), Policy::No);
        assert_eq!(
            Policy::parse(Some("on-failure")).unwrap(),
            Policy::OnFailure(None)
        );
        assert_eq!(
            Policy::parse(Some("on-failure:3")).unwrap(),
            Policy::OnFailure(Some(3))
        );
        assert_eq!(Policy::parse(Some("always")).unwrap(), Policy::Always);
        assert_eq!(
            Policy::parse(Some("unless-stopped")).unwrap(),
            Policy::UnlessStopped
        );
        for bad in ["sometimes", "always:2", "on-failure:x", "on-failure:-1", ""] {
            let e = Policy::parse(Some(bad)).unwrap_err().to_string();
            assert!(e.starts_with("--restart"), "{e}");
        }
    }

    #[test]
    fn which_exits_restart() {
        assert!(!Policy::No.restarts(1, 0));
        assert!(Policy::OnFailure(None).restarts(1, 99));
        assert!(!Policy::OnFailure(None).restarts(0, 0));
        assert!(Policy::OnFailure(Some(2)).restarts(1, 1));
        assert!(!Policy::OnFailure(Some(2)).restarts(1, 2));
        assert!(Policy::Always.restarts(0, 1000));
        assert!(Policy::UnlessStopped.restarts(137, 0));
        assert_eq!(delay(1), Duration::from_millis(100));
        assert_eq!(delay(2), Duration::from_millis(200));
        assert_eq!(delay(40), Duration::from_millis(1600));
    }
}
