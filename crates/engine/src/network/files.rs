//! The per-container files the runtime bind-mounts over /etc/hosts, /etc/hostname and
//! /etc/resolv.conf. They live in `<run>/net/<id>/`.
//!
//! resolv.conf: the host's, with loopback nameservers (127.x, ::1: a local resolver the container
//! cannot reach from its own namespace) dropped, and Google's public servers as the fallback when
//! nothing is left — Docker's behaviour for the default bridge.
//!
//! /etc/hosts of a container that is already running is rewritten in place (truncate + write),
//! never replaced by rename: the container's bind mount pins the original inode.

use super::{atomic, io_err, Result};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;

const FALLBACK_DNS: [&str; 2] = ["8.8.8.8", "8.8.4.4"];

/// One `/etc/hosts` line for a peer (or the container itself).
#[derive(Debug, Clone, PartialEq)]
pub struct HostEntry {
    pub ip: Ipv4Addr,
    pub names: Vec<String>,
}

pub fn hosts_text(entries: &[HostEntry]) -> String {
    let mut s = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    for e in entries {
        s.push_str(&format!("{}\t{}\n", e.ip, e.names.join(" ")));
    }
    s
}

pub fn write_new(path: &Path, text: &str) -> Result<()> {
    atomic::write(path, text.as_bytes())
}

/// Rewrite a file that may be bind-mounted somewhere, keeping its inode.
pub fn rewrite_in_place(path: &Path, text: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(text.as_bytes()).map_err(io_err(path))
}

pub fn resolv_conf(host: &str) -> String {
    let mut out = String::new();
    let mut servers = 0;
    for line in host.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("nameserver") {
            let addr = words.next().unwrap_or_default();
            if addr.starts_with("127.") || addr == "::1" {
                continue;
            }
            servers += 1;
        }
        out.push_str(line);
        out.push('\n');
    }
    if servers == 0 {
        for s in FALLBACK_DNS {
            out.push_str(&format!("nameserver {s}\n"));
        }
    }
    out
}

pub fn host_resolv_conf() -> String {
    std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_nameservers_are_replaced() {
        let r = resolv_conf("search lan\nnameserver 127.0.0.53\noptions edns0\n");
        assert_eq!(
            r,
            "search lan\noptions edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        let r = resolv_conf("nameserver 127.0.0.1\nnameserver 10.0.0.2\n");
        assert_eq!(r, "nameserver 10.0.0.2\n");
    }

    #[test]
    fn hosts_lists_localhost_then_entries() {
        let t = hosts_text(&[HostEntry {
            ip: Ipv4Addr::new(10, 1, 0, 2),
            names: vec!["web".into(), "abc".into()],
        }]);
        assert!(t.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(t.ends_with("10.1.0.2\tweb abc\n"));
    }

    #[test]
    fn in_place_rewrite_keeps_the_inode() {
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("coracle-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("hosts");
        write_new(&p, "a\n").unwrap();
        let ino = std::fs::metadata(&p).unwrap().ino();
        rewrite_in_place(&p, "b\n").unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().ino(), ino);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "b\n");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
