//! The process object `exec` hands a runc-compatible binary (`exec --process FILE`), made from
//! the container's own process in its bundle, as containerd does. Bare flags mean different
//! things to different runtimes (crun's `exec -e K=V` *replaces* the environment, so PATH is
//! gone; runc's adds to it); a whole process object means the same to all of them, and the
//! same as the runtime crate's exec, whose builder makes it: the bundle's process (env,
//! capabilities, rlimits, user, cwd, no_new_privs) with the request over it.

use super::driver::Exec;
use super::{Error, Result};
use serde_json::Value;
use std::path::Path;

/// The process for `e` from `bundle`/config.json: args and terminal from the request, `-e`
/// replacing a variable of the same name, `-w` the cwd, `-u UID[:GID]` the ids (without
/// `:GID` the bundle's gid stays, as the runtime crate and runc do).
pub fn build(bundle: &Path, e: &Exec) -> Result<Value> {
    if let Some(u) = &e.user {
        // Checked here so the error names the engine's flag.
        runtime::container::parse_uid_gid(u)
            .ok_or_else(|| Error::Invalid(format!("-u {u:?}: expected UID[:GID] (numbers)")))?;
    }
    let opts = runtime::container::ExecOptions {
        args: e.args.clone(),
        tty: e.tty,
        env: e.env.clone(),
        user: e.user.clone(),
        cwd: e.cwd.clone(),
        ..Default::default()
    };
    let process = runtime::container::process_from_flags(bundle, &opts)?;
    let mut p = serde_json::to_value(process).map_err(|err| Error::Invalid(err.to_string()))?;
    // The size of the init's terminal is not this one's.
    if let Some(o) = p.as_object_mut() {
        o.remove("consoleSize");
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle(process: Value) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let spec = json!({ "ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": process });
        std::fs::write(d.path().join("config.json"), spec.to_string()).unwrap();
        std::fs::create_dir(d.path().join("rootfs")).unwrap();
        d
    }

    #[test]
    fn the_bundles_process_with_the_request_over_it() {
        let d = bundle(json!({
            "args": ["sleep", "600"], "cwd": "/", "consoleSize": {"height": 1, "width": 2},
            "env": ["PATH=/bin", "X=0", "HOME=/root"],
            "user": {"uid": 0, "gid": 7, "additionalGids": [4242]},
            "capabilities": {"bounding": ["CAP_KILL"]}, "noNewPrivileges": true,
        }));
        let e = Exec {
            args: vec!["sh".into(), "-c".into(), "echo $X".into()],
            env: vec!["X=1".into(), "Y=2".into()],
            user: Some("1".into()),
            cwd: Some("/tmp".into()),
            ..Default::default()
        };
        let p = build(d.path(), &e).unwrap();
        assert_eq!(p["args"], json!(["sh", "-c", "echo $X"]));
        assert_eq!(p["env"], json!(["PATH=/bin", "HOME=/root", "X=1", "Y=2"]));
        assert_eq!(p["cwd"], "/tmp");
        assert_eq!(
            p["user"],
            json!({"uid": 1, "gid": 7, "additionalGids": [4242]})
        );
        assert_eq!(p["terminal"], false);
        assert_eq!(p["capabilities"], json!({"bounding": ["CAP_KILL"]}));
        assert_eq!(p["noNewPrivileges"], true);
        assert!(p.get("consoleSize").is_none());
        let e = Exec {
            args: vec!["id".into()],
            user: Some("2:3".into()),
            tty: true,
            ..Default::default()
        };
        let p = build(d.path(), &e).unwrap();
        assert_eq!(
            (&p["user"]["uid"], &p["user"]["gid"]),
            (&json!(2), &json!(3))
        );
        assert_eq!(p["terminal"], true);
        assert_eq!(p["cwd"], "/");
    }

    #[test]
    fn a_user_name_is_refused_naming_the_flag() {
        let d = bundle(json!({"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}}));
        let e = Exec {
            args: vec!["id".into()],
            user: Some("daemon".into()),
            ..Default::default()
        };
        let err = build(d.path(), &e).unwrap_err().to_string();
        assert!(err.starts_with("-u \"daemon\""), "{err}");
    }
}
