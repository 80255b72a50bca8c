//! `linux.resources` → the control-file writes that enforce them.
//!
//! Each resource module turns its part of the spec into a [`Plan`] of writes, for the v1 layout
//! (files of the v1 controllers; also used on hybrid hosts) or the v2 one (files of the unified
//! hierarchy, with v1 values mapped the way runc maps them). Planning is pure (unit-tested value
//! math); [`apply`] then performs the writes on a cgroup's directories. Every write names the spec
//! field it comes from, so a failure reads "linux.resources.memory.limit: write …: Invalid argument".

mod blkio;
pub(crate) mod cpu;
pub(crate) mod device_filter;
pub(crate) mod devices;
pub(crate) mod memory;
mod misc;
mod pids;

use std::borrow::Cow;
use std::fs::OpenOptions;
use std::io::{self, Write as _};
use std::path::Path;

use oci_spec::runtime::LinuxResources;

/// Which hierarchy a write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The v1 hierarchy carrying this controller.
    V1(&'static str),
    /// The unified (cgroup2) hierarchy.
    V2,
}

/// One write of `value` to control `file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Write {
    pub target: Target,
    pub file: Cow<'static, str>,
    /// Tried when `file` does not exist (e.g. `blkio.bfq.weight` for `blkio.weight`).
    pub alt_file: Option<&'static str>,
    /// The value for `alt_file`, when it differs (another scale).
    pub alt_value: Option<String>,
    pub value: String,
    /// The spec field this write comes from, for error messages.
    pub field: String,
}

impl Write {
    pub fn new(
        target: Target,
        file: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
        field: impl Into<String>,
    ) -> Write {
        Write {
            target,
            file: file.into(),
            alt_file: None,
            alt_value: None,
            value: value.into(),
            field: field.into(),
        }
    }

    pub fn or_file(mut self, alt: &'static str) -> Write {
        self.alt_file = Some(alt);
        self
    }

    pub fn or_file_value(mut self, alt: &'static str, value: String) -> Write {
        self.alt_file = Some(alt);
        self.alt_value = Some(value);
        self
    }
}

/// A step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    One(Write),
    /// Two writes whose valid order depends on the current values (memory limit vs. memory+swap
    /// limit, cfs period vs. quota): written in this order, and if the first is refused with EINVAL,
    /// the second is written first.
    Pair(Write, Write),
}

/// The writes for one spec, in order, and its device rules.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub steps: Vec<Step>,
    /// `linux.resources.devices` as the full rule list (see `devices::rules`), when the spec has
    /// it. How it is enforced depends on the host: v1 `devices.*` writes ([`devices::v1_writes`])
    /// or an eBPF program on the cgroup2 directory (`device_filter`); the caller chooses.
    pub devices: Option<Vec<devices::Rule>>,
}

impl Plan {
    pub fn push(&mut self, w: Write) {
        self.steps.push(Step::One(w));
    }

    /// The v1 controllers (or the unified hierarchy) the plan writes to.
    pub fn targets(&self) -> impl Iterator<Item = Target> + '_ {
        self.steps
            .iter()
            .flat_map(|s| match s {
                Step::One(w) => [Some(w.target), None],
                Step::Pair(a, b) => [Some(a.target), Some(b.target)],
            })
            .flatten()
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The plan for `res`: v2 files when `v2`, else v1 files (the `unified` map always goes to the
/// unified hierarchy). Device rules are validated and kept in [`Plan::devices`], not written.
pub(crate) fn plan(res: &LinuxResources, v2: bool) -> io::Result<Plan> {
    let mut p = Plan::default();
    if let Some(cpu) = res.cpu() {
        cpu::plan_cpuset(cpu, v2, &mut p);
    }
    if let Some(devs) = res.devices() {
        p.devices = Some(devices::rules(devs)?);
    }
    if let Some(mem) = res.memory() {
        memory::plan(mem, v2, &mut p)?;
    }
    if let Some(cpu) = res.cpu() {
        cpu::plan(cpu, v2, &mut p)?;
    }
    if let Some(pids) = res.pids() {
        pids::plan(pids, v2, &mut p);
    }
    if let Some(bio) = res.block_io() {
        blkio::plan(bio, v2, &mut p)?;
    }
    misc::plan(res, v2, &mut p)?;
    Ok(p)
}

/// Where a target's directory is, if the cgroup has it.
pub(crate) trait Dirs {
    fn dir(&self, target: Target) -> Option<&Path>;
}

/// Perform `plan` on the cgroup `dirs`. Consecutive writes to the same file share one open file
/// (the devices lists are many rules to one file).
pub(crate) fn apply(plan: &Plan, dirs: &impl Dirs) -> io::Result<()> {
    // Check first that every controller asked for is there: fail before writing anything.
    for step in &plan.steps {
        let missing = |t: Target, field: &str| -> io::Result<()> {
            if dirs.dir(t).is_some() {
                return Ok(());
            }
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                match t {
                    Target::V1(c) => {
                        format!("{field}: this host has no cgroup v1 {c} controller mounted")
                    }
                    Target::V2 => format!("{field}: this host has no cgroup2 hierarchy"),
                },
            ))
        };
        match step {
            Step::One(w) => missing(w.target, &w.field)?,
            Step::Pair(a, b) => {
                missing(a.target, &a.field)?;
                missing(b.target, &b.field)?;
            }
        }
    }
    let mut open: Option<(std::path::PathBuf, std::fs::File)> = None;
    for step in &plan.steps {
        match step {
            Step::One(w) => write_one(w, dirs, &mut open)?,
            Step::Pair(a, b) => {
                open = None;
                match write_one(a, dirs, &mut open) {
                    Ok(()) => write_one(b, dirs, &mut open)?,
                    Err(e) if crate::fsutil::errno(&e) == Some(libc::EINVAL) => {
                        open = None;
                        write_one(b, dirs, &mut open)?;
                        open = None;
                        write_one(a, dirs, &mut open)?;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(())
}

fn write_one(
    w: &Write,
    dirs: &impl Dirs,
    open: &mut Option<(std::path::PathBuf, std::fs::File)>,
) -> io::Result<()> {
    let dir = dirs.dir(w.target).expect("checked by apply");
    let mut path = dir.join(&*w.file);
    let mut value = &w.value;
    let reuse = matches!(open, Some((p, _)) if *p == path);
    if !reuse {
        let file = match OpenOptions::new().write(true).open(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && w.alt_file.is_some() => {
                path = dir.join(w.alt_file.expect("checked"));
                value = w.alt_value.as_ref().unwrap_or(&w.value);
                OpenOptions::new().write(true).open(&path)
            }
            r => r,
        };
        let file = file.map_err(|e| {
            let hint = if e.kind() == io::ErrorKind::NotFound {
                match w.alt_file {
                    Some(alt) => format!(" (nor {alt}): the host does not support this setting"),
                    None => ": the host does not support this setting".to_string(),
                }
            } else {
                String::new()
            };
            let msg = format!("{}: open {}: {e}{hint}", w.field, path.display());
            crate::fsutil::with_msg(e, msg)
        })?;
        *open = Some((path, file));
    }
    let (path, file) = open.as_mut().expect("just opened");
    file.write_all(value.as_bytes()).map_err(|e| {
        let msg = format!("{}: write {value:?} to {}: {e}", w.field, path.display());
        crate::fsutil::with_msg(e, msg)
    })
}

/// `-1` (or any negative) is "max" on v2.
pub(crate) fn v2_limit(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use oci_spec::runtime::LinuxResources;

    pub(crate) fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    pub(crate) fn writes(p: &Plan) -> Vec<(Target, &str, String)> {
        p.steps
            .iter()
            .flat_map(|s| match s {
                Step::One(w) => vec![w],
                Step::Pair(a, b) => vec![a, b],
            })
            .map(|w| (w.target, &*w.file, w.value.clone()))
            .collect()
    }

    #[test]
    fn empty_resources_write_nothing() {
        assert!(plan(&res("{}"), false).unwrap().steps.is_empty());
        assert!(plan(&res("{}"), true).unwrap().steps.is_empty());
    }

    #[test]
    fn targets_name_the_controllers() {
        let p = plan(
            &res(r#"{"memory":{"limit":1048576},"pids":{"limit":5}}"#),
            false,
        )
        .unwrap();
        let t: Vec<_> = p.targets().collect();
        assert!(t.contains(&Target::V1("memory")));
        assert!(t.contains(&Target::V1("pids")));
        assert!(!t.contains(&Target::V1("cpu")));
    }
}
