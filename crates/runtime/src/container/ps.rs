//! `ps`: the processes of a container's cgroup, as host pids (`--format json`) or as the rows of
//! the host's `ps` output whose PID is one of them (runc's table format).

use super::Runtime;
use crate::state::ContainerDir;
use crate::{Context, Error, Result};
use std::process::Command;

/// The host pids in the container's cgroup (and below it), sorted.
pub fn ps_pids(rt: &Runtime, id: &str) -> Result<Vec<i32>> {
    let dir = ContainerDir::peek(&rt.root, id)?;
    let st = dir.load()?;
    let Some(cgroup) = st.cgroup() else {
        // Rootless without a cgroup: the processes of its pid namespace, while the init lives.
        if !crate::state::init_alive(&st) {
            return Ok(Vec::new());
        }
        return Ok(super::pidns_members::members(st.pid));
    };
    if cgroup.hierarchies().is_empty() {
        // The cgroup is gone (a stopped container whose cgroup was removed): no processes.
        return Ok(Vec::new());
    }
    let mut pids = cgroup
        .pids()
        .context(|| format!("listing the processes of container {id}"))?;
    pids.sort_unstable();
    Ok(pids)
}

/// Run the host's `ps` with `ps_args` (`-ef` when empty) and keep its header and the rows of the
/// container's processes.
pub fn ps_table(rt: &Runtime, id: &str, ps_args: &[String]) -> Result<String> {
    let pids = ps_pids(rt, id)?;
    let default = ["-ef".to_string()];
    let args = if ps_args.is_empty() {
        &default[..]
    } else {
        ps_args
    };
    let out = Command::new("ps")
        .args(args)
        .output()
        .context(|| "running ps".to_string())?;
    if !out.status.success() {
        return Err(Error::msg(format!(
            "ps {}: {} {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    filter_table(&String::from_utf8_lossy(&out.stdout), &pids)
}

/// Keep the header line of `ps` output and the lines whose PID column is in `pids`.
pub(crate) fn filter_table(output: &str, pids: &[i32]) -> Result<String> {
    let mut lines = output.lines();
    let header = lines.next().unwrap_or("");
    let column = header
        .split_whitespace()
        .position(|f| f == "PID")
        .ok_or_else(|| Error::msg("ps output has no PID column (use ps options that show it)"))?;
    let mut kept = String::from(header);
    kept.push('\n');
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(column)
            .and_then(|f| f.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::filter_table;

    #[test]
    fn keeps_header_and_member_rows() {
        let out = "UID   PID  PPID  C STIME TTY TIME CMD\n\
                   root    1     0  0 10:00 ?   0:01 init\n\
                   root  42     1  0 10:00 ?   0:00 sh\n\
                   root 420    42  0 10:00 ?   0:00 sleep 42\n";
        let t = filter_table(out, &[42]).unwrap();
        assert_eq!(
            t.lines().collect::<Vec<_>>(),
            [
                "UID   PID  PPID  C STIME TTY TIME CMD",
                "root  42     1  0 10:00 ?   0:00 sh"
            ]
        );
        let t = filter_table("  PID TTY CMD\n  420 ?   x\n", &[420]).unwrap();
        assert_eq!(t.lines().count(), 2);
        assert!(filter_table("USER CMD\nroot x\n", &[1]).is_err());
    }
}
