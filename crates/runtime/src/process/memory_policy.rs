//! `linux.memoryPolicy`: the NUMA memory policy (set_mempolicy(2)) of the container's process,
//! set in the init (inherited across the execve and by its children) and in every exec'd
//! process, which is forked by the runtime and would otherwise escape it. `check` refuses at load
//! time what the kernel would refuse for the shape of the request; a node the host lacks is the
//! kernel's call, reported with the host's online nodes.

use super::list_format;
use crate::sys::sched;
use crate::{Error, Result};
use oci_spec::runtime::{Linux, LinuxMemoryPolicy, MemoryPolicyFlagType, MemoryPolicyModeType};

/// The modes and flags `features` lists (the kernel's order).
pub const MODES: &[&str] = &[
    "MPOL_DEFAULT",
    "MPOL_PREFERRED",
    "MPOL_BIND",
    "MPOL_INTERLEAVE",
    "MPOL_LOCAL",
    "MPOL_PREFERRED_MANY",
    "MPOL_WEIGHTED_INTERLEAVE",
];
pub const FLAGS: &[&str] = &[
    "MPOL_F_NUMA_BALANCING",
    "MPOL_F_RELATIVE_NODES",
    "MPOL_F_STATIC_NODES",
];

/// Nodes only where the mode takes them, and required where it needs them; no flags on
/// MPOL_DEFAULT; not both STATIC and RELATIVE.
pub fn check(linux: &Linux) -> std::result::Result<(), (String, String)> {
    let Some(m) = linux.memory_policy() else {
        return Ok(());
    };
    let fail = |field: &str, text: String| Err((format!("linux.memoryPolicy.{field}"), text));
    let mode = m.mode();
    let nodes = match nodes(m) {
        Ok(n) => n,
        Err(e) => return fail("nodes", e),
    };
    use MemoryPolicyModeType::*;
    match mode {
        MpolDefault | MpolLocal if !nodes.is_empty() => {
            return fail("nodes", format!("{mode} takes no nodes"));
        }
        MpolBind | MpolInterleave | MpolWeightedInterleave | MpolPreferredMany
            if nodes.is_empty() =>
        {
            return fail("nodes", format!("{mode} needs at least one node"));
        }
        _ => {}
    }
    let flags = m.flags().as_deref().unwrap_or_default();
    if mode == MpolDefault && !flags.is_empty() {
        return fail("flags", format!("{mode} takes no flags"));
    }
    let has = |f| flags.contains(&f);
    if has(MemoryPolicyFlagType::MpolFStaticNodes) && has(MemoryPolicyFlagType::MpolFRelativeNodes)
    {
        return fail(
            "flags",
            "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other".into(),
        );
    }
    Ok(())
}

fn nodes(m: &LinuxMemoryPolicy) -> std::result::Result<Vec<usize>, String> {
    match m.nodes().as_deref() {
        None | Some("") => Ok(Vec::new()),
        Some(text) => list_format::parse(text, sched::MAX_NUMA_NODES),
    }
}

/// Set the policy, when the config has one.
pub fn apply(m: Option<&LinuxMemoryPolicy>) -> Result<()> {
    let Some(m) = m else { return Ok(()) };
    let nodes = nodes(m).map_err(|e| Error::msg(format!("linux.memoryPolicy.nodes: {e}")))?;
    let flags = m.flags().iter().flatten().fold(0, |f, &x| f | flag_bits(x));
    sched::set_mempolicy(mode_number(m.mode()) | flags, &nodes).map_err(|e| {
        let online = std::fs::read_to_string("/sys/devices/system/node/online")
            .map(|s| format!(" (this host's online nodes: {})", s.trim()))
            .unwrap_or_default();
        Error::msg(format!(
            "linux.memoryPolicy: set_mempolicy {} nodes {:?}: {}{online}",
            m.mode(),
            m.nodes().as_deref().unwrap_or(""),
            crate::spec::io_text(&e)
        ))
    })
}

/// MPOL_* (linux/mempolicy.h).
fn mode_number(m: MemoryPolicyModeType) -> i32 {
    use MemoryPolicyModeType::*;
    match m {
        MpolDefault => 0,
        MpolPreferred => 1,
        MpolBind => 2,
        MpolInterleave => 3,
        MpolLocal => 4,
        MpolPreferredMany => 5,
        MpolWeightedInterleave => 6,
    }
}

/// MPOL_F_* (linux/mempolicy.h), or'ed into the mode.
fn flag_bits(f: MemoryPolicyFlagType) -> i32 {
    match f {
        MemoryPolicyFlagType::MpolFStaticNodes => 1 << 15,
        MemoryPolicyFlagType::MpolFRelativeNodes => 1 << 14,
        MemoryPolicyFlagType::MpolFNumaBalancing => 1 << 13,
    }
}
