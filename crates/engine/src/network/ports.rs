//! Published ports: `-p [IP:]HOST:CONTAINER[/tcp|/udp]`, and the check that the host port is free
//! before anything is created (the portmap plugin only adds DNAT rules, which would silently
//! shadow a listening host service).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// `None` publishes on every host address (0.0.0.0).
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ip = self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let proto = match self.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        };
        write!(
            f,
            "{ip}:{}->{}/{proto}",
            self.host_port, self.container_port
        )
    }
}

impl PortMapping {
    /// Parse one `-p` value; the error names the value and what is wrong with it.
    pub fn parse(spec: &str) -> Result<PortMapping, String> {
        let bad = |why: &str| format!("invalid -p value {spec:?}: {why}");
        let (addr, protocol) = match spec.rsplit_once('/') {
            Some((a, "tcp")) => (a, Protocol::Tcp),
            Some((a, "udp")) => (a, Protocol::Udp),
            Some((_, p)) => return Err(bad(&format!("unknown protocol {p:?} (tcp or udp)"))),
            None => (spec, Protocol::Tcp),
        };
        if addr.starts_with('[') {
            return Err(bad("IPv6 host addresses are not supported"));
        }
        let parts: Vec<&str> = addr.split(':').collect();
        let (host_ip, host, container) = match parts.as_slice() {
            [c] if !c.is_empty() => {
                return Err(bad("a host port is required ([IP:]HOST:CONTAINER)"))
            }
            [h, c] => (None, *h, *c),
            [ip, h, c] => (Some(parse_ip(ip).map_err(|e| bad(&e))?), *h, *c),
            _ => return Err(bad("expected [IP:]HOST:CONTAINER[/udp]")),
        };
        if host.is_empty() {
            return Err(bad("a host port is required ([IP:]HOST:CONTAINER)"));
        }
        Ok(PortMapping {
            host_ip,
            host_port: parse_port(host, "host").map_err(|e| bad(&e))?,
            container_port: parse_port(container, "container").map_err(|e| bad(&e))?,
            protocol,
        })
    }

    /// The CNI `runtimeConfig.portMappings` entry for the portmap plugin.
    pub fn to_cni(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "hostPort": self.host_port,
            "containerPort": self.container_port,
            "protocol": match self.protocol { Protocol::Tcp => "tcp", Protocol::Udp => "udp" },
        });
        if let Some(ip) = self.host_ip {
            v["hostIP"] = ip.to_string().into();
        }
        v
    }

    /// Two mappings collide when they share protocol and port and one of their addresses covers
    /// the other (0.0.0.0 covers all).
    pub fn collides(&self, other: &PortMapping) -> bool {
        self.protocol == other.protocol
            && self.host_port == other.host_port
            && (self.host_ip.is_none() || other.host_ip.is_none() || self.host_ip == other.host_ip)
    }

    /// Bind the host address and port for a moment: fails when a host service holds it.
    pub fn check_free(&self) -> Result<(), String> {
        let addr = SocketAddrV4::new(
            self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
            self.host_port,
        );
        let res = match self.protocol {
            Protocol::Tcp => TcpListener::bind(addr).map(drop),
            Protocol::Udp => UdpSocket::bind(addr).map(drop),
        };
        res.map_err(|e| {
            format!(
                "-p {self}: host port {} is not available: {e}",
                self.host_port
            )
        })
    }
}

fn parse_ip(s: &str) -> Result<Ipv4Addr, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not an IPv4 address"))
}

fn parse_port(s: &str, which: &str) -> Result<u16, String> {
    if s.contains('-') {
        return Err(format!("{which} port ranges are not supported"));
    }
    match s.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("{which} port {s:?} is not a number in 1-65535")),
        Ok(p) => Ok(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> PortMapping {
        PortMapping::parse(s).unwrap()
    }

    #[test]
    fn good_specs() {
        let p = ok("8080:80");
        assert_eq!(
            (p.host_ip, p.host_port, p.container_port, p.protocol),
            (None, 8080, 80, Protocol::Tcp)
        );
        let p = ok("127.0.0.1:5353:53/udp");
        assert_eq!(p.host_ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(p.protocol, Protocol::Udp);
        assert_eq!(ok("1:2/tcp").to_string(), "0.0.0.0:1->2/tcp");
        assert_eq!(ok("127.0.0.1:5353:53/udp").to_cni()["hostIP"], "127.0.0.1");
    }

    #[test]
    fn bad_specs_name_the_value() {
        for (spec, why) in [
            ("80", "host port is required"),
            (":80", "host port is required"),
            ("80:", "container port"),
            ("8080:80/sctp", "unknown protocol"),
            ("0:80", "host port \"0\""),
            ("70000:80", "1-65535"),
            ("localhost:80:80", "not an IPv4 address"),
            ("[::1]:80:80", "IPv6"),
            ("1:2:3:4", "expected"),
            ("8000-8001:80", "ranges"),
            ("abc:80", "host port \"abc\""),
        ] {
            let err = PortMapping::parse(spec).unwrap_err();
            assert!(
                err.starts_with(&format!("invalid -p value {spec:?}: ")),
                "{err}"
            );
            assert!(err.contains(why), "{spec}: {err}");
            assert!(!err.contains('\n'));
        }
    }

    #[test]
    fn collisions() {
        assert!(ok("8080:80").collides(&ok("127.0.0.1:8080:81")));
        assert!(!ok("127.0.0.2:8080:80").collides(&ok("127.0.0.1:8080:81")));
        assert!(!ok("8080:80/udp").collides(&ok("8080:80")));
    }

    #[test]
    fn busy_port_is_reported() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let err = ok(&format!("127.0.0.1:{port}:80"))
            .check_free()
            .unwrap_err();
        assert!(err.contains("is not available"), "{err}");
    }
}
