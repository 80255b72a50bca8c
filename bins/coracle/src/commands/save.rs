//! `save [-o FILE] [--format docker-archive|oci-archive] IMAGE...`.

use std::path::Path;

use super::{find, parse_ref, usage};
use crate::cli::SaveArgs;
use image::archive::{self, Format};
use image::store::Store;
use image::Result;

pub fn run(root: &Path, args: &SaveArgs) -> Result<i32> {
    let format: Format = args.format.parse()?;
    let store = Store::open(root)?;
    let mut images = Vec::new();
    for what in &args.images {
        let (named, img) = find(&store, what)?;
        // An image named by ID is saved under each of its references.
        let refs = match named {
            Some(r) => vec![r],
            None => store
                .refs()?
                .into_iter()
                .filter(|(_, t)| *t == img.target)
                .map(|(r, _)| r)
                .collect(),
        };
        for r in refs {
            images.push((parse_ref(&r.to_string())?, img.clone()));
        }
    }
    match &args.output {
        Some(path) => archive::save_to_file(&store, &images, format, path)?,
        None if std::io::IsTerminal::is_terminal(&std::io::stdout()) => {
            return Err(usage(
                "refusing to write an archive to a terminal: use -o FILE or redirect stdout",
            ));
        }
        None => {
            let out = std::io::BufWriter::new(std::io::stdout().lock());
            let mut out = archive::save(&store, &images, format, out, Path::new("stdout"))?;
            std::io::Write::flush(&mut out)
                .map_err(|e| image::Error::Other(format!("stdout: {e}")))?;
        }
    }
    Ok(0)
}
