//! IPv4 subnets in CIDR notation, and the host's routes they must not collide with.

use std::fmt;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    /// Parse `A.B.C.D/N`. Host bits must be zero and the prefix leave room for a gateway and at
    /// least one container (N ≤ 30); IPv6 is refused (IPv4 only for now).
    pub fn parse(s: &str) -> Result<Subnet, String> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: not in CIDR notation (A.B.C.D/N)"))?;
        if addr.contains(':') {
            return Err(format!("{s:?}: IPv6 subnets are not supported"));
        }
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("{s:?}: {addr:?} is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("{s:?}: bad prefix length"))?;
        if prefix > 30 {
            return Err(format!("{s:?}: prefix length must be at most 30"));
        }
        let net = Subnet { addr, prefix };
        if net.network() != addr {
            return Err(format!(
                "{s:?}: host bits are set (did you mean {}?)",
                Subnet {
                    addr: net.network(),
                    prefix
                }
            ));
        }
        Ok(net)
    }

    fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// The first host address, which the bridge gets (Docker and Podman do the same).
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network()) + 1)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }

    /// Two subnets overlap when either contains the other's network address.
    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.contains(other.network()) || other.contains(self.network())
    }

    /// The `index`-th subnet of length `prefix` inside `self`, if there is one.
    pub fn nth(&self, prefix: u8, index: u32) -> Option<Subnet> {
        if prefix < self.prefix || prefix > 30 || (index as u64) >= 1u64 << (prefix - self.prefix) {
            return None;
        }
        let base = u32::from(self.network()) + (index << (32 - prefix));
        Some(Subnet {
            addr: Ipv4Addr::from(base),
            prefix,
        })
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The host's IPv4 routes except the default route, from /proc/net/route: a new network must not
/// shadow them.
pub fn host_routes() -> Vec<Subnet> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(parse_route_line)
        .filter(|s| s.prefix > 0)
        .collect()
}

fn parse_route_line(line: &str) -> Option<Subnet> {
    let cols: Vec<&str> = line.split_whitespace().collect();
    let dest = u32::from_str_radix(cols.get(1)?, 16).ok()?;
    let mask = u32::from_str_radix(cols.get(7)?, 16).ok()?;
    // The kernel prints the network-order word as a native integer: its native bytes are the address.
    let addr = Ipv4Addr::from(dest.to_ne_bytes());
    let prefix = u32::from_be_bytes(mask.to_ne_bytes()).leading_ones() as u8;
    Some(Subnet { addr, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks_cidrs() {
        let s = Subnet::parse("10.89.3.0/24").unwrap();
        assert_eq!(s.gateway(), Ipv4Addr::new(10, 89, 3, 1));
        assert!(s.contains(Ipv4Addr::new(10, 89, 3, 200)));
        assert!(!s.contains(Ipv4Addr::new(10, 89, 4, 1)));
        assert!(Subnet::parse("10.89.3.1/24")
            .unwrap_err()
            .contains("host bits"));
        assert!(Subnet::parse("10.89.3.0").unwrap_err().contains("CIDR"));
        assert!(Subnet::parse("10.89.3.0/31")
            .unwrap_err()
            .contains("at most 30"));
        assert!(Subnet::parse("fd00::/64").unwrap_err().contains("IPv6"));
        assert!(Subnet::parse("10.300.0.0/16").is_err());
    }

    #[test]
    fn overlap_and_nth() {
        let pool = Subnet::parse("10.89.0.0/16").unwrap();
        assert_eq!(pool.nth(24, 5).unwrap().to_string(), "10.89.5.0/24");
        assert!(pool.nth(24, 256).is_none());
        assert!(pool.overlaps(&Subnet::parse("10.89.7.0/24").unwrap()));
        assert!(!pool.overlaps(&Subnet::parse("10.90.0.0/24").unwrap()));
    }

    #[test]
    fn route_lines() {
        let l = "eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0";
        assert_eq!(parse_route_line(l).unwrap().to_string(), "10.0.2.0/24");
    }
}
