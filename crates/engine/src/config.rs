//! The config file: defaults for the engine, in TOML.
//!
//! Where it is read from:
//! - `CORACLE_CONFIG=FILE`: that file only (it must exist);
//! - as root: `/etc/coracle/coracle.toml`;
//! - as any other user: `/etc/coracle/coracle.toml`, then `$XDG_CONFIG_HOME/coracle/coracle.toml`
//!   (default `~/.config/coracle/coracle.toml`), whose keys override the system file's key by
//!   key (as containers.conf does). The system file's `root` is not taken by other users: that
//!   store belongs to root; theirs is in their home unless their own file says otherwise.
//!
//! A missing file is no error; a file that cannot be read or parsed, an unknown key or a value
//! of the wrong type or form is one line naming the file, the line and the key.
//!
//! Keys (all optional): `runtime` (a runc-compatible binary, name or path; default, or
//! `"coracle"`: the built-in runtime), `root` (the store, absolute), `network` (`none`, `host`, `bridge` or a
//! network's name: what `run`/`create` use without `--network`), `log_max_size` (`"10m"`,
//! `"-1"` for unlimited) and `log_max_files` (json-file rotation defaults for `--log-opt`),
//! `stop_timeout` (seconds before `stop` kills; default 10).
//!
//! The parser is `basic-toml` (serde, no spans): chosen over `toml` for size (on a probe
//! binary with serde: +105 KB static against +173 KB for `toml` 0.8 with only its parser; in
//! the static coracle binary its code is about 36 KB, this module's about 9 KB). It reports
//! unknown keys at their table's line, so the line of such a key is looked up in the text.

use crate::container::logs::limits;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const ENV: &str = "CORACLE_CONFIG";
pub const SYSTEM_FILE: &str = "/etc/coracle/coracle.toml";
const DEFAULT_STOP_TIMEOUT: u64 = 10;

/// The settings in force and the files they came from (in the order read).
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub runtime: Option<String>,
    pub root: Option<PathBuf>,
    pub network: Option<String>,
    pub log_max_size: Option<String>,
    pub log_max_files: Option<u32>,
    pub stop_timeout: Option<u64>,
    pub files: Vec<PathBuf>,
    /// Which file set `runtime` (for errors found when it is used).
    pub runtime_file: Option<PathBuf>,
}

/// One file's keys, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileKeys {
    runtime: Option<String>,
    root: Option<String>,
    network: Option<String>,
    log_max_size: Option<String>,
    log_max_files: Option<u32>,
    stop_timeout: Option<u64>,
}

const KEYS: &str = "runtime, root, network, log_max_size, log_max_files, stop_timeout";

/// A config problem, already phrased as one line (`FILE: line N: key `k`: what`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// The config for this process (see the module doc for which files).
    pub fn load() -> Result<Config, ConfigError> {
        if let Some(f) = std::env::var_os(ENV).filter(|v| !v.is_empty()) {
            let path = PathBuf::from(f);
            let mut c = Config::default();
            match read(&path)? {
                Some(keys) => c.merge(&path, keys, true),
                None => {
                    return Err(ConfigError(format!(
                        "{}: no such file (named by {ENV})",
                        path.display()
                    )))
                }
            }
            return Ok(c);
        }
        let root = sys::process::geteuid() == 0;
        let mut files = vec![(PathBuf::from(SYSTEM_FILE), root)];
        if !root {
            files.extend(user_file().map(|f| (f, true)));
        }
        Config::from_files(&files)
    }

    /// Read `files` in order (each: path, whether its `root` key counts); missing ones skipped.
    pub fn from_files(files: &[(PathBuf, bool)]) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        for (path, with_root) in files {
            if let Some(keys) = read(path)? {
                c.merge(path, keys, *with_root);
            }
        }
        Ok(c)
    }

    fn merge(&mut self, path: &Path, k: FileKeys, with_root: bool) {
        self.files.push(path.to_path_buf());
        if k.runtime.is_some() {
            self.runtime = k.runtime;
            self.runtime_file = Some(path.to_path_buf());
        }
        if with_root && k.root.is_some() {
            self.root = k.root.map(PathBuf::from);
        }
        self.network = k.network.or(self.network.take());
        self.log_max_size = k.log_max_size.or(self.log_max_size.take());
        self.log_max_files = k.log_max_files.or(self.log_max_files.take());
        self.stop_timeout = k.stop_timeout.or(self.stop_timeout.take());
    }

    /// Seconds `stop` waits before SIGKILL when `-t` is not given.
    pub fn stop_timeout(&self) -> u64 {
        self.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT)
    }

    /// The log options the config sets, as `--log-opt` values (flags given later win).
    pub fn log_opts(&self) -> Vec<String> {
        let mut v = vec![];
        if let Some(s) = &self.log_max_size {
            v.push(format!("max-size={s}"));
        }
        if let Some(n) = self.log_max_files {
            v.push(format!("max-file={n}"));
        }
        v
    }
}

/// `$XDG_CONFIG_HOME/coracle/coracle.toml`, else `$HOME/.config/coracle/coracle.toml`.
pub fn user_file() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".config"),
    };
    Some(base.join("coracle/coracle.toml"))
}

/// A file's keys, checked; None when it does not exist.
fn read(path: &Path) -> Result<Option<FileKeys>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ConfigError(format!("{}: {e}", path.display()))),
    };
    parse(&text)
        .map(Some)
        .map_err(|e| ConfigError(format!("{}: {e}", path.display())))
}

/// Parse and check one file's text; the error names the line and key.
fn parse(text: &str) -> Result<FileKeys, String> {
    let keys: FileKeys = basic_toml::from_str(text).map_err(|e| explain(text, &e.to_string()))?;
    let bad = |key: &str, why: String| format!("{}key `{key}`: {why}", line_of(text, key));
    if let Some(r) = &keys.runtime {
        if r.is_empty() {
            return Err(bad(
                "runtime",
                "empty (leave it out for the built-in runtime)".into(),
            ));
        }
    }
    if let Some(r) = &keys.root {
        if !r.starts_with('/') {
            return Err(bad("root", format!("{r:?} is not an absolute path")));
        }
    }
    if let Some(n) = &keys.network {
        crate::network::store::validate_name(n).map_err(|e| bad("network", e.to_string()))?;
    }
    if let Some(s) = &keys.log_max_size {
        limits::parse_size(s).map_err(|e| bad("log_max_size", e))?;
    }
    if let Some(n) = keys.log_max_files {
        limits::parse_max_file(&n.to_string()).map_err(|e| bad("log_max_files", e))?;
    }
    Ok(keys)
}

/// basic-toml's message (`… for key `k` at line L column C`) as `line L: key `k`: …`; an
/// unknown key is reported at its own line (basic-toml gives its table's).
fn explain(text: &str, msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let key = rest.split('`').next().unwrap_or_default();
        return format!(
            "{}key `{key}`: unknown key (known: {KEYS})",
            line_of(text, key)
        );
    }
    let (msg, line) = match msg.rsplit_once(" at line ") {
        Some((m, pos)) => (m, pos.split(' ').next()),
        None => (msg, None),
    };
    let (msg, key) = match msg.rsplit_once(" for key `") {
        Some((m, k)) => (m, Some(k.trim_end_matches('`'))),
        None => (msg, None),
    };
    let mut out = String::new();
    if let Some(l) = line {
        out.push_str(&format!("line {l}: "));
    }
    if let Some(k) = key {
        out.push_str(&format!("key `{k}`: "));
    }
    out.push_str(msg);
    out
}

/// `line N: ` for the first line that sets `key` (or opens a table of that name), else "".
fn line_of(text: &str, key: &str) -> String {
    let sets = |l: &str| {
        let l = l.trim_start();
        let bare = l.trim_start_matches('[').trim_start_matches('"');
        bare.strip_prefix(key).is_some_and(|r| {
            let r = r.trim_start_matches('"').trim_start();
            r.starts_with('=') || r.starts_with(']') || r.starts_with('.')
        })
    };
    text.lines()
        .position(sets)
        .map_or_else(String::new, |i| format!("line {}: ", i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_keys() {
        let k = parse(
            "# defaults\nruntime = \"runc\"\nroot = \"/srv/coracle\"\nnetwork = \"none\"\n\
             log_max_size = \"100k\"\nlog_max_files = 2\nstop_timeout = 3\n",
        )
        .unwrap();
        assert_eq!(k.runtime.as_deref(), Some("runc"));
        assert_eq!(k.root.as_deref(), Some("/srv/coracle"));
        assert_eq!(k.log_max_files, Some(2));
        assert!(parse("").is_ok());
    }

    #[test]
    fn errors_name_line_and_key() {
        let e = parse("runtime = \"runc\"\n\nbogus = 1\n").unwrap_err();
        assert!(e.starts_with("line 3: key `bogus`: unknown key"), "{e}");
        let e = parse("\nlog_max_files = \"3\"\n").unwrap_err();
        assert!(
            e.starts_with("line 2: key `log_max_files`: invalid type"),
            "{e}"
        );
        let e = parse("root = \"var/lib\"\n").unwrap_err();
        assert!(e.starts_with("line 1: key `root`: "), "{e}");
        let e = parse("x=1\nlog_max_size = \"ten\"\n").unwrap_err();
        assert!(e.starts_with("line 1: key `x`"), "{e}");
        let e = parse("log_max_size = \"ten\"\n").unwrap_err();
        assert!(e.starts_with("line 1: key `log_max_size`: "), "{e}");
        let e = parse("network = \"a b\"\n").unwrap_err();
        assert!(e.starts_with("line 1: key `network`: "), "{e}");
        let e = parse("[engine]\nruntime = 1\n").unwrap_err();
        assert!(e.starts_with("line 1: key `engine`: unknown key"), "{e}");
        let e = parse("runtime = \n").unwrap_err();
        assert!(e.starts_with("line 1: "), "{e}");
    }

    #[test]
    fn user_file_overrides_key_by_key() {
        let dir = std::env::temp_dir().join(format!("coracle-config-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sys = dir.join("system.toml");
        let user = dir.join("user.toml");
        std::fs::write(
            &sys,
            "runtime = \"runc\"\nroot = \"/sys-root\"\nstop_timeout = 4\n",
        )
        .unwrap();
        std::fs::write(&user, "runtime = \"crun\"\nnetwork = \"none\"\n").unwrap();
        let c = Config::from_files(&[(sys.clone(), false), (user.clone(), true)]).unwrap();
        assert_eq!(c.runtime.as_deref(), Some("crun"));
        assert_eq!(c.runtime_file.as_deref(), Some(user.as_path()));
        assert_eq!(c.network.as_deref(), Some("none"));
        assert_eq!(c.stop_timeout(), 4);
        assert_eq!(c.root, None, "the system file's root is root's");
        assert_eq!(c.files, vec![sys.clone(), user.clone()]);
        let missing = Config::from_files(&[(dir.join("nope.toml"), true)]).unwrap();
        assert!(missing.files.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
