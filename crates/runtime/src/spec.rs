//! Loading config.json from a bundle: parse with the oci-spec types, then validate. Every error names
//! the file, the JSON path of the field and what is wrong with it, on one line.

mod oci_spec_compat;
mod validate;

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
        .map_err(|e| Error::msg(format!("bundle {}: {}", bundle.display(), io_text(&e))))?;
    let file = dir.join("config.json");
    let name = file.display().to_string();
    let text = std::fs::read(&file).map_err(|e| Error::msg(format!("{name}: {}", io_text(&e))))?;
    let spec = parse(&text, &name)?;
    // `validate` made sure `root` is there; the path is relative to the bundle unless absolute.
    let root = spec
        .root()
        .as_ref()
        .map(|r| r.path().clone())
        .unwrap_or_default();
    let rootfs = dir.join(root);
    match std::fs::metadata(&rootfs) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            let problem = format!("{} is not a directory", rootfs.display());
            return Err(Error::config(name, "root.path", problem));
        }
        Err(e) => {
            let problem = format!("{}: {}", rootfs.display(), io_text(&e));
            return Err(Error::config(name, "root.path", problem));
        }
    }
    Ok(Bundle { dir, spec, rootfs })
}

/// Parse config.json text and validate it; `file` names it in errors.
pub fn parse(text: &[u8], file: &str) -> Result<Spec> {
    let spec: Spec = typed(text, "/process").map_err(|e| {
        let (field, problem) = describe_parse_error(&e);
        Error::config(file, field, problem)
    })?;
    validate::validate(&spec).map_err(|p| Error::config(file, p.field, p.problem))?;
    Ok(spec)
}

/// Parse and validate an OCI `process` object (what `exec --process FILE` reads); `file` names it
/// in errors, and fields are named as in config.json (`process.args`).
pub fn parse_process(text: &[u8], file: &str) -> Result<oci_spec::runtime::Process> {
    let p: oci_spec::runtime::Process = typed(text, "").map_err(|e| {
        let (field, problem) = describe_parse_error(&e);
        let field = if field == "(document)" {
            field
        } else {
            format!("process.{field}")
        };
        Error::config(file, field, problem)
    })?;
    validate_process(&p, file)?;
    Ok(p)
}

/// The typed parse, of oci_spec_compat's fixed text when the process object (at `process`)
/// needs it. Always from bytes: deserializing the typed spec from a `Value` as well would
/// build a second copy of its whole deserializer into the binary (~0.4 MB).
fn typed<T: serde::de::DeserializeOwned>(
    text: &[u8],
    process: &str,
) -> std::result::Result<T, serde_path_to_error::Error<serde_json::Error>> {
    let fixed = oci_spec_compat::fixed(text, process).and_then(|doc| serde_json::to_vec(&doc).ok());
    let text = fixed.as_deref().unwrap_or(text);
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(text))
}

/// The checks config.json's process gets, for a process built another way (`exec`'s flags).
pub fn validate_process(p: &oci_spec::runtime::Process, file: &str) -> Result<()> {
    validate::process(p).map_err(|e| Error::config(file, e.field, e.problem))
}

/// Turn a serde error into (JSON path, problem) in our words. Syntax errors have no useful path,
/// so they keep serde's line and column instead.
pub(crate) fn describe_parse_error(
    e: &serde_path_to_error::Error<serde_json::Error>,
) -> (String, String) {
    let inner = e.inner();
    if inner.is_syntax() || inner.is_eof() {
        return ("(document)".into(), inner.to_string());
    }
    let path = e.path().to_string();
    let field = if path == "." {
        "(document)".into()
    } else {
        path
    };
    let suffix = format!(" at line {} column {}", inner.line(), inner.column());
    let text = inner.to_string();
    let text = text.strip_suffix(&suffix).unwrap_or(&text);
    (field.clone(), reword(&field, text))
}

/// Name the kind of thing an unknown enum value was, from where it sits in the document.
fn reword(field: &str, text: &str) -> String {
    // oci-spec's Capability deserializer says "no variant for NAME (converted to ...)".
    if let Some(rest) = text.strip_prefix("no variant for ") {
        let name = rest.split(" (converted to").next().unwrap_or(rest);
        return format!("unknown capability {name:?}");
    }
    let Some(value) = unknown_variant(text) else {
        return text.to_string();
    };
    let kind = if field.starts_with("linux.namespaces[") {
        "namespace"
    } else if field.starts_with("process.rlimits[") {
        "rlimit"
    } else if field.starts_with("linux.devices[") {
        "device type"
    } else if let Some(kind) = scheduling_kind(field) {
        kind
    } else {
        return text.to_string();
    };
    format!("unknown {kind} {value:?}")
}

/// The kind of value at the scheduling fields (process.* is also exec --process's prefix).
fn scheduling_kind(field: &str) -> Option<&'static str> {
    let field = field.strip_prefix("process.").unwrap_or(field);
    let kinds = [
        ("scheduler.policy", "scheduler policy"),
        ("scheduler.flags[", "scheduler flag"),
        ("ioPriority.class", "I/O priority class"),
        ("linux.memoryPolicy.mode", "memory policy mode"),
        ("linux.memoryPolicy.flags[", "memory policy flag"),
    ];
    kinds
        .iter()
        .find(|(prefix, _)| field.starts_with(prefix))
        .map(|(_, kind)| *kind)
}

/// The value in serde's "unknown variant `VALUE`, expected ..." message.
fn unknown_variant(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("unknown variant `")?;
    Some(&rest[..rest.find('`')?])
}

/// An io::Error's text without the " (os error N)" suffix, as in `/nope: No such file or directory`.
pub(crate) fn io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec_template::{default_spec, to_json_pretty};

    /// A bundle directory holding the default config.json, removed on drop.
    struct TempBundle(PathBuf);

    impl TempBundle {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("coracle-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let text = to_json_pretty(&default_spec(false));
            std::fs::write(dir.join("config.json"), text).unwrap();
            TempBundle(dir)
        }
    }

    impl Drop for TempBundle {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn load_resolves_the_rootfs() {
        let b = TempBundle::new("load-ok");
        std::fs::create_dir(b.0.join("rootfs")).unwrap();
        let bundle = load(&b.0).unwrap();
        assert_eq!(bundle.rootfs, bundle.dir.join("rootfs"));
        assert!(bundle.rootfs.is_absolute());
    }

    #[test]
    fn load_needs_a_rootfs_directory() {
        let b = TempBundle::new("load-missing");
        let dir = std::fs::canonicalize(&b.0).unwrap();
        let err = load(&b.0).err().unwrap().to_string();
        let file = dir.join("config.json");
        let rootfs = dir.join("rootfs");
        assert_eq!(
            err,
            format!(
                "{}: root.path: {}: No such file or directory",
                file.display(),
                rootfs.display()
            )
        );
        std::fs::write(&rootfs, "").unwrap();
        let err = load(&b.0).err().unwrap().to_string();
        assert!(err.ends_with("rootfs is not a directory"), "{err}");
    }

    #[test]
    fn load_reports_a_missing_config() {
        let err = load(Path::new("/nonexistent-bundle"))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(err, "bundle /nonexistent-bundle: No such file or directory");
    }
}
