//! `import SOURCE NAME [--cmd WORD]...`: a rootfs directory or tarball becomes an image.

use std::path::Path;

use super::parse_ref;
use crate::cli::ImportArgs;
use image::store::Store;
use image::Result;

pub fn run(root: &Path, args: &ImportArgs) -> Result<i32> {
    let r = parse_ref(&args.reference)?;
    let store = Store::open(root)?;
    let cmd = (!args.cmd.is_empty()).then(|| args.cmd.clone());
    let target = image::import::import(&store, &args.source, &r, cmd)?;
    out!("{}", store.image(&target)?.id());
    Ok(0)
}
