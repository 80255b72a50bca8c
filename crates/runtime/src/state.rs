//! Per-container state under `--root`/ID: the state file, the exec fifo and the lock that serialises
//! concurrent commands on one container. The status is derived, never stored: it follows from whether
//! the init process lives, whether the exec fifo still exists (created) and the freezer (paused).

use crate::sys::{fd, process};
use crate::{Context, Error, Result};
use oci_spec::runtime::Hooks;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

const STATE_FILE: &str = "state.json";
const EXEC_FIFO: &str = "exec.fifo";

/// What the runtime records about a container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub id: String,
    /// Host pid of the container's init.
    pub pid: i32,
    /// Start time of that pid (clock ticks since boot), to detect pid reuse.
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The container's cgroup path (same on every hierarchy); empty when it has none.
    pub cgroup_path: String,
    /// The systemd unit that holds the cgroup (`--systemd-cgroup`): `delete` stops it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_unit: Option<String>,
    /// The hooks that run after create: poststart (on start) and poststop (on delete).
    #[serde(default)]
    pub hooks: Option<Hooks>,
}

impl State {
    /// The container's cgroup; `None` for a rootless container that runs without one (its
    /// `cgroup_path` is empty: see rootless/cgroup.rs).
    pub fn cgroup(&self) -> Option<cgroups::Cgroup> {
        (!self.cgroup_path.is_empty()).then(|| cgroups::Cgroup::open(&self.cgroup_path))
    }

    /// The error for an operation that needs the cgroup this container runs without.
    pub fn no_cgroup(&self, what: &str) -> Error {
        Error::msg(format!(
            "{what}: container {} has no cgroup (created rootless without a delegated cgroup)",
            self.id
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// A container's state directory, locked for as long as this value lives.
pub struct ContainerDir {
    pub dir: PathBuf,
    _lock: File,
}

/// Container ids are file names: runc's rule (letters, digits, `_+-.`), not `.` or `..`.
pub fn validate_id(id: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "_+-.".contains(c);
    if id.is_empty() || id == "." || id == ".." || !id.chars().all(ok_char) || id.len() > 1024 {
        return Err(Error::msg(format!(
            "invalid container id {id:?}: use letters, digits and _+-. only"
        )));
    }
    Ok(())
}

impl ContainerDir {
    /// Make the state directory of a new container; fails if the id is taken.
    pub fn create(root: &Path, id: &str) -> Result<Self> {
        validate_id(id)?;
        std::fs::create_dir_all(root)
            .context(|| format!("creating state root {}", root.display()))?;
        let dir = root.join(id);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::msg(format!("container with id {id} already exists")))
            }
            Err(e) => return Err(e).context(|| format!("creating {}", dir.display())),
        }
        Self::lock(dir)
    }

    /// Open and lock the state directory of an existing container.
    pub fn open(root: &Path, id: &str) -> Result<Self> {
        let d = Self::peek(root, id)?;
        fd::flock_exclusive(d._lock.as_fd()).context(|| format!("locking {}", d.dir.display()))?;
        // While we waited, the holder may have deleted the container (and another may have made a
        // new one with this id): the lock only counts if it is on the directory still in place.
        use std::os::unix::fs::MetadataExt;
        let same =
            |a: &std::fs::Metadata, b: &std::fs::Metadata| a.dev() == b.dev() && a.ino() == b.ino();
        match (d._lock.metadata(), std::fs::metadata(&d.dir)) {
            (Ok(held), Ok(now)) if same(&held, &now) && d.dir.join(STATE_FILE).exists() => Ok(d),
            _ => Err(Error::NotFound(id.to_string())),
        }
    }

    /// Open without locking, to read the state (it is always written atomically).
    pub fn peek(root: &Path, id: &str) -> Result<Self> {
        validate_id(id)?;
        let dir = root.join(id);
        if !dir.join(STATE_FILE).exists() {
            return Err(Error::NotFound(id.to_string()));
        }
        let file = match File::open(&dir) {
            // Deleted between the check and the open: it no longer exists.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(id.to_string()))
            }
            r => r.context(|| format!("opening {}", dir.display()))?,
        };
        Ok(ContainerDir { dir, _lock: file })
    }

    fn lock(dir: PathBuf) -> Result<Self> {
        let lock = File::open(&dir).context(|| format!("opening {}", dir.display()))?;
        fd::flock_exclusive(lock.as_fd()).context(|| format!("locking {}", dir.display()))?;
        Ok(ContainerDir { dir, _lock: lock })
    }

    /// The lock's descriptor: the init must close its inherited copy, or it would hold the lock
    /// for as long as it is parked.
    pub fn lock_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self._lock.as_raw_fd()
    }

    pub fn fifo(&self) -> PathBuf {
        self.dir.join(EXEC_FIFO)
    }

    pub fn load(&self) -> Result<State> {
        let path = self.dir.join(STATE_FILE);
        let text = match std::fs::read(&path) {
            // Deleted since it was opened (`state` does not lock): it no longer exists.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let id = self.dir.file_name().unwrap_or_default().to_string_lossy();
                return Err(Error::NotFound(id.into_owned()));
            }
            r => r.context(|| format!("reading {}", path.display()))?,
        };
        serde_json::from_slice(&text).map_err(|e| Error::msg(format!("{}: {e}", path.display())))
    }

    /// Write the state atomically: a reader sees the old file or the new one, never half of one.
    pub fn save(&self, state: &State) -> Result<()> {
        let tmp = self.dir.join(".state.json.tmp");
        let text = serde_json::to_vec(state).map_err(|e| Error::msg(e.to_string()))?;
        std::fs::write(&tmp, text).context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, self.dir.join(STATE_FILE))
            .context(|| format!("saving state in {}", self.dir.display()))
    }

    /// Remove the state directory (the lock goes with it).
    pub fn remove(self) -> Result<()> {
        std::fs::remove_dir_all(&self.dir).context(|| format!("removing {}", self.dir.display()))
    }
}

/// The container's status, derived from its init process and exec fifo.
pub fn status(dir: &ContainerDir, state: &State) -> Status {
    if !init_alive(state) {
        return Status::Stopped;
    }
    // Frozen first: a created container can be paused too (as with runc), and is then `paused`.
    if state.cgroup().is_some_and(|c| c.is_frozen()) {
        return Status::Paused;
    }
    if dir.fifo().exists() {
        return Status::Created;
    }
    Status::Running
}

/// Is the recorded init still this container's (not exited, not a zombie, pid not reused)?
pub fn init_alive(state: &State) -> bool {
    state.pid > 0
        && process::process_start_time(state.pid) == Some(state.pid_start)
        && !matches!(process::process_state(state.pid), Some('Z' | 'X') | None)
}

/// The state in runc's JSON shape and field order, as `state` prints it and hooks read it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicState<'a> {
    oci_version: &'a str,
    id: &'a str,
    pid: i32,
    status: &'a str,
    bundle: &'a Path,
    rootfs: &'a Path,
    created: &'a str,
    owner: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

/// The state as JSON text (indented, like runc's `state`), for printing and for hooks' stdin.
pub fn public_json(state: &State, status: Status) -> String {
    let public = PublicState {
        oci_version: crate::OCI_VERSION,
        id: &state.id,
        pid: if status == Status::Stopped {
            0
        } else {
            state.pid
        },
        status: status.as_str(),
        bundle: &state.bundle,
        rootfs: &state.rootfs,
        created: &state.created,
        owner: "",
        annotations: &state.annotations,
    };
    serde_json::to_string_pretty(&public).unwrap_or_default()
}

/// The current time as RFC 3339 in UTC with nanoseconds, like runc's `created`.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        now.subsec_nanos()
    )
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn ids() {
        assert!(validate_id("abc-1_2.x+y").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", "é"] {
            assert!(validate_id(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
