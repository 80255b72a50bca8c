//! Loading config.json from a bundle: parse with the oci-spec types, then validate. Every error names
//! the file, the JSON path of the field and what is wrong with it.

use crate::{Error, Result};
use oci_spec::runtime::Spec;
use std::path::{Path, PathBuf};

/// A bundle's config, with its root filesystem resolved to an absolute path.
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    pub rootfs: PathBuf,
}

/// Load and validate `BUNDLE/config.json`.
pub fn load(bundle: &Path) -> Result<Bundle> {
    let dir = std::fs::canonicalize(bundle)
        .map_err(|e| Error::msg(format!("bundle {}: {e}", bundle.display())))?;
    let file = dir.join("config.json");
    let text = std::fs::read(&file).map_err(|e| Error::msg(format!("{}: {e}", file.display())))?;
    let spec = parse(&text, &file.display().to_string())?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| Error::config(file.display().to_string(), "root", "is required"))?;
    let rootfs = dir.join(root.path());
    if !rootfs.is_dir() {
        return Err(Error::config(
            file.display().to_string(),
            "root.path",
            format!("{} is not a directory", rootfs.display()),
        ));
    }
    Ok(Bundle { dir, spec, rootfs })
}

/// Parse config.json text; `file` names it in errors.
pub fn parse(text: &[u8], file: &str) -> Result<Spec> {
    let de = &mut serde_json::Deserializer::from_slice(text);
    let spec: Spec = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        Error::config(
            file,
            if field == "." {
                "(document)".into()
            } else {
                field
            },
            e.inner().to_string(),
        )
    })?;
    validate(&spec, file)?;
    Ok(spec)
}

/// Checks that the types alone do not catch.
fn validate(spec: &Spec, file: &str) -> Result<()> {
    let v = spec.version();
    let supported = ["1.0.", "1.1.", "1.2."].iter().any(|p| v.starts_with(p));
    if !supported {
        return Err(Error::config(
            file,
            "ociVersion",
            format!("{v:?} is not supported (1.0.x to 1.2.x are)"),
        ));
    }
    Ok(())
}
