//! config.json from an image config: the process (Entrypoint + Cmd, Env, WorkingDir, User),
//! the image's metadata as annotations (the image spec's conversion rules), and runc-like
//! defaults for everything else (oci-spec's defaults: namespaces, mounts, capabilities, masked
//! and read-only paths; a writable root; all devices denied in the device cgroup).

use std::collections::HashMap;

use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::{LinuxDeviceCgroupBuilder, RootBuilder, Spec, UserBuilder};

use super::user;
use crate::error::{Error, Result};

pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the bundle's process runs and as whom.
pub struct Input<'a> {
    pub config: &'a ImageConfiguration,
    /// Replaces the image's Cmd (as `docker run IMAGE ARGS…` does); the Entrypoint stays.
    pub cmd: Option<Vec<String>>,
    pub passwd: String,
    pub group: String,
    pub hostname: String,
}

pub fn derive(input: &Input) -> Result<Spec> {
    let empty = Default::default();
    let c = input.config.config().as_ref().unwrap_or(&empty);
    let mut args: Vec<String> = c.entrypoint().clone().unwrap_or_default();
    args.extend(
        input
            .cmd
            .clone()
            .or_else(|| c.cmd().clone())
            .unwrap_or_default(),
    );
    if args.is_empty() {
        return Err(Error::Other(
            "the image has no Entrypoint or Cmd: give a command".into(),
        ));
    }
    let cwd = c
        .working_dir()
        .clone()
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    if !cwd.starts_with('/') {
        return Err(Error::Other(format!(
            "WorkingDir {cwd:?}: not an absolute path"
        )));
    }
    let who = user::resolve(
        c.user().as_deref().unwrap_or(""),
        &input.passwd,
        &input.group,
    )?;
    let mut env: Vec<String> = c.env().clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, DEFAULT_PATH.into());
    }
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!(
            "HOME={}",
            who.home.as_deref().filter(|h| !h.is_empty()).unwrap_or("/")
        ));
    }
    env.push(format!("HOSTNAME={}", input.hostname));

    let mut spec = Spec::default();
    let mut process = spec.process().clone().unwrap_or_default();
    process.set_args(Some(args));
    process.set_env(Some(env));
    process.set_cwd(cwd.into());
    process.set_terminal(Some(false));
    let mut u = UserBuilder::default().uid(who.uid).gid(who.gid);
    if !who.additional_gids.is_empty() {
        u = u.additional_gids(who.additional_gids);
    }
    process.set_user(u.build().map_err(|e| Error::Other(format!("user: {e}")))?);
    spec.set_process(Some(process));
    spec.set_hostname(Some(input.hostname.clone()));
    spec.set_root(Some(
        RootBuilder::default()
            .path("rootfs")
            .readonly(false)
            .build()
            .expect("static root"),
    ));
    spec.set_annotations(Some(annotations(input.config)));
    if let Some(linux) = spec.linux_mut() {
        let deny_all = LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build()
            .expect("static rule");
        if let Some(res) = linux.resources_mut() {
            res.set_devices(Some(vec![deny_all]));
        }
        linux.set_uid_mappings(None);
        linux.set_gid_mappings(None);
    }
    Ok(spec)
}

/// The image spec's config -> annotation conversion (plus Volumes, which it has no key for).
fn annotations(config: &ImageConfiguration) -> HashMap<String, String> {
    let mut a = HashMap::new();
    let empty = Default::default();
    let c = config.config().as_ref().unwrap_or(&empty);
    if let Some(labels) = c.labels() {
        a.extend(labels.clone());
    }
    let key = |k: &str| format!("org.opencontainers.image.{k}");
    a.insert(key("os"), config.os().to_string());
    a.insert(key("architecture"), config.architecture().to_string());
    if let Some(v) = config.variant() {
        a.insert(key("variant"), v.clone());
    }
    if let Some(v) = config.author() {
        a.insert(key("author"), v.clone());
    }
    if let Some(v) = config.created() {
        a.insert(key("created"), v.clone());
    }
    if let Some(v) = c.stop_signal() {
        a.insert(key("stopSignal"), v.clone());
    }
    if let Some(p) = c.exposed_ports().as_ref().filter(|p| !p.is_empty()) {
        a.insert(key("exposedPorts"), p.join(","));
    }
    if let Some(v) = c.volumes().as_ref().filter(|v| !v.is_empty()) {
        a.insert("io.coracle.image.volumes".into(), v.join(","));
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> ImageConfiguration {
        serde_json::from_str(json).unwrap()
    }

    fn input(c: &ImageConfiguration) -> Input<'_> {
        Input {
            config: c,
            cmd: None,
            passwd: "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n".into(),
            group: "app:x:1000:\nextra:x:2000:app\n".into(),
            hostname: "box".into(),
        }
    }

    #[test]
    fn process_from_the_image_config() {
        let c = config(
            r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},
            "config":{"Entrypoint":["/bin/app"],"Cmd":["--flag"],"Env":["A=1"],"WorkingDir":"/srv",
            "User":"app","ExposedPorts":{"80/tcp":{},"53/udp":{}},"Volumes":{"/data":{}},
            "StopSignal":"SIGQUIT","Labels":{"l":"v"}}}"#,
        );
        let spec = derive(&input(&c)).unwrap();
        let p = spec.process().as_ref().unwrap();
        assert_eq!(p.args().as_ref().unwrap(), &["/bin/app", "--flag"]);
        assert_eq!(p.cwd().to_str(), Some("/srv"));
        assert_eq!((p.user().uid(), p.user().gid()), (1000, 1000));
        assert_eq!(p.user().additional_gids().as_ref().unwrap(), &[2000]);
        let env = p.env().as_ref().unwrap();
        assert!(
            env.contains(&"A=1".into())
                && env.contains(&DEFAULT_PATH.into())
                && env.contains(&"HOME=/home/app".into())
        );
        let a = spec.annotations().as_ref().unwrap();
        let mut ports: Vec<&str> = a["org.opencontainers.image.exposedPorts"]
            .split(',')
            .collect();
        ports.sort();
        assert_eq!(ports, ["53/udp", "80/tcp"]);
        assert_eq!(a["org.opencontainers.image.stopSignal"], "SIGQUIT");
        assert_eq!(a["io.coracle.image.volumes"], "/data");
        assert_eq!(a["l"], "v");
        assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(false));

        let mut i = input(&c);
        i.cmd = Some(vec!["other".into()]);
        let spec = derive(&i).unwrap();
        assert_eq!(
            spec.process().as_ref().unwrap().args().as_ref().unwrap(),
            &["/bin/app", "other"]
        );
    }

    #[test]
    fn refuses_what_cannot_run() {
        let c = config(
            r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
        );
        assert!(derive(&input(&c))
            .unwrap_err()
            .to_string()
            .contains("no Entrypoint or Cmd"));
        let c = config(
            r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},
            "config":{"Cmd":["x"],"User":"ghost"}}"#,
        );
        assert!(derive(&input(&c))
            .unwrap_err()
            .to_string()
            .contains("ghost"));
    }
}
