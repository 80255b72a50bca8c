//! `linux.sysctl`: each key written under /proc/sys of the container (after the pivot, so it is the
//! container's /proc and its namespaces' view).

use crate::{Error, Result};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

/// /proc/sys path of a key: dots separate components (`net.ipv4.ip_forward`); a key already written
/// with slashes (`net/ipv4/conf/eth0.100/forwarding`, for names holding dots) is taken as is.
pub fn key_path(key: &str) -> PathBuf {
    let rel = if key.contains('/') {
        key.trim_start_matches('/').to_string()
    } else {
        key.replace('.', "/")
    };
    PathBuf::from("/proc/sys").join(rel)
}

pub fn apply(sysctl: &HashMap<String, String>) -> Result<()> {
    // Sorted, so a failure is the same one every run.
    let mut keys: Vec<&String> = sysctl.keys().collect();
    keys.sort();
    for key in keys {
        if key.split(['.', '/']).any(|c| c == "..") {
            return Err(Error::msg(format!("linux.sysctl[{key}]: invalid key")));
        }
        let path = key_path(key);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| f.write_all(sysctl[key].as_bytes()))
            .map_err(|e| Error::Io {
                context: format!("linux.sysctl[{key}]: writing {}", path.display()),
                source: e,
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_to_paths() {
        assert_eq!(
            key_path("net.ipv4.ip_forward"),
            PathBuf::from("/proc/sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            key_path("net/ipv4/conf/eth0.100/forwarding"),
            PathBuf::from("/proc/sys/net/ipv4/conf/eth0.100/forwarding")
        );
    }

    #[test]
    fn dotdot_is_refused() {
        let e = apply(&HashMap::from([(
            "net/../../etc".to_string(),
            "1".to_string(),
        )]))
        .unwrap_err();
        assert!(
            e.to_string().starts_with("linux.sysctl[net/../../etc]"),
            "{e}"
        );
    }
}
