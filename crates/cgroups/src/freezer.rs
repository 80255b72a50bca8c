//! Freezing (pause) and thawing: the v1 `freezer` controller (`freezer.state`) where it is mounted,
//! which is what runc uses on v1 and hybrid hosts, else the core v2 `cgroup.freeze` file.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::fsutil::{read, write};

/// Which freezer a cgroup uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freezer {
    V1,
    V2,
}

/// How long freezing may take before it is given up (tasks in uninterruptible sleep can hold it).
const FREEZE_TIMEOUT: Duration = Duration::from_secs(2);

impl Freezer {
    /// Freeze the cgroup at `dir` and wait until every task in it is frozen. On timeout the cgroup is
    /// thawed again and an error returned.
    pub fn freeze(self, dir: &Path) -> io::Result<()> {
        let (file, value) = match self {
            Freezer::V1 => ("freezer.state", "FROZEN"),
            Freezer::V2 => ("cgroup.freeze", "1"),
        };
        write(&dir.join(file), value)?;
        let start = Instant::now();
        let mut pause = Duration::from_micros(20);
        loop {
            let done = match self {
                // Reading freezer.state makes the kernel re-check a FREEZING cgroup.
                Freezer::V1 => read(&dir.join("freezer.state"))? == "FROZEN",
                Freezer::V2 => read(&dir.join("cgroup.events"))?
                    .lines()
                    .any(|l| l == "frozen 1"),
            };
            if done {
                return Ok(());
            }
            if start.elapsed() > FREEZE_TIMEOUT {
                let _ = self.thaw(dir);
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "freeze {}: tasks not frozen after {FREEZE_TIMEOUT:?}",
                        dir.join(file).display()
                    ),
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(5));
        }
    }

    pub fn thaw(self, dir: &Path) -> io::Result<()> {
        match self {
            Freezer::V1 => write(&dir.join("freezer.state"), "THAWED"),
            Freezer::V2 => write(&dir.join("cgroup.freeze"), "0"),
        }
    }

    /// Is the cgroup frozen? (A v1 cgroup still FREEZING is not yet.) A missing cgroup is not frozen.
    pub fn is_frozen(self, dir: &Path) -> bool {
        match self {
            Freezer::V1 => matches!(read(&dir.join("freezer.state")).as_deref(), Ok("FROZEN")),
            Freezer::V2 => matches!(read(&dir.join("cgroup.freeze")).as_deref(), Ok("1")),
        }
    }
}
