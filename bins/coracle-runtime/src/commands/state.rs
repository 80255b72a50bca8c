//! `state ID`: runc's JSON, indented.

use crate::cli::IdArg;
use runtime::container::{self, Runtime};
use runtime::Result;

pub fn run(rt: &Runtime, args: &IdArg) -> Result<i32> {
    let state = container::state(rt, &args.id)?;
    println!("{state}");
    Ok(0)
}
