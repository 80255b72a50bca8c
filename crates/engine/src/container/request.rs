//! What `create`/`run` were asked for: the flags, kept in the record (so `start` can attach
//! the networks again) and checked before anything exists.

use super::security_opt::SecurityOpts;
use super::{Error, Result};
use crate::network::{PortMapping, DEFAULT_NETWORK, HOST, NONE};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Request {
    pub image: String,
    pub name: Option<String>,
    /// Replaces the image's Cmd (the words after IMAGE).
    pub cmd: Vec<String>,
    /// `--entrypoint`: replaces the image's Entrypoint (and drops its Cmd, as Docker).
    pub entrypoint: Option<String>,
    /// `-e` (KEY=VALUE, or KEY to take the caller's value) and `--env-file` lines, in order.
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    /// `-v SRC:DST[:ro|rw]` (bind mounts of host paths).
    pub volumes: Vec<String>,
    /// `--network`: none, host, or network names (empty: the default network).
    pub networks: Vec<String>,
    pub ports: Vec<String>,
    pub hostname: Option<String>,
    pub memory: Option<String>,
    pub cpus: Option<String>,
    pub pids_limit: Option<i64>,
    pub read_only: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--rm`: the monitor removes the container when it exits.
    pub auto_remove: bool,
    /// `--runtime`: a runc-compatible binary (a path, or a name looked up in PATH at create).
    #[serde(default)]
    pub runtime: Option<String>,
    /// `--tmpfs DST[:OPTIONS]` (mount options, comma-separated).
    #[serde(default)]
    pub tmpfs: Vec<String>,
    /// `--security-opt`: `no-new-privileges[:true|false]`, `seccomp=unconfined`,
    /// `seccomp=FILE` (an OCI `linux.seccomp` object).
    #[serde(default)]
    pub security_opt: Vec<String>,
    /// `--restart`: `no` (default), `on-failure[:N]`, `always`, `unless-stopped`.
    #[serde(default)]
    pub restart: Option<String>,
    /// `-t`: a pty (the runtime's console socket); output is one stream.
    #[serde(default)]
    pub tty: bool,
    /// `--init`: the built-in init is pid 1 and runs the command as its child (see `init`).
    #[serde(default)]
    pub init: bool,
    /// `-i`: stdin stays open. A foreground `run` gives its own; otherwise (`run -d`, `create`
    /// then `start`) the monitor holds a pipe's write end open until the container stops.
    #[serde(default)]
    pub interactive: bool,
    /// `--log-opt KEY=VALUE` over the config file's defaults: `max-size`, `max-file`.
    #[serde(default)]
    pub log_opt: Vec<String>,
}

/// A mount from `-v`: a host path, a named volume (`ROOT/volumes/NAME/_data`, made on first
/// use and kept when containers are removed) or an anonymous volume (`-v /DST`: a volume with a
/// random name, made at create, removed with the container by `rm -v` and `--rm`).
#[derive(Debug, Clone, PartialEq)]
pub struct Bind {
    pub source: Source,
    pub destination: String,
    pub read_only: bool,
    /// `nocopy` (`-v`) or `volume-nocopy` (`--mount`): a new volume is not filled with what
    /// the image has at the destination.
    pub nocopy: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Host(PathBuf),
    Volume(String),
    Anonymous,
}

impl Request {
    /// `-p` mappings, parsed.
    pub fn port_mappings(&self) -> Result<Vec<PortMapping>> {
        self.ports
            .iter()
            .map(|p| PortMapping::parse(p).map_err(Error::Invalid))
            .collect()
    }

    /// The networks to attach (the default network when none is named).
    pub fn network_list(&self) -> Vec<String> {
        if self.networks.is_empty() {
            vec![DEFAULT_NETWORK.to_string()]
        } else {
            self.networks.clone()
        }
    }

    pub fn host_network(&self) -> bool {
        self.networks.iter().any(|n| n == HOST)
    }

    /// `--restart` (see [`super::restart`]).
    pub fn restart_policy(&self) -> Result<super::restart::Policy> {
        super::restart::Policy::parse(self.restart.as_deref())
    }

    /// `--security-opt` values.
    pub fn security(&self) -> Result<SecurityOpts> {
        super::security_opt::parse(&self.security_opt)
    }

    /// `--tmpfs` as (destination, mount options): Docker's defaults (noexec, nosuid, nodev)
    /// unless the options say otherwise.
    pub fn tmpfs_mounts(&self) -> Result<Vec<(String, Vec<String>)>> {
        self.tmpfs
            .iter()
            .map(|t| {
                let (dst, opts) = t.split_once(':').unwrap_or((t, ""));
                let dst = clean_destination(dst).ok_or_else(|| {
                    Error::Invalid(format!("--tmpfs {t:?}: the path must be absolute, not /"))
                })?;
                let mut o: Vec<String> = ["noexec", "nosuid", "nodev"].map(String::from).to_vec();
                for opt in opts.split(',').filter(|x| !x.is_empty()) {
                    let known = [
                        "exec", "noexec", "suid", "nosuid", "dev", "nodev", "ro", "rw",
                    ];
                    let keyed = ["size=", "mode=", "uid=", "gid=", "nr_inodes="];
                    if !known.contains(&opt) && !keyed.iter().any(|k| opt.starts_with(k)) {
                        return Err(Error::Invalid(format!(
                            "--tmpfs {t:?}: unknown option {opt:?}"
                        )));
                    }
                    if let Some(neg) = opt.strip_prefix("no") {
                        o.retain(|x| x != neg);
                    } else {
                        o.retain(|x| x.strip_prefix("no") != Some(opt));
                    }
                    o.push(opt.to_string());
                }
                Ok((dst, o))
            })
            .collect()
    }

    /// The log's size limits (`--log-opt`).
    pub fn log_limits(&self) -> Result<super::logs::Limits> {
        super::logs::Limits::from_opts(&self.log_opt)
    }

    pub fn binds(&self) -> Result<Vec<Bind>> {
        self.volumes.iter().map(|v| parse_bind(v)).collect()
    }

    /// Everything that can be checked without touching the host.
    pub fn validate(&self) -> Result<()> {
        if let Some(n) = &self.name {
            super::id::validate_name(n)?;
        }
        let nets = &self.networks;
        if nets.len() > 1 && nets.iter().any(|n| n == NONE || n == HOST) {
            return Err(Error::Invalid(
                "--network: none and host cannot be combined with other networks".into(),
            ));
        }
        self.port_mappings()?;
        self.binds()?;
        for e in &self.env {
            if e.is_empty() || e.starts_with('=') {
                return Err(Error::Invalid(format!(
                    "-e {e:?}: expected KEY=VALUE or KEY"
                )));
            }
        }
        if let Some(w) = &self.workdir {
            if !w.starts_with('/') {
                return Err(Error::Invalid(format!("-w {w:?}: not an absolute path")));
            }
        }
        if self
            .user
            .as_deref()
            .is_some_and(|u| u.is_empty() || u.contains(char::is_whitespace))
        {
            return Err(Error::Invalid(
                "-u: expected USER[:GROUP] (names or numbers)".into(),
            ));
        }
        if let Some(m) = &self.memory {
            let v = runtime::container::parse_size(m)
                .map_err(|e| Error::Invalid(format!("-m: {e}")))?;
            if v < 6 * 1024 * 1024 {
                return Err(Error::Invalid(format!(
                    "-m {m}: the minimum memory limit is 6m"
                )));
            }
        }
        if let Some(c) = &self.cpus {
            cpu_quota(c)?;
        }
        if self.pids_limit.is_some_and(|p| p == 0 || p < -1) {
            return Err(Error::Invalid(
                "--pids-limit: expected a positive number, or -1 for unlimited".into(),
            ));
        }
        for c in self.cap_add.iter().chain(&self.cap_drop) {
            cap_name(c)?;
        }
        // Docker and Podman refuse the pair for every policy but `no`: a container that may
        // start again is not done to be removed when it exits.
        if self.restart_policy()? != super::restart::Policy::No && self.auto_remove {
            return Err(Error::Invalid(format!(
                "--restart {}: conflicts with --rm",
                self.restart.as_deref().unwrap_or_default()
            )));
        }
        self.security()?;
        self.tmpfs_mounts()?;
        if self.init {
            self.check_init_mounts()?;
        }
        self.log_limits()?;
        self.no_duplicate_destinations()
    }

    /// Two mounts on one path are a mistake (Docker: "Duplicate mount point").
    fn no_duplicate_destinations(&self) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        let binds = self.binds()?.into_iter().map(|b| b.destination);
        let tmpfs = self.tmpfs_mounts()?.into_iter().map(|(d, _)| d);
        for d in binds.chain(tmpfs) {
            if !seen.insert(d.clone()) {
                return Err(Error::Invalid(format!(
                    "-v/--mount/--tmpfs: duplicate mount point {d}"
                )));
            }
        }
        Ok(())
    }

    /// `--init` needs /dev/coracle-init: no `-v`/`--tmpfs` on /dev or on that path.
    fn check_init_mounts(&self) -> Result<()> {
        let binds = self.binds()?.into_iter().map(|b| ("-v", b.destination));
        let tmpfs = self
            .tmpfs_mounts()?
            .into_iter()
            .map(|(d, _)| ("--tmpfs", d));
        match binds
            .chain(tmpfs)
            .find(|(_, d)| crate::init::spec::hides_init(d))
        {
            Some((flag, d)) => Err(Error::Invalid(format!(
                "--init: {flag} {d}: a mount there would hide the init ({})",
                crate::init::CONTAINER_PATH
            ))),
            None => Ok(()),
        }
    }
}

/// `-v [SRC:]DST[:OPTIONS]`; SRC is an absolute host path that exists, or a volume name
/// (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`); without SRC an anonymous volume. OPTIONS: comma-separated
/// `ro`, `rw`, `nocopy` (volumes only), as Docker.
pub fn parse_bind(spec: &str) -> Result<Bind> {
    let bad = |why: &str| Error::Invalid(format!("-v {spec:?}: {why}"));
    let parts: Vec<&str> = spec.split(':').collect();
    // `/DST:OPTIONS` (an anonymous volume with options) vs `SRC:DST`: a DST is absolute.
    let (src, dst, opts) = match parts.as_slice() {
        [d] => (None, *d, None),
        [d, o] if d.starts_with('/') && !o.starts_with('/') => (None, *d, Some(*o)),
        [s, d] => (Some(*s), *d, None),
        [s, d, o] => (Some(*s), *d, Some(*o)),
        _ => return Err(bad("expected [SRC:]DST[:OPTIONS]")),
    };
    if src.is_some_and(|s| !s.starts_with('/') && super::id::validate_name(s).is_err()) {
        return Err(bad(
            "SRC must be an absolute host path or a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)",
        ));
    }
    let destination = clean_destination(dst)
        .ok_or_else(|| bad("DST must be an absolute path in the container, not /"))?;
    let (mut read_only, mut nocopy) = (false, false);
    for o in opts.unwrap_or("").split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => read_only = true,
            "rw" => read_only = false,
            "nocopy" => nocopy = true,
            m => {
                return Err(bad(&format!(
                    "unknown option {m:?} (expected ro, rw or nocopy)"
                )))
            }
        }
    }
    if opts == Some("") {
        return Err(bad("empty OPTIONS after the last ':'"));
    }
    let source = match src {
        Some(s) if s.starts_with('/') => {
            if nocopy {
                return Err(bad("nocopy is for volumes, not host paths"));
            }
            if std::fs::symlink_metadata(s).is_err() {
                return Err(bad(&format!("{s}: no such file or directory")));
            }
            Source::Host(s.into())
        }
        Some(name) => Source::Volume(name.into()),
        None => Source::Anonymous,
    };
    Ok(Bind {
        source,
        destination,
        read_only,
        nocopy,
    })
}

/// A container path made canonical as Docker does (`//`, `.`, `..` and a trailing `/`
/// resolved lexically); None unless it is absolute and not `/`.
pub fn clean_destination(dst: &str) -> Option<String> {
    if !dst.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = vec![];
    for c in dst.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    (!parts.is_empty()).then(|| format!("/{}", parts.join("/")))
}

/// `--cpus N` -> CFS quota per 100 ms period.
pub fn cpu_quota(c: &str) -> Result<i64> {
    match c.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1024.0 => Ok((v * 100_000.0).round() as i64),
        _ => Err(Error::Invalid(format!(
            "--cpus {c:?}: expected a positive number of CPUs"
        ))),
    }
}

/// `NET_ADMIN`, `cap_net_admin` or `ALL` -> `CAP_NET_ADMIN` / `ALL`.
pub fn cap_name(c: &str) -> Result<String> {
    let up = c.to_ascii_uppercase();
    if up == "ALL" {
        return Ok(up);
    }
    let name = if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    };
    if caps_known().contains(&name.as_str()) {
        Ok(name)
    } else {
        Err(Error::Invalid(format!(
            "--cap-add/--cap-drop {c:?}: unknown capability"
        )))
    }
}

fn caps_known() -> &'static [&'static str] {
    &[
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ]
}

/// `--env-file FILE`: KEY=VALUE lines; blank lines and `#` comments skipped.
pub fn read_env_file(path: &std::path::Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Invalid(format!("--env-file {}: {e}", path.display())))?;
    Ok(text
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect())
}

/// What a `--mount` becomes: the same thing as a `-v` or a `--tmpfs` value.
#[derive(Debug, Clone, PartialEq)]
pub enum MountFlag {
    Volume(String),
    Tmpfs(String),
}

/// `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly][,volume-nocopy]
/// [,tmpfs-size=…][,tmpfs-mode=…]` in the `-v`/`--tmpfs` syntax. A volume without a source is
/// anonymous.
pub fn parse_mount(spec: &str) -> Result<MountFlag> {
    let bad = |why: &str| Error::Invalid(format!("--mount {spec:?}: {why}"));
    let (mut kind, mut src, mut dst, mut ro) = ("volume", None, None, false);
    let (mut nocopy, mut tmpfs_opts) = (None, vec![]);
    for field in spec.split(',') {
        let (k, v) = field.split_once('=').unwrap_or((field, ""));
        let flag = || match v {
            "" | "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(bad(&format!("{k}={v}: expected true or false"))),
        };
        match k {
            "type" => kind = v,
            "source" | "src" => src = Some(v),
            "target" | "destination" | "dst" => dst = Some(v),
            "readonly" | "ro" => ro = flag()?,
            "volume-nocopy" => nocopy = Some(flag()?),
            "tmpfs-size" => tmpfs_opts.push(format!("size={v}")),
            "tmpfs-mode" => tmpfs_opts.push(format!("mode={v}")),
            _ => return Err(bad(&format!("unknown field {k:?}"))),
        }
    }
    let dst = dst
        .filter(|d| !d.is_empty())
        .ok_or_else(|| bad("target= is required"))?;
    if nocopy.is_some() && kind != "volume" {
        return Err(bad("volume-nocopy is only for type=volume"));
    }
    let mut mode = if ro { "ro" } else { "rw" }.to_string();
    if nocopy == Some(true) {
        mode.push_str(",nocopy");
    }
    let src = src.filter(|s| !s.is_empty());
    match kind {
        "bind" | "volume" => {
            let flag = match (kind, src) {
                ("bind", None) => return Err(bad("source= is required for type=bind")),
                ("bind", Some(s)) if !s.starts_with('/') => {
                    return Err(bad("a bind source must be an absolute path"))
                }
                ("volume", Some(s)) if s.starts_with('/') => {
                    return Err(bad("a volume source is a name, not a path"))
                }
                (_, Some(s)) => format!("{s}:{dst}:{mode}"),
                // No source: an anonymous volume.
                (_, None) => format!("{dst}:{mode}"),
            };
            parse_bind(&flag).map_err(|e| bad(&e.to_string()))?;
            Ok(MountFlag::Volume(flag))
        }
        "tmpfs" => {
            if ro {
                tmpfs_opts.push("ro".into());
            }
            Ok(MountFlag::Tmpfs(if tmpfs_opts.is_empty() {
                dst.to_string()
            } else {
                format!("{dst}:{}", tmpfs_opts.join(","))
            }))
        }
        other => Err(bad(&format!(
            "type {other:?}: expected bind, volume or tmpfs"
        ))),
    }
}

#[cfg(test)]
mod volume_spec_tests {
    use super::*;

    #[test]
    fn dash_v_forms() {
        let b = parse_bind("/data").unwrap();
        assert_eq!(
            (b.source, b.destination.as_str()),
            (Source::Anonymous, "/data")
        );
        let b = parse_bind("/data/:ro,nocopy").unwrap();
        assert_eq!(b.source, Source::Anonymous);
        assert_eq!(
            (b.destination.as_str(), b.read_only, b.nocopy),
            ("/data", true, true)
        );
        let b = parse_bind("vol:/x//y/.:rw").unwrap();
        assert_eq!(b.source, Source::Volume("vol".into()));
        assert_eq!(
            (b.destination.as_str(), b.read_only, b.nocopy),
            ("/x/y", false, false)
        );
        assert_eq!(
            parse_bind("/tmp:/t").unwrap().source,
            Source::Host("/tmp".into())
        );
        for bad in [
            "",
            "/",
            "rel",
            "rel/x:/x",
            "vol:",
            "vol:rel",
            "/data:bogus",
            "/data:",
            "/tmp:/x:nocopy",
            "a:b:c:d",
        ] {
            assert!(parse_bind(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn mount_volumes_without_source_are_anonymous() {
        let anon = |s| match parse_mount(s).unwrap() {
            MountFlag::Volume(v) => v,
            other => panic!("{other:?}"),
        };
        assert_eq!(anon("type=volume,target=/m"), "/m:rw");
        assert_eq!(anon("type=volume,src=,dst=/m,readonly"), "/m:ro");
        assert_eq!(anon("type=volume,dst=/m,volume-nocopy"), "/m:rw,nocopy");
        assert_eq!(
            anon("type=volume,src=vv,dst=/m,volume-nocopy=false"),
            "vv:/m:rw"
        );
        for bad in [
            "type=volume,dst=",
            "type=volume",
            "type=bind,dst=/x",
            "type=bind,src=/tmp,dst=/x,volume-nocopy",
            "type=volume,dst=/x,volume-nocopy=maybe",
        ] {
            assert!(parse_mount(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn destinations_are_cleaned_and_duplicates_refused() {
        assert_eq!(clean_destination("/a/../b/./c/").as_deref(), Some("/b/c"));
        assert_eq!(clean_destination("/.."), None);
        let req = |v: &[&str], t: &[&str]| Request {
            volumes: v.iter().map(|s| s.to_string()).collect(),
            tmpfs: t.iter().map(|s| s.to_string()).collect(),
            ..Request::default()
        };
        assert!(req(&["/a", "vv:/b"], &["/c"]).validate().is_ok());
        assert!(req(&["/a", "vv:/a/"], &[]).validate().is_err());
        assert!(req(&["/a"], &["/a:size=1m"]).validate().is_err());
    }
}
