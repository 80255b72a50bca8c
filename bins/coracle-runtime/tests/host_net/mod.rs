//! What the client tests may change in the host's networking, and putting it back: iptables
//! chains and rules that a network backend (netavark, dockerd) adds under its own chain prefix,
//! links, and `net.ipv4.ip_forward`. Only what carries the given prefixes and was not there
//! before is removed, so other users of iptables on the machine are left alone.
#![allow(dead_code)] // each client test uses part of it

use std::collections::BTreeSet;
use std::fs;
use std::process::Command;

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
const TABLES: [&str; 4] = ["filter", "nat", "mangle", "raw"];

/// The host's networking as it was.
pub struct HostNet {
    ip_forward: String,
    /// `(table, line)` of `iptables-save`: `:CHAIN …` and `-A CHAIN …` lines.
    lines: BTreeSet<(String, String)>,
}

impl HostNet {
    pub fn take() -> HostNet {
        HostNet {
            ip_forward: fs::read_to_string(IP_FORWARD).unwrap_or_default(),
            lines: iptables_lines(),
        }
    }

    /// Remove the rules and chains that mention one of `prefixes` (e.g. "NETAVARK") and were not
    /// there before, and restore ip_forward. Returns what could not be undone.
    pub fn restore(&self, prefixes: &[&str]) -> Vec<String> {
        let mut problems = Vec::new();
        let ours = |line: &str| prefixes.iter().any(|p| line.contains(p));
        let added: Vec<(String, String)> = iptables_lines()
            .difference(&self.lines)
            .filter(|(_, l)| ours(l))
            .cloned()
            .collect();
        // Rules first (a chain still referenced cannot be deleted), then the chains.
        for (table, line) in added.iter().filter(|(_, l)| l.starts_with("-A ")) {
            let mut args = vec!["-t".to_string(), table.clone(), "-D".to_string()];
            args.extend(split_rule(&line[3..]));
            if !iptables(&args) {
                problems.push(format!("iptables rule {table}: {line}"));
            }
        }
        for (table, line) in added.iter().filter(|(_, l)| l.starts_with(':')) {
            let chain = line[1..].split(' ').next().unwrap_or("").to_string();
            let flushed = iptables(&["-t".into(), table.clone(), "-F".into(), chain.clone()]);
            if !flushed || !iptables(&["-t".into(), table.clone(), "-X".into(), chain.clone()]) {
                problems.push(format!("iptables chain {table}: {chain}"));
            }
        }
        if fs::read_to_string(IP_FORWARD).unwrap_or_default() != self.ip_forward
            && fs::write(IP_FORWARD, self.ip_forward.trim()).is_err()
        {
            problems.push("net.ipv4.ip_forward".into());
        }
        problems
    }

    /// Whether ip_forward and the prefixed iptables lines are as they were.
    pub fn unchanged(&self, prefixes: &[&str]) -> Vec<String> {
        let ours = |line: &str| prefixes.iter().any(|p| line.contains(p));
        let now = iptables_lines();
        let mut diff: Vec<String> = now
            .symmetric_difference(&self.lines)
            .filter(|(_, l)| ours(l))
            .map(|(t, l)| format!("iptables {t}: {l}"))
            .collect();
        if fs::read_to_string(IP_FORWARD).unwrap_or_default() != self.ip_forward {
            diff.push("net.ipv4.ip_forward changed".into());
        }
        diff
    }
}

/// Whether a network link of this name exists.
pub fn link_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

fn iptables(args: &[String]) -> bool {
    Command::new("iptables")
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Chain and rule lines of every table (none when iptables is absent).
fn iptables_lines() -> BTreeSet<(String, String)> {
    let mut lines = BTreeSet::new();
    for table in TABLES {
        let Ok(out) = Command::new("iptables-save").args(["-t", table]).output() else {
            continue;
        };
        for l in String::from_utf8_lossy(&out.stdout).lines() {
            if l.starts_with(':') || l.starts_with("-A ") {
                // Packet counters change: keep the chain's name and policy only.
                let l = l.split(" [").next().unwrap_or(l);
                lines.insert((table.to_string(), l.to_string()));
            }
        }
    }
    lines
}

/// Split an `iptables-save` rule into arguments: words, with "double quoted" words kept whole
/// (comments such as `--comment "netavark firewall plugin rules"`).
fn split_rule(rule: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = rule.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => cur.extend(chars.next()),
            ' ' if !quoted => {
                if !cur.is_empty() {
                    args.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        args.push(cur);
    }
    args
}
