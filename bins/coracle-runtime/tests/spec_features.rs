//! The `spec` and `features` commands, run as a user would run them.

use std::path::PathBuf;
use std::process::{Command, Output};

fn coracle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coracle-runtime"))
        .args(args)
        .output()
        .unwrap()
}

/// A scratch bundle directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("coracle-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn spec_writes_a_valid_config_once() {
    let d = Dir::new("spec");
    let out = coracle(&["spec", "-b", d.arg()]);
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read(d.0.join("config.json")).unwrap();
    let spec = runtime::spec::parse(&text, "config.json").unwrap();
    assert_eq!(spec.version(), runtime::OCI_VERSION);

    let again = coracle(&["spec", "-b", d.arg()]);
    assert_eq!(again.status.code(), Some(1));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("File config.json exists. Remove it first"),
        "{err}"
    );
    // The first file is untouched.
    assert_eq!(std::fs::read(d.0.join("config.json")).unwrap(), text);
}

#[test]
fn spec_rootless_has_a_user_namespace() {
    let d = Dir::new("rootless");
    let out = coracle(&["spec", "--rootless", "--bundle", d.arg()]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.0.join("config.json")).unwrap()).unwrap();
    let types: Vec<&str> = v["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"user") && !types.contains(&"network"),
        "{types:?}"
    );
}

#[test]
fn features_prints_json() {
    let out = coracle(&["features"]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ociVersionMax"], runtime::OCI_VERSION);
    assert_eq!(v["linux"]["seccomp"]["enabled"], true);
}
