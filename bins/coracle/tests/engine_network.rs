//! Containers on a user bridge network (real CNI plugins): a published port answers from the
//! host, a peer reaches the container by name, and nothing (veth, iptables rule, netns) is
//! left after `rm`.

mod common;
mod engine_support;

use engine_support::*;
use std::io::{Read, Write};
use std::process::Command;

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// Removes what the test made even when an assertion fails, and puts ip_forward back to 0
/// when it was 0 and no veth of anybody remains (the bridge plugin turns it on).
struct Cleanup<'a> {
    env: &'a Env,
    network: String,
    ip_forward: Option<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for id in ids(self.env) {
            let _ = self.env.output(&["rm", "-f", &id]);
        }
        let _ = self.env.output(&["network", "rm", &self.network]);
        let veths = std::fs::read_dir("/sys/class/net")
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("veth"))
            })
            .unwrap_or(true);
        if self.ip_forward.as_deref() == Some("0\n") && !veths {
            let _ = std::fs::write(IP_FORWARD, "0");
        }
    }
}

/// A user network on a free test /24 of 10.212.0.0/16 (`network create` refuses overlaps).
fn network(env: &Env) -> String {
    let name = format!("ctest{}", std::process::id());
    let base = std::process::id() as usize % 200;
    for i in base..base + 50 {
        let subnet = format!("10.212.{}.0/24", i % 256);
        let out = env.output(&["network", "create", "--subnet", &subnet, &name]);
        if out.status.success() {
            return name;
        }
        assert!(stderr(&out).contains("overlaps"), "{}", stderr(&out));
    }
    panic!("no free test subnet");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .ok()?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

fn iptables_lines_with(id: &str) -> usize {
    let out = Command::new("iptables-save")
        .output()
        .expect("iptables-save");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(id))
        .count()
}

#[test]
fn published_port_answers_and_peers_reach_each_other_by_name() {
    let env = env();
    let cleanup = Cleanup {
        env: &env,
        network: network(&env),
        ip_forward: std::fs::read_to_string(IP_FORWARD).ok(),
    };
    let net = cleanup.network.clone();
    let names = env.ok(&["network", "ls", "-q"]);
    assert!(names.lines().any(|n| n == net), "network ls -q: {names}");
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let id = env
        .ok(&[
            "run", "-d", "--name", "web", "--network", &net, "-p", &publish, IMAGE, "sh", "-c",
            "mkdir -p /www && echo hello-from-web > /www/index.html && exec busybox httpd -f -p 80 -h /www",
        ])
        .trim()
        .to_string();
    wait_until("httpd answering on the published port", || {
        http_get(port).is_some_and(|b| b.contains("hello-from-web"))
    });
    assert!(
        iptables_lines_with(&id) > 0,
        "the port's DNAT rules name the container"
    );
    let ip = inspect(&env, "web")["NetworkSettings"]["Networks"][0]["ip"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ip.starts_with("10.212."), "{ip}");
    let out = env.output(&[
        "run",
        "--rm",
        "--network",
        &net,
        IMAGE,
        "sh",
        "-c",
        "grep -w web /etc/hosts; busybox wget -q -O - http://web/",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{ip}\tweb\nhello-from-web\n"));
    // A second container cannot publish the same host port.
    let out = env.output(&[
        "run",
        "--rm",
        "--network",
        &net,
        "-p",
        &publish,
        IMAGE,
        "true",
    ]);
    assert_one_error(&out, 125, &port.to_string());
    assert_eq!(ids(&env), vec![id.clone()]);
    env.ok(&["rm", "-f", "web"]);
    assert_gone(&env, &id);
    assert_eq!(iptables_lines_with(&id), 0, "iptables rules of {id} left");
    assert!(http_get(port).is_none(), "the port still answers");
    env.ok(&["network", "rm", &net]);
    drop(cleanup);
    assert_store_empty(&env);
}

#[test]
fn host_network_is_the_hosts_and_none_has_only_a_working_loopback() {
    let env = env();
    let host_ns = std::fs::read_link("/proc/self/ns/net").unwrap();
    let host_ns = host_ns.to_string_lossy().into_owned();
    let out = env.output(&[
        "run",
        "--rm",
        "--network",
        "host",
        IMAGE,
        "sh",
        "-c",
        "readlink /proc/self/ns/net; cat /etc/hostname",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(host_ns.as_str()));
    let host_name = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    assert_eq!(
        lines.next().unwrap_or_default(),
        host_name.trim(),
        "the host's /etc/hostname"
    );
    let out = env.output(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--hostname",
        "isolated",
        IMAGE,
        "sh",
        "-c",
        // lo is up: a server on 127.0.0.1 answers (polled: httpd binds after it forks).
        "readlink /proc/self/ns/net; ls /sys/class/net; cat /etc/hostname; \
         echo local > /tmp/i; httpd -p 127.0.0.1:8080 -h /tmp; \
         for i in $(seq 100); do wget -qO- http://127.0.0.1:8080/i && exit; sleep 0.1; done; exit 9",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_ne!(lines[0], host_ns);
    assert_eq!(&lines[1..], ["lo", "isolated", "local"]);
    assert_store_empty(&env);
}
