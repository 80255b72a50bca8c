//! Where container state lives when `--root` is not given: `/run/coracle` for root, and for an
//! unprivileged caller `$XDG_RUNTIME_DIR/coracle-runtime` (runc uses `$XDG_RUNTIME_DIR/runc`),
//! since it cannot write /run.

use crate::{Error, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// root's default state root.
pub const ROOT_DEFAULT: &str = "/run/coracle";

/// The state root for this caller: `given` (`--root`) if any, else the default for its euid.
pub fn state_root(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    choose(
        crate::sys::process::geteuid(),
        std::env::var_os("XDG_RUNTIME_DIR"),
        |p| p.is_dir(),
    )
}

/// The default state root for `euid` with `$XDG_RUNTIME_DIR` = `xdg`.
fn choose(euid: u32, xdg: Option<OsString>, is_dir: impl Fn(&Path) -> bool) -> Result<PathBuf> {
    if euid == 0 {
        return Ok(PathBuf::from(ROOT_DEFAULT));
    }
    let Some(xdg) = xdg.filter(|v| !v.is_empty()) else {
        return Err(Error::msg(format!(
            "--root: not given and XDG_RUNTIME_DIR is not set: uid {euid} cannot keep state in \
             {ROOT_DEFAULT} (give --root DIR or set XDG_RUNTIME_DIR)"
        )));
    };
    let dir = PathBuf::from(xdg);
    if !dir.is_absolute() || !is_dir(&dir) {
        return Err(Error::msg(format!(
            "--root: not given and XDG_RUNTIME_DIR={} is not an existing absolute directory \
             (give --root DIR or fix XDG_RUNTIME_DIR)",
            dir.display()
        )));
    }
    Ok(dir.join("coracle-runtime"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(euid: u32, xdg: Option<&str>) -> Result<PathBuf> {
        choose(euid, xdg.map(OsString::from), |p| {
            p.starts_with("/run/user")
        })
    }

    #[test]
    fn root_keeps_run_coracle_whatever_xdg_says() {
        assert_eq!(
            pick(0, Some("/run/user/0")).unwrap(),
            Path::new(ROOT_DEFAULT)
        );
        assert_eq!(pick(0, None).unwrap(), Path::new(ROOT_DEFAULT));
    }

    #[test]
    fn a_user_gets_xdg_runtime_dir() {
        assert_eq!(
            pick(1000, Some("/run/user/1000")).unwrap(),
            Path::new("/run/user/1000/coracle-runtime")
        );
    }

    #[test]
    fn a_user_without_a_usable_xdg_dir_gets_one_clear_error() {
        for xdg in [None, Some(""), Some("relative"), Some("/nonexistent")] {
            let e = pick(1000, xdg).unwrap_err().to_string();
            assert!(
                e.starts_with("--root: not given and XDG_RUNTIME_DIR"),
                "{e}"
            );
            assert!(e.contains("give --root DIR"), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
