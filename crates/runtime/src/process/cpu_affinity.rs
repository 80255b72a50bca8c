//! `process.execCPUAffinity`: the CPUs an exec'd process runs on. `initial` is set first thing
//! in exec's child, so the runtime's own work in the container (joining namespaces, the
//! terminal, finding the program) stays off the CPUs a latency-sensitive workload owns; joining
//! the container's cgroups may then change it (a v1 cpuset resets it). `final` is set just before
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

/// In exec's child, before anything else.
pub fn apply_initial(p: &Process) -> Result<()> {
    match p.exec_cpu_affinity().as_ref().map(lists) {
        Some([(name, Some(text)), _]) => set(name, text),
        _ => Ok(()),
    }
}

/// In exec's child, after the cgroups are joined, just before the execve.
pub fn apply_final(p: &Process) -> Result<()> {
    match p.exec_cpu_affinity().as_ref().map(lists) {
        Some([_, (name, Some(text))]) => set(name, text),
        Some([(_, Some(_)), (_, None)]) => sched::sched_setaffinity_self(None)
            .context(|| "process.execCPUAffinity: restoring the default affinity"),
        _ => Ok(()),
    }
}

fn set(name: &str, text: &str) -> Result<()> {
    let field = format!("process.execCPUAffinity.{name}");
    let cpus = list_format::parse(text, sched::CPU_SETSIZE)
        .map_err(|e| crate::Error::msg(format!("{field}: {e}")))?;
    sched::sched_setaffinity_self(Some(&cpus))
        .context(|| format!("{field}: sched_setaffinity {text:?}"))
}
