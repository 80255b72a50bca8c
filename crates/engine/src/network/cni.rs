//! The CNI protocol (spec 1.0.0), client side: run each plugin binary of a network configuration
//! list with the CNI_* environment and its config on stdin, chain `prevResult` through ADD and
//! CHECK, run DEL in reverse order, and turn the plugins' error JSON into one line.

use super::{Error, Result};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What identifies one attachment of a container to a network.
pub struct Invocation<'a> {
    pub container_id: &'a str,
    pub netns: &'a Path,
    pub ifname: &'a str,
    /// `runtimeConfig.portMappings` for plugins with the `portMappings` capability.
    pub port_mappings: &'a [Value],
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CniCommand {
    Add,
    Del,
    Check,
}

impl CniCommand {
    fn as_str(self) -> &'static str {
        match self {
            CniCommand::Add => "ADD",
            CniCommand::Del => "DEL",
            CniCommand::Check => "CHECK",
        }
    }
}

/// Plugin binaries are looked up in these directories (passed to plugins as CNI_PATH, since
/// bridge calls host-local itself).
pub struct Cni<'a> {
    pub path: &'a [PathBuf],
}

impl Cni<'_> {
    /// ADD every plugin in order; returns the last plugin's result. All binaries are looked up
    /// first, so a missing one fails before anything runs. On failure, [`Partial::ran`] plugins
    /// (the failing one included) may have changed the host: the caller must DEL them.
    pub fn add_list(
        &self,
        list: &Value,
        inv: &Invocation<'_>,
    ) -> std::result::Result<Value, Partial> {
        let partial = |ran| move |error| Partial { error, ran };
        let plugins = plugins(list).map_err(partial(0))?;
        for plugin in plugins {
            let ty = plugin["type"].as_str().unwrap_or_default();
            self.find(ty)
                .map_err(|msg| plugin_error(list, ty, msg))
                .map_err(partial(0))?;
        }
        let mut prev: Option<Value> = None;
        for (i, plugin) in plugins.iter().enumerate() {
            let out = self
                .exec(CniCommand::Add, list, plugin, prev.as_ref(), inv)
                .map_err(partial(i + 1))?;
            prev = Some(out);
        }
        prev.ok_or_else(|| Partial {
            error: Error::Invalid(format!("network {}: no plugins", name(list))),
            ran: 0,
        })
    }

    /// CHECK every plugin in order against the result of ADD.
    pub fn check_list(&self, list: &Value, inv: &Invocation<'_>, result: &Value) -> Result<()> {
        for plugin in plugins(list)? {
            self.exec(CniCommand::Check, list, plugin, Some(result), inv)?;
        }
        Ok(())
    }

    /// DEL the first `ran` plugins (all when unknown, e.g. after a crash during ADD) in reverse
    /// order, every one even when one fails, so a partial ADD is undone as far as possible;
    /// returns the first error.
    pub fn del_list(
        &self,
        list: &Value,
        inv: &Invocation<'_>,
        result: Option<&Value>,
        ran: Option<usize>,
    ) -> Result<()> {
        let mut first = None;
        let plugins = plugins(list)?;
        let ran = ran.unwrap_or(plugins.len()).min(plugins.len());
        for plugin in plugins[..ran].iter().rev() {
            if let Err(e) = self.exec(CniCommand::Del, list, plugin, result, inv) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    fn exec(
        &self,
        cmd: CniCommand,
        list: &Value,
        plugin: &Value,
        prev: Option<&Value>,
        inv: &Invocation<'_>,
    ) -> Result<Value> {
        let ty = plugin["type"].as_str().unwrap_or_default();
        let fail = |msg: String| plugin_error(list, ty, msg);
        let bin = self.find(ty).map_err(fail)?;
        let conf = plugin_config(list, plugin, prev, inv);
        let cni_path = std::env::join_paths(self.path).map_err(|e| fail(e.to_string()))?;
        let mut child = Command::new(&bin)
            .env("CNI_COMMAND", cmd.as_str())
            .env("CNI_CONTAINERID", inv.container_id)
            .env("CNI_NETNS", inv.netns)
            .env("CNI_IFNAME", inv.ifname)
            .env("CNI_PATH", cni_path)
            .env_remove("CNI_ARGS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("{}: {e}", bin.display())))?;
        let stdin = child.stdin.take().expect("piped");
        // Write from a thread: a plugin may produce output before reading all of its input.
        let data = serde_json::to_vec(&conf).expect("json");
        let writer = std::thread::spawn(move || {
            let mut stdin = stdin;
            stdin.write_all(&data)
        });
        let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
        let _ = writer.join();
        if !out.status.success() {
            return Err(fail(error_message(
                cmd,
                &out.stdout,
                &out.stderr,
                out.status,
            )));
        }
        if cmd != CniCommand::Add {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&out.stdout).map_err(|e| fail(format!("ADD: bad result: {e}")))
    }

    fn find(&self, ty: &str) -> std::result::Result<PathBuf, String> {
        if ty.is_empty() || ty.contains('/') {
            return Err(format!("invalid plugin type {ty:?}"));
        }
        self.path
            .iter()
            .map(|d| d.join(ty))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                let dirs: Vec<_> = self.path.iter().map(|d| d.display().to_string()).collect();
                format!(
                    "plugin binary not found in {} (install containernetworking-plugins)",
                    dirs.join(":")
                )
            })
    }
}

/// How far a failed ADD got.
#[derive(Debug)]
pub struct Partial {
    pub error: Error,
    /// Plugins started (the failing one included).
    pub ran: usize,
}

fn plugin_error(list: &Value, ty: &str, msg: String) -> Error {
    Error::Plugin {
        network: name(list).into(),
        plugin: ty.into(),
        msg,
    }
}

fn name(list: &Value) -> &str {
    list["name"].as_str().unwrap_or("?")
}

fn plugins(list: &Value) -> Result<&Vec<Value>> {
    list["plugins"].as_array().ok_or_else(|| {
        Error::Invalid(format!(
            "network {}: configuration has no plugins list",
            name(list)
        ))
    })
}

/// One plugin's stdin: its own object plus the list's name and version, the previous result, and
/// the runtime config for the capabilities it declares.
pub fn plugin_config(
    list: &Value,
    plugin: &Value,
    prev: Option<&Value>,
    inv: &Invocation<'_>,
) -> Value {
    let mut conf = plugin.clone();
    conf["name"] = list["name"].clone();
    conf["cniVersion"] = list["cniVersion"].clone();
    if let Some(prev) = prev {
        conf["prevResult"] = prev.clone();
    }
    if plugin["capabilities"]["portMappings"] == json!(true) && !inv.port_mappings.is_empty() {
        conf["runtimeConfig"] = json!({ "portMappings": inv.port_mappings });
    }
    conf
}

/// The CNI error object (`{"code", "msg", "details"}`) as one line; falls back to stderr.
pub fn error_message(
    cmd: CniCommand,
    stdout: &[u8],
    stderr: &[u8],
    status: std::process::ExitStatus,
) -> String {
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Ok(v) = serde_json::from_slice::<Value>(stdout) {
        if let Some(msg) = v["msg"].as_str() {
            let code = v["code"]
                .as_u64()
                .map(|c| format!(" (code {c})"))
                .unwrap_or_default();
            let details = v["details"]
                .as_str()
                .filter(|d| !d.is_empty())
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            return one_line(&format!("{} failed{code}: {msg}{details}", cmd.as_str()));
        }
    }
    let text = String::from_utf8_lossy(stderr);
    let text = if text.trim().is_empty() {
        String::from_utf8_lossy(stdout)
    } else {
        text
    };
    one_line(&format!(
        "{} failed ({status}): {}",
        cmd.as_str(),
        text.trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn config_chains_prev_result_and_port_mappings() {
        let list = json!({"cniVersion": "1.0.0", "name": "n", "plugins": [
            {"type": "bridge"}, {"type": "portmap", "capabilities": {"portMappings": true}}]});
        let pm = [json!({"hostPort": 8080, "containerPort": 80, "protocol": "tcp"})];
        let inv = Invocation {
            container_id: "c",
            netns: Path::new("/x"),
            ifname: "eth0",
            port_mappings: &pm,
        };
        let c = plugin_config(&list, &list["plugins"][0], None, &inv);
        assert_eq!(c["name"], "n");
        assert!(c.get("prevResult").is_none() && c.get("runtimeConfig").is_none());
        let prev = json!({"ips": []});
        let c = plugin_config(&list, &list["plugins"][1], Some(&prev), &inv);
        assert_eq!(c["prevResult"], prev);
        assert_eq!(c["runtimeConfig"]["portMappings"][0]["hostPort"], 8080);
    }

    #[test]
    fn error_json_becomes_one_line() {
        let st = std::process::ExitStatus::from_raw(1 << 8);
        let m = error_message(
            CniCommand::Add,
            br#"{"code":7,"msg":"bad\nconfig","details":"x"}"#,
            b"",
            st,
        );
        assert_eq!(m, "ADD failed (code 7): bad config: x");
        let m = error_message(CniCommand::Del, b"", b"boom\n", st);
        assert!(m.starts_with("DEL failed (") && m.ends_with("boom"), "{m}");
    }
}
