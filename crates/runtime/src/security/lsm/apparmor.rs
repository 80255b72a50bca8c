//! AppArmor: `process.apparmorProfile` becomes the profile the process is confined by from its
//! execve on ("exec PROFILE" written to the thread's attr/apparmor/exec, as runc does).

use super::attr::{self, AttrFile};
use crate::{Error, Result};

const FIELD: &str = "process.apparmorProfile";

/// AppArmor is built in and enabled (the module parameter reads "Y").
pub fn enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

/// Open the exec attribute: attr/apparmor/exec (kernels ≥ 5.8, where several LSMs may share
/// /proc), else the older attr/exec.
pub fn open_exec() -> Result<AttrFile> {
    attr::open("apparmor/exec")
        .or_else(|_| attr::open("exec"))
        .map_err(|e| {
            Error::msg(format!(
                "{FIELD}: opening /proc/thread-self/attr/apparmor/exec: {e}"
            ))
        })
}

/// Ask for `profile` at the next execve. The kernel refuses a profile that is not loaded
/// (ENOENT): that is reported as such, naming the field.
pub fn apply(mut file: AttrFile, profile: &str) -> Result<()> {
    file.write(&format!("exec {profile}")).map_err(|e| {
        let why = match e.raw_os_error() {
            Some(libc::ENOENT) => "no such profile is loaded".to_string(),
            _ => e.to_string(),
        };
        Error::msg(format!(
            "{FIELD}: applying AppArmor profile {profile:?}: {why}"
        ))
    })
}
