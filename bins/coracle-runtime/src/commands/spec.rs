//! `spec [--rootless] [-b DIR]`: write a default config.json into the bundle, never over one.

use crate::cli::SpecArgs;
use runtime::spec_template::{default_spec, to_json_pretty};
use runtime::{Context, Error, Result};
use std::io::{ErrorKind, Write};

pub fn run(args: &SpecArgs) -> Result<i32> {
    let path = args.bundle.join("config.json");
    let text = to_json_pretty(&default_spec(args.rootless));
    // create_new: refusing to overwrite and creating are one step, so no race between them.
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            return Err(Error::msg("File config.json exists. Remove it first"));
        }
        Err(e) => return Err(e).context(|| format!("create {}", path.display())),
    };
    file.write_all(text.as_bytes())
        .context(|| format!("write {}", path.display()))?;
    Ok(0)
}
