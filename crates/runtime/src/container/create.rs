//! `create`: load the bundle, make the state directory, exec fifo and cgroup, clone the init and wait
//! until it is parked. On failure everything made so far is undone: no state, cgroup or process stays.

use super::systemd_unit::SystemdUnit;
use super::Runtime;
use crate::hooks;
use crate::namespaces::Namespaces;
use crate::process::init::InitConfig;
use crate::process::spawn::{self, Spawned};
use crate::security::seccomp::{self, listener::Listener};
use crate::spec::{self, Bundle};
use crate::state::{self, ContainerDir, State, Status};
use crate::sys::{fd, signal::SigSet};
use crate::terminal;
use crate::{Context, Result};
use cgroups::Cgroup;
use std::path::{Path, PathBuf};

/// `create`'s flags.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// runc's global `--rootless`: skip a cgroup we may not create (`Some(true)`), never
    /// (`Some(false)`), or only when not root (`None`, auto). See rootless/cgroup.rs.
    pub rootless: Option<bool>,
    /// `--systemd-cgroup`: systemd makes the cgroup (a transient unit).
    pub systemd_cgroup: bool,
}

/// `coracle-runtime create`: the container is created and its init parked when this returns.
pub fn create(rt: &Runtime, id: &str, opts: &CreateOptions) -> Result<()> {
    create_container(rt, id, opts, false, SigSet::empty()).map(drop)
}

/// Create a container; `foreground` means `run` without `-d` (the pty master comes back to us).
/// `signal_mask` is the mask the init restores (the caller may have blocked signals to forward).
pub(crate) fn create_container(
    rt: &Runtime,
    id: &str,
    opts: &CreateOptions,
    foreground: bool,
    signal_mask: SigSet,
) -> Result<Spawned> {
    let bundle = spec::load(&opts.bundle)?;
    let terminal = bundle
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    terminal::check_combination(terminal, !foreground, opts.console_socket.as_deref())?;
    let ns = Namespaces::from_spec(&bundle.spec)?;
    crate::rootless::check(&bundle.spec, &ns)?;
    // Compiled here, before anything exists: a bad profile fails `create` cleanly and the init
    // only loads the program.
    let seccomp = match bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
    {
        Some(s) => Some(seccomp::compile(s).map_err(|p| {
            let file = bundle.dir.join("config.json").display().to_string();
            crate::Error::config(file, p.field, p.problem)
        })?),
        None => None,
    };
    // SCMP_ACT_NOTIFY: connect to the listener now, so a path that leads nowhere fails before
    // anything exists.
    let listener = match seccomp.as_ref().and_then(|f| f.notify.as_ref()) {
        Some(t) => Some(Listener::connect(t).map_err(|problem| {
            let file = bundle.dir.join("config.json").display().to_string();
            crate::Error::config(file, "linux.seccomp.listenerPath", problem)
        })?),
        None => None,
    };
    let systemd = opts
        .systemd_cgroup
        .then(|| SystemdUnit::prepare(&spec_cgroups_path(&bundle.spec), id))
        .transpose()?;
    let dir = ContainerDir::create(&rt.root, id)?;
    let mut cgroup = None;
    let made = build(
        id,
        opts,
        &bundle,
        &ns,
        &dir,
        foreground,
        signal_mask,
        (seccomp.as_ref(), listener.as_ref()),
        systemd.as_ref(),
        &mut cgroup,
    );
    if made.is_err() {
        if let Some(unit) = &systemd {
            unit.stop();
        }
        if let Some(cg) = cgroup {
            let _ = cg.remove();
        }
        let _ = dir.remove();
    }
    made
}

#[allow(clippy::too_many_arguments)]
fn build(
    id: &str,
    opts: &CreateOptions,
    bundle: &Bundle,
    ns: &Namespaces,
    dir: &ContainerDir,
    foreground: bool,
    signal_mask: SigSet,
    (seccomp, listener): (Option<&seccomp::Filter>, Option<&Listener>),
    systemd: Option<&SystemdUnit>,
    cgroup_slot: &mut Option<Cgroup>,
) -> Result<Spawned> {
    let spec = &bundle.spec;
    fd::mkfifo(&dir.fifo(), 0o622).context(|| format!("creating {}", dir.fifo().display()))?;
    crate::security::self_exec::make_exec_dir(&dir.fifo())?;
    let linux = spec.linux().as_ref();
    let cgroups_path = linux
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|p| p.to_string_lossy().into_owned());
    let resources = linux.and_then(|l| l.resources().as_ref());
    // A cgroupsPath comes from an engine (containerd, CRI, Podman, Docker all set one), and
    // engines read the container's v1 cgroups themselves (containerd's shim: `task metrics`, its
    // OOM watch), so on hybrid hosts such a cgroup is made on every hierarchy, as runc does.
    // Without one the runtime is used on its own, and the fewest migrations win; so does a
    // rootless runtime, whose delegated cgroup is at most the unified one.
    let rootless = opts.rootless.unwrap_or_else(crate::rootless::is_rootless);
    let which = match cgroups_path {
        Some(_) if !rootless => cgroups::Hierarchies::Every,
        _ => cgroups::Hierarchies::Needed,
    };
    // Rootless without a delegated cgroup, the container may run without one (rootless/cgroup.rs).
    let mut warning = None;
    let made = match systemd {
        // systemd makes the cgroup once the init exists: here it is only planned.
        Some(unit) => Cgroup::systemd_planned(&unit.path, resources),
        None => Cgroup::create_in(cgroups_path.as_deref().unwrap_or(""), id, resources, which),
    };
    let cgroup = match made {
        Ok(cg) => Some(&*cgroup_slot.insert(cg)),
        // No cgroup-less fallback under systemd (that one is for rootless cgroupfs).
        Err(e) if systemd.is_some() => {
            return Err(crate::Error::msg(format!(
                "linux.cgroupsPath: creating the container's cgroup: {e}"
            )))
        }
        Err(e) => {
            warning = Some(crate::rootless::cgroup::on_create_error(
                id,
                e,
                resources,
                opts.rootless,
            )?);
            None
        }
    };
    let hierarchies = cgroup.map(Cgroup::hierarchies).unwrap_or_default();

    let mut record = State {
        id: id.to_string(),
        pid: 0,
        pid_start: 0,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: state::now_rfc3339(),
        annotations: spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        cgroup_path: cgroup.map(|c| c.path().to_string()).unwrap_or_default(),
        systemd_unit: systemd.map(|u| u.path.unit.clone()),
        hooks: spec.hooks().clone(),
    };
    let h = spec.hooks().as_ref();
    let has_create_hooks = h.is_some_and(|h| {
        [
            h.prestart(),
            h.create_runtime(),
            h.create_container(),
            h.start_container(),
        ]
        .iter()
        .any(|l| l.as_ref().is_some_and(|l| !l.is_empty()))
    });
    let console = opts
        .console_socket
        .as_deref()
        .map(terminal::connect_console_socket)
        .transpose()?;
    let cfg = InitConfig {
        id,
        spec,
        rootfs: &bundle.rootfs,
        ns,
        fifo: &dir.fifo(),
        console_socket: console.as_ref(),
        terminal_to_parent: foreground,
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        cgroup_mounts: &hierarchies,
        lock_fd: dir.lock_fd(),
        signal_mask,
        has_create_hooks,
        seccomp,
        wait_for_cgroup: systemd.is_some(),
    };
    let join = |pid, born_in_unified: bool| {
        let Some(cgroup) = cgroup else {
            return Ok(());
        };
        let joined = if let Some(unit) = systemd {
            unit.start(id, pid, resources)
                .and_then(|()| cgroup.systemd_populate(resources, pid))
        } else if born_in_unified {
            cgroup.add_process_v1(pid)
        } else {
            cgroup.add_process(pid)
        };
        joined.map_err(|e| crate::Error::msg(format!("joining cgroup {}: {e}", cgroup.path())))
    };
    let cgroup_join = spawn::CgroupJoin {
        // Under systemd the cgroup exists only once the unit holds the init: no CLONE_INTO_CGROUP.
        unified: cgroup
            .and_then(Cgroup::unified_path)
            .filter(|_| systemd.is_none()),
        join: &join,
    };
    let runtime_hooks = |pid| {
        let mut creating = record.clone();
        creating.pid = pid;
        let json = state::public_json(&creating, Status::Creating);
        if let Some(h) = spec.hooks() {
            hooks::run(
                "prestart",
                h.prestart().as_deref().unwrap_or_default(),
                json.as_bytes(),
            )?;
            hooks::run(
                "createRuntime",
                h.create_runtime().as_deref().unwrap_or_default(),
                json.as_bytes(),
            )?;
        }
        Ok(json)
    };
    // The init's listener fd goes on to listenerPath with the state, "creating" (as runc).
    let seccomp_fd = |pid, fd| {
        let listener = listener.ok_or_else(|| {
            crate::Error::msg("container init sent a seccomp fd nobody listens for")
        })?;
        let mut creating = record.clone();
        creating.pid = pid;
        listener.send(pid, &state::public_json(&creating, Status::Creating), &fd)
    };
    let side = spawn::ParentSide {
        runtime_hooks: &runtime_hooks,
        seccomp_fd: &seccomp_fd,
    };
    let spawned = spawn::spawn(&cfg, &cgroup_join, &side)?;
    record.pid = spawned.pid;
    record.pid_start = crate::sys::process::process_start_time(spawned.pid).unwrap_or(0);
    let saved = dir
        .save(&record)
        .and_then(|_| write_pid_file(opts.pid_file.as_deref(), spawned.pid));
    if let Err(e) = saved {
        let _ = crate::sys::process::kill(spawned.pid, libc::SIGKILL);
        let _ = crate::sys::process::waitpid(spawned.pid, false);
        return Err(e);
    }
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    Ok(spawned)
}

/// The spec's linux.cgroupsPath ("" when absent).
fn spec_cgroups_path(spec: &oci_spec::runtime::Spec) -> String {
    spec.linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Write the pid file atomically (containerd reads it as soon as create returns).
pub(crate) fn write_pid_file(path: Option<&Path>, pid: libc::pid_t) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    let tmp = path.with_extension("coracle-tmp");
    // Errors name the file the user gave, not our temporary one.
    let what = || format!("--pid-file {}", path.display());
    std::fs::write(&tmp, pid.to_string()).context(what)?;
    std::fs::rename(&tmp, path).context(what).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
