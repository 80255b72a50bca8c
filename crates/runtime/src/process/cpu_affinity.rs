//! `process.execCPUAffinity`: the CPUs an exec'd process runs on. `initial` is set by the runtime
//! on exec's child before the child joins the container's cgroups (as runc's nsexec does before
//! the cgroup transition), so the child's work in the container (joining namespaces, the
//! terminal, finding the program) stays off the CPUs a latency-sensitive workload owns; the
//! cgroup joins may then narrow or reset it (a cpuset). `final` is set just before
//! the execve; without it (but with `initial`) the affinity goes back to the default, every CPU
//! the container's cpuset allows, as the spec asks. The spec says the setting does not apply to
//! the container's init, and runc ignores it there: so does this runtime.

use super::list_format;
use crate::sys::sched;
use crate::{Context, Result};
use oci_spec::runtime::{ExecCPUAffinity, Process};

/// Both lists must parse (the parser only checks their shape).
pub fn check(p: &Process) -> std::result::Result<(), (String, String)> {
    let Some(a) = p.exec_cpu_affinity() else {
        return Ok(());
    };
    for (name, list) in lists(a) {
        if let Some(text) = list {
            list_format::parse(text, sched::CPU_SETSIZE)
                .map_err(|e| (format!("process.execCPUAffinity.{name}"), e))?;
        }
    }
    Ok(())
}

fn lists(a: &ExecCPUAffinity) -> [(&'static str, Option<&str>); 2] {
    [
        ("initial", a.initial().as_deref().filter(|s| !s.is_empty())),
        (
            "final",
            a.cpu_affinity_final().as_deref().filter(|s| !s.is_empty()),
        ),
    ]
}

/// The `initial` CPUs, parsed (the runtime sets them on exec's child right after the clone,
/// before it joins the container's cgroups, so none of the child's work in the container runs
/// elsewhere; the child is then not cloned straight into the unified cgroup).
pub fn initial(p: &Process) -> Result<Option<Vec<usize>>> {
    match p.exec_cpu_affinity().as_ref().map(lists) {
        Some([(name, Some(text)), _]) => parse(name, text).map(Some),
        _ => Ok(None),
    }
}

/// Set the `initial` CPUs on exec's child `pid` (from the runtime, before the cgroup joins).
pub fn apply_initial(pid: libc::pid_t, cpus: &[usize], p: &Process) -> Result<()> {
    let text = p
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|a| a.initial().clone())
        .unwrap_or_default();
    sched::sched_setaffinity(pid, Some(cpus))
        .context(|| format!("process.execCPUAffinity.initial: sched_setaffinity {text:?}"))
}

/// In exec's child, after the cgroups are joined, just before the execve.
pub fn apply_final(p: &Process) -> Result<()> {
    match p.exec_cpu_affinity().as_ref().map(lists) {
        Some([_, (name, Some(text))]) => {
            let cpus = parse(name, text)?;
            sched::sched_setaffinity(0, Some(&cpus))
                .context(|| format!("process.execCPUAffinity.{name}: sched_setaffinity {text:?}"))
        }
        Some([(_, Some(_)), (_, None)]) => sched::sched_setaffinity(0, None)
            .context(|| "process.execCPUAffinity: restoring the default affinity"),
        _ => Ok(()),
    }
}

fn parse(name: &str, text: &str) -> Result<Vec<usize>> {
    list_format::parse(text, sched::CPU_SETSIZE)
        .map_err(|e| crate::Error::msg(format!("process.execCPUAffinity.{name}: {e}")))
}
