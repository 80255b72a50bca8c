//! `ps [-f table|json] ID [PS_ARGS…]`: json is the array of host pids in the container's cgroup;
//! table is the host's `ps PS_ARGS` (default `-ef`) cut to its header and those pids' rows.

use crate::cli::{ListFormat, PsArgs};
use runtime::container::{self, Runtime};
use runtime::{Error, Result};

pub fn run(rt: &Runtime, args: &PsArgs) -> Result<i32> {
    match args.format {
        ListFormat::Json => {
            if !args.ps_args.is_empty() {
                return Err(Error::msg("ps options cannot be used with --format json"));
            }
            let pids = container::ps_pids(rt, &args.id)?;
            println!("{}", serde_json::Value::from(pids));
        }
        ListFormat::Table => print!("{}", container::ps_table(rt, &args.id, &args.ps_args)?),
    }
    Ok(0)
}
