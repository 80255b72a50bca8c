//! `--security-opt`, as Docker and Podman spell it: `no-new-privileges[:true|false]`,
//! `seccomp=unconfined|FILE`, `apparmor=unconfined|PROFILE`, `label=disable`.
//!
//! coracle applies no AppArmor profile and no SELinux label of its own, so `apparmor=unconfined`
//! and `label=disable` ask for what already happens and are accepted (scripts written for
//! Docker and Podman pass them). `apparmor=PROFILE` names a loaded profile for the runtime to
//! apply (where AppArmor is off the start fails with the runtime's error). The other `label=`
//! forms (user/role/type/level) adjust a default label we do not have: refused by name.

use super::seccomp::Seccomp;
use super::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct SecurityOpts {
    pub no_new_privileges: bool,
    pub seccomp: Seccomp,
    /// process.apparmorProfile.
    pub apparmor: Option<String>,
}

pub fn parse(opts: &[String]) -> Result<SecurityOpts> {
    let mut s = SecurityOpts {
        no_new_privileges: false,
        seccomp: Seccomp::Default,
        apparmor: None,
    };
    for o in opts {
        let bad = |why: String| Error::Invalid(format!("--security-opt {o:?}: {why}"));
        let (k, v) = o.split_once(['=', ':']).unwrap_or((o, ""));
        match (k, v) {
            ("no-new-privileges", "" | "true") => s.no_new_privileges = true,
            ("no-new-privileges", "false") => s.no_new_privileges = false,
            ("seccomp", "unconfined") => s.seccomp = Seccomp::Unconfined,
            ("seccomp", path) if !path.is_empty() => s.seccomp = profile(path).map_err(bad)?,
            ("apparmor", "unconfined") => s.apparmor = None,
            ("apparmor", name) if !name.is_empty() => s.apparmor = Some(name.to_string()),
            ("label", "disable") => {}
            ("label", _) => {
                return Err(bad(
                    "only label=disable is supported (coracle sets no SELinux label to adjust)"
                        .into(),
                ))
            }
            _ => {
                return Err(bad(
                    "expected no-new-privileges[:true|false], seccomp=unconfined|FILE, \
                     apparmor=unconfined|PROFILE or label=disable"
                        .into(),
                ))
            }
        }
    }
    Ok(s)
}

/// A seccomp profile file: JSON with a defaultAction (the runtime checks the rest).
fn profile(path: &str) -> std::result::Result<Seccomp, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    if !v["defaultAction"].is_string() {
        return Err(format!("{path}: not a seccomp profile (no defaultAction)"));
    }
    Ok(Seccomp::Profile(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(opts: &[&str]) -> Result<SecurityOpts> {
        parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn docker_and_podman_spellings() {
        let s = p(&[
            "no-new-privileges",
            "seccomp=unconfined",
            "apparmor=my-profile",
        ])
        .unwrap();
        assert!(s.no_new_privileges);
        assert_eq!(s.seccomp, Seccomp::Unconfined);
        assert_eq!(s.apparmor.as_deref(), Some("my-profile"));
        let s = p(&[
            "no-new-privileges:false",
            "apparmor=unconfined",
            "label=disable",
        ])
        .unwrap();
        assert_eq!(
            s,
            SecurityOpts {
                no_new_privileges: false,
                seccomp: Seccomp::Default,
                apparmor: None
            }
        );
        for bad in [
            "label=type:spc_t",
            "apparmor=",
            "seccomp=",
            "bogus",
            "systempaths=unconfined",
        ] {
            let e = p(&[bad]).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--security-opt {bad:?}: ")), "{e}");
        }
    }
}
