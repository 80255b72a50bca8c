//! Stored registry credentials, in the auth.json format Docker and Podman share:
//! `{"auths": {"HOST": {"auth": base64("user:password")}}}`. The file is
//! $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, else
//! ~/.docker/config.json; other keys in it are kept as they are.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{Map, Value};
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// A user name and password (or identity token used as a password).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    // Never print the password, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?}, ***)", self.username)
    }
}

impl Credentials {
    pub fn basic_header(&self) -> String {
        format!(
            "Basic {}",
            B64.encode(format!("{}:{}", self.username, self.password))
        )
    }
}

/// The auth file in use, by the documented precedence.
pub fn default_path() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("REGISTRY_AUTH_FILE")
        .or_else(|| env("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json")))
        .or_else(|| env("HOME").map(|h| h.join(".docker/config.json")))
}

/// Keys a registry may be stored under (Docker writes URLs; Docker Hub has a legacy key).
fn keys_for(registry: &str) -> Vec<String> {
    let mut keys = vec![
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
    ];
    if registry == "docker.io"
        || registry == "index.docker.io"
        || registry == "registry-1.docker.io"
    {
        keys.push("https://index.docker.io/v1/".to_string());
        keys.push("index.docker.io".to_string());
        keys.push("docker.io".to_string());
    }
    keys
}

/// The credentials stored for `registry` in `path`, if any. A file that is missing is no
/// credentials; a file that is unreadable or malformed is an error naming it.
pub fn lookup(path: &Path, registry: &str) -> Result<Option<Credentials>, String> {
    let Some(doc) = read(path)? else {
        return Ok(None);
    };
    let Some(auths) = doc.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    for key in keys_for(registry) {
        let entry = auths
            .get(&key)
            .or_else(|| auths.get(key.trim_end_matches('/')));
        if let Some(auth) = entry.and_then(|e| e.get("auth")).and_then(Value::as_str) {
            return decode(auth)
                .map(Some)
                .map_err(|e| format!("{}: auths.{key}.auth: {e}", path.display()));
        }
    }
    Ok(None)
}

/// Stores credentials for `registry` (atomically, mode 0600).
pub fn store(path: &Path, registry: &str, creds: &Credentials) -> Result<(), String> {
    let mut doc = read(path)?.unwrap_or_else(|| Value::Object(Map::new()));
    let auths = auths_mut(&mut doc, path)?;
    let auth = B64.encode(format!("{}:{}", creds.username, creds.password));
    auths.insert(registry.to_string(), serde_json::json!({ "auth": auth }));
    write(path, &doc)
}

/// Removes the credentials for `registry`; returns whether there were any.
pub fn remove(path: &Path, registry: &str) -> Result<bool, String> {
    let Some(mut doc) = read(path)? else {
        return Ok(false);
    };
    let auths = auths_mut(&mut doc, path)?;
    let mut removed = false;
    for key in keys_for(registry) {
        removed |= auths.remove(&key).is_some();
    }
    if removed {
        write(path, &doc)?;
    }
    Ok(removed)
}

fn decode(auth: &str) -> Result<Credentials, String> {
    let raw = B64
        .decode(auth.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    let text = String::from_utf8(raw).map_err(|_| "not UTF-8 user:password".to_string())?;
    let (u, p) = text
        .split_once(':')
        .ok_or("expected base64 of user:password")?;
    Ok(Credentials {
        username: u.to_string(),
        password: p.to_string(),
    })
}

fn read(path: &Path) -> Result<Option<Value>, String> {
    match fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(None),
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{}: bad JSON: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn auths_mut<'a>(doc: &'a mut Value, path: &Path) -> Result<&'a mut Map<String, Value>, String> {
    let obj = doc
        .as_object_mut()
        .ok_or_else(|| format!("{}: expected a JSON object", path.display()))?;
    obj.entry("auths")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| format!("{}: \"auths\" is not an object", path.display()))
}

/// Temp file in the same directory, fsync, rename: a crash leaves the old file or the new.
fn write(path: &Path, doc: &Value) -> Result<(), String> {
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(err)?;
    let tmp = dir.join(format!(".{}.tmp-{}", file_name(path), std::process::id()));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        let mut bytes = serde_json::to_vec_pretty(doc).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or("auth.json".into(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpfile(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("coracle-authfile-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d.join("sub/auth.json")
    }

    #[test]
    fn store_lookup_remove_keeps_other_keys() {
        let p = tmpfile("roundtrip");
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(
            &p,
            r#"{"credsStore":"x","auths":{"other:1":{"auth":"dTpw"}}}"#,
        )
        .unwrap();
        let c = Credentials {
            username: "me".into(),
            password: "s:ecret".into(),
        };
        store(&p, "localhost:5000", &c).unwrap();
        assert_eq!(lookup(&p, "localhost:5000").unwrap(), Some(c));
        assert_eq!(lookup(&p, "other:1").unwrap().unwrap().username, "u");
        assert!(remove(&p, "localhost:5000").unwrap());
        assert_eq!(lookup(&p, "localhost:5000").unwrap(), None);
        let text = fs::read_to_string(&p).unwrap();
        assert!(
            text.contains("credsStore") && text.contains("other:1"),
            "{text}"
        );
        fs::remove_dir_all(p.parent().unwrap().parent().unwrap()).unwrap();
    }

    #[test]
    fn docker_url_keys_and_bad_files() {
        let p = tmpfile("keys");
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(
            &p,
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"YTpi"}}}"#,
        )
        .unwrap();
        assert_eq!(lookup(&p, "docker.io").unwrap().unwrap().password, "b");
        fs::write(&p, "{nope").unwrap();
        assert!(lookup(&p, "x").unwrap_err().contains("bad JSON"));
        fs::remove_dir_all(p.parent().unwrap().parent().unwrap()).unwrap();
    }
}
