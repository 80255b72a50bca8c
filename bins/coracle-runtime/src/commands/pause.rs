//! `pause ID` and `resume ID`: freeze and thaw the container's processes.

use crate::cli::IdArg;
use runtime::container::{self, Runtime};
use runtime::Result;

pub fn pause(rt: &Runtime, args: &IdArg) -> Result<i32> {
    container::pause(rt, &args.id)?;
    Ok(0)
}

pub fn resume(rt: &Runtime, args: &IdArg) -> Result<i32> {
    container::resume(rt, &args.id)?;
    Ok(0)
}
