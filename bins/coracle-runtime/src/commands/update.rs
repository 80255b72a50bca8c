//! `update [-r FILE|-] [--memory N …] ID`: new resource limits for a live container, from a
//! linux.resources JSON document (stdin with `-`, as containerd sends it) and/or runc's flags.

use crate::cli::UpdateArgs;
use runtime::container::{self, Runtime, UpdateFlags};
use runtime::{Context, Result};
use std::io::Read;

pub fn run(rt: &Runtime, args: &UpdateArgs) -> Result<i32> {
    let document = match args.resources.as_deref() {
        None => None,
        Some("-") => {
            let mut text = Vec::new();
            std::io::stdin()
                .read_to_end(&mut text)
                .context(|| "--resources -: reading stdin")?;
            Some((text, "stdin".to_string()))
        }
        Some(file) => {
            let text = std::fs::read(file).context(|| format!("--resources: reading {file}"))?;
            Some((text, file.to_string()))
        }
    };
    let flags = UpdateFlags {
        memory: args.memory.clone(),
        memory_reservation: args.memory_reservation.clone(),
        memory_swap: args.memory_swap.clone(),
        cpu_share: args.cpu_share.clone(),
        cpu_quota: args.cpu_quota.clone(),
        cpu_period: args.cpu_period.clone(),
        cpu_burst: args.cpu_burst.clone(),
        cpu_rt_period: args.cpu_rt_period.clone(),
        cpu_rt_runtime: args.cpu_rt_runtime.clone(),
        cpuset_cpus: args.cpuset_cpus.clone(),
        cpuset_mems: args.cpuset_mems.clone(),
        pids_limit: args.pids_limit.clone(),
        blkio_weight: args.blkio_weight.clone(),
    };
    let doc = document.as_ref().map(|(t, s)| (t.as_slice(), s.as_str()));
    let resources = container::update_resources(doc, &flags)?;
    container::update(rt, &args.id, &resources)?;
    Ok(0)
}
