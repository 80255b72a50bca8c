//! Control groups for coracle containers: one interface over cgroup v1, v2 and hybrid hosts.
//!
//! The host's layout is read once per process from `/proc/self/mountinfo` ([`mode`]). A container's
//! cgroup is one path (see the `path` module docs for how `linux.cgroupsPath` becomes it: the
//! default is `/<id>`) created on every mounted hierarchy: each v1 hierarchy (one per controller or
//! co-mounted, and named ones such as `name=systemd`) and the cgroup2 hierarchy (the only one on v2,
//! one more on hybrid hosts, where its core files `cgroup.kill` and `cgroup.freeze` work even without
//! controllers).
//!
//! Device rules (`linux.resources.devices`) are an eBPF program attached to the container's
//! cgroup2 directory wherever there is one (v2 and hybrid hosts; on hybrid hosts the v1 `devices`
//! hierarchy is then not joined), and the v1 allow/deny lists on v1 hosts.
//!
//! Errors are `io::Error`s whose message names the file (or spec field) and what went wrong; the
//! `kind()` is the underlying one.

#![forbid(unsafe_code)]

mod bpf;
mod freezer;
mod fsutil;
mod layout;
mod mountinfo;
mod oom;
mod path;
mod resources;
mod stats;
pub mod systemd;

use std::io;
use std::path::{Path, PathBuf};

use freezer::Freezer;
pub use layout::Mode;
use layout::{HostHierarchy, Layout};
use oci_spec::runtime::LinuxResources;
pub use oom::OomWatch;
use resources::Target;
pub use stats::{CpuStats, MemoryEntry, MemoryStats, PidsStats, Stats};

/// One hierarchy the container's cgroup lives on: what the rootfs code needs to give the container a
/// /sys/fs/cgroup of its own.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    /// Directory name under /sys/fs/cgroup inside the container ("memory", "cpu,cpuacct", "unified",
    /// "systemd"); empty on a pure v2 host, where the hierarchy is /sys/fs/cgroup itself.
    pub mount_dir: String,
    /// The container's cgroup directory on the host (bind-mounted when there is no cgroup namespace).
    pub host_path: PathBuf,
    /// "cgroup" (v1) or "cgroup2".
    pub fs_type: &'static str,
    /// Mount data for a fresh mount inside a cgroup namespace: "memory", "cpu,cpuacct",
    /// "none,name=systemd"; empty for cgroup2.
    pub options: String,
}

/// The cgroup layout of this host (detected once per process).
pub fn mode() -> io::Result<Mode> {
    Ok(layout::host()?.mode)
}

/// Which hierarchies a new container's cgroup is made on (they differ on hybrid hosts only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hierarchies {
    /// The unified hierarchy, plus each v1 controller the resources set something on (see
    /// `select`): the fewest cgroup migrations.
    Needed,
    /// Every mounted hierarchy, as runc does.
    Every,
}

/// The container's cgroup directory on one hierarchy.
#[derive(Debug, Clone)]
struct Dir {
    host: &'static HostHierarchy,
    path: PathBuf,
    /// How many ancestors of `path` this process created (removed again, if empty, by `remove`).
    made_parents: usize,
}

/// A container's cgroup, on every hierarchy the host has.
#[derive(Debug, Clone)]
pub struct Cgroup {
    path: String,
    dirs: Vec<Dir>,
    /// Why `path` names no container cgroup (from [`Cgroup::open`] of a bad path): every
    /// operation then fails with this, and nothing outside a container's cgroup is touched.
    bad_path: Option<String>,
}

impl Cgroup {
    /// Create the container's cgroup (`mkdir -p` on every hierarchy). `cgroups_path` is the spec's
    /// `linux.cgroupsPath`: empty means `/<id>`; absolute paths are relative to each hierarchy's
    /// root; relative ones are below the runtime's own cgroup (see the `path` module). An existing
    /// cgroup is joined as is. `resources` are written before any process joins.
    ///
    /// On failure nothing this call created is left behind.
    pub fn create(
        cgroups_path: &str,
        id: &str,
        resources: Option<&LinuxResources>,
    ) -> io::Result<Cgroup> {
        Self::create_in(cgroups_path, id, resources, Hierarchies::Needed)
    }

    /// [`Cgroup::create`] on the hierarchies `which` names. [`Hierarchies::Every`] is what an
    /// engine that reads the container's v1 cgroups itself expects (containerd's shim loads the
    /// init's cgroup on every v1 controller for `task metrics` and its OOM watch): runc's
    /// placement. On v1 and v2 hosts both choices are the same.
    pub fn create_in(
        cgroups_path: &str,
        id: &str,
        resources: Option<&LinuxResources>,
        which: Hierarchies,
    ) -> io::Result<Cgroup> {
        let path = path::resolve(cgroups_path, id, || {
            std::fs::read_to_string("/proc/self/cgroup")
                .map_err(|e| fsutil::err_at("read", Path::new("/proc/self/cgroup"), e))
        })?;
        let layout = layout::host()?;
        // Plan (and so validate) the resources before touching the filesystem.
        let mut plan = match resources {
            Some(r) => resources::plan(r, layout.mode == Mode::V2)?,
            None => resources::Plan::default(),
        };
        let mut cg = Cgroup {
            path,
            dirs: Vec::with_capacity(layout.hierarchies.len()),
            bad_path: None,
        };
        let wanted = match which {
            Hierarchies::Needed => select(layout, &plan),
            Hierarchies::Every => layout.hierarchies.iter().collect(),
        };
        let devices = plan.devices.take();
        let made = cg.make_dirs(&wanted).and_then(|()| {
            if layout.mode == Mode::V2 {
                cg.enable_v2_controllers()?;
            }
            if let Some(rules) = &devices {
                cg.enforce_devices(layout, rules, &mut plan)?;
            }
            resources::apply(&plan, &cg)
        });
        match made {
            Ok(()) => Ok(cg),
            Err(e) => {
                let _ = cg.remove();
                Err(e)
            }
        }
    }

    /// Enforce the device rules (`linux.resources.devices`, as `devices::rules` lists them).
    ///
    /// - **v2 and hybrid**: an eBPF program (`BPF_PROG_TYPE_CGROUP_DEVICE`) attached to the
    ///   container's cgroup2 directory before any process joins; the kernel runs it for every
    ///   task in that cgroup2 subtree, on hybrid hosts too. On hybrid hosts the v1 `devices`
    ///   hierarchy is then not joined at all: one cgroup migration less, and so no cold-start RCU
    ///   wait for it.
    /// - **Fallback on hybrid**: when the program cannot be loaded or attached for a reason that
    ///   means eBPF device filtering is unavailable here — ENOSYS (no bpf(2)), EPERM (no
    ///   CAP_BPF / CAP_SYS_ADMIN, e.g. rootless), EINVAL (no cgroup BPF or no such program type) —
    ///   the v1 `devices` hierarchy is joined and its allow/deny lists are written instead.
    /// - **v2** has no fallback: such an error is returned, except EPERM in a user namespace,
    ///   where (as with runc) the rules are skipped: the user namespace already keeps the
    ///   container from opening devices it was not given.
    /// - **v1**: the `devices.deny` / `devices.allow` lists, as before.
    fn enforce_devices(
        &mut self,
        layout: &'static Layout,
        rules: &[resources::devices::Rule],
        plan: &mut resources::Plan,
    ) -> io::Result<()> {
        use resources::device_filter;
        if let (Mode::V2 | Mode::Hybrid, Some(dir)) = (layout.mode, self.unified_dir()) {
            match device_filter::attach(rules, dir) {
                Ok(()) => return Ok(()),
                Err(e) if layout.mode == Mode::Hybrid && device_filter::unsupported(&e) => {}
                Err(e) if fsutil::errno(&e) == Some(libc::EPERM) && bpf::in_user_namespace() => {
                    return Ok(())
                }
                Err(e) => {
                    let msg = format!("linux.resources.devices: {e}");
                    return Err(fsutil::with_msg(e, msg));
                }
            }
        }
        if let Some(h) = layout.v1("devices") {
            if !self.dirs.iter().any(|d| std::ptr::eq(d.host, h)) {
                self.make_dirs(&[h])?;
            }
        }
        resources::devices::v1_writes(rules, plan);
        Ok(())
    }

    fn make_dirs(&mut self, wanted: &[&'static HostHierarchy]) -> io::Result<()> {
        for &host in wanted {
            let path = host.dir(&self.path);
            let made = fsutil::mkdir_p(&path, &host.mount.mountpoint)?;
            self.dirs.push(Dir {
                host,
                path,
                made_parents: made.saturating_sub(1),
            });
            if made > 0 && host.has("cpuset") {
                // A new v1 cpuset starts with empty cpus and mems, and joining it fails: copy them
                // down from the first existing ancestor, top-down.
                let dir = &self.dirs.last().expect("just pushed").path;
                let new: Vec<&Path> = dir.ancestors().take(made).collect();
                for d in new.into_iter().rev() {
                    let parent = d.parent().expect("below the mount point");
                    for file in ["cpuset.cpus", "cpuset.mems"] {
                        let value = fsutil::read(&parent.join(file))?;
                        fsutil::write(&d.join(file), &value)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// On a v2 host, make every available controller usable in the new cgroup: enable them in the
    /// `cgroup.subtree_control` of each ancestor below the mount point.
    fn enable_v2_controllers(&self) -> io::Result<()> {
        let Some(d) = self.dirs.iter().find(|d| d.host.is_v2()) else {
            return Ok(());
        };
        let top = &d.host.mount.mountpoint;
        let mut ancestors: Vec<&Path> = d
            .path
            .ancestors()
            .skip(1)
            .take_while(|p| p.starts_with(top))
            .collect();
        ancestors.reverse();
        for dir in ancestors {
            let available = fsutil::read(&dir.join("cgroup.controllers"))?;
            if available.is_empty() {
                break;
            }
            let all: Vec<String> = available.split(' ').map(|c| format!("+{c}")).collect();
            let file = dir.join("cgroup.subtree_control");
            if fsutil::write(&file, &all.join(" ")).is_err() {
                // One by one: a controller the kernel refuses here (e.g. not threaded-capable)
                // must not keep the others off. Settings that need it fail later, naming it.
                for c in &all {
                    let _ = fsutil::write(&file, c);
                }
            }
        }
        Ok(())
    }

    /// Apply `resources` to the running cgroup (`runc update`). Device rules are not changed (as
    /// with runc: rewriting the list would briefly deny devices in use).
    ///
    /// On a hybrid host, a v1 controller the container was created without (see `select`) is
    /// joined first: its cgroup is made and every process moved in, with the cgroup frozen so no
    /// fork escapes.
    pub fn update(&self, resources: &LinuxResources) -> io::Result<()> {
        self.check()?;
        let layout = layout::host()?;
        let mut r = resources.clone();
        r.set_devices(None);
        let plan = resources::plan(&r, layout.mode == Mode::V2)?;
        let missing: Vec<&'static HostHierarchy> = layout
            .hierarchies
            .iter()
            .filter(|h| {
                plan.targets()
                    .any(|t| matches!(t, Target::V1(c) if h.has(c)))
                    && !self.dirs.iter().any(|d| std::ptr::eq(d.host, *h))
            })
            .collect();
        if missing.is_empty() {
            return resources::apply(&plan, self);
        }
        let mut joined = self.clone();
        joined.join_hierarchies(&missing)?;
        resources::apply(&plan, &joined)
    }

    /// Make the cgroup on `hosts` and move every process of the container there.
    fn join_hierarchies(&mut self, hosts: &[&'static HostHierarchy]) -> io::Result<()> {
        let before = self.dirs.len();
        self.make_dirs(hosts)?;
        let freezer = self.freezer().filter(|(f, d)| !f.is_frozen(d));
        if let Some((f, d)) = freezer {
            f.freeze(d)?;
        }
        let moved = self.pids().and_then(|pids| {
            for d in &self.dirs[before..] {
                let procs = d.path.join("cgroup.procs");
                for pid in &pids {
                    match fsutil::write(&procs, &pid.to_string()) {
                        // The process has exited meanwhile.
                        Err(e) if fsutil::errno(&e) == Some(libc::ESRCH) => {}
                        r => r?,
                    }
                }
            }
            Ok(())
        });
        if let Some((f, d)) = freezer {
            f.thaw(d)?;
        }
        moved
    }

    /// Usage statistics: memory, cpu, pids (runc's `events --stats`).
    pub fn stats(&self) -> io::Result<Stats> {
        self.check()?;
        let mut s = Stats::default();
        let v2 = self.dirs.iter().all(|d| d.host.is_v2());
        if v2 {
            let dir = self.unified_dir().ok_or_else(no_hierarchy)?;
            stats::memory_v2(dir, &mut s.memory)?;
            stats::cpu_stat(dir, true, &mut s.cpu)?;
            stats::pids(dir, &mut s.pids)?;
            return Ok(s);
        }
        if let Some(dir) = self.v1_dir("memory") {
            stats::memory_v1(dir, &mut s.memory)?;
        }
        if let Some(dir) = self.v1_dir("cpu") {
            stats::cpu_stat(dir, false, &mut s.cpu)?;
        }
        if let Some(dir) = self.v1_dir("cpuacct") {
            stats::cpuacct_v1(dir, &mut s.cpu)?;
        } else if let Some(dir) = self.unified_dir() {
            // Hybrid without cpuacct: the unified hierarchy's core cpu.stat has the usage.
            let mut u = CpuStats::default();
            stats::cpu_stat(dir, true, &mut u)?;
            s.cpu.usage_total = u.usage_total;
            s.cpu.usage_user = u.usage_user;
            s.cpu.usage_kernel = u.usage_kernel;
        }
        if let Some(dir) = self.v1_dir("pids") {
            stats::pids(dir, &mut s.pids)?;
        } else {
            s.pids.current = self.pids()?.len() as u64;
        }
        Ok(s)
    }

    /// Re-open a container's cgroup from the path recorded in its state (as [`Cgroup::path`] gave
    /// it). A relative path is resolved as [`Cgroup::create`] does.
    pub fn open(path: &str) -> Cgroup {
        // An empty path or the root cgroup must never reach kill_all or remove.
        let path = match path::resolve(path, "", || std::fs::read_to_string("/proc/self/cgroup")) {
            Ok(p) if !path.is_empty() => p,
            Ok(_) | Err(_) => {
                return Cgroup {
                    path: path.to_string(),
                    dirs: Vec::new(),
                    bad_path: Some(format!("{path:?} does not name a container cgroup")),
                }
            }
        };
        // On hybrid hosts a container may not be on every v1 hierarchy (see `select`): the
        // directories that exist say which.
        let dirs = match layout::host() {
            Ok(layout) => layout
                .hierarchies
                .iter()
                .map(|host| Dir {
                    host,
                    path: host.dir(&path),
                    made_parents: 0,
                })
                .filter(|d| d.path.is_dir())
                .collect(),
            Err(_) => Vec::new(),
        };
        Cgroup {
            path,
            dirs,
            bad_path: None,
        }
    }

    /// The cgroup path (relative to each hierarchy's root, always absolute), as recorded in the state.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Move `pid` (a whole process) into the cgroup on every hierarchy.
    pub fn add_process(&self, pid: i32) -> io::Result<()> {
        self.check()?;
        if self.dirs.is_empty() {
            return Err(no_hierarchy());
        }
        let pid = pid.to_string();
        for dir in &self.dirs {
            fsutil::write(&dir.path.join("cgroup.procs"), &pid)?;
        }
        Ok(())
    }

    /// Move `pid` into the cgroup on every hierarchy but the unified one: for a process that was
    /// cloned straight into [`Cgroup::unified_path`] with `CLONE_INTO_CGROUP`.
    pub fn add_process_v1(&self, pid: i32) -> io::Result<()> {
        self.check()?;
        let pid = pid.to_string();
        for dir in self.dirs.iter().filter(|d| !d.host.is_v2()) {
            fsutil::write(&dir.path.join("cgroup.procs"), &pid)?;
        }
        Ok(())
    }

    /// The container's directory on the unified (cgroup2) hierarchy, if the host has one: a child
    /// can be born there (`clone3` with `CLONE_INTO_CGROUP`), which costs no migration.
    pub fn unified_path(&self) -> Option<&Path> {
        self.unified_dir()
    }

    /// The pids in the cgroup and in any cgroup below it, read from the unified hierarchy where
    /// there is one, else from a v1 one.
    pub fn pids(&self) -> io::Result<Vec<i32>> {
        self.check()?;
        let dir = self.procs_dir().ok_or_else(no_hierarchy)?;
        let mut out = Vec::new();
        fsutil::procs_recursive(dir, &mut out)?;
        Ok(out)
    }

    /// Send `signal` to every process in the cgroup (and below). SIGKILL goes through `cgroup.kill`
    /// where the unified hierarchy has it (atomic: no fork escapes). Otherwise the cgroup is frozen
    /// first, where a freezer is available, so no process forks while the pids are being signalled,
    /// then thawed.
    pub fn kill_all(&self, signal: i32) -> io::Result<()> {
        self.check()?;
        if signal == libc::SIGKILL {
            if let Some(dir) = self.unified_dir() {
                match fsutil::write(&dir.join("cgroup.kill"), "1") {
                    Ok(()) => return Ok(()),
                    // Kernels before 5.14 have no cgroup.kill.
                    Err(e) if e.kind() == io::ErrorKind::NotFound && dir.exists() => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let signal_all = || -> io::Result<()> {
            for pid in self.pids()? {
                bpf::kill(pid, signal)?;
            }
            Ok(())
        };
        match self.freezer() {
            Some((freezer, dir)) if !freezer.is_frozen(dir) => {
                freezer.freeze(dir)?;
                let result = signal_all();
                let thawed = freezer.thaw(dir);
                result.and(thawed)
            }
            _ => signal_all(),
        }
    }

    /// Remove the cgroup from every hierarchy, with any cgroups below it; the processes must be gone
    /// (exiting ones are waited for briefly). Parent directories that this `Cgroup` created are
    /// removed too when empty; a cgroup from [`Cgroup::open`] removes only its own directory.
    pub fn remove(&self) -> io::Result<()> {
        self.check()?;
        let mut first_err = None;
        let deadline = fsutil::drain_deadline();
        for dir in &self.dirs {
            match fsutil::remove_tree(&dir.path, deadline) {
                Ok(()) => fsutil::remove_parents(&dir.path, dir.made_parents),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        // Hierarchies joined later (by `update` in another process) are not in `dirs`.
        if let Ok(layout) = layout::host() {
            for host in &layout.hierarchies {
                if self.dirs.iter().any(|d| std::ptr::eq(d.host, host)) {
                    continue;
                }
                if let Err(e) = fsutil::remove_tree(&host.dir(&self.path), deadline) {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// The hierarchies the container's cgroup exists on.
    pub fn hierarchies(&self) -> Vec<Hierarchy> {
        self.dirs
            .iter()
            .map(|d| Hierarchy {
                mount_dir: d.host.mount_dir.clone(),
                host_path: d.path.clone(),
                fs_type: if d.host.is_v2() { "cgroup2" } else { "cgroup" },
                options: d.host.options.clone(),
            })
            .collect()
    }

    /// Arm a watch for OOM kills in this cgroup (see [`OomWatch`]): the v1 memory controller
    /// where the container has it, else cgroup2's `memory.events`. `None` when the container has
    /// no memory controller (on hybrid hosts: a container created without memory settings).
    pub fn oom_watch(&self) -> io::Result<Option<OomWatch>> {
        self.check()?;
        if let Some(dir) = self.v1_dir("memory") {
            return OomWatch::v1(dir).map(Some);
        }
        match self.unified_dir() {
            Some(dir) if dir.join("memory.events").exists() => OomWatch::v2(dir).map(Some),
            _ => Ok(None),
        }
    }

    /// Is the cgroup frozen (paused)?
    pub fn is_frozen(&self) -> bool {
        self.freezer().is_some_and(|(f, dir)| f.is_frozen(dir))
    }

    /// Freeze (pause) every process in the cgroup; returns once they are all frozen.
    pub fn freeze(&self) -> io::Result<()> {
        let (f, dir) = self.freezer().ok_or_else(no_freezer)?;
        f.freeze(dir)
    }

    /// Thaw (resume) the cgroup.
    pub fn thaw(&self) -> io::Result<()> {
        let (f, dir) = self.freezer().ok_or_else(no_freezer)?;
        f.thaw(dir)
    }
}

/// Internal choices of which hierarchy serves which purpose.
impl Cgroup {
    fn check(&self) -> io::Result<()> {
        match &self.bad_path {
            None => Ok(()),
            Some(why) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cgroup path {why}"),
            )),
        }
    }

    fn unified_dir(&self) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| d.host.is_v2())
            .map(|d| d.path.as_path())
    }

    fn v1_dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| d.host.has(controller))
            .map(|d| d.path.as_path())
    }

    /// The v1 freezer where mounted (what runc uses on v1 and hybrid hosts), else the v2 one.
    fn freezer(&self) -> Option<(Freezer, &Path)> {
        self.v1_dir("freezer")
            .map(|d| (Freezer::V1, d))
            .or_else(|| self.unified_dir().map(|d| (Freezer::V2, d)))
    }

    /// Where to read the member pids: the unified hierarchy, else the freezer, else any.
    fn procs_dir(&self) -> Option<&Path> {
        self.unified_dir()
            .or_else(|| self.v1_dir("freezer"))
            .or_else(|| self.dirs.first().map(|d| d.path.as_path()))
    }
}

/// The hierarchies a new container's cgroup is made on.
///
/// Every one on v1 and v2 hosts. On hybrid hosts the unified hierarchy already gives what every
/// container needs (member pids, `cgroup.kill`, `cgroup.freeze`, cpu usage in `cpu.stat`), so a
/// v1 controller is used only when the resources set something on it (so without memory
/// settings there is no memory accounting and no OOM events; see [`Hierarchies::Every`]).
/// Each skipped hierarchy saves a mkdir, a join and an rmdir (~0.1 ms; cpuset ~0.2–0.5 ms with the
/// copy of cpus and mems). A process not joined to a controller stays in the caller's cgroup there.
/// Device rules do not select the v1 `devices` hierarchy: they are an eBPF program on the unified
/// hierarchy (see `Cgroup::enforce_devices`, which joins `devices` only as a fallback).
fn select(layout: &'static Layout, plan: &resources::Plan) -> Vec<&'static HostHierarchy> {
    if layout.mode != Mode::Hybrid {
        return layout.hierarchies.iter().collect();
    }
    layout
        .hierarchies
        .iter()
        .filter(|h| match &h.mount.kind {
            mountinfo::MountKind::V2 => true,
            // A v1 hierarchy only when the config sets something on it: every join is a cgroup
            // migration, and the first one after idle waits for an RCU grace period. Tracking,
            // kill and freeze go through the unified hierarchy.
            mountinfo::MountKind::V1 { .. } => plan
                .targets()
                .any(|t| matches!(t, Target::V1(c) if h.has(c))),
        })
        .collect()
}

impl resources::Dirs for Cgroup {
    fn dir(&self, target: Target) -> Option<&Path> {
        match target {
            Target::V1(c) => self.v1_dir(c),
            Target::V2 => self.unified_dir(),
        }
    }
}

fn no_hierarchy() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        "no cgroup hierarchy is mounted (per /proc/self/mountinfo)",
    )
}

fn no_freezer() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "no freezer: neither a v1 freezer hierarchy nor cgroup2 is mounted",
    )
}
