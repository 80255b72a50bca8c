//! `delete [-f] ID`

use crate::cli::DeleteArgs;
use runtime::container::{self, Runtime};
use runtime::Result;

pub fn run(rt: &Runtime, args: &DeleteArgs) -> Result<i32> {
    container::delete(rt, &args.id, args.force)?;
    Ok(0)
}
