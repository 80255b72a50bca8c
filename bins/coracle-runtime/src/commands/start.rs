//! `start ID`

use crate::cli::IdArg;
use runtime::container::{self, Runtime};
use runtime::Result;

pub fn run(rt: &Runtime, args: &IdArg) -> Result<i32> {
    container::start(rt, &args.id)?;
    Ok(0)
}
