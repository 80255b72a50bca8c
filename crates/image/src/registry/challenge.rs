//! `WWW-Authenticate` challenges (RFC 7235 syntax): how a registry says which auth scheme
//! it wants (`Basic realm=...` or `Bearer realm=...,service=...,scope=...` per the
//! distribution token spec).

use std::collections::BTreeMap;

/// One challenge: the scheme, lowercased, and its parameters (keys lowercased).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }
}

/// Parses a header value into its challenges; unparseable tails are dropped (a registry
/// with a malformed header then gets the unauthorized error it asked for).
pub fn parse(header: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    let mut p = Parser {
        s: header.as_bytes(),
        i: 0,
    };
    loop {
        p.skip(b" \t,");
        let Some(word) = p.token() else { break };
        p.skip(b" \t");
        if p.peek() == Some(b'=') {
            // `key=value` belongs to the challenge before it.
            p.i += 1;
            p.skip(b" \t");
            let value = if p.peek() == Some(b'"') {
                p.quoted()
            } else {
                p.token().unwrap_or_default()
            };
            match out.last_mut() {
                Some(c) => {
                    c.params.insert(word.to_ascii_lowercase(), value);
                }
                None => break,
            }
        } else {
            out.push(Challenge {
                scheme: word.to_ascii_lowercase(),
                params: BTreeMap::new(),
            });
        }
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip(&mut self, set: &[u8]) {
        while self.peek().is_some_and(|b| set.contains(&b)) {
            self.i += 1;
        }
    }

    /// An RFC 7230 token (also accepts token68's `/+=`-free subset, enough for schemes).
    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/:".contains(&b))
        {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    /// A quoted string with backslash escapes; the opening quote is at `i`.
    fn quoted(&mut self) -> String {
        self.i += 1;
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.i += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_with_quoted_params() {
        let c = parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c[0].param("service"), Some("registry.docker.io"));
        assert_eq!(c[0].param("scope"), Some("repository:library/busybox:pull"));
    }

    #[test]
    fn basic_and_several_challenges() {
        let c = parse(r#"Basic realm="Registry \"Realm\"", Bearer realm=x,Service = y"#);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].param("realm"), Some("Registry \"Realm\""));
        assert_eq!(
            (c[1].scheme.as_str(), c[1].param("service")),
            ("bearer", Some("y"))
        );
    }

    #[test]
    fn garbage_yields_nothing_usable() {
        assert!(parse("=,,").is_empty());
        assert_eq!(parse("Basic")[0].params.len(), 0);
    }
}
