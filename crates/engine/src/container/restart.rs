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

/// The first wait before a restart; each restart in a row doubles it, up to [`MAX_DELAY`].
pub const FIRST_DELAY: Duration = Duration::from_millis(100);
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run at least this long was not a crash loop: the next wait is the first one again.
pub const RESET_AFTER: Duration = Duration::from_secs(10);

/// The waits between restarts, as Docker spaces them: 100 ms, doubling, at most a minute, back
/// to 100 ms after a run of 10 s or more.
#[derive(Debug, Default)]
pub struct Backoff {
    last: Option<Duration>,
}

impl Backoff {
    /// The wait before the next start, after a run that lasted `ran`.
    pub fn next(&mut self, ran: Duration) -> Duration {
        let d = match self.last {
            Some(last) if ran < RESET_AFTER => (last * 2).min(MAX_DELAY),
            _ => FIRST_DELAY,
        };
        self.last = Some(d);
        d
    }
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
    }

    #[test]
    fn backoff_doubles_to_a_minute_and_resets_after_a_long_run() {
        let mut b = Backoff::default();
        let short = Duration::from_secs(1);
        let waits: Vec<u128> = (0..12).map(|_| b.next(short).as_millis()).collect();
        assert_eq!(
            waits,
            [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]
        );
        assert_eq!(b.next(RESET_AFTER), FIRST_DELAY);
        assert_eq!(b.next(short), Duration::from_millis(200));
    }
}
